//! End to end: the wallet core against the real `wallet-server --demo` — a new school's
//! eligibility list, the listed mother activating her child's voucher and minting a pass that
//! real QR decoders read and that verifies offline with the published keys; replacement
//! lists; the pass rate limit; feedback and complaints; ID cards and terminal codes; bad
//! input on the new routes; and the OpenAPI document of them all.

mod common;

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{json, Value};
use shared::pass::{self, PassError};
use shared::{Iin, Sex, VoucherId};
use time::{Duration, Month, Time};

use common::wallet::{self as w, demo, Term};
use common::{Resp, Server, DEMO_SCHOOL_BIN, OTHER_SCHOOL_BIN};

fn data_dir() -> tempfile::TempDir {
    tests::private_tempdir()
}

/// A school seen for the first time, its list, and what the server answered.
struct NewSchool {
    bin: String,
    name: String,
    period: String,
    mother: Iin,
    father: Iin,
    /// Grade 2: a voucher at once.
    primary: Iin,
    /// Grade 7: waits for SMS consent.
    upper: Iin,
    /// Listed first by school Z for the same period.
    claimed: Iin,
    /// Every valid IIN in the list.
    all_iins: Vec<Iin>,
    list: Value,
    answer: Value,
    /// The primary child's voucher.
    voucher: String,
}

/// The rows of the list, in order, and the reason each rejected one must get.
const EXPECTED_REJECTIONS: &[(usize, &str)] = &[
    (2, "invalid_iin"),
    (3, "missing_name"),
    (4, "invalid_grade"),
    (5, "invalid_grade"),
    (6, "unknown_category"),
    (7, "missing_class"),
    (8, "no_representative"),
    (9, "invalid_representative"),
    (10, "invalid_representative"),
    (11, "invalid_representative"),
    (12, "duplicate_in_list"),
    (13, "claimed_by_other_school"),
    (14, "primary_outside_grades_1_4"),
];

/// Sends school Z's list (one child), then the new school's list: a primary-grade child,
/// an upper-grade child, and rejected rows of every kind — all of them represented by the
/// same mother, so her wallet shows whether a rejected row left anything behind.
async fn new_school(server: &Server, term: &Term) -> NewSchool {
    let period = term.period();
    let bin = w::bin([0, 9, 1, 1, 4, 0, 0, 0, 5, 6, 7]).to_string();
    let name = "КГУ «Школа-лицей №12»".to_string();
    let mother = w::iin(1989, Month::March, 3, Sex::Female, 3001);
    let father = w::iin(1987, Month::August, 8, Sex::Male, 3001);
    let primary = w::iin(2018, Month::February, 10, Sex::Female, 3001);
    let upper = w::iin(2013, Month::May, 5, Sex::Male, 3001);
    let kids: Vec<Iin> = (0..10)
        .map(|i| w::iin(2016, Month::January, 1 + i, Sex::Male, 3001))
        .collect();
    let claimed = w::iin(2017, Month::November, 11, Sex::Female, 3001);

    // School Z lists `claimed` first, for the same period.
    let z_bin = w::bin([0, 9, 1, 1, 4, 0, 0, 0, 9, 8, 7]).to_string();
    let z_mum = w::iin(1985, Month::October, 10, Sex::Female, 3001).expose();
    let z_list = w::list(
        &z_bin,
        "Школа Z",
        &period,
        vec![w::student(
            &claimed.expose(),
            "Ерланова Дильназ",
            3,
            "3В",
            "primary",
            vec![w::rep(&z_mum, "Ерланова Айнур", "mother", None)],
        )],
    );
    let z_answer = w::send_list(server, &z_list).await.ok_json();
    assert_eq!(
        z_answer["accepted"][0]["status"], "voucher_formed",
        "{z_answer}"
    );

    let mum = || {
        w::rep(
            &mother.expose(),
            "Нурланова Сауле",
            "mother",
            Some("+7 701 555 00 11"),
        )
    };
    let kid = |i: usize| kids[i].expose();
    let mut broken_iin = primary.expose();
    let last = broken_iin.pop().expect("12 digits");
    broken_iin.push(if last == '9' {
        '0'
    } else {
        char::from(last as u8 + 1)
    });
    assert!(broken_iin.parse::<Iin>().is_err());

    let students = vec![
        // 0: primary grade, mother with a phone.
        w::student(
            &primary.expose(),
            "Нурланова Аружан",
            2,
            "2Б",
            "primary",
            vec![mum()],
        ),
        // 1: upper grade (consent), the father's phone is unusable: a warning, no rejection.
        w::student(
            &upper.expose(),
            "Нурланов Алмас",
            7,
            "7А",
            "low_income",
            vec![
                mum(),
                w::rep(&father.expose(), "Нурланов Ерик", "father", Some("12345")),
            ],
        ),
        // 2: the IIN's check digit is wrong.
        w::student(&broken_iin, "Ошибка Ввода", 3, "3А", "primary", vec![mum()]),
        // 3: no name.
        w::student(&kid(0), "   ", 3, "3А", "primary", vec![mum()]),
        // 4, 5: grades that do not exist.
        w::student(&kid(1), "Алиев Арман", 12, "12А", "asp", vec![mum()]),
        w::student(&kid(2), "Алиев Тимур", -1, "1А", "asp", vec![mum()]),
        // 6: a category no programme knows.
        w::student(&kid(3), "Алиева Камила", 3, "3А", "vip", vec![mum()]),
        // 7: no class.
        w::student(&kid(4), "Алиев Данияр", 3, " ", "primary", vec![mum()]),
        // 8: nobody represents the child.
        w::student(&kid(5), "Алиев Бауыржан", 3, "3А", "primary", vec![]),
        // 9: "aunt" is not a relation the list knows.
        w::student(
            &kid(6),
            "Алиева Асель",
            3,
            "3А",
            "primary",
            vec![w::rep(&mother.expose(), "Нурланова Сауле", "aunt", None)],
        ),
        // 10: the child represents herself.
        w::student(
            &kid(7),
            "Алиева Жания",
            3,
            "3А",
            "primary",
            vec![w::rep(&kid(7), "Алиева Жания", "guardian", None)],
        ),
        // 11: the representative's IIN is not one.
        w::student(
            &kid(8),
            "Алиев Санжар",
            3,
            "3А",
            "primary",
            vec![w::rep("123456789012", "Кто-то", "father", None)],
        ),
        // 12: row 0 again.
        w::student(
            &primary.expose(),
            "Нурланова Аружан",
            2,
            "2Б",
            "primary",
            vec![mum()],
        ),
        // 13: school Z has this child for the period.
        w::student(
            &claimed.expose(),
            "Ерланова Дильназ",
            3,
            "3В",
            "primary",
            vec![mum()],
        ),
        // 14: `primary` is grades 1–4; a ninth-grader so labelled would skip consent.
        w::student(&kid(9), "Алиев Ерасыл", 9, "9А", "primary", vec![mum()]),
    ];
    let list = w::list(&bin, &name, &period, students);
    let answer = w::send_list(server, &list).await.ok_json();
    let voucher = answer["accepted"][0]["voucher_id"]
        .as_str()
        .unwrap_or_else(|| panic!("the primary child has no voucher: {answer:#}"))
        .to_string();
    let mut all_iins = vec![mother, father, primary, upper, claimed];
    all_iins.extend(&kids);
    NewSchool {
        bin,
        name,
        period,
        mother,
        father,
        primary,
        upper,
        claimed,
        all_iins,
        list,
        answer,
        voucher,
    }
}

