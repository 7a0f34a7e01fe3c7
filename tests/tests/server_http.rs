//! End to end: the real `wallet-server --demo` on a free port, driven over HTTP.
//!
//! Covers DESIGN §7 and §8: the start banner's commands work as printed; the ops endpoints;
//! every kind of bad input gets the JSON error shape with a fitting status and changes
//! nothing; the demo clock only moves forward; seeding is idempotent across restarts;
//! SIGTERM shuts down cleanly; and the log never holds a full IIN.

mod common;

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use shared::{Iin, Sex};
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, UtcOffset};

use common::{Server, DEMO_PARENT_IIN, DEMO_SCHOOL_BIN, DEMO_SCHOOL_NAME, OTHER_SCHOOL_BIN};

fn data_dir() -> tempfile::TempDir {
    tests::private_tempdir()
}

/// The demo people's birth dates and sexes, as in `wallet-server/src/demo.rs`.
const DEMO_STUDENTS: &[((i32, Month, u8), Sex)] = &[
    ((2018, Month::March, 14), Sex::Female),
    ((2013, Month::June, 2), Sex::Male),
    ((2019, Month::October, 21), Sex::Female),
    ((2011, Month::January, 30), Sex::Male),
    ((2017, Month::September, 9), Sex::Male),
];
const DEMO_ADULTS: &[((i32, Month, u8), Sex)] = &[
    ((1988, Month::May, 12), Sex::Female),
    ((1986, Month::February, 1), Sex::Male),
    ((1990, Month::July, 7), Sex::Female),
    ((1975, Month::December, 3), Sex::Female),
    ((1992, Month::April, 18), Sex::Female),
];

/// An IIN generated the way the demo seeder does: the first issuable serial from 1234.
fn iin_for((y, m, d): (i32, Month, u8), sex: Sex) -> Iin {
    let date = Date::from_calendar_date(y, m, d).expect("real date");
    (1234u16..1300)
        .find_map(|serial| Iin::generate(date, sex, serial))
        .expect("an issuable serial")
}

/// A valid IIN of someone who represents no demo student.
fn stranger_iin() -> String {
    iin_for((1970, Month::January, 1), Sex::Male).expose()
}

/// Today in Astana (UTC+5), the service day of the server.
fn today_astana() -> Date {
    let astana = UtcOffset::from_hms(5, 0, 0).expect("offset");
    common::story_now().to_offset(astana).date()
}

/// The school year (1 September – 31 May) containing `day`; in summer, the coming one.
fn school_year_of(day: Date) -> (String, String) {
    let start_year = if day.month() >= Month::September {
        day.year()
    } else if day.month() <= Month::May {
        day.year() - 1
    } else {
        day.year()
    };
    (
        format!("{start_year}-09-01"),
        format!("{}-05-31", start_year + 1),
    )
}

/// Shell commands of the banner, with `\`-continued lines joined.
fn banner_commands(banner: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in banner.lines() {
        let line = line.trim();
        match line.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head.trim_end());
                current.push(' ');
            }
            None => {
                current.push_str(line);
                if !current.trim().is_empty() {
                    commands.push(std::mem::take(&mut current));
                }
                current.clear();
            }
        }
    }
    commands
}

/// The text between `start` and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let (_, rest) = text.split_once(start)?;
    rest.split_once(end).map(|(inside, _)| inside)
}

/// A banner command `VAR=$(curl -s -X POST URL -H 'HEADER' -d 'BODY' | sed …)`.
struct TokenCommand {
    var: String,
    url: String,
    header: (String, String),
    body: String,
}

