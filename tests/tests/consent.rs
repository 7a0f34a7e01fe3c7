//! Consent by SMS, end to end on the real binary (`--demo`): a list with upper-grade
//! students starts SMS conversations with their mothers; parents answer `3#1`/`3#2` through
//! the inbound route; moving the demo clock brings the reminder and then the timeout. Bad
//! inbound SMS are refused and change nothing. (The crash tests are in `consent_crash.rs`.)

mod common;
mod consent_support;

use common::wallet::{self as w, Term};
use common::Server;
use consent_support::{
    consent_state, data_dir, eventually, family, reply, row, set_clock, sms, sms_to, Family,
};
use serde_json::{json, Value};
use shared::{Iin, Sex};
use time::{Duration, Month};

/// The people of the test list.
struct Families {
    /// Never answers.
    silent: Family,
    agrees: Family,
    refuses: Family,
    /// A mother of two: `twins_mum` and `second` are her children.
    twins_mum: Family,
    second: Family,
    /// Nobody has a phone.
    orphan: Iin,
    guardian: Iin,
}

impl Families {
    fn new() -> Families {
        Families {
            silent: family(1, "+7 701 555 01 01", "77015550101"),
            agrees: family(2, "8 (702) 555-01-02", "77025550102"),
            refuses: family(3, "77055550103", "77055550103"),
            twins_mum: family(4, "+77075550104", "77075550104"),
            second: Family {
                child: w::iin(2014, Month::May, 5, Sex::Female, 6001),
                child_name: "Ученица Вторая".into(),
                ..family(4, "+77075550104", "77075550104")
            },
            orphan: w::iin(2011, Month::June, 6, Sex::Male, 6001),
            guardian: w::iin(1970, Month::July, 7, Sex::Female, 6001),
        }
    }

    /// The SMS of the outbox to this list's parents (the demo school's own conversations
    /// run beside them).
    async fn sms(&self, server: &Server) -> Vec<Value> {
        let ours = [
            self.silent.phone,
            self.agrees.phone,
            self.refuses.phone,
            self.twins_mum.phone,
        ];
        sms(server)
            .await
            .into_iter()
            .filter(|m| ours.iter().any(|p| m["to"] == *p))
            .collect()
    }

    fn list(&self, term: &Term) -> Value {
        let bin = w::bin([0, 4, 0, 1, 4, 0, 0, 0, 7, 1, 1]).to_string();
        let with_phone = [
            &self.silent,
            &self.agrees,
            &self.refuses,
            &self.twins_mum,
            &self.second,
        ];
        let mut students: Vec<Value> = with_phone.map(row).to_vec();
        let guardian = w::rep(
            &self.guardian.expose(),
            "Опекун Без Телефона",
            "guardian",
            None,
        );
        students.push(w::student(
            &self.orphan.expose(),
            "Без Телефона",
            8,
            "8Б",
            "orphan",
            vec![guardian],
        ));
        w::list(&bin, "Школа SMS", &term.period(), students)
    }
}

fn text(sms: &Value) -> &str {
    sms["text"].as_str().expect("SMS text")
}

#[tokio::test]
async fn parents_answer_by_sms_and_silence_has_deadlines() {
    let data = data_dir();
    let server = Server::demo(data.path());
    let term = Term::enter(&server).await;
    let f = Families::new();
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

/// Three days of silence: one reminder. Three more: timed out, and no SMS for that.
async fn silence_brings_one_reminder_then_the_end(
    server: &Server,
    f: &Families,
    t0: time::OffsetDateTime,
) {
    set_clock(server, t0 + Duration::days(3) + Duration::minutes(1)).await;
    let reminder = eventually("the reminder", || async {
        let all = sms_to(server, f.silent.phone).await;
        (all.len() == 3).then(|| all[2].clone())
    })
    .await;
    assert!(text(&reminder).starts_with("Повторное сообщение.\nУважаемый"));
    assert_eq!(consent_state(server, &f.silent.child).await, "reminded");
    set_clock(server, t0 + Duration::days(6) + Duration::minutes(2)).await;
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
        .assert_error(401, "unauthorized");
    server
        .post_json(path, Some("garbage"), &body)
        .await
        .assert_error(401, "unauthorized");
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
