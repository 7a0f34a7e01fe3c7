//! End to end: `/metrics` of the real `wallet-server --demo` after real requests — passes
//! minted and refused, a terminal's meals accepted, duplicate and rejected, a list with a bad
//! row — in both exposition formats, with the families an operator alerts on and no
//! personal data in any label.

mod common;

use serde_json::{json, Value};
use shared::time::ASTANA;
use shared::Sex;
use time::Month;

use common::drills::terminal_token_at;
use common::wallet::{self as w, demo, Term};
use common::{Resp, Server, DEMO_SCHOOL_BIN};

const TEXT_004: &str = "text/plain; version=0.0.4; charset=utf-8";
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Every family `.ci/metrics` and the alert rules rely on.
const FAMILIES: &[&str] = &[
    "wallet_build_info",
    "wallet_http_requests_total",
    "wallet_http_request_duration_seconds",
    "wallet_meals_total",
    "wallet_pass_mints_total",
    "wallet_list_rows_total",
    "wallet_outbox_pending_messages",
    "wallet_outbox_failed_messages",
    "wallet_outbox_oldest_pending_age_seconds",
    "wallet_outbox_oldest_due_age_seconds",
    "wallet_jobs_due",
    "wallet_jobs_overdue",
    "wallet_jobs_failed",
    "wallet_school_terminals_last_contact_age_seconds",
    "wallet_terminals_by_last_contact",
    "wallet_db_up",
    "wallet_db_pool_connections",
    "wallet_db_pool_max_connections",
    "wallet_db_pool_acquire_wait_seconds",
    "process_resident_memory_bytes",
    "process_open_fds",
];

/// The value of the sample `series` (name and labels exactly as exposed).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{series} value {v:?}")))
}

fn meal(voucher: &str) -> Value {
    let at = common::story_now();
    json!({
        "event_id": uuid::Uuid::now_v7().to_string(),
        "voucher_id": voucher,
        "slot": "day",
        "service_day": at.to_offset(ASTANA).date().to_string(),
        "served_at": w::rfc3339(at),
        "method": "qr",
    })
}

async fn scrape(server: &Server, accept: Option<&str>) -> Resp {
    let mut req = server.builder(reqwest::Method::GET, "/metrics");
    if let Some(accept) = accept {
        req = req.header("accept", accept);
    }
    let resp = server.send(req, "scrape").await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp
}

