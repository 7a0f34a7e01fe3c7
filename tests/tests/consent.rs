//! Consent by SMS, end to end on the real binary (`--demo`): a list with upper-grade
//! students starts SMS conversations with their mothers; parents answer `3#1`/`3#2` through
//! the inbound route; moving the demo clock brings the reminder and then the timeout. Bad
//! inbound SMS are refused and change nothing. (The crash tests are in `consent_crash.rs`.)

mod common;
mod consent_support;

use common::wallet::{self as w, Term};
use common::Server;
use consent_support::lists::{month_of, next_month, one_child_list, text, Families};
use consent_support::{
    astana, consent_state, consents, data_dir, eventually, family, reminder_due, reply, set_clock,
    settle, sms_to, timeout_due,
};
use serde_json::{json, Value};
use time::{Duration, Weekday};

#[tokio::test]
async fn parents_answer_by_sms_and_silence_has_deadlines() {
    let data = data_dir();
    let server = Server::demo(data.path());
    let term = Term::enter(&server).await;
    let f = Families::all();
    let list = f.list(&term);
    let t0 = term.now();
    the_list_starts_conversations(&server, &f, &list).await;
    let voucher = agreeing_forms_the_voucher_refusing_does_not(&server, &f).await;
    a_mother_of_two_answers_for_each_child(&server, &f).await;
    silence_brings_one_reminder_then_the_end(&server, &f, t0).await;
    the_list_again_reports_where_each_stands(&server, &f, &list, &voucher).await;
    let log = server.stderr();
    for secret in [f.silent.phone, f.agrees.phone, "Уважаемый", "обработано"] {
        assert!(!log.contains(secret), "the log holds {secret:?}");
    }
    assert!(
        !log.contains(&f.silent.child.expose()),
        "the log holds an IIN"
    );
    server.stop();
}

async fn the_list_starts_conversations(server: &Server, f: &Families, list: &Value) {
    let answer = w::send_list(server, list).await.ok_json();
    let consent_of: Vec<&str> = answer["accepted"]
        .as_array()
        .expect("accepted")
        .iter()
        .map(|r| {
            assert_eq!(r["status"], "awaiting_consent", "{answer:#}");
            r["consent"].as_str().expect("consent")
        })
        .collect();
    assert_eq!(
        consent_of,
        ["pending", "pending", "pending", "pending", "pending", "no_phone"]
    );
    // The start SMS went to each mother: in the outbox, delivered (logging gateway).
    let start = sms_to(server, f.silent.phone).await;
    assert_eq!(start.len(), 1, "{start:#?}");
    let first = text(&start[0]);
    assert!(
        first.starts_with(&format!("Уважаемый (ая) {}!", f.silent.mother_name)),
        "{first}"
    );
    assert!(first.contains(&format!(
        "Вашему ребенку {} полагается",
        f.silent.child_name
    )));
    assert!(first.contains("3#1") && first.contains("3#2") && first.contains("3 календарных дней"));
    assert_eq!(start[0]["state"], "sent");
    assert_eq!(
        sms_to(server, f.twins_mum.phone).await.len(),
        2,
        "one SMS per child"
    );
    assert_eq!(f.sms(server).await.len(), 5, "no SMS without a phone");
    assert_eq!(consent_state(server, &f.orphan).await, "no_phone");
}