fn token_command(commands: &[String], needle: &str) -> TokenCommand {
    let cmd = commands
        .iter()
        .find(|c| c.contains("curl") && c.contains("-X POST") && c.contains(needle))
        .unwrap_or_else(|| panic!("no token command with {needle} in {commands:#?}"));
    let var = cmd
        .split_once("=$(")
        .expect("VAR=$(…)")
        .0
        .trim()
        .to_string();
    let url = between(cmd, "-X POST ", " ")
        .expect("URL after -X POST")
        .to_string();
    let header = between(cmd, "-H '", "'").expect("-H '…'");
    let (name, value) = header.split_once(':').expect("header name: value");
    let body = between(cmd, "-d '", "'").expect("-d '…'").to_string();
    assert!(
        cmd.contains(r#"sed -E 's/.*"token":"([^"]+)".*/\1/'"#),
        "token command no longer extracts the token the expected way: {cmd}"
    );
    TokenCommand {
        var,
        url,
        header: (name.trim().to_string(), value.trim().to_string()),
        body,
    }
}

/// What `sed -E 's/.*"token":"([^"]+)".*/\1/'` prints for a one-line response.
fn sed_token(response: &str) -> String {
    assert!(
        !response.trim_end().contains('\n'),
        "sed works line by line; the token response must be one line: {response:?}"
    );
    let token = between(response, "\"token\":\"", "\"").expect("\"token\":\"…\" in the response");
    assert!(!token.is_empty());
    token.to_string()
}

/// A banner command `curl -s URL -H "NAME: VALUE $VAR"` → (URL, header name, header value
/// with `$VAR` replaced).
fn get_command(
    commands: &[String],
    path: &str,
    var: &str,
    value: &str,
) -> (String, String, String) {
    let cmd = commands
        .iter()
        .find(|c| c.starts_with("curl -s http") && c.contains(path) && c.contains(var))
        .unwrap_or_else(|| panic!("no GET command for {path} using {var} in {commands:#?}"));
    let url = between(cmd, "curl -s ", " ").expect("URL").to_string();
    let header = between(cmd, "-H \"", "\"").expect("-H \"…\"");
    let (name, v) = header.split_once(':').expect("header name: value");
    (
        url,
        name.trim().to_string(),
        v.trim().replace(&format!("${var}"), value),
    )
}

#[tokio::test]
async fn demo_banner_commands_work_and_show_the_parent_her_primary_childs_voucher() {
    let data = data_dir();
    let server = Server::demo(data.path());
    let banner = server.stdout.join("\n");
    assert!(
        banner.contains(&format!("listening on {}", server.base)),
        "{banner}"
    );
    // Every URL the banner prints points at the server that printed it.
    for (i, _) in banner.match_indices("http://") {
        assert!(
            banner[i..].starts_with(&server.base),
            "banner URL not on {}: {}",
            server.base,
            &banner[i..]
        );
    }
    let commands = banner_commands(&banner);

    // The parent's token, exactly as the banner says to get it.
    let cmd = token_command(&commands, "\"role\":\"parent\"");
    assert_eq!(cmd.url, server.url("/dev/token"));
    let body: Value = serde_json::from_str(&cmd.body).expect("banner body is JSON");
    assert_eq!(body["sub"], DEMO_PARENT_IIN, "the banner's parent");
    let resp = server
        .send(
            server
                .builder(Method::POST, "/dev/token")
                .header(cmd.header.0.as_str(), cmd.header.1.as_str())
                .body(cmd.body.clone()),
            "banner: parent token",
        )
        .await;
    resp.ok_json();
    let token = sed_token(&resp.text);

    // Her vouchers, exactly as the banner says.
    let (url, name, value) = get_command(&commands, "/v1/wallet/vouchers", &cmd.var, &token);
    assert_eq!(url, server.url("/v1/wallet/vouchers"));
    let resp = server
        .send(
            server
                .builder(Method::GET, "/v1/wallet/vouchers")
                .header(name.as_str(), value.as_str()),
            "banner: parent vouchers",
        )
        .await;
    let list = resp.ok_json();
    let vouchers = list["vouchers"].as_array().expect("vouchers array");
    assert_eq!(
        vouchers.len(),
        1,
        "only the primary-grade child (2А) has a voucher; the 7th-grader has none: {list:#}"
    );
    let v = &vouchers[0];
    assert_eq!(v["state"], "activated", "{v:#}");
    assert_eq!(v["programme"], "school_meals", "{v:#}");
    assert_eq!(v["student"]["full_name"], "Сапарова Айгерим Ерлановна");
    assert_eq!(v["student"]["class_label"], "2А");
    assert_eq!(v["school"]["bin"], DEMO_SCHOOL_BIN);
    assert_eq!(v["school"]["name"], DEMO_SCHOOL_NAME);
    let id = v["id"].as_str().expect("id is a string");
    assert_eq!(
        (id.len(), id.matches('-').count()),
        (36, 4),
        "id looks like a UUID: {id}"
    );
    let (from, until) = school_year_of(today_astana());
    assert_eq!(v["valid_from"], from.as_str(), "{v:#}");
    assert_eq!(v["valid_until"], until.as_str(), "{v:#}");

    // The social pedagogue's commands work as well.
    let cmd = token_command(&commands, "\"role\":\"social_pedagogue\"");
    assert_eq!(cmd.url, server.url("/dev/token"));
    let resp = server
        .send(
            server
                .builder(Method::POST, "/dev/token")
                .header(cmd.header.0.as_str(), cmd.header.1.as_str())
                .body(cmd.body.clone()),
            "banner: staff token",
        )
        .await;
    let staff = sed_token(&resp.text);
    let path = format!("/v1/schools/{DEMO_SCHOOL_BIN}/vouchers");
    let (url, name, value) = get_command(&commands, &path, &cmd.var, &staff);
    assert_eq!(url, server.url(&path));
    let resp = server
        .send(
            server
                .builder(Method::GET, &path)
                .header(name.as_str(), value.as_str()),
            "banner: school vouchers",
        )
        .await;
    let school = resp.ok_json();
    assert_eq!(school["school"]["bin"], DEMO_SCHOOL_BIN);
    assert_eq!(school["school"]["name"], DEMO_SCHOOL_NAME);
    let mut seen: Vec<(String, String, String)> = school["vouchers"]
        .as_array()
        .expect("vouchers array")
        .iter()
        .map(|v| {
            let masked = v["student"]["iin_masked"].as_str().expect("iin_masked");
            assert!(is_masked_iin(masked), "not a masked IIN: {masked}");
            (
                v["student"]["full_name"].as_str().unwrap_or("").to_string(),
                v["student"]["class_label"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                v["state"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("Ким Дана Сергеевна".into(), "1В".into(), "formed".into()),
            (
                "Сапарова Айгерим Ерлановна".into(),
                "2А".into(),
                "activated".into()
            ),
        ],
        "{school:#}"
    );
}

/// `0412******21`
fn is_masked_iin(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 12
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4..10].iter().all(|&c| c == b'*')
        && b[10..].iter().all(u8::is_ascii_digit)
}

#[tokio::test]
async fn ops_endpoints_answer_health_readiness_metrics_and_openapi() {
    let data = data_dir();
    let server = Server::demo(data.path());

    let health = server.get("/healthz", None).await.ok_json();
    assert_eq!(health, json!({"status": "ok"}));
    let ready = server.get("/readyz", None).await.ok_json();
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["database"], "sqlite", "{ready}");

    // Requests whose routes must show up by template, never by raw path.
    let staff = server
        .staff_token("social_pedagogue", DEMO_SCHOOL_BIN)
        .await;
    server
        .get(
            &format!("/v1/schools/{DEMO_SCHOOL_BIN}/vouchers"),
            Some(&staff),
        )
        .await
        .ok_json();
    server
        .get("/no/such/route", None)
        .await
        .assert_error(404, "not_found");

    let metrics = server.get("/metrics", None).await;
    assert_eq!(metrics.status, 200, "{}", metrics.text);
    assert!(
        metrics
            .content_type
            .starts_with("application/openmetrics-text")
            || metrics.content_type.starts_with("text/plain"),
        "metrics content type {:?}",
        metrics.content_type
    );
    let counter = |route: &str, status: u16| {
        metrics.text.lines().any(|l| {
            l.starts_with("wallet_http_requests_total{")
                && l.contains("method=\"GET\"")
                && l.contains(&format!("route=\"{route}\""))
                && l.contains(&format!("status=\"{status}\""))
        })
    };
    assert!(counter("/healthz", 200), "{}", metrics.text);
    assert!(counter("/readyz", 200), "{}", metrics.text);
    assert!(
        counter("/v1/schools/{bin}/vouchers", 200),
        "{}",
        metrics.text
    );
    assert!(
        !metrics.text.contains(DEMO_SCHOOL_BIN) && !metrics.text.contains("/no/such/route"),
        "metrics label raw paths:\n{}",
        metrics.text
    );

    let doc = server.get("/openapi.json", None).await.ok_json();
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(version.starts_with("3."), "openapi {version}");
    let paths = doc["paths"].as_object().expect("paths");
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/wallet/vouchers",
        "/v1/schools/{bin}/vouchers",
        "/dev/token",
        "/dev/clock",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from {:?}",
            paths.keys()
        );
    }
    // The refusal codes of a 401, each explained where the schemes are described.
    let schemes = &doc["components"]["securitySchemes"];
    let bearer = schemes["bearer"]["description"]
        .as_str()
        .unwrap_or_default();
    for code in [
        "token_missing",
        "token_malformed",
        "token_algorithm",
        "token_critical_header",
        "token_unknown_key",
        "token_signature",
        "token_expired",
        "token_not_yet_valid",
        "token_issuer",
        "token_audience",
        "token_claims",
    ] {
        assert!(bearer.contains(&format!("`{code}`: ")), "{code}: {bearer}");
    }
    let device = schemes["device_token"]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(device.contains("`token_unknown`: "), "{device}");
    // Found by API fuzzing (.ci/fuzz): query parameters were documented as path
    // parameters, and protected operations did not document their 401.
    let outbox = &doc["paths"]["/v1/integration/outbox"]["get"];
    assert_eq!(outbox["parameters"][0]["name"], "limit", "{outbox}");
    assert_eq!(outbox["parameters"][0]["in"], "query", "{outbox}");
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("path item") {
            let responses = &op["responses"];
            // A public operation says `security: []`.
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                assert_eq!(
                    responses["401"]["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path} must document its 401"
                );
                let said = responses["401"]["description"].as_str().unwrap_or_default();
                assert!(
                    said.contains("`token_missing`") && said.contains("`token_malformed`"),
                    "{method} {path}: the 401 names its codes: {said:?}"
                );
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(responses.get(status).is_some(), "{method} {path}: {status}");
                }
            }
        }
    }
    for media in ["text/plain", "application/openmetrics-text"] {
        assert!(
            doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
                .get(media)
                .is_some(),
            "/metrics documents what it answers: {media}"
        );
    }
}