/// The answer without its `list_id` (a new one per reception).
fn without_list_id(answer: &Value) -> Value {
    let mut answer = answer.clone();
    answer.as_object_mut().expect("an object").remove("list_id");
    answer
}

/// What a list could change for the new school's people.
async fn school_state(server: &Server, school: &NewSchool) -> Value {
    let mother = server.parent_token(&school.mother.expose()).await;
    let father = server.parent_token(&school.father.expose()).await;
    json!({
        "mother": w::wallet(server, &mother).await,
        "father": w::wallet(server, &father).await,
        "school": w::school_view(server, &school.bin).await,
        "outbox": w::outbox(server).await,
    })
}

fn assert_no_store(resp: &Resp) {
    assert_eq!(
        resp.header("cache-control"),
        Some("no-store"),
        "{}: a pass must never be cached",
        resp.what
    );
}

#[tokio::test]
async fn a_new_schools_list_reaches_the_mother_and_her_pass_scans_and_verifies() {
    let data = data_dir();
    let server = Server::demo(data.path());
    let term = Term::enter(&server).await;
    let school = new_school(&server, &term).await;
    let answer = &school.answer;

    // The per-row result.
    let list_id = answer["list_id"].as_str().expect("list_id");
    assert!(list_id.parse::<VoucherId>().is_ok(), "list_id {list_id}");
    assert_eq!(answer["revoked"], 0, "{answer:#}");
    let accepted = answer["accepted"].as_array().expect("accepted");
    assert_eq!(accepted.len(), 2, "{answer:#}");
    assert_eq!(accepted[0]["index"], 0);
    assert_eq!(accepted[0]["status"], "voucher_formed");
    assert_eq!(accepted[0]["iin_masked"], school.primary.to_string());
    assert!(school.voucher.parse::<VoucherId>().is_ok());
    assert!(accepted[0].get("warnings").is_none(), "{answer:#}");
    assert_eq!(accepted[1]["index"], 1);
    assert_eq!(accepted[1]["status"], "awaiting_consent");
    assert_eq!(accepted[1]["iin_masked"], school.upper.to_string());
    assert!(accepted[1].get("voucher_id").is_none(), "{answer:#}");
    assert_eq!(accepted[1]["warnings"], json!(["invalid_phone_ignored"]));
    let rejected: BTreeMap<u64, &Value> = answer["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .map(|r| (r["index"].as_u64().expect("index"), r))
        .collect();
    let reasons: Vec<(usize, &str)> = rejected
        .iter()
        .map(|(i, r)| (*i as usize, r["reason"].as_str().expect("reason")))
        .collect();
    assert_eq!(reasons, EXPECTED_REJECTIONS, "{answer:#}");
    for (index, row) in &rejected {
        let raw_iin = school.list["students"][*index as usize]["iin"]
            .as_str()
            .expect("iin");
        match raw_iin.parse::<Iin>() {
            Ok(iin) => assert_eq!(row["iin_masked"], iin.to_string(), "row {index}"),
            Err(_) => assert!(row.get("iin_masked").is_none(), "row {index}: {row}"),
        }
    }
    for iin in &school.all_iins {
        assert!(
            !answer.to_string().contains(&iin.expose()),
            "the answer holds a full IIN"
        );
    }

    // The same list again: the same vouchers, nothing new.
    let before = school_state(&server, &school).await;
    let again = w::send_list(&server, &school.list).await.ok_json();
    assert_eq!(without_list_id(&again), without_list_id(answer));
    assert_eq!(school_state(&server, &school).await, before);
    let view = &before["school"];
    assert_eq!(
        view["school"],
        json!({"bin": school.bin, "name": school.name})
    );
    assert_eq!(w::voucher_ids(view), [school.voucher.as_str()], "{view:#}");
    // The child of school Z stays with school Z, and the mother never reaches her.
    let z_bin = w::bin([0, 9, 1, 1, 4, 0, 0, 0, 9, 8, 7]).to_string();
    let z_view = w::school_view(&server, &z_bin).await;
    assert_eq!(
        z_view["vouchers"][0]["student"]["iin_masked"],
        school.claimed.to_string()
    );

    // The mother signs in: exactly her primary child's voucher, formed.
    let mother = server.parent_token(&school.mother.expose()).await;
    let wallet = w::wallet(&server, &mother).await;
    assert_eq!(
        w::voucher_ids(&wallet),
        [school.voucher.as_str()],
        "{wallet:#}"
    );
    let (from, until) = term.school_year();
    let v = &wallet["vouchers"][0];
    assert_eq!(v["state"], "formed");
    assert_eq!(v["programme"], "school_meals");
    assert_eq!(
        v["student"],
        json!({"full_name": "Нурланова Аружан", "class_label": "2Б"})
    );
    assert_eq!(v["school"], json!({"bin": school.bin, "name": school.name}));
    assert_eq!(
        (v["valid_from"].as_str(), v["valid_until"].as_str()),
        (Some(&*from), Some(&*until))
    );
    assert_eq!(v["meals_this_month"], 0);
    assert!(v.get("activated_at").is_none(), "{v}");
    // The father represents only the upper-grade child, who has no voucher yet.
    let father = server.parent_token(&school.father.expose()).await;
    assert_eq!(w::wallet(&server, &father).await, json!({"vouchers": []}));

    // No pass before activation.
    w::mint(&server, &mother, &school.voucher, Some("application/json"))
        .await
        .assert_error(409, "voucher_not_activated");

    // A body is optional for a school-meals voucher, but one that is sent must be well
    // formed: a wrong one is refused and activates nothing.
    let path = format!("/v1/wallet/vouchers/{}/activate", school.voucher);
    server
        .request(
            Method::POST,
            &path,
            Some(&mother),
            Some(&json!({"personal_account": 5})),
        )
        .await
        .assert_error(422, "invalid_body");
    w::mint(&server, &mother, &school.voucher, Some("application/json"))
        .await
        .assert_error(409, "voucher_not_activated");

    // Activate, twice: both 200, the same voucher.
    let first = w::activate(&server, &mother, &school.voucher)
        .await
        .ok_json();
    assert_eq!(first["id"], school.voucher.as_str());
    assert_eq!(first["state"], "activated");
    let activated_at = w::parse_rfc3339(first["activated_at"].as_str().expect("activated_at"));
    assert!(
        (term.now() - activated_at).abs() < Duration::minutes(1),
        "{first}"
    );
    let second = w::activate(&server, &mother, &school.voucher)
        .await
        .ok_json();
    assert_eq!(second, first, "activating twice changes nothing");
    assert_eq!(
        w::find_voucher(&w::wallet(&server, &mother).await, &school.voucher),
        &first
    );

    // The verifier's key set, built from what the server publishes.
    let (keys, current) = w::pass_keys(&server).await;
    let bin: shared::Bin = school.bin.parse().expect("BIN");
    let voucher: VoucherId = school.voucher.parse().expect("voucher id");

    // A PNG pass, read by real QR decoders.
    let png = w::mint(&server, &mother, &school.voucher, Some("image/png")).await;
    assert_eq!(
        (png.status, png.content_type.as_str()),
        (200, "image/png"),
        "{}",
        png.text
    );
    assert_no_store(&png);
    assert!(png.bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let scanned = w::rqrr_decode(&png.bytes);
    if let Some(zbar) = w::zbar_decode(&png.bytes) {
        assert_eq!(zbar, scanned, "zbarimg and rqrr read different texts");
    }
    assert!(scanned.starts_with("SW1:"), "{scanned}");
    let verified = pass::verify(&scanned, &keys, term.now())
        .unwrap_or_else(|e| panic!("the scanned pass does not verify: {e}"));
    assert_eq!(verified.claims.voucher_id, voucher);
    assert_eq!(verified.claims.school, bin);
    assert_eq!(verified.kid.to_string(), current);

    // A JSON pass: the same format, its window as the claims say.
    let json_pass = w::mint(&server, &mother, &school.voucher, Some("application/json")).await;
    assert_no_store(&json_pass);
    let body = json_pass.ok_json();
    let text = body["text"].as_str().expect("text");
    assert!(
        text.starts_with("SW1:")
            && text[4..].chars().all(|c| {
                c.is_ascii_digit() || c.is_ascii_uppercase() || " $%*+-./:".contains(c)
            }),
        "not SW1: + base45: {text}"
    );
    assert_ne!(text, scanned, "every pass has its own nonce");
    let verified = pass::verify(text, &keys, term.now()).expect("the JSON pass verifies");
    assert_eq!(verified.claims.voucher_id, voucher);
    assert_eq!(verified.claims.school, bin);
    let valid_from = w::parse_rfc3339(body["valid_from"].as_str().expect("valid_from"));
    let valid_until = w::parse_rfc3339(body["valid_until"].as_str().expect("valid_until"));
    assert_eq!(
        (verified.claims.valid_from, verified.claims.valid_until),
        (valid_from, valid_until)
    );
    assert!(
        (term.now() - valid_from).abs() < Duration::minutes(1),
        "{body}"
    );
    // Until the end of the service day (Astana midnight).
    let end = valid_until.to_offset(w::ASTANA);
    assert_eq!(end.time(), Time::MIDNIGHT, "{body}");
    assert_eq!(
        end.date(),
        term.today().next_day().expect("tomorrow"),
        "{body}"
    );
    assert_eq!(
        pass::verify(text, &keys, valid_until),
        Err(PassError::Expired(valid_until)),
        "the window's end is exclusive"
    );

    // Tampered texts do not verify.
    let mut chars: Vec<char> = text.chars().collect();
    let middle = chars.len() / 2;
    chars[middle] = if chars[middle] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    assert!(
        pass::verify(&tampered, &keys, term.now()).is_err(),
        "{tampered}"
    );
    assert_eq!(
        pass::verify(&text.replacen("SW1:", "SW2:", 1), &keys, term.now()),
        Err(PassError::BadPrefix)
    );
    assert!(pass::verify(&text[..text.len() - 3], &keys, term.now()).is_err());

    // SVG, the default (JSON), and a format we do not make.
    let svg = w::mint(&server, &mother, &school.voucher, Some("image/svg+xml")).await;
    assert_eq!(
        (svg.status, svg.content_type.as_str()),
        (200, "image/svg+xml"),
        "{}",
        svg.text
    );
    assert_no_store(&svg);
    assert!(svg.text.contains("<svg"), "{}", svg.text);
    let default = w::mint(&server, &mother, &school.voucher, None).await;
    assert_no_store(&default);
    let default = default.ok_json();
    pass::verify(default["text"].as_str().expect("text"), &keys, term.now()).expect("verifies");
    w::mint(&server, &mother, &school.voucher, Some("text/html"))
        .await
        .assert_error(406, "not_acceptable");

    // No meals yet.
    let history = server
        .get(
            &format!("/v1/wallet/vouchers/{}/history", school.voucher),
            Some(&mother),
        )
        .await
        .ok_json();
    assert_eq!(history, json!({"meals": []}));

    // The school sees the activation; the list's period is the one sent.
    let view = w::school_view(&server, &school.bin).await;
    assert_eq!(view["vouchers"][0]["state"], "activated");
    assert_eq!(view["vouchers"][0]["activated_at"], first["activated_at"]);
    assert_eq!(school.period, term.period());
}

#[tokio::test]
async fn a_later_list_for_the_same_school_and_period_revokes_the_missing_childs_voucher() {
    let data = data_dir();
    let server = Server::demo(data.path());
    let term = Term::enter(&server).await;
    let school = new_school(&server, &term).await;
    let mother = server.parent_token(&school.mother.expose()).await;
    w::activate(&server, &mother, &school.voucher)
        .await
        .ok_json();
    w::mint(&server, &mother, &school.voucher, Some("application/json"))
        .await
        .ok_json();

    // The replacement: the upper-grade child only.
    let mut list = school.list.clone();
    let upper = list["students"][1].clone();
    list["students"] = json!([upper]);
    let answer = w::send_list(&server, &list).await.ok_json();
    assert_eq!(answer["revoked"], 1, "{answer:#}");
    assert_eq!(answer["rejected"], json!([]), "{answer:#}");
    assert_eq!(
        answer["accepted"].as_array().map(Vec::len),
        Some(1),
        "{answer:#}"
    );
    assert_eq!(answer["accepted"][0]["status"], "awaiting_consent");

    let wallet = w::wallet(&server, &mother).await;
    assert_eq!(w::voucher_ids(&wallet), [school.voucher.as_str()]);
    assert_eq!(
        w::find_voucher(&wallet, &school.voucher)["state"],
        "revoked"
    );
    let view = w::school_view(&server, &school.bin).await;
    assert_eq!(w::find_voucher(&view, &school.voucher)["state"], "revoked");

    w::activate(&server, &mother, &school.voucher)
        .await
        .assert_error(409, "voucher_revoked");
    for accept in ["application/json", "image/png", "image/svg+xml"] {
        w::mint(&server, &mother, &school.voucher, Some(accept))
            .await
            .assert_error(409, "voucher_revoked");
    }

    // The replacement again revokes nothing more, and changes nothing.
    let before = school_state(&server, &school).await;
    let again = w::send_list(&server, &list).await.ok_json();
    assert_eq!(again["revoked"], 0, "{again:#}");
    assert_eq!(school_state(&server, &school).await, before);
    // Other schools' vouchers are untouched.
    let demo_view = w::school_view(&server, DEMO_SCHOOL_BIN).await;
    assert!(
        demo_view["vouchers"]
            .as_array()
            .expect("vouchers")
            .iter()
            .all(|v| v["state"] != "revoked"),
        "{demo_view:#}"
    );
}

#[tokio::test]
async fn passes_are_rate_limited_per_voucher_with_retry_after() {
    let data = data_dir();
    let server = Server::start(
        data.path(),
        &[
            "--demo",
            "--pass-mint-limit",
            "3",
            "--pass-mint-window-secs",
            "600",
        ],
        &[],
    );
    let _term = Term::enter(&server).await;
    let mother = server.parent_token(&demo::mother().expose()).await;
    let father = server.parent_token(&demo::father().expose()).await;
    let kim = server.parent_token(&demo::kim_mother().expose()).await;
    let aigerim = w::voucher_ids(&w::wallet(&server, &mother).await).remove(0);
    let dana = w::voucher_ids(&w::wallet(&server, &kim).await).remove(0);

    // Refused mints never count: someone else's voucher, a voucher not activated yet, a
    // format we do not make.
    for _ in 0..5 {
        w::mint(&server, &mother, &dana, None)
            .await
            .assert_error(404, "not_found");
        w::mint(&server, &kim, &dana, None)
            .await
            .assert_error(409, "voucher_not_activated");
        w::mint(&server, &kim, &dana, Some("text/html"))
            .await
            .assert_error(406, "not_acceptable");
    }

    for accept in ["application/json", "image/png", "image/svg+xml"] {
        let resp = w::mint(&server, &mother, &aigerim, Some(accept)).await;
        assert_eq!(resp.status, 200, "{accept}: {}", resp.text);
    }
    for token in [&mother, &father] {
        let resp = w::mint(&server, token, &aigerim, Some("image/png")).await;
        resp.assert_error(429, "too_many_passes");
        let retry: i64 = resp
            .header("retry-after")
            .unwrap_or_else(|| panic!("429 without Retry-After: {:?}", resp.headers))
            .parse()
            .expect("Retry-After in seconds");
        assert!((1..=600).contains(&retry), "Retry-After {retry}");
    }

    // Another voucher has its own allowance.
    w::activate(&server, &kim, &dana).await.ok_json();
    for _ in 0..3 {
        w::mint(&server, &kim, &dana, None).await.ok_json();
    }
    w::mint(&server, &kim, &dana, None)
        .await
        .assert_error(429, "too_many_passes");
}

#[tokio::test]
async fn feedback_queues_complaints_for_e_otinish_without_the_childs_iin() {
    let data = data_dir();
    let server = Server::demo(data.path());
    let mother = server.parent_token(&demo::mother().expose()).await;
    let voucher = w::voucher_ids(&w::wallet(&server, &mother).await).remove(0);
    let path = format!("/v1/wallet/vouchers/{voucher}/feedback");
    let before = w::outbox(&server).await;
    let count = |outbox: &Value| outbox["messages"].as_array().expect("messages").len();

    let resp = server
        .post_json(
            &path,
            Some(&mother),
            &json!({"rating": 2, "complaint": "  Суп был холодный, котлеты сырые  "}),
        )
        .await;
    assert_eq!(resp.status, 201, "{}", resp.text);
    let body = resp.json();
    assert!(
        body["id"]
            .as_str()
            .is_some_and(|id| id.parse::<VoucherId>().is_ok()),
        "{body}"
    );
    assert_eq!(body["complaint_queued"], true);

    let outbox = w::outbox(&server).await;
    assert_eq!(count(&outbox), count(&before) + 1, "{outbox:#}");
    let message = &outbox["messages"][0];
    assert_eq!(message["kind"], "complaint");
    assert_eq!(message["to"], "e-otinish");
    assert_eq!(message["attempts"], 0);
    assert!(
        message["state"].is_string() && message["id"].is_string(),
        "{message}"
    );
    let created = w::parse_rfc3339(message["created_at"].as_str().expect("created_at"));
    assert!((common::story_now() - created).abs() < Duration::minutes(1));
    let text = message["text"].as_str().expect("text");
    assert!(text.contains("Суп был холодный, котлеты сырые"), "{text}");
    assert!(!text.contains("  Суп"), "the complaint is trimmed: {text}");
    assert!(text.contains(&voucher), "{text}");
    assert!(text.contains(DEMO_SCHOOL_BIN), "{text}");
    // e-Otinish answers the applicant: the parent's IIN, never the child's.
    assert!(text.contains(&demo::mother().expose()), "{text}");
    let child = demo::aigerim().expose();
    assert!(
        !outbox.to_string().contains(&child),
        "the outbox holds the child's IIN"
    );

    // A rating without a complaint (or with a blank one) queues nothing.
    for body in [
        json!({"rating": 5}),
        json!({"rating": 4, "complaint": "   "}),
        json!({"rating": 3, "complaint": null}),
    ] {
        let resp = server.post_json(&path, Some(&mother), &body).await;
        assert_eq!(resp.status, 201, "{body}: {}", resp.text);
        assert_eq!(resp.json()["complaint_queued"], false, "{body}");
    }
    assert_eq!(w::outbox(&server).await, outbox);

    // Bad feedback is refused and adds nothing.
    for (body, code) in [
        (json!({"rating": 6, "complaint": "x"}), "invalid_rating"),
        (json!({"rating": 0, "complaint": "x"}), "invalid_rating"),
        (json!({"rating": -1}), "invalid_rating"),
        // Complaints are `shared::text::FreeText`: at most 4,000 characters, line feeds but
        // no other control character.
        (
            json!({"rating": 2, "complaint": "я".repeat(4001)}),
            "invalid_body",
        ),
        (
            json!({"rating": 2, "complaint": "суп\u{0}"}),
            "invalid_body",
        ),
        (
            json!({"rating": 2, "complaint": "суп\rхолодный"}),
            "invalid_body",
        ),
        (
            json!({"rating": 2, "complaint": "\u{1b}[2J"}),
            "invalid_body",
        ),
        (
            json!({"rating": 2, "complaint": "суп\u{7}"}),
            "invalid_body",
        ),
        (json!({"rating": "5"}), "invalid_body"),
        (json!({"rating": 4.5}), "invalid_body"),
        (json!({"complaint": "x"}), "invalid_body"),
        (
            json!({"rating": 5, "complaint": "x", "anonymous": true}),
            "invalid_body",
        ),
        (json!({"rating": 5, "complaint": 7}), "invalid_body"),
    ] {
        server
            .post_json(&path, Some(&mother), &body)
            .await
            .assert_error(422, code);
    }
    assert_eq!(w::outbox(&server).await, outbox);

    // The outbox's limit.
    let integration = server.integration_token().await;
    let one = server
        .get("/v1/integration/outbox?limit=1", Some(&integration))
        .await
        .ok_json();
    assert_eq!(one["messages"], json!([message]));
    for query in ["limit=0", "limit=1001", "limit=abc", "limit=-1", "since=1"] {
        server
            .get(
                &format!("/v1/integration/outbox?{query}"),
                Some(&integration),
            )
            .await
            .assert_error(400, "invalid_query");
    }
}

#[tokio::test]
async fn staff_bind_cards_and_create_terminal_codes_for_their_school() {
    let data = data_dir();
    let server = Server::demo(data.path());
    let staff = server
        .staff_token("social_pedagogue", DEMO_SCHOOL_BIN)
        .await;
    let director = server.staff_token("director", DEMO_SCHOOL_BIN).await;
    let cards = format!("/v1/schools/{DEMO_SCHOOL_BIN}/cards");
    let bind = |token: &str, student: &Iin, card: &str| {
        let body = json!({"student_iin": student.expose(), "card_uid": card});
        let token = token.to_string();
        let cards = cards.clone();
        let server = &server;
        async move { server.post_json(&cards, Some(&token), &body).await }
    };
    let card_of = |view: &Value, name: &str| {
        view["vouchers"]
            .as_array()
            .and_then(|vs| vs.iter().find(|v| v["student"]["full_name"] == name))
            .unwrap_or_else(|| panic!("{name} not in {view:#}"))["student"]
            .get("card_uid")
            .cloned()
    };
    let aigerim = demo::aigerim();
    let view = w::school_view(&server, DEMO_SCHOOL_BIN).await;
    let previous = card_of(&view, "Сапарова Айгерим Ерлановна");

    // Bind (lower case is the same card), then again: unchanged.
    let first = bind(&staff, &aigerim, "7e11c0ffee").await.ok_json();
    let mut expected = json!({
        "card_uid": "7E11C0FFEE",
        "student_iin_masked": aigerim.to_string(),
        "status": "bound",
    });
    if let Some(previous) = previous {
        expected["replaced"] = previous;
    }
    assert_eq!(first, expected);
    let again = bind(&director, &aigerim, "7E11C0FFEE").await.ok_json();
    assert_eq!(
        again,
        json!({"card_uid": "7E11C0FFEE", "student_iin_masked": aigerim.to_string(), "status": "unchanged"})
    );

    // Another student's card is taken.
    bind(&staff, &demo::dana(), "7E11C0FFEE")
        .await
        .assert_error(409, "card_taken");
    // Bad card UIDs and IINs.
    for uid in [
        "XYZ",
        "7E11C0FFE",
        "7E11C0FFEE00",
        "",
        "7E11C0FFEG",
        " 7E11C0FFEE",
    ] {
        bind(&staff, &aigerim, uid)
            .await
            .assert_error(422, "invalid_card_uid");
    }
    for iin in ["123", "", "880512412343"] {
        server
            .post_json(
                &cards,
                Some(&staff),
                &json!({"student_iin": iin, "card_uid": "7E11C0FFEE"}),
            )
            .await
            .assert_error(422, "invalid_iin");
    }
    // A student of another school, or nobody's IIN: not found, the same way.
    let timur = bind(&staff, &demo::timur(), "7E11C0FF00").await;
    timur.assert_error(404, "not_found");
    let nobody = bind(
        &staff,
        &w::iin(2015, Month::May, 5, Sex::Male, 4000),
        "7E11C0FF00",
    )
    .await;
    assert_eq!((nobody.status, &nobody.bytes), (timur.status, &timur.bytes));
    // Wrong shapes.
    server
        .post_json(
            &cards,
            Some(&staff),
            &json!({"student_iin": aigerim.expose(), "card_uid": "7E11C0FFEE", "note": 1}),
        )
        .await
        .assert_error(422, "invalid_body");
    server
        .post_json(
            &cards,
            Some(&staff),
            &json!({"student_iin": aigerim.expose()}),
        )
        .await
        .assert_error(422, "invalid_body");

    // A new card replaces the old one, which is free again.
    let replaced = bind(&staff, &aigerim, "7E11C0FFEF").await.ok_json();
    assert_eq!(
        replaced,
        json!({
            "card_uid": "7E11C0FFEF",
            "student_iin_masked": aigerim.to_string(),
            "status": "bound",
            "replaced": "7E11C0FFEE",
        })
    );
    let view = w::school_view(&server, DEMO_SCHOOL_BIN).await;
    assert_eq!(
        card_of(&view, "Сапарова Айгерим Ерлановна"),
        Some(json!("7E11C0FFEF"))
    );
    assert_eq!(card_of(&view, "Ким Дана Сергеевна"), None);
    bind(&staff, &demo::dana(), "7E11C0FFEE").await.ok_json();
    let view = w::school_view(&server, DEMO_SCHOOL_BIN).await;
    assert_eq!(
        card_of(&view, "Ким Дана Сергеевна"),
        Some(json!("7E11C0FFEE"))
    );
    // A student without a voucher (Нурлан awaits consent) can have a card too.
    bind(&staff, &demo::nurlan(), "7E11C0FF01").await.ok_json();
    // The other school's view is untouched.
    let other = w::school_view(&server, OTHER_SCHOOL_BIN).await;
    assert!(
        other["vouchers"][0]["student"].get("card_uid").is_none(),
        "{other:#}"
    );

    // Terminal enrollment codes.
    let terminals = format!("/v1/schools/{DEMO_SCHOOL_BIN}/terminals");
    let mut codes = Vec::new();
    for token in [&staff, &director] {
        let resp = server
            .request(Method::POST, &terminals, Some(token), None)
            .await;
        assert_eq!(resp.status, 201, "{}", resp.text);
        let body = resp.json();
        let code = body["code"].as_str().expect("code").to_string();
        let groups: Vec<&str> = code.split('-').collect();
        // Unambiguous characters only: codes are read off a screen and typed by hand.
        let readable =
            |c: char| (c.is_ascii_uppercase() || c.is_ascii_digit()) && !"01OIL".contains(c);
        assert!(
            groups.len() == 3
                && groups
                    .iter()
                    .all(|g| g.len() == 4 && g.chars().all(readable)),
            "code {code:?} is not XXXX-XXXX-XXXX of unambiguous characters"
        );
        let expires = w::parse_rfc3339(body["expires_at"].as_str().expect("expires_at"));
        let ttl = expires - common::story_now();
        assert!(
            (Duration::hours(24) - ttl).abs() < Duration::minutes(2),
            "expires_at {expires} is not ~24 h from now"
        );
        codes.push(code);
    }
    assert_ne!(codes[0], codes[1]);
    server
        .request(
            Method::POST,
            &format!("/v1/schools/{OTHER_SCHOOL_BIN}/terminals"),
            Some(&staff),
            None,
        )
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn bad_lists_and_bodies_are_refused_and_store_nothing() {
    let data = data_dir();
    let server = Server::demo(data.path());
    let term = Term::enter(&server).await;
    let integration = server.integration_token().await;
    let lists = "/v1/integration/eligibility-lists";
    let fresh = w::bin([0, 3, 0, 3, 4, 0, 0, 0, 1, 1, 1]).to_string();
    let mum = w::iin(1990, Month::January, 15, Sex::Female, 5000);
    let kid = w::iin(2018, Month::April, 1, Sex::Male, 5000);
    let good = w::list(
        &fresh,
        "Школа №3",
        &term.period(),
        vec![w::student(
            &kid.expose(),
            "Ахметов Али",
            2,
            "2Б",
            "primary",
            vec![w::rep(&mum.expose(), "Ахметова Жанар", "mother", None)],
        )],
    );
    let mother = server.parent_token(&mum.expose()).await;
    let demo_mother = server.parent_token(&demo::mother().expose()).await;
    let snapshot = || async {
        json!({
            "mother": w::wallet(&server, &mother).await,
            "demo_mother": w::wallet(&server, &demo_mother).await,
            "demo_school": w::school_view(&server, DEMO_SCHOOL_BIN).await,
            "other_school": w::school_view(&server, OTHER_SCHOOL_BIN).await,
            "outbox": w::outbox(&server).await,
        })
    };
    let before = snapshot().await;
    assert_eq!(before["mother"], json!({"vouchers": []}));

    // Unknown fields anywhere, missing fields, wrong types: 422 invalid_body.
    let mut wrong_shapes = Vec::new();
    for pointer in [
        "",
        "/school",
        "/students/0",
        "/students/0/representatives/0",
    ] {
        let mut list = good.clone();
        list.pointer_mut(pointer).expect("pointer")["surprise"] = json!(1);
        wrong_shapes.push(list);
    }
    for (pointer, key) in [
        ("", "period"),
        ("/school", "name"),
        ("/students/0", "representatives"),
    ] {
        let mut list = good.clone();
        list.pointer_mut(pointer)
            .and_then(Value::as_object_mut)
            .expect("object")
            .remove(key);
        wrong_shapes.push(list);
    }
    let mut list = good.clone();
    list["students"][0]["grade"] = json!("two");
    wrong_shapes.push(list);
    let mut list = good.clone();
    list["students"] = json!({"0": good["students"][0]});
    wrong_shapes.push(list);
    wrong_shapes.push(json!([good.clone()]));
    for list in &wrong_shapes {
        server
            .post_json(lists, Some(&integration), list)
            .await
            .assert_error(422, "invalid_body");
    }

    // Not JSON at all: 400; not declared JSON: 415.
    for raw in ["{\"school\":", "not json", ""] {
        let req = server
            .builder(Method::POST, lists)
            .bearer_auth(&integration)
            .header("content-type", "application/json")
            .body(raw);
        server
            .send(req, raw)
            .await
            .assert_error(400, "malformed_json");
    }
    let req = server
        .builder(Method::POST, lists)
        .bearer_auth(&integration)
        .body(good.to_string());
    server
        .send(req, "no content type")
        .await
        .assert_error(415, "unsupported_media_type");
    let staff = server
        .staff_token("social_pedagogue", DEMO_SCHOOL_BIN)
        .await;
    for path in [
        format!("/v1/schools/{DEMO_SCHOOL_BIN}/cards"),
        format!("/v1/wallet/vouchers/{}/feedback", VoucherId::new()),
    ] {
        let token = if path.contains("wallet") {
            &demo_mother
        } else {
            &staff
        };
        let req = server
            .builder(Method::POST, &path)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body("{\"rating\": 5,");
        server
            .send(req, &path)
            .await
            .assert_error(400, "malformed_json");
    }

    // Problems of the whole list: 422 invalid_list.
    let mut bad_bin = fresh.clone();
    let last = bad_bin.pop().expect("digit");
    bad_bin.push(if last == '9' {
        '0'
    } else {
        char::from(last as u8 + 1)
    });
    let mut invalid_lists = Vec::new();
    for (pointer, value) in [
        ("/school/bin", json!(bad_bin)),
        ("/school/bin", json!("12345")),
        ("/programme", json!("gas")),
        ("/programme", json!("School_Meals")),
        ("/period", json!("2026-13")),
        ("/period", json!("2026-1")),
        ("/period", json!("26-11")),
        ("/period", json!("")),
    ] {
        let mut list = good.clone();
        *list.pointer_mut(pointer).expect("pointer") = value;
        invalid_lists.push(list);
    }
    for list in &invalid_lists {
        server
            .post_json(lists, Some(&integration), list)
            .await
            .assert_error(422, "invalid_list");
    }
    // Text that would be rendered is checked as the body is read (`shared::text`).
    for (pointer, value) in [
        ("/school/name", json!("  ")),
        ("/school/name", json!("Школа\u{0}")),
        ("/students/0/full_name", json!("Я".repeat(201))),
        ("/students/0/class_label", json!("2\r\nА")),
    ] {
        let mut list = good.clone();
        *list.pointer_mut(pointer).expect("pointer") = value;
        server
            .post_json(lists, Some(&integration), &list)
            .await
            .assert_error(422, "invalid_body");
    }

    // Nothing was stored: the school does not exist for its own staff, the mother has no
    // voucher, and nothing else moved.
    let fresh_staff = server.staff_token("director", &fresh).await;
    for (method, route) in [(Method::GET, "vouchers"), (Method::POST, "terminals")] {
        server
            .request(
                method,
                &format!("/v1/schools/{fresh}/{route}"),
                Some(&fresh_staff),
                None,
            )
            .await
            .assert_error(404, "not_found");
    }
    server
        .post_json(
            &format!("/v1/schools/{fresh}/cards"),
            Some(&fresh_staff),
            &json!({"student_iin": kid.expose(), "card_uid": "0102ABCDEF"}),
        )
        .await
        .assert_error(404, "not_found");
    assert_eq!(snapshot().await, before, "refused lists changed something");

    // The good list itself is fine (so the refusals were about what was wrong).
    let answer = server
        .post_json(lists, Some(&integration), &good)
        .await
        .ok_json();
    assert_eq!(
        answer["accepted"][0]["status"], "voucher_formed",
        "{answer}"
    );
    assert_eq!(w::voucher_ids(&w::wallet(&server, &mother).await).len(), 1);
    server
        .get(&format!("/v1/schools/{fresh}/vouchers"), Some(&fresh_staff))
        .await
        .ok_json();
}

#[tokio::test]
async fn an_oversized_list_is_refused_with_413_and_stores_nothing() {
    let data = data_dir();
    let server = Server::start(data.path(), &["--demo", "--max-list-bytes", "2048"], &[]);
    let term = Term::enter(&server).await;
    let fresh = w::bin([0, 4, 0, 4, 4, 0, 0, 0, 2, 2, 2]).to_string();
    let mum = w::iin(1990, Month::January, 16, Sex::Female, 6000);
    let row = |day: u8| {
        w::student(
            &w::iin(2018, Month::April, day, Sex::Male, 6000).expose(),
            "Ахметов Али Серикович",
            2,
            "2Б",
            "primary",
            vec![w::rep(&mum.expose(), "Ахметова Жанар", "mother", None)],
        )
    };
    let big = w::list(
        &fresh,
        "Школа №4",
        &term.period(),
        (1..=28).map(row).collect(),
    );
    assert!(big.to_string().len() > 2048);
    w::send_list(&server, &big)
        .await
        .assert_error(413, "payload_too_large");

    let mother = server.parent_token(&mum.expose()).await;
    assert_eq!(w::wallet(&server, &mother).await, json!({"vouchers": []}));
    let staff = server.staff_token("director", &fresh).await;
    server
        .get(&format!("/v1/schools/{fresh}/vouchers"), Some(&staff))
        .await
        .assert_error(404, "not_found");

    // A list under the limit goes through.
    let small = w::list(&fresh, "Школа №4", &term.period(), vec![row(1)]);
    assert!(small.to_string().len() < 2048);
    w::send_list(&server, &small).await.ok_json();
    assert_eq!(w::voucher_ids(&w::wallet(&server, &mother).await).len(), 1);
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let data = data_dir();
    let server = Server::demo(data.path());
    let doc = server.get("/openapi.json", None).await.ok_json();
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );

    let routes: &[(&str, &str, bool)] = &[
        // (method, path, needs a token)
        ("post", "/v1/integration/eligibility-lists", true),
        ("get", "/v1/integration/outbox", true),
        ("get", "/v1/wallet/vouchers", true),
        ("post", "/v1/wallet/vouchers/{id}/activate", true),
        ("post", "/v1/wallet/vouchers/{id}/passes", true),
        ("get", "/v1/wallet/vouchers/{id}/history", true),
        ("post", "/v1/wallet/vouchers/{id}/feedback", true),
        ("get", "/v1/pass-keys", false),
        ("get", "/v1/schools/{bin}/vouchers", true),
        ("post", "/v1/schools/{bin}/cards", true),
        ("post", "/v1/schools/{bin}/terminals", true),
        ("get", "/healthz", false),
        ("get", "/readyz", false),
        ("get", "/metrics", false),
    ];
    let paths = doc["paths"].as_object().expect("paths");
    const METHODS: &[&str] = &[
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    for (method, path, secured) in routes {
        let item = paths
            .get(*path)
            .unwrap_or_else(|| panic!("{path} missing from {:?}", paths.keys()));
        let methods: Vec<&str> = METHODS
            .iter()
            .copied()
            .filter(|m| item.get(*m).is_some())
            .collect();
        assert!(
            methods.contains(method),
            "{path}: {method} not documented ({methods:?})"
        );
        // The document and the server agree on the methods: the others answer 405.
        let concrete = path
            .replace("{id}", &VoucherId::new().to_string())
            .replace("{bin}", DEMO_SCHOOL_BIN);
        for probe in ["get", "post", "put", "delete", "patch"] {
            let m = Method::from_bytes(probe.to_ascii_uppercase().as_bytes()).expect("method");
            let status = server.request(m, &concrete, None, None).await.status;
            assert_eq!(
                status == 405,
                !methods.contains(&probe),
                "{probe} {path}: answered {status}, documented methods {methods:?}"
            );
        }
        let op = &item[*method];
        if *secured {
            assert_eq!(
                op["security"],
                json!([{"bearer": []}]),
                "{method} {path}: security"
            );
        }
        // Path parameters are declared.
        for param in ["id", "bin"] {
            if path.contains(&format!("{{{param}}}")) {
                let declared = op["parameters"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["name"] == param && p["in"] == "path"));
                assert!(
                    declared,
                    "{method} {path}: path parameter {param} not declared"
                );
            }
        }
    }
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http", "{scheme}");
    assert_eq!(
        scheme["scheme"]
            .as_str()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("bearer")
    );

    // Every operation documents at least one client error, except the ones that have none.
    let no_client_errors = [
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/pass-keys",
        "/openapi.json",
    ];
    let mut missing = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            let Some(op) = item.get(*method) else {
                continue;
            };
            let has_4xx = op["responses"]
                .as_object()
                .is_some_and(|r| r.keys().any(|code| code.starts_with('4')));
            if !has_4xx && !no_client_errors.contains(&path.as_str()) {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "operations without a 4xx response: {missing:?}"
    );
    // The pass route documents its formats.
    let content = &paths["/v1/wallet/vouchers/{id}/passes"]["post"]["responses"]["200"]["content"];
    for media in ["application/json", "image/png", "image/svg+xml"] {
        assert!(
            content.get(media).is_some(),
            "pass format {media} undocumented: {content}"
        );
    }
}
