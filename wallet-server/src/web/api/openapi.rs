//! The error answers every operation can give, added to the generated OpenAPI document in
//! one place, so no handler has to list them and none can forget one (API fuzzing with
//! schemathesis checks that every status a route answers is documented):
//!
//! - a protected operation (any `security`) may answer `401`, with the codes of its schemes
//!   (`token_missing`, `token_expired`…; each scheme's description explains them); one
//!   taking a JWT (scheme `bearer`, where a token of another role is refused) also `403`;
//! - an operation with a JSON body may answer `400` (not JSON), `413` (too large), `415`
//!   (not `application/json`) and `422` (JSON of the wrong shape);
//! - one with query parameters `400` (`invalid_query`); one with path parameters `404` (a
//!   malformed or unknown id is simply not found);
//! - every operation `431` (`headers_too_large`: request headers over 16 KiB, `web::listen`).
//!
//! Each is the shared `ErrorBody`. A status an operation documents itself keeps its own
//! wording; a response without a description gets the status' reason phrase.
//!
//! Every operation states its `security`: a public one `security: []`, which utoipa cannot
//! write — `security(())` in an annotation comes out as `[{}]` ("a token is optional"), so
//! [`explicit_public_security`] turns that into `[]`, and [`public`] marks a whole router of
//! public routes (probes, the demo's own routes).

use axum::http::StatusCode;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa_axum::router::OpenApiRouter;

/// Adds the common error responses to every operation of `doc`.
pub(super) fn add_common_responses(doc: &mut OpenApi) {
    for_each_operation(doc, add_to_operation);
}

/// Marks every operation of `router` that declares no `security` as public (`[]`): for a
/// router whose routes are all public by nature.
pub(super) fn public<S: Clone + Send + Sync + 'static>(
    mut router: OpenApiRouter<S>,
) -> OpenApiRouter<S> {
    for_each_operation(router.get_openapi_mut(), |operation| {
        operation.security.get_or_insert_with(Vec::new);
    });
    router
}

/// Writes an operation annotated `security(())` (utoipa: `[{}]`, a token optional) as
/// `security: []`, no token needed — what a public operation means.
pub(super) fn explicit_public_security(doc: &mut OpenApi) {
    for_each_operation(doc, |operation| {
        if let Some(requirements) = &mut operation.security {
            if !requirements.is_empty() && requirements.iter().all(is_empty_requirement) {
                requirements.clear();
            }
        }
    });
}

fn is_empty_requirement(requirement: &SecurityRequirement) -> bool {
    // `SecurityRequirement` keeps its map private; its JSON form is `{"scheme": [scopes]}`.
    serde_json::to_value(requirement)
        .ok()
        .and_then(|v| v.as_object().map(serde_json::Map::is_empty))
        .unwrap_or(false)
}

fn for_each_operation(doc: &mut OpenApi, mut f: impl FnMut(&mut Operation)) {
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            f(operation);
        }
    }
}

fn add_to_operation(operation: &mut Operation) {
    let schemes = security_schemes(operation);
    let unauthorized = unauthorized_description(&schemes);
    let mut statuses: Vec<(StatusCode, &str)> = Vec::new();
    if !schemes.is_empty() {
        statuses.push((StatusCode::UNAUTHORIZED, &unauthorized));
    }
    if schemes.iter().any(|s| s == "bearer") {
        statuses.push((
            StatusCode::FORBIDDEN,
            "The token's role may not use this operation (`forbidden`)",
        ));
    }
    if operation.request_body.is_some() {
        statuses.extend([
            (
                StatusCode::BAD_REQUEST,
                "The body is not JSON (`malformed_json`)",
            ),
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                "The body is larger than the server accepts (`payload_too_large`)",
            ),
            (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "The body is not sent as `application/json` (`unsupported_media_type`)",
            ),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                "The body is JSON of the wrong shape (`invalid_body`) or its values are refused",
            ),
        ]);
    }
    let has_param = |place: ParameterIn| {
        operation.parameters.iter().flatten().any(|p| match p {
            RefOr::T(p) => p.parameter_in == place,
            RefOr::Ref(_) => false,
        })
    };
    if has_param(ParameterIn::Query) {
        statuses.push((
            StatusCode::BAD_REQUEST,
            "A query parameter is missing or malformed (`invalid_query`)",
        ));
    }
    if has_param(ParameterIn::Path) {
        statuses.push((
            StatusCode::NOT_FOUND,
            "No such resource, or not the caller's (`not_found`)",
        ));
    }
    statuses.push((
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "The request's headers are larger than 16 KiB (`headers_too_large`)",
    ));
    let responses = &mut operation.responses.responses;
    for (status, description) in statuses {
        responses
            .entry(status.as_u16().to_string())
            .or_insert_with(|| error_response(description));
    }
    for (status, response) in responses.iter_mut() {
        if let RefOr::T(response) = response {
            if response.description.is_empty() && status == "401" && !schemes.is_empty() {
                response.description = unauthorized.clone();
            } else if response.description.is_empty() {
                response.description = status
                    .parse::<u16>()
                    .ok()
                    .and_then(|s| StatusCode::from_u16(s).ok())
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("Response")
                    .to_string();
            }
        }
    }
}