/// What the demo users see; must not change after bad input.
async fn snapshot(server: &Server) -> Vec<Value> {
    let parent = server.parent_token(DEMO_PARENT_IIN).await;
    let kim_mother = server
        .parent_token(&iin_for(DEMO_ADULTS[2].0, DEMO_ADULTS[2].1).expose())
        .await;
    let staff_a = server
        .staff_token("social_pedagogue", DEMO_SCHOOL_BIN)
        .await;
    let staff_b = server.staff_token("director", OTHER_SCHOOL_BIN).await;
    vec![
        server
            .get("/v1/wallet/vouchers", Some(&parent))
            .await
            .ok_json(),
        server
            .get("/v1/wallet/vouchers", Some(&kim_mother))
            .await
            .ok_json(),
        server
            .get(
                &format!("/v1/schools/{DEMO_SCHOOL_BIN}/vouchers"),
                Some(&staff_a),
            )
            .await
            .ok_json(),
        server
            .get(
                &format!("/v1/schools/{OTHER_SCHOOL_BIN}/vouchers"),
                Some(&staff_b),
            )
            .await
            .ok_json(),
    ]
}

#[tokio::test]
async fn bad_input_gets_a_json_error_and_changes_nothing() {
    let data = data_dir();
    let server = Server::demo(data.path());
    let before = snapshot(&server).await;
    assert_eq!(before[0]["vouchers"].as_array().map(Vec::len), Some(1));
    assert_eq!(before[1]["vouchers"][0]["state"], "formed", "Ким Дана");
    assert_eq!(before[2]["vouchers"].as_array().map(Vec::len), Some(2));
    assert_eq!(before[3]["vouchers"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        before[3]["vouchers"][0]["student"]["full_name"],
        "Омаров Тимур Асланович"
    );
    assert_eq!(before[3]["vouchers"][0]["state"], "formed");

    // Unknown routes.
    for path in ["/", "/nope", "/v1/wallet", "/v1/wallet/vouchers/extra"] {
        server.get(path, None).await.assert_error(404, "not_found");
    }
    // Wrong methods.
    for (method, path) in [
        (Method::DELETE, "/healthz"),
        (Method::POST, "/readyz"),
        (Method::GET, "/dev/token"),
        (Method::PUT, "/v1/wallet/vouchers"),
        (Method::POST, "/v1/schools/050140001238/vouchers"),
    ] {
        server
            .request(method, path, None, None)
            .await
            .assert_error(405, "method_not_allowed");
    }
    // Missing or wrong content type.
    let body = format!(r#"{{"sub":"{DEMO_PARENT_IIN}","role":"parent"}}"#);
    let resp = server
        .send(
            server
                .builder(Method::POST, "/dev/token")
                .body(body.clone()),
            "no content type",
        )
        .await;
    resp.assert_error(415, "unsupported_media_type");
    let resp = server
        .send(
            server
                .builder(Method::POST, "/dev/token")
                .header("content-type", "text/plain")
                .body(body.clone()),
            "text/plain",
        )
        .await;
    resp.assert_error(415, "unsupported_media_type");
    // Malformed JSON.
    for raw in [
        r#"{"sub":"#,
        "not json",
        r#"{"sub":"880512412342","role":"parent""#,
        "",
    ] {
        let resp = server
            .send(
                server
                    .builder(Method::POST, "/dev/token")
                    .header("content-type", "application/json")
                    .body(raw.to_string()),
                &format!("malformed {raw:?}"),
            )
            .await;
        // An empty body is "EOF while parsing": a syntax error too.
        resp.assert_error(400, "malformed_json");
    }
    // Well-formed JSON of the wrong shape.
    for wrong in [
        json!({"sub": 880512412342_u64, "role": "parent"}),
        json!({"sub": DEMO_PARENT_IIN, "role": "superuser"}),
        json!({"sub": DEMO_PARENT_IIN}),
        json!({"sub": DEMO_PARENT_IIN, "role": "parent", "school": 7}),
        json!({"sub": DEMO_PARENT_IIN, "role": {"parent": 1}}),
        json!("parent"),
        json!(null),
    ] {
        server
            .post_json("/dev/token", None, &wrong)
            .await
            .assert_error(422, "invalid_body");
    }
    // The dev IdP refuses subjects and schools that make no sense.
    server
        .post_json(
            "/dev/token",
            None,
            &json!({"sub": "123456789012", "role": "parent"}),
        )
        .await
        .assert_error(400, "invalid_sub");
    server
        .post_json(
            "/dev/token",
            None,
            &json!({"sub": "ped", "role": "social_pedagogue"}),
        )
        .await
        .assert_error(400, "invalid_school");

    // Missing, garbage and forged tokens.
    let wallet = "/v1/wallet/vouchers";
    let school_a = format!("/v1/schools/{DEMO_SCHOOL_BIN}/vouchers");
    let school_b = format!("/v1/schools/{OTHER_SCHOOL_BIN}/vouchers");
    server
        .get(wallet, None)
        .await
        .assert_error(401, "token_missing");
    server
        .get(&school_a, None)
        .await
        .assert_error(401, "token_missing");
    server
        .get(wallet, Some("garbage"))
        .await
        .assert_error(401, "token_malformed");
    let resp = server
        .send(
            server
                .builder(Method::GET, wallet)
                .header("authorization", "Basic dXNlcjpwYXNz"),
            "basic auth",
        )
        .await;
    resp.assert_error(401, "token_malformed");
    let parent = server.parent_token(DEMO_PARENT_IIN).await;
    // One character of the signature changed: its first, since the last carries padding bits
    // and a changed one may no longer be base64url at all (a malformed token, not a forged one).
    let at = parent.rfind('.').expect("three parts") + 1;
    let first = parent[at..].chars().next().expect("a signature");
    let forged = format!(
        "{}{}{}",
        &parent[..at],
        if first == 'A' { 'B' } else { 'A' },
        &parent[at + 1..]
    );
    server
        .get(wallet, Some(&forged))
        .await
        .assert_error(401, "token_signature");

    // Wrong roles.
    server
        .get(&school_a, Some(&parent))
        .await
        .assert_error(403, "forbidden");
    let staff_a = server
        .staff_token("social_pedagogue", DEMO_SCHOOL_BIN)
        .await;
    server
        .get(wallet, Some(&staff_a))
        .await
        .assert_error(403, "forbidden");
    let integration = server
        .dev_token(&json!({"sub": "nobd", "role": "integration"}))
        .await;
    server
        .get(wallet, Some(&integration))
        .await
        .assert_error(403, "forbidden");
    server
        .get(&school_a, Some(&integration))
        .await
        .assert_error(403, "forbidden");

    // Staff of school A asking for school B (or a BIN that is not one): it does not exist.
    server
        .get(&school_b, Some(&staff_a))
        .await
        .assert_error(404, "not_found");
    server
        .get("/v1/schools/not-a-bin/vouchers", Some(&staff_a))
        .await
        .assert_error(404, "not_found");
    let director_b = server.staff_token("director", OTHER_SCHOOL_BIN).await;
    server
        .get(&school_a, Some(&director_b))
        .await
        .assert_error(404, "not_found");

    // A parent with no children sees an empty list, not an error.
    let stranger = server.parent_token(&stranger_iin()).await;
    let list = server.get(wallet, Some(&stranger)).await.ok_json();
    assert_eq!(list, json!({"vouchers": []}));

    assert_eq!(
        snapshot(&server).await,
        before,
        "bad input changed what users see"
    );
}

/// Regression: serde_json reports a wrong-typed enum (`"role": 5`) as a *syntax* error, which
/// was once answered `400 malformed_json`. A well-formed body of the wrong shape is `422`.
#[tokio::test]
async fn wrong_json_type_for_an_enum_field_is_invalid_body_not_malformed_json() {
    let data = data_dir();
    let server = Server::demo(data.path());
    let mut wrong = Vec::new();
    for role in [json!(["parent"]), json!(5), json!(true), json!(null)] {
        let body = json!({"sub": DEMO_PARENT_IIN, "role": role});
        let resp = server.post_json("/dev/token", None, &body).await;
        if (resp.status, resp.json()["error"]["code"].clone()) != (422, json!("invalid_body")) {
            wrong.push(format!("{body} -> {} {}", resp.status, resp.text));
        }
    }
    assert!(
        wrong.is_empty(),
        "well-formed JSON with a wrong type must be 422 invalid_body:\n{}",
        wrong.join("\n")
    );
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_with_413() {
    let data = data_dir();
    let server = Server::start(data.path(), &["--demo", "--max-body-bytes", "1024"], &[]);
    let big = json!({"sub": DEMO_PARENT_IIN, "role": "parent", "pad": "x".repeat(4096)});
    assert!(serde_json::to_vec(&big).expect("json").len() > 4096);
    server
        .post_json("/dev/token", None, &big)
        .await
        .assert_error(413, "payload_too_large");
    let big_clock = json!({"now": "2099-01-01T00:00:00Z", "pad": "x".repeat(4096)});
    server
        .post_json("/dev/clock", None, &big_clock)
        .await
        .assert_error(413, "payload_too_large");
    // A body under the limit still works, and nothing moved.
    let token = server.parent_token(DEMO_PARENT_IIN).await;
    let list = server
        .get("/v1/wallet/vouchers", Some(&token))
        .await
        .ok_json();
    assert_eq!(list["vouchers"].as_array().map(Vec::len), Some(1));
    let (from, _) = school_year_of(today_astana());
    assert_eq!(
        list["vouchers"][0]["valid_from"],
        from.as_str(),
        "the refused clock change must not have happened"
    );
    // Eligibility lists have their own, larger limit (big schools): a list over the general
    // limit gets past it to validation, one over 16 MiB is refused whole.
    let integration = server.integration_token().await;
    let small_list = json!({"school": {"bin": "x", "name": "x".repeat(2048)}, "programme": "school_meals",
        "period": "2026-11", "students": []});
    let answer = server
        .post_json(
            "/v1/integration/eligibility-lists",
            Some(&integration),
            &small_list,
        )
        .await;
    assert_ne!(answer.status, 413, "a 2 KB list is within the list limit");
    // Last: the server closes a connection whose body it refused unread.
    let huge_list = json!({"school": {"bin": "x", "name": "x".repeat(17 << 20)}});
    server
        .post_json(
            "/v1/integration/eligibility-lists",
            Some(&integration),
            &huge_list,
        )
        .await
        .assert_error(413, "payload_too_large");
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("format RFC 3339")
}

#[tokio::test]
async fn demo_clock_moves_forward_only() {
    let data = data_dir();
    let server = Server::demo(data.path());
    let now = common::story_now();

    // Forward: the answer is the new now (plus the instant it took to answer).
    let target = (now + time::Duration::days(1))
        .replace_nanosecond(0)
        .expect("ns");
    let moved = server
        .post_json("/dev/clock", None, &json!({"now": rfc3339(target)}))
        .await
        .ok_json();
    let answered =
        OffsetDateTime::parse(moved["now"].as_str().expect("now"), &Rfc3339).expect("RFC 3339 now");
    assert!(
        answered >= target && answered - target < time::Duration::seconds(30),
        "asked for {target}, clock says {answered}"
    );

    // Other offsets are the same instants.
    let later = target + time::Duration::hours(1);
    let astana = UtcOffset::from_hms(5, 0, 0).expect("offset");
    let moved = server
        .post_json(
            "/dev/clock",
            None,
            &json!({"now": rfc3339(later.to_offset(astana))}),
        )
        .await
        .ok_json();
    let answered =
        OffsetDateTime::parse(moved["now"].as_str().expect("now"), &Rfc3339).expect("RFC 3339 now");
    assert!(answered >= later && answered - later < time::Duration::seconds(30));

    // Backwards: refused, to where it started and to just before the current demo time.
    for back in [now, later - time::Duration::minutes(5)] {
        server
            .post_json("/dev/clock", None, &json!({"now": rfc3339(back)}))
            .await
            .assert_error(409, "clock_backwards");
    }

    // Malformed `now`.
    for bad in [
        json!({"now": "yesterday"}),
        json!({"now": "2026-13-01T00:00:00Z"}),
        json!({"now": "2026-12-01"}),
        json!({"now": 1_800_000_000}),
        json!({}),
    ] {
        server
            .post_json("/dev/clock", None, &bad)
            .await
            .assert_error(422, "invalid_body");
    }

    // Still forward from where it is.
    let further = later + time::Duration::days(1);
    server
        .post_json("/dev/clock", None, &json!({"now": rfc3339(further)}))
        .await
        .ok_json();
    // Tokens issued on the moved clock still work.
    let token = server.parent_token(DEMO_PARENT_IIN).await;
    server
        .get("/v1/wallet/vouchers", Some(&token))
        .await
        .ok_json();
}

/// Ids, states and students of every demo voucher, sorted.
async fn all_vouchers(server: &Server) -> Vec<(String, String, String)> {
    let mut all = Vec::new();
    for (role, bin) in [
        ("social_pedagogue", DEMO_SCHOOL_BIN),
        ("director", OTHER_SCHOOL_BIN),
    ] {
        let token = server.staff_token(role, bin).await;
        let list = server
            .get(&format!("/v1/schools/{bin}/vouchers"), Some(&token))
            .await
            .ok_json();
        for v in list["vouchers"].as_array().expect("vouchers") {
            all.push((
                v["id"].as_str().expect("id").to_string(),
                v["state"].as_str().expect("state").to_string(),
                v["student"]["full_name"]
                    .as_str()
                    .expect("name")
                    .to_string(),
            ));
        }
    }
    all.sort();
    all
}

#[tokio::test]
async fn restarting_on_the_same_data_dir_seeds_nothing_twice() {
    let data = data_dir();
    let server = Server::demo(data.path());
    assert!(
        data.path().join("wallet.db").exists(),
        "SQLite at DIR/wallet.db"
    );
    let first = all_vouchers(&server).await;
    assert_eq!(
        first.len(),
        3,
        "2А, 1В and 3А of the other school: {first:#?}"
    );
    let parent = server.parent_token(DEMO_PARENT_IIN).await;
    let wallet_first = server
        .get("/v1/wallet/vouchers", Some(&parent))
        .await
        .ok_json();
    server.stop();

    for round in 0..2 {
        let server = Server::demo(data.path());
        assert_eq!(
            all_vouchers(&server).await,
            first,
            "restart {round} changed the vouchers"
        );
        let parent = server.parent_token(DEMO_PARENT_IIN).await;
        let wallet = server
            .get("/v1/wallet/vouchers", Some(&parent))
            .await
            .ok_json();
        assert_eq!(wallet, wallet_first, "restart {round}");
        server.stop();
    }
}

#[tokio::test]
async fn sigterm_shuts_down_cleanly() {
    let data = data_dir();
    let mut server = Server::demo(data.path());
    server.get("/healthz", None).await.ok_json();
    let status = server.terminate(Duration::from_secs(5));
    let status = status.unwrap_or_else(|| {
        panic!(
            "still running 5 s after SIGTERM\nstderr:\n{}",
            server.stderr()
        )
    });
    assert!(
        status.success(),
        "exit status {status}\nstderr:\n{}",
        server.stderr()
    );
    assert!(
        server.stderr().contains("shutting down"),
        "{}",
        server.stderr()
    );
}

/// Maximal runs of exactly 12 digits that are valid IINs.
fn valid_iins_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let run = &text[start..i];
            if run.len() == 12 && run.parse::<Iin>().is_ok() {
                found.push(run.to_string());
            }
        } else {
            i += 1;
        }
    }
    found
}