/// Mints until refused (limit 2), pushes three meals, sends a list with one bad row.
async fn traffic(server: &Server) -> (Vec<String>, String) {
    let _term = Term::enter(server).await;
    let mother = server.parent_token(&demo::mother().expose()).await;
    let voucher = w::voucher_ids(&w::wallet(server, &mother).await).remove(0);
    for expected in [200, 200, 429] {
        let resp = w::mint(server, &mother, &voucher, Some("application/json")).await;
        assert_eq!(resp.status, expected, "{}", resp.text);
    }
    let terminal = terminal_token_at(server, DEMO_SCHOOL_BIN).await;
    let unknown = uuid::Uuid::now_v7().to_string();
    let pushed = server
        .post_json(
            "/v1/terminals/meals",
            Some(&terminal),
            &json!({"events": [meal(&voucher), meal(&voucher), meal(&unknown)], "unsent_after": 0}),
        )
        .await
        .ok_json();
    let verdicts: Vec<&str> = pushed["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["status"].as_str().expect("status"))
        .collect();
    assert_eq!(verdicts, ["accepted", "duplicate", "rejected"]);

    let pupil = w::iin(2018, Month::April, 1, Sex::Male, 1300).expose();
    let parent = w::iin(1990, Month::January, 15, Sex::Female, 1300).expose();
    // A valid IIN with another check digit: rejected as `invalid_iin`.
    let valid = w::iin(2017, Month::March, 3, Sex::Female, 1300).expose();
    let check = valid.as_bytes()[11] - b'0';
    let bad = format!("{}{}", &valid[..11], (check + 1) % 10);
    let list = w::list(
        "080340002348",
        "Школа метрик",
        &Term.period(),
        vec![
            w::student(
                &pupil,
                "Метрик Али",
                2,
                "2Б",
                "primary",
                vec![w::rep(&parent, "Метрик Жанар", "mother", None)],
            ),
            w::student(
                &bad,
                "Ошибка Ввода",
                3,
                "3А",
                "primary",
                vec![w::rep(&parent, "Метрик Жанар", "mother", None)],
            ),
        ],
    );
    let received = w::send_list(server, &list).await.ok_json();
    assert_eq!(
        received["rejected"][0]["reason"], "invalid_iin",
        "{received}"
    );
    (
        vec![demo::mother().expose(), pupil, parent, bad, voucher],
        unknown,
    )
}

#[tokio::test]
async fn metrics_count_real_requests_in_both_formats() {
    let data = tests::private_tempdir();
    let args = [
        "--demo",
        "--pass-mint-limit",
        "2",
        "--pass-mint-window-secs",
        "3600",
    ];
    let server = Server::start(data.path(), &args, &[]);
    let (personal, unknown_voucher) = traffic(&server).await;

    for accept in [None, Some("text/plain; version=0.0.4"), Some("*/*")] {
        assert_eq!(
            scrape(&server, accept).await.content_type,
            TEXT_004,
            "{accept:?}"
        );
    }
    let text = scrape(&server, None).await.text;
    assert!(
        !text.contains("# EOF") && !text.contains("# UNIT"),
        "{text}"
    );
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let mut words = line.split(' ').skip(2);
        let (name, kind) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
        assert_eq!(kind == "counter", name.ends_with("_total"), "{line}");
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "no help for {name}"
        );
    }
    for family in FAMILIES {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family} missing:\n{text}"
        );
    }
    let expect = |series: &str, value: f64| {
        assert_eq!(sample(&text, series), Some(value), "{series}:\n{text}");
    };
    expect("wallet_pass_mints_total{outcome=\"minted\"}", 2.0);
    expect("wallet_pass_mints_total{outcome=\"rate_limited\"}", 1.0);
    expect(
        "wallet_meals_total{outcome=\"accepted\",reason=\"none\"}",
        1.0,
    );
    expect(
        "wallet_meals_total{outcome=\"duplicate\",reason=\"none\"}",
        1.0,
    );
    expect(
        "wallet_meals_total{outcome=\"rejected\",reason=\"unknown_voucher\"}",
        1.0,
    );
    expect(
        "wallet_list_rows_total{outcome=\"accepted\",reason=\"none\"}",
        1.0,
    );
    expect(
        "wallet_list_rows_total{outcome=\"rejected\",reason=\"invalid_iin\"}",
        1.0,
    );
    expect("wallet_terminals_by_last_contact{age=\"under_5m\"}", 1.0);
    expect("wallet_db_up", 1.0);
    expect("wallet_build_info{version=\"0.1.0\"}", 1.0);
    let silent = sample(
        &text,
        &format!(
            "wallet_school_terminals_last_contact_age_seconds{{school_bin=\"{DEMO_SCHOOL_BIN}\"}}"
        ),
    )
    .expect("the demo school's terminal contact");
    assert!((0.0..300.0).contains(&silent), "{silent}");
    assert!(sample(&text, "process_resident_memory_bytes").is_some_and(|b| b > 1e6));
    for value in personal.iter().chain([&unknown_voucher]) {
        assert!(!text.contains(value.as_str()), "metrics expose {value}");
    }

    let prometheus =
        "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let om = scrape(&server, Some(prometheus)).await;
    assert_eq!(om.content_type, OPENMETRICS);
    assert!(om.text.ends_with("# EOF\n"), "{}", om.text);
    assert!(
        om.text.contains("# TYPE wallet_pass_mints counter\n"),
        "{}",
        om.text
    );
    assert!(
        om.text.contains("# TYPE wallet_build info\n"),
        "{}",
        om.text
    );
    server.stop();
}