/// `3#1` (spaces and all): the voucher at once, in that mother's wallet. `3#2`: none.
async fn agreeing_forms_the_voucher_refusing_does_not(server: &Server, f: &Families) -> String {
    let outcome = reply(server, "+7 702 555 01 02", " 3 # 1 ").await;
    assert_eq!(outcome["outcome"], "agreed", "{outcome}");
    let voucher = outcome["voucher_id"]
        .as_str()
        .expect("voucher id")
        .to_string();
    let mum = server.parent_token(&f.agrees.mother.expose()).await;
    let wallet = w::wallet(server, &mum).await;
    assert_eq!(w::voucher_ids(&wallet), [voucher.as_str()]);
    assert_eq!(w::find_voucher(&wallet, &voucher)["state"], "formed");
    let confirmation = sms_to(server, f.agrees.phone).await;
    assert_eq!(confirmation.len(), 2);
    let yes = text(&confirmation[1]);
    assert!(yes.contains("обработано положительно"), "{yes}");
    assert!(
        yes.contains("https://egovmobile.page.link/socwallet")
            && yes.contains(&f.agrees.child_name)
    );

    assert_eq!(
        reply(server, f.refuses.phone, "3#2").await["outcome"],
        "refused"
    );
    let refusal = sms_to(server, f.refuses.phone).await;
    assert!(text(&refusal[1]).starts_with("Вы отказались от получения услуги"));
    // A reply after the end, or from a number nobody asked, changes nothing.
    assert_eq!(
        reply(server, f.refuses.phone, "3#1").await["outcome"],
        "ignored"
    );
    assert_eq!(sms_to(server, f.refuses.phone).await.len(), 2);
    let mum3 = server.parent_token(&f.refuses.mother.expose()).await;
    assert_eq!(w::wallet(server, &mum3).await, json!({"vouchers": []}));
    assert_eq!(
        reply(server, "+7 700 000 00 00", "3#1").await["outcome"],
        "ignored"
    );
    voucher
}

/// The oldest request of the number first, and the SMS name the child; anything that is
/// not an answer gets a help SMS and changes nothing.
async fn a_mother_of_two_answers_for_each_child(server: &Server, f: &Families) {
    assert_eq!(
        reply(server, f.twins_mum.phone, "3#1").await["outcome"],
        "agreed"
    );
    assert_eq!(
        reply(server, f.twins_mum.phone, "3#2").await["outcome"],
        "refused"
    );
    let both = sms_to(server, f.twins_mum.phone).await;
    assert!(text(&both[2]).contains(&f.twins_mum.child_name));
    assert!(text(&both[3]).contains(&f.second.child_name));
    assert_eq!(consent_state(server, &f.twins_mum.child).await, "agreed");
    assert_eq!(consent_state(server, &f.second.child).await, "refused");

    assert_eq!(
        reply(server, f.silent.phone, "да").await["outcome"],
        "help_sent"
    );
    assert_eq!(consent_state(server, &f.silent.child).await, "pending");
    assert!(text(&sms_to(server, f.silent.phone).await[1]).contains("3#1"));
}

/// Three full days of silence after the day of the start SMS: one reminder, in the morning.
/// Three full days after the reminder's day: timed out, and no SMS for that.
async fn silence_brings_one_reminder_then_the_end(
    server: &Server,
    f: &Families,
    t0: time::OffsetDateTime,
) {
    let remind = reminder_due(t0);
    // Three days of clock, and a minute before the reminder's morning: nothing yet.
    for not_yet in [t0 + Duration::days(3), remind - Duration::minutes(1)] {
        set_clock(server, not_yet).await;
        settle().await;
        assert_eq!(sms_to(server, f.silent.phone).await.len(), 2, "{not_yet}");
        assert_eq!(consent_state(server, &f.silent.child).await, "pending");
    }
    set_clock(server, remind + Duration::minutes(1)).await;
    let reminder = eventually("the reminder", || async {
        let all = sms_to(server, f.silent.phone).await;
        (all.len() == 3).then(|| all[2].clone())
    })
    .await;
    assert!(text(&reminder).starts_with("Повторное сообщение.\nУважаемый"));
    assert_eq!(consent_state(server, &f.silent.child).await, "reminded");
    let end = timeout_due(remind);
    set_clock(server, end - Duration::minutes(1)).await;
    settle().await;
    assert_eq!(consent_state(server, &f.silent.child).await, "reminded");
    set_clock(server, end + Duration::minutes(2)).await;
    eventually("the timeout", || async {
        (consent_state(server, &f.silent.child).await == "timed_out").then_some(())
    })
    .await;
    assert_eq!(
        reply(server, f.silent.phone, "3#1").await["outcome"],
        "ignored"
    );
    assert_eq!(
        sms_to(server, f.silent.phone).await.len(),
        3,
        "no SMS after the end"
    );
    assert_eq!(f.sms(server).await.len(), 11);
}