#[tokio::test]
async fn logs_never_hold_a_full_iin() {
    let data = data_dir();
    let server = Server::start(data.path(), &["--demo"], &[("RUST_LOG", "debug")]);

    // Exercise everything, good and bad, with every demo person.
    let mut people: Vec<String> = DEMO_ADULTS
        .iter()
        .chain(DEMO_STUDENTS)
        .map(|&(born, sex)| iin_for(born, sex).expose())
        .collect();
    people.push(stranger_iin());
    assert!(people.iter().any(|p| p == DEMO_PARENT_IIN));
    let students: Vec<String> = DEMO_STUDENTS
        .iter()
        .map(|&(born, sex)| iin_for(born, sex).expose())
        .collect();
    for iin in &people {
        let token = server.parent_token(iin).await;
        let list = server
            .get("/v1/wallet/vouchers", Some(&token))
            .await
            .ok_json();
        for s in &students {
            assert!(!list.to_string().contains(s.as_str()), "wallet shows {s}");
        }
        server
            .get("/v1/schools/050140001238/vouchers", Some(&token))
            .await
            .assert_error(403, "forbidden");
        let mut forged = token.clone();
        forged.insert(10, 'x');
        server
            .get("/v1/wallet/vouchers", Some(&forged))
            .await
            .assert_error(401, "token_malformed");
    }
    for (role, bin) in [
        ("social_pedagogue", DEMO_SCHOOL_BIN),
        ("director", OTHER_SCHOOL_BIN),
    ] {
        let token = server.staff_token(role, bin).await;
        let list = server
            .get(&format!("/v1/schools/{bin}/vouchers"), Some(&token))
            .await
            .ok_json();
        for s in &students {
            assert!(
                !list.to_string().contains(s.as_str()),
                "school list shows the full IIN {s}"
            );
        }
    }
    server
        .post_json(
            "/dev/token",
            None,
            &json!({"sub": "123456789012", "role": "parent"}),
        )
        .await
        .assert_error(400, "invalid_sub");
    server
        .post_json("/dev/token", None, &json!({"sub": 5, "role": "parent"}))
        .await
        .assert_error(422, "invalid_body");
    server.get("/metrics", None).await;

    let log = server.stderr();
    assert!(
        log.contains("DEBUG"),
        "RUST_LOG=debug was not applied:\n{log}"
    );
    for iin in &people {
        assert!(!log.contains(iin.as_str()), "the log holds the IIN {iin}");
    }
    let leaked = valid_iins_in(&log);
    assert!(leaked.is_empty(), "the log holds IINs {leaked:?}");
}

#[test]
fn the_log_scan_finds_iins_and_only_iins() {
    let log = format!(
        "sub={DEMO_PARENT_IIN} bin={DEMO_SCHOOL_BIN} masked=8805******42 ts=1764021921733191234 \
         x{}y",
        iin_for(DEMO_STUDENTS[0].0, DEMO_STUDENTS[0].1).expose()
    );
    assert_eq!(
        valid_iins_in(&log),
        [
            DEMO_PARENT_IIN.to_string(),
            iin_for(DEMO_STUDENTS[0].0, DEMO_STUDENTS[0].1).expose()
        ]
    );
}
