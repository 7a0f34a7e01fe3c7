//! Input an outside probe found taken too loosely (issue 16), each against the real
//! `wallet-server --demo` over HTTP, each refused now with a clear answer: a JSON key given
//! twice, dates and months outside the years the service handles, a console `back` that
//! cannot go into a header, oversized request headers, and a parent's complaints without
//! end.

mod common;
mod console_support;

use reqwest::Method;

use common::{Server, DEMO_PARENT_IIN, DEMO_SCHOOL_BIN};

/// Sends `body` as it is (serde_json could not write a key twice).
async fn post_raw(server: &Server, path: &str, body: &str) -> common::Resp {
    let req = server
        .builder(Method::POST, path)
        .header("content-type", "application/json")
        .body(body.to_string());
    server.send(req, &format!("POST {path} {body}")).await
}

#[tokio::test]
async fn a_json_key_given_twice_at_any_depth_is_refused_naming_the_key() {
    let data = tests::private_tempdir();
    let server = Server::demo(data.path());
    // Once the second `role` won: an integration token for whoever asked.
    let twice = format!(r#"{{"sub":"{DEMO_PARENT_IIN}","role":"parent","role":"integration"}}"#);
    let refused = post_raw(&server, "/dev/token", &twice).await;
    refused.assert_error(422, "invalid_body");
    assert!(
        refused.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(r#"duplicate key "role""#)),
        "{}",
        refused.text
    );
    // Deeper: a student's key twice inside an eligibility list.
    let integration = server.integration_token().await;
    let list = format!(
        r#"{{"school":{{"bin":"{DEMO_SCHOOL_BIN}","name":"x","bin":"{DEMO_SCHOOL_BIN}"}},
            "programme":"school_meals","period":"2026-11","students":[]}}"#
    );
    let req = server
        .builder(Method::POST, "/v1/integration/eligibility-lists")
        .bearer_auth(&integration)
        .header("content-type", "application/json")
        .body(list);
    let deep = server.send(req, "a list with a school's bin twice").await;
    deep.assert_error(422, "invalid_body");
    assert!(
        deep.text.contains(r#"duplicate key \"bin\""#),
        "{}",
        deep.text
    );
    // The same body with each key once is taken.
    let once = format!(r#"{{"sub":"{DEMO_PARENT_IIN}","role":"parent"}}"#);
    assert_eq!(post_raw(&server, "/dev/token", &once).await.status, 200);
}

#[tokio::test]
async fn dates_and_months_outside_the_years_served_are_refused() {
    let data = tests::private_tempdir();
    let server = Server::demo(data.path());
    let integration = server.integration_token().await;
    let report = |date: &str| format!("/v1/integration/reports/daily?date={date}");
    // A sign before the year once read as the year -2026: 200 with an empty report.
    server
        .get(&report("-2026-12-05"), Some(&integration))
        .await
        .assert_error(422, "invalid_date");
    server
        .get(&report("20260-12-05"), Some(&integration))
        .await
        .assert_error(422, "invalid_date");
    let far = server.get(&report("1900-01-01"), Some(&integration)).await;
    far.assert_error(422, "date_out_of_range");
    assert!(far.text.contains("2000 to 2100"), "{}", far.text);
    assert_eq!(
        server
            .get(&report("2026-11-23"), Some(&integration))
            .await
            .status,
        200
    );
    // A calendar day in a path.
    let day = server
        .request(
            Method::DELETE,
            "/v1/integration/calendar/days/-2026-12-05",
            Some(&integration),
            None,
        )
        .await;
    day.assert_error(422, "invalid_date");
    // A list for 1900-01 forms nothing.
    let list = common::wallet::list(DEMO_SCHOOL_BIN, "x", "1900-01", vec![]);
    let refused = common::wallet::send_list(&server, &list).await;
    refused.assert_error(422, "invalid_list");
    assert!(refused.text.contains("2000 to 2100"), "{}", refused.text);
    // A табель of 1900-01.
    let staff = server.staff_token("director", DEMO_SCHOOL_BIN).await;
    server
        .get(
            &format!("/v1/schools/{DEMO_SCHOOL_BIN}/tabel?month=1900-01"),
            Some(&staff),
        )
        .await
        .assert_error(400, "invalid_month");
    // A programme configured from 1900 does not start.
    let (status, output) =
        common::run_expecting_exit(&["--programme-start", "1900-01-01", "--demo"]);
    assert!(!status.success(), "{output}");
    assert!(output.contains("2000 to 2100"), "{output}");
}

#[tokio::test]
async fn a_console_back_that_cannot_be_a_header_goes_home_never_500() {
    use console_support::Console;
    let data = tests::private_tempdir();
    let server = Server::demo(data.path());
    let staff = Console::sign_in(&server, "social_pedagogue", DEMO_SCHOOL_BIN).await;
    let students = format!("/console/schools/{DEMO_SCHOOL_BIN}/students");
    let csrf = staff.get(&students).await.csrf();
    for back in [
        "/console/x\r\nSet-Cookie: a=b",
        "/console/x\nLocation: //evil.example",
        "/console/x\0",
        "/console/\\evil.example",
        "//evil.example/console/",
        "/\\evil.example/console/",
        "https://evil.example/console/",
    ] {
        let answer = staff
            .post(
                "/console/lang",
                &[("csrf", &csrf), ("lang", "ru"), ("back", back)],
            )
            .await;
        assert_eq!(
            (answer.status, answer.location.as_deref()),
            (303, Some("/console/")),
            "back {back:?}: {}",
            answer.body
        );
        assert!(answer.cookie("a").is_none(), "no header injected");
    }
    let fine = staff
        .post(
            "/console/lang",
            &[("csrf", &csrf), ("lang", "ru"), ("back", &students)],
        )
        .await;
    assert_eq!(fine.location.as_deref(), Some(students.as_str()));
}

#[tokio::test]
async fn a_parent_complains_three_times_a_day_per_voucher_even_across_restarts() {
    use common::wallet as w;
    let data = tests::private_tempdir();
    let server = Server::demo(data.path());
    let mother = server.parent_token(&w::demo::mother().expose()).await;
    let voucher = w::voucher_ids(&w::wallet(&server, &mother).await).remove(0);
    let path = format!("/v1/wallet/vouchers/{voucher}/feedback");
    let complaint = serde_json::json!({"rating": 1, "complaint": "Суп опять холодный"});
    for n in 1..=3 {
        let taken = server.post_json(&path, Some(&mother), &complaint).await;
        assert_eq!(taken.status, 201, "complaint {n}: {}", taken.text);
    }
    let queued = w::outbox(&server).await;
    let refused = server.post_json(&path, Some(&mother), &complaint).await;
    refused.assert_error(429, "too_many_complaints");
    let retry: i64 = refused
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    // Until Astana midnight of the story's day.
    let midnight = time::macros::datetime!(2026-11-25 00:00 +5);
    let left = (midnight - common::story_now()).whole_seconds();
    assert!(
        (left - 60..=left + 1).contains(&retry),
        "Retry-After {retry}, {left} s left"
    );
    assert_eq!(
        w::outbox(&server).await,
        queued,
        "nothing queued for e-Otinish"
    );
    // A rating alone is still taken.
    let rating = server
        .post_json(&path, Some(&mother), &serde_json::json!({"rating": 4}))
        .await;
    assert_eq!(rating.status, 201, "{}", rating.text);
    // The count is in the database: a restart does not reset it.
    server.stop();
    let server = Server::demo(data.path());
    let mother = server.parent_token(&w::demo::mother().expose()).await;
    server
        .post_json(&path, Some(&mother), &complaint)
        .await
        .assert_error(429, "too_many_complaints");
}

#[cfg(unix)]
#[test]
fn a_data_directory_open_to_others_or_read_only_is_refused_naming_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tests::private_tempdir();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("data dir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let (status, output) = common::run_expecting_exit_on(&data, &["--demo"]);
    assert!(!status.success(), "{output}");
    let fix = format!("chmod 700 {}", data.display());
    assert!(
        output.contains("open to group or others (mode 755)") && output.contains(&fix),
        "{output}"
    );
    assert!(
        std::fs::read_dir(&data).expect("read").next().is_none(),
        "nothing written into it"
    );
    // The fix the message gives works.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    Server::demo(&data).stop();
    assert!(data.join("wallet.db").is_file());

    // A directory nobody may write in (procfs; chmod would not stop root): the error names
    // the directory and what was tried, not only SQLite's "readonly database".
    #[cfg(target_os = "linux")]
    {
        let (status, output) =
            common::run_expecting_exit_on(std::path::Path::new("/proc/self/fd"), &["--demo"]);
        assert!(!status.success(), "{output}");
        assert!(
            output.contains("cannot write in the data directory /proc/self/fd"),
            "{output}"
        );
    }
}

/// One request over a raw TCP connection (no client library would send such a head);
/// returns the status and the body.
async fn raw_exchange(server: &Server, path: &str, extra_header: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra_header}\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(head.as_bytes())
        .await
        .expect("send the head");
    let mut answer = Vec::new();
    tokio::time::timeout(common::HTTP_TIMEOUT, stream.read_to_end(&mut answer))
        .await
        .expect("an answer in time")
        .expect("read the answer");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn oversized_headers_get_our_json_error_not_an_empty_431() {
    let data = tests::private_tempdir();
    let server = Server::demo(data.path());
    for (path, size) in [
        ("/v1/wallet/vouchers", 1_000_000),
        ("/v1/wallet/vouchers", 20 * 1024),
        ("/console/", 64 * 1024),
    ] {
        let header = format!("Authorization: Bearer {}", "A".repeat(size));
        let (status, body) = raw_exchange(&server, path, &header).await;
        assert_eq!(status, 431, "{path} with {size} bytes: {body}");
        let json: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{path} with {size} bytes: not JSON ({e}): {body:?}"));
        assert_eq!(json["error"]["code"], "headers_too_large", "{json}");
    }
    // Ordinary heads pass: a 4 KiB header is read and judged by the route.
    let header = format!("Authorization: Bearer {}", "A".repeat(4096));
    let (status, body) = raw_exchange(&server, "/v1/wallet/vouchers", &header).await;
    assert_eq!(status, 401, "{body}");
    // The OpenAPI document lists 431 for every operation.
    let doc = server.get("/openapi.json", None).await.ok_json();
    let ops = doc["paths"].as_object().expect("paths");
    for (path, item) in ops {
        for (method, op) in item.as_object().expect("item") {
            assert!(
                op["responses"].get("431").is_some(),
                "{method} {path} documents no 431"
            );
        }
    }
}