/// What a 401 of an operation taking `schemes` means: the codes it may carry (each
/// explained in the scheme's description).
fn unauthorized_description(schemes: &[String]) -> String {
    let mut codes: Vec<&'static str> = Vec::new();
    for scheme in schemes {
        for refusal in crate::web::auth::refusals(scheme) {
            if !codes.contains(&refusal.code()) {
                codes.push(refusal.code());
            }
        }
    }
    let codes: Vec<String> = codes.iter().map(|c| format!("`{c}`")).collect();
    format!(
        "No token, or the token is refused; `error.code` says why (see the security \
         scheme): {}",
        codes.join(", ")
    )
}

/// The names of the security schemes an operation accepts.
fn security_schemes(operation: &Operation) -> Vec<String> {
    // `SecurityRequirement` keeps its map private; its JSON form is `{"scheme": [scopes]}`.
    operation
        .security
        .iter()
        .flatten()
        .filter_map(|requirement| serde_json::to_value(requirement).ok())
        .filter_map(|value| {
            value
                .as_object()
                .map(|o| o.keys().cloned().collect::<Vec<_>>())
        })
        .flatten()
        .collect()
}

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use utoipa::openapi::path::{HttpMethod, PathsBuilder};
    use utoipa::openapi::path::{OperationBuilder, ParameterBuilder};
    use utoipa::openapi::request_body::RequestBodyBuilder;
    use utoipa::openapi::PathItem;

    use super::*;

    fn statuses(doc: &OpenApi, path: &str) -> Vec<String> {
        let item = doc.paths.paths.get(path).expect("path");
        let op = item.post.as_ref().or(item.get.as_ref()).expect("op");
        op.responses.responses.keys().cloned().collect()
    }

    #[test]
    fn common_errors_are_documented_by_what_an_operation_takes() {
        let protected = OperationBuilder::new()
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .parameter(
                ParameterBuilder::new()
                    .name("id")
                    .parameter_in(ParameterIn::Path),
            )
            .request_body(Some(RequestBodyBuilder::new().build()))
            .response("200", ResponseBuilder::new().description("ok").build())
            .response("404", ResponseBuilder::new().description("mine").build())
            .build();
        let device = OperationBuilder::new()
            .security(SecurityRequirement::new(
                "device_token",
                Vec::<String>::new(),
            ))
            .parameter(
                ParameterBuilder::new()
                    .name("cursor")
                    .parameter_in(ParameterIn::Query),
            )
            .response("200", ResponseBuilder::new().build())
            .build();
        let public = OperationBuilder::new()
            .response("200", ResponseBuilder::new().build())
            .build();
        let paths = PathsBuilder::new()
            .path("/a/{id}", PathItem::new(HttpMethod::Post, protected))
            .path("/sync", PathItem::new(HttpMethod::Get, device))
            .path("/healthz", PathItem::new(HttpMethod::Get, public))
            .build();
        let mut doc = OpenApi::new(utoipa::openapi::Info::new("t", "1"), paths);
        add_common_responses(&mut doc);

        assert_eq!(
            statuses(&doc, "/a/{id}"),
            ["200", "400", "401", "403", "404", "413", "415", "422", "431"]
        );
        assert_eq!(statuses(&doc, "/sync"), ["200", "400", "401", "431"]);
        assert_eq!(statuses(&doc, "/healthz"), ["200", "431"]);
        let item = doc.paths.paths.get("/a/{id}").expect("path");
        let responses = &item.post.as_ref().expect("op").responses.responses;
        let RefOr::T(own) = &responses["404"] else {
            panic!("inline")
        };
        assert_eq!(own.description, "mine", "an operation's own wording stays");
        let RefOr::T(added) = &responses["415"] else {
            panic!("inline")
        };
        assert!(added.content.contains_key("application/json"));
        let sync = doc.paths.paths.get("/sync").expect("path");
        let RefOr::T(ok) = &sync.get.as_ref().expect("op").responses.responses["200"] else {
            panic!("inline")
        };
        assert_eq!(
            ok.description, "OK",
            "an empty description gets the reason phrase"
        );
    }

    #[test]
    fn an_operation_annotated_public_says_no_security_and_a_protected_one_keeps_its_own() {
        let op = |security: SecurityRequirement| {
            OperationBuilder::new()
                .security(security)
                .response("200", ResponseBuilder::new().build())
                .build()
        };
        let paths = PathsBuilder::new()
            .path(
                "/open",
                PathItem::new(HttpMethod::Get, op(SecurityRequirement::default())),
            )
            .path(
                "/closed",
                PathItem::new(
                    HttpMethod::Get,
                    op(SecurityRequirement::new("bearer", Vec::<String>::new())),
                ),
            )
            .build();
        let mut doc = OpenApi::new(utoipa::openapi::Info::new("t", "1"), paths);
        explicit_public_security(&mut doc);
        let json = serde_json::to_value(&doc).expect("json");
        assert_eq!(
            json["paths"]["/open"]["get"]["security"],
            serde_json::json!([])
        );
        assert_eq!(
            json["paths"]["/closed"]["get"]["security"],
            serde_json::json!([{"bearer": []}])
        );
    }
}