/// The conversations stand; the agreed row has its voucher; nothing is sent twice.
async fn the_list_again_reports_where_each_stands(
    server: &Server,
    f: &Families,
    list: &Value,
    voucher: &str,
) {
    let again = w::send_list(server, list).await.ok_json();
    let rows = again["accepted"].as_array().expect("accepted");
    assert_eq!(
        (rows[0]["consent"].as_str(), rows[0]["status"].as_str()),
        (Some("timed_out"), Some("awaiting_consent"))
    );
    assert_eq!(
        (rows[1]["consent"].as_str(), rows[1]["voucher_id"].as_str()),
        (Some("agreed"), Some(voucher))
    );
    assert_eq!(rows[1]["status"], "voucher_formed");
    assert_eq!(rows[5]["consent"], "no_phone");
    assert_eq!(f.sms(server).await.len(), 11, "nothing sent twice");
}

/// The example: an SMS sent on Monday at 14:00 gets its reminder no earlier than
/// Friday 09:00 Astana (the period is Tuesday to Thursday; the night waits for the
/// morning). An answer at night is held for the morning as well.
#[tokio::test]
async fn a_monday_sms_is_reminded_on_friday_morning_and_nights_are_quiet() {
    let data = data_dir();
    let server = Server::demo(data.path());
    let term = Term::enter(&server).await;
    let mut monday = term.today() + Duration::days(1);
    while monday.weekday() != Weekday::Monday {
        monday += Duration::days(1);
    }
    let friday = monday + Duration::days(4);
    let mum = family(7, "+7 701 555 07 07", "77015550707");
    set_clock(&server, astana(monday, 14, 0)).await;
    let answer = w::send_list(&server, &one_child_list(2, &mum, monday))
        .await
        .ok_json();
    assert_eq!(answer["accepted"][0]["consent"], "pending", "{answer}");
    let start = sms_to(&server, mum.phone).await;
    assert_eq!((start.len(), start[0]["state"].as_str()), (1, Some("sent")));
    for not_yet in [
        astana(friday - Duration::days(1), 14, 1),
        astana(friday, 0, 1),
        astana(friday, 8, 59),
    ] {
        set_clock(&server, not_yet).await;
        settle().await;
        assert_eq!(
            sms_to(&server, mum.phone).await.len(),
            1,
            "no reminder at {not_yet}"
        );
    }
    set_clock(&server, astana(friday, 9, 0) + Duration::seconds(30)).await;
    let reminder = eventually("the reminder at nine", || async {
        let all = sms_to(&server, mum.phone).await;
        (all.len() == 2 && all[1]["state"] == "sent").then(|| all[1].clone())
    })
    .await;
    assert!(text(&reminder).starts_with("Повторное сообщение."));

    // 3#2 at 22:00: the answer SMS is queued, and goes out at 09:00 the next morning.
    set_clock(&server, astana(friday, 22, 0)).await;
    assert_eq!(reply(&server, mum.phone, "3#2").await["outcome"], "refused");
    settle().await;
    let night = sms_to(&server, mum.phone).await;
    assert_eq!(
        (night.len(), night[2]["state"].as_str()),
        (3, Some("pending")),
        "held for the morning"
    );
    set_clock(
        &server,
        astana(friday + Duration::days(1), 9, 0) + Duration::seconds(30),
    )
    .await;
    eventually("the answer in the morning", || async {
        (sms_to(&server, mum.phone).await[2]["state"] == "sent").then_some(())
    })
    .await;
    server.stop();
}

