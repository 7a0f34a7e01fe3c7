//! The OpenAPI contract clients are generated from, pinned without Python or Node: the
//! checks `.ci/openapi` gets from `openapi-spec-validator`, `redocly lint` and a generated
//! client, as far as they guard the fixes a regression would most likely undo.
//!
//! Schema names: a schema must not be named after one of its own properties in snake case
//! (`Terminals { terminals }`): openapi-python-client then gives a local variable both names
//! and the generated model does not type-check. Such response types take `#[schema(as =
//! …List)]`.

use serde_json::Value;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

fn document() -> Value {
    serde_json::to_value(wallet_server::web::api::openapi_document(true)).expect("document")
}

/// `(method, path, operation)` of every operation.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let paths = doc["paths"].as_object().expect("paths");
    let mut out = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_string(), path.clone(), op.clone()));
            }
        }
    }
    out
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves() {
    let doc = document();
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 50, "only {} references", refs.len());
    let dangling: Vec<&String> = refs
        .iter()
        .filter(|r| {
            r.strip_prefix('#')
                .and_then(|pointer| doc.pointer(pointer))
                .is_none()
        })
        .collect();
    assert!(dangling.is_empty(), "dangling $ref: {dangling:?}");
}

#[test]
fn every_operation_states_its_security_and_public_ones_say_none() {
    let doc = document();
    let mut public = Vec::new();
    for (method, path, op) in operations(&doc) {
        let security = op["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{method} {path}: no `security`"));
        assert!(
            security
                .iter()
                .all(|s| s.as_object().is_some_and(|s| !s.is_empty())),
            "{method} {path}: `{{}}` (a token optional) in {security:?}"
        );
        if security.is_empty() {
            public.push(format!("{method} {path}"));
        }
    }
    public.sort();
    assert_eq!(
        public,
        [
            "get /healthz",
            "get /metrics",
            "get /readyz",
            "get /v1/pass-keys",
            "post /dev/clock",
            "post /dev/token",
            "post /v1/terminals/enroll",
        ]
    );
}

#[test]
fn binary_bodies_are_binary_strings_under_their_media_types() {
    let doc = document();
    let binary = serde_json::json!({"type": "string", "format": "binary"});
    let expected = [
        ("/v1/wallet/vouchers/{id}/passes", "post", "image/png"),
        ("/v1/schools/{bin}/tabel", "get", "text/csv"),
        (
            "/v1/schools/{bin}/tabel",
            "get",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("/v1/schools/{bin}/tabel", "get", "application/pdf"),
    ];
    for (path, method, media) in expected {
        let schema = &doc["paths"][path][method]["responses"]["200"]["content"][media]["schema"];
        assert_eq!(schema, &binary, "{method} {path} as {media}");
    }
    // Nowhere a body of bytes as an array of numbers.
    for (method, path, op) in operations(&doc) {
        for (status, response) in op["responses"].as_object().expect("responses") {
            for (media, content) in response["content"].as_object().into_iter().flatten() {
                let schema = &content["schema"];
                assert!(
                    !(schema["type"] == "array" && schema["items"]["type"] == "integer"),
                    "{method} {path} {status} {media}: bytes as an array of integers"
                );
            }
        }
    }
}

#[test]
fn every_json_body_has_a_schema_with_properties() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let resolve = |schema: &Value| -> Value {
        match schema["$ref"].as_str() {
            Some(r) => schemas[r.trim_start_matches("#/components/schemas/")].clone(),
            None => schema.clone(),
        }
    };
    for (method, path, op) in operations(&doc) {
        let bodies = op["responses"]
            .as_object()
            .expect("responses")
            .values()
            .chain(op.get("requestBody"));
        for body in bodies {
            let Some(json) = body["content"].get("application/json") else {
                continue;
            };
            let schema = resolve(&json["schema"]);
            // A body of one of several shapes (a list of either programme): each its own.
            let shapes = match schema["oneOf"].as_array() {
                Some(alternatives) => alternatives.iter().map(&resolve).collect(),
                None => vec![schema.clone()],
            };
            for shape in shapes {
                assert!(
                    shape["properties"]
                        .as_object()
                        .is_some_and(|p| !p.is_empty()),
                    "{method} {path}: a JSON body without its shape: {schema}"
                );
            }
        }
    }
    // The табель JSON (DESIGN §7.1) in particular, on download and on approval.
    let tabel = "#/components/schemas/Tabel";
    let download = &doc["paths"]["/v1/schools/{bin}/tabel"]["get"]["responses"]["200"];
    assert_eq!(
        download["content"]["application/json"]["schema"]["$ref"],
        tabel
    );
    let approval = &doc["paths"]["/v1/schools/{bin}/tabel/{month}/approve"]["post"];
    assert_eq!(
        approval["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        tabel
    );
    let required = schemas["Tabel"]["required"].as_array().expect("required");
    for field in ["school", "month", "rows", "totals"] {
        assert!(required.contains(&Value::from(field)), "Tabel.{field}");
    }
}

#[test]
fn servers_operation_ids_and_client_errors_are_there() {
    let doc = document();
    assert_eq!(doc["servers"][0]["url"], "/", "{}", doc["servers"]);
    let mut ids = Vec::new();
    for (method, path, op) in operations(&doc) {
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path}: no operationId"));
        ids.push(id.to_string());
        let has_4xx = op["responses"]
            .as_object()
            .is_some_and(|r| r.keys().any(|status| status.starts_with('4')));
        assert!(has_4xx, "{method} {path}: no 4xx response");
    }
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "operationIds are not unique");
}

#[test]
fn no_schema_is_named_after_its_own_property() {
    let doc = document();
    for (name, schema) in doc["components"]["schemas"].as_object().expect("schemas") {
        let snake = snake_case(name);
        let clash = schema["properties"]
            .as_object()
            .is_some_and(|p| p.contains_key(&snake));
        assert!(!clash, "schema {name} has a property `{snake}`");
    }
}

fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[test]
fn the_dev_routes_are_only_in_the_demo_document() {
    let production =
        serde_json::to_value(wallet_server::web::api::openapi_document(false)).expect("document");
    let paths = production["paths"].as_object().expect("paths");
    assert!(
        paths.keys().all(|p| !p.starts_with("/dev/")),
        "{:?}",
        paths.keys()
    );
    assert!(document()["paths"].get("/dev/token").is_some());
}