/// A parent who refused in one month is asked again when the child is on the next month's
/// list — once: the same list sent again asks nobody twice.
#[tokio::test]
async fn a_refusal_is_asked_again_on_a_later_months_list_once() {
    let data = data_dir();
    let server = Server::demo(data.path());
    let term = Term::enter(&server).await;
    let first = next_month(term.today());
    let second = next_month(first);
    let mum = family(8, "+7 701 555 08 08", "77015550808");
    set_clock(&server, astana(first, 10, 0)).await;
    let answer = w::send_list(&server, &one_child_list(3, &mum, first))
        .await
        .ok_json();
    assert_eq!(answer["accepted"][0]["consent"], "pending", "{answer}");
    assert_eq!(reply(&server, mum.phone, "3#2").await["outcome"], "refused");
    assert_eq!(sms_to(&server, mum.phone).await.len(), 2);

    set_clock(&server, astana(second + Duration::days(4), 10, 0)).await;
    let next = one_child_list(3, &mum, second);
    let answer = w::send_list(&server, &next).await.ok_json();
    let row0 = &answer["accepted"][0];
    assert_eq!(
        (row0["status"].as_str(), row0["consent"].as_str()),
        (Some("awaiting_consent"), Some("pending")),
        "{answer}"
    );
    let asked = sms_to(&server, mum.phone).await;
    assert_eq!(asked.len(), 3, "a new start SMS: {asked:#?}");
    assert!(text(&asked[2]).starts_with(&format!("Уважаемый (ая) {}!", mum.mother_name)));
    assert_eq!(asked[2]["state"], "sent");

    // Two conversations on record, one per list month, newest first.
    let months: Vec<Value> = consents(&server)
        .await
        .iter()
        .filter(|c| c["student"]["iin_masked"] == mum.child.to_string())
        .map(|c| json!([c["month"], c["state"]]))
        .collect();
    assert_eq!(
        months,
        [
            json!([month_of(second), "pending"]),
            json!([month_of(first), "refused"])
        ]
    );

    // The same month's list again: nobody is asked twice.
    let again = w::send_list(&server, &next).await.ok_json();
    assert_eq!(again["accepted"][0]["consent"], "pending", "{again}");
    assert_eq!(sms_to(&server, mum.phone).await.len(), 3);
    // Refused again: that answer stands for the month.
    assert_eq!(reply(&server, mum.phone, "3#2").await["outcome"], "refused");
    let again = w::send_list(&server, &next).await.ok_json();
    assert_eq!(again["accepted"][0]["consent"], "refused", "{again}");
    assert_eq!(sms_to(&server, mum.phone).await.len(), 4);
    server.stop();
}

#[tokio::test]
async fn bad_inbound_sms_are_refused_and_change_nothing() {
    let data = data_dir();
    let server = Server::demo(data.path());
    let token = server.integration_token().await;
    let path = "/v1/integration/sms/inbound";
    let body = json!({"phone": "+7 701 555 00 00", "text": "3#1"});
    server
        .post_json(path, None, &body)
        .await
        .assert_error(401, "token_missing");
    server
        .post_json(path, Some("garbage"), &body)
        .await
        .assert_error(401, "token_malformed");
    let parent = server.parent_token(common::DEMO_PARENT_IIN).await;
    server
        .post_json(path, Some(&parent), &body)
        .await
        .assert_error(403, "forbidden");
    let before = w::outbox(&server).await;
    for (bad, code) in [
        (json!({"phone": "12345", "text": "3#1"}), "invalid_phone"),
        (
            json!({"phone": "+7 727 255 00 00", "text": "3#1"}),
            "invalid_phone",
        ),
        (
            json!({"phone": "+7 701 ABC 00 00", "text": "3#1"}),
            "invalid_phone",
        ),
        (
            json!({"phone": "87015550000", "text": "3#1".repeat(300)}),
            "text_too_long",
        ),
        (
            json!({"phone": "87015550000", "text": "3#1\u{0}\u{1}"}),
            "invalid_text",
        ),
        (json!({"phone": "87015550000"}), "invalid_body"),
        (
            json!({"phone": "87015550000", "text": "3#1", "extra": 1}),
            "invalid_body",
        ),
        (
            json!({"phone": 87015550000_u64, "text": "3#1"}),
            "invalid_body",
        ),
    ] {
        server
            .post_json(path, Some(&token), &bad)
            .await
            .assert_error(422, code);
    }
    assert_eq!(w::outbox(&server).await, before);
    // Every well-formed number is accepted (and, with no open request, ignored).
    for phone in [
        "+7 701 555 00 00",
        "87015550000",
        "77015550000",
        "7015550000",
        "+7 (701) 555-00-00",
    ] {
        let resp = server
            .post_json(path, Some(&token), &json!({"phone": phone, "text": "3#1"}))
            .await;
        assert_eq!(resp.ok_json()["outcome"], "ignored", "{phone}");
    }
    server.stop();
}
