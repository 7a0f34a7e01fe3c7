//! Gas vouchers end to end (issue 15, "Done when"), on the real binary (`--demo`, its clock
//! moved with `POST /dev/clock`) and a fake gas provider on loopback over real HTTP: a list
//! on the 3rd sends nothing until the 7th 09:00; `3#1` puts the voucher in the wallet; on
//! the 10th an unknown account is 404 and a known one 200; a second recipient on the same
//! account gets 409; an agreed recipient activating on the 26th gets
//! `outside_activation_window`; on the 26th the provider's list holds exactly the activated
//! vouchers, delivered once through the outbox; a discount above the cap is refused, one
//! under it shows in the wallet; a silent recipient gets one reminder on the 15th and
//! nothing after the 25th.

mod common;
mod consent_support;
mod gas_support;

use common::wallet as w;
use common::Server;
use consent_support::{astana, data_dir, eventually, reply, set_clock, settle, sms_to};
use gas_support::FakeProvider;
use serde_json::{json, Value};
use shared::{Iin, Sex};
use time::macros::date;

const MONTH: &str = "2027-01";

/// A recipient of the story: their IIN, name and phone.
struct Person {
    iin: String,
    name: &'static str,
    phone: &'static str,
}

fn person(serial: u16, name: &'static str, phone: &'static str) -> Person {
    let iin = Iin::generate(date!(1980 - 04 - 12), Sex::Female, serial)
        .or_else(|| Iin::generate(date!(1980 - 04 - 13), Sex::Female, serial))
        .expect("an IIN");
    Person {
        iin: iin.expose(),
        name,
        phone,
    }
}

struct Cast {
    agrees: Person,
    second: Person,
    silent: Person,
    late: Person,
    office: Person,
}

impl Cast {
    fn new() -> Cast {
        Cast {
            agrees: person(2101, "Серикова Дана", "+77015550101"),
            second: person(2102, "Омарова Алия", "+77015550102"),
            silent: person(2103, "Жумабаева Роза", "+77015550103"),
            late: person(2104, "Касымова Гуля", "+77015550104"),
            office: person(2105, "Нурланова Сауле", "+77015550105"),
        }
    }

    fn list(&self) -> Value {
        let row = |p: &Person| json!({"iin": p.iin, "full_name": p.name, "phone": p.phone});
        let no_phone = person(2106, "Без Телефона", "");
        json!({"programme": "gas", "period": MONTH, "region": "shymkent", "recipients": [
            row(&self.agrees), row(&self.second), row(&self.silent), row(&self.late),
            row(&self.office), {"iin": no_phone.iin, "full_name": no_phone.name},
            {"iin": "123", "full_name": "Ошибка"},
        ]})
    }
}

async fn token(server: &Server, sub: &str, role: &str) -> String {
    server.dev_token(&json!({"sub": sub, "role": role})).await
}

fn gas_voucher(wallet: &Value) -> Value {
    let vouchers = wallet["vouchers"].as_array().expect("vouchers");
    let gas: Vec<&Value> = vouchers
        .iter()
        .filter(|v| v["programme"] == "gas")
        .collect();
    assert_eq!(gas.len(), 1, "{wallet:#}");
    gas[0].clone()
}

#[tokio::test]
async fn a_month_of_gas_vouchers_from_the_list_to_the_discount() {
    let (provider, url) = FakeProvider::start().await;
    let data = data_dir();
    let start = w::rfc3339(astana(date!(2027 - 01 - 03), 10, 0));
    let server = Server::start(
        data.path(),
        &["--demo", "--demo-clock", &start, "--provider-url", &url],
        &[],
    );
    let c = Cast::new();
    let integ = server.integration_token().await;
    let norm = server
        .request(
            reqwest::Method::PUT,
            "/v1/integration/gas/norms/shymkent",
            Some(&integ),
            Some(&json!({"norm_m3": 150, "benefit_tiyn_per_m3": 2000})),
        )
        .await
        .ok_json();
    assert_eq!(norm["cap_tiyn"], 300_000, "{norm}");

    a_list_on_the_third_waits_for_the_seventh(&server, &c).await;
    let voucher = agreeing_puts_the_voucher_in_the_wallet(&server, &c).await;
    let late_voucher = accounts_are_checked_on_the_tenth(&server, &c, &voucher).await;
    the_silent_one_is_reminded_on_the_fifteenth(&server).await;
    the_twenty_sixth(&server, &c, &provider, &voucher, &late_voucher).await;
    discounts_within_the_cap_show_in_the_wallet(&server, &c, &voucher).await;

    let log = server.stderr();
    for secret in ["5500000001", "5500000002", c.agrees.phone, &c.agrees.iin] {
        assert!(!log.contains(secret), "the log holds {secret:?}");
    }
    server.stop();
}

async fn a_list_on_the_third_waits_for_the_seventh(server: &Server, c: &Cast) {
    let answer = w::send_list(server, &c.list()).await.ok_json();
    let statuses: Vec<&str> = answer["accepted"]
        .as_array()
        .expect("accepted")
        .iter()
        .map(|r| r["status"].as_str().expect("status"))
        .collect();
    assert_eq!(
        statuses,
        ["awaiting_consent"; 5]
            .iter()
            .copied()
            .chain(["no_phone"])
            .collect::<Vec<_>>(),
        "{answer:#}"
    );
    assert_eq!(
        answer["rejected"],
        json!([{"index": 6, "reason": "invalid_iin"}]),
        "{answer:#}"
    );
    settle().await;
    let held = sms_to(server, "77015550101").await;
    assert_eq!(held.len(), 1, "{held:#?}");
    assert_eq!(held[0]["state"], "pending", "nothing leaves before the 7th");
    set_clock(server, astana(date!(2027 - 01 - 07), 8, 59)).await;
    settle().await;
    assert_eq!(sms_to(server, "77015550101").await[0]["state"], "pending");
    set_clock(server, astana(date!(2027 - 01 - 07), 9, 0)).await;
    let sent = eventually("the start SMS at 09:00 on the 7th", || async {
        let s = sms_to(server, "77015550101").await;
        (s[0]["state"] == "sent").then_some(s)
    })
    .await;
    let text = sent[0]["text"].as_str().expect("text");
    assert!(
        text.starts_with(
            "Уважаемый (ая) Серикова Дана!\nВашей семье доступен ваучер на товарный газ."
        ),
        "{text}"
    );
    assert!(
        text.contains("Ответить необходимо до 25 числа текущего месяца."),
        "{text}"
    );
    // The list sent again (an update before the 14th) messages nobody twice.
    w::send_list(server, &c.list()).await.ok_json();
    assert_eq!(sms_to(server, "77015550101").await.len(), 1);
}

async fn agreeing_puts_the_voucher_in_the_wallet(server: &Server, c: &Cast) -> String {
    for p in [&c.agrees, &c.second, &c.late, &c.office] {
        assert_eq!(reply(server, p.phone, "3#1").await["outcome"], "agreed");
    }
    let yes = sms_to(server, "77015550101").await;
    assert_eq!(yes.len(), 2);
    assert!(yes[1]["text"].as_str().expect("text").starts_with(
        "Ваше согласие на получение ваучера на товарный газ обработано положительно."
    ));
    let me = server.parent_token(&c.agrees.iin).await;
    let v = gas_voucher(&w::wallet(server, &me).await);
    assert_eq!(
        (
            v["state"].as_str(),
            v["period"].as_str(),
            v["valid_until"].as_str()
        ),
        (Some("formed"), Some(MONTH), Some("2027-01-25")),
        "{v:#}"
    );
    assert!(
        v.get("school").is_none() && v.get("student").is_none(),
        "{v:#}"
    );
    v["id"].as_str().expect("id").to_string()
}

async fn check(server: &Server, token: &str, voucher: &str, account: &str) -> common::Resp {
    let path = format!("/v1/wallet/vouchers/{voucher}/account");
    server
        .post_json(&path, Some(token), &json!({"personal_account": account}))
        .await
}

async fn activate(
    server: &Server,
    token: &str,
    voucher: &str,
    account: &str,
    offer: bool,
) -> common::Resp {
    let path = format!("/v1/wallet/vouchers/{voucher}/activate");
    let body = json!({"personal_account": account, "offer_accepted": offer});
    server.post_json(&path, Some(token), &body).await
}

async fn accounts_are_checked_on_the_tenth(server: &Server, c: &Cast, voucher: &str) -> String {
    set_clock(server, astana(date!(2027 - 01 - 10), 12, 0)).await;
    let me = server.parent_token(&c.agrees.iin).await;
    check(server, &me, voucher, "9999999999")
        .await
        .assert_error(404, "unknown_account");
    let known = check(server, &me, voucher, "5500000001").await.ok_json();
    assert_eq!(
        known["account"],
        json!({"number": "5500000001", "holder_masked": "Серикова Д. М.", "address_masked": "г. Шымкент, ***"})
    );
    assert!(known["offer"]["text"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    activate(server, &me, voucher, "5500000001", false)
        .await
        .assert_error(422, "offer_not_accepted");
    let done = activate(server, &me, voucher, "5500000001", true)
        .await
        .ok_json();
    assert_eq!(done["state"], "activated", "{done}");
    // Another recipient on the same account this month: refused, at the check and at activation.
    let other = server.parent_token(&c.second.iin).await;
    let second = gas_voucher(&w::wallet(server, &other).await)["id"]
        .as_str()
        .expect("id")
        .to_string();
    check(server, &other, &second, "5500000001")
        .await
        .assert_error(409, "account_taken");
    activate(server, &other, &second, "5500000001", true)
        .await
        .assert_error(409, "account_taken");
    // Somebody else's voucher is not found.
    check(server, &other, voucher, "5500000002")
        .await
        .assert_error(404, "not_found");
    // The provider's office activates for someone without a smartphone.
    let operator = token(server, "office-7", "provider_operator").await;
    let body = json!({"iin": c.office.iin, "personal_account": "5500000002"});
    let office = server
        .post_json("/v1/provider/vouchers/activate", Some(&operator), &body)
        .await
        .ok_json();
    assert_eq!(office["personal_account"], "5500000002", "{office}");
    let late = server.parent_token(&c.late.iin).await;
    let late_voucher = gas_voucher(&w::wallet(server, &late).await)["id"]
        .as_str()
        .expect("id")
        .to_string();
    late_voucher
}

async fn the_silent_one_is_reminded_on_the_fifteenth(server: &Server) {
    set_clock(server, astana(date!(2027 - 01 - 15), 8, 59)).await;
    settle().await;
    assert_eq!(
        sms_to(server, "77015550103").await.len(),
        1,
        "no reminder before the 15th 09:00"
    );
    set_clock(server, astana(date!(2027 - 01 - 15), 9, 0)).await;
    let both = eventually("the reminder on the 15th", || async {
        let s = sms_to(server, "77015550103").await;
        (s.len() == 2 && s[1]["state"] == "sent").then_some(s)
    })
    .await;
    let text = both[1]["text"].as_str().expect("text");
    assert!(
        text.starts_with("Повторное сообщение.\nУважаемый (ая) Жумабаева Роза!"),
        "{text}"
    );
    // Only the silent one: those who answered get no reminder.
    assert_eq!(sms_to(server, "77015550101").await.len(), 2);
}

async fn the_twenty_sixth(
    server: &Server,
    c: &Cast,
    provider: &FakeProvider,
    voucher: &str,
    late_voucher: &str,
) {
    set_clock(server, astana(date!(2027 - 01 - 26), 10, 0)).await;
    let late = server.parent_token(&c.late.iin).await;
    activate(server, &late, late_voucher, "5500000002", true)
        .await
        .assert_error(409, "outside_activation_window");
    let gas = token(server, "qazaqgaz", "provider").await;
    let list = server
        .get(
            &format!("/v1/provider/activations?month={MONTH}"),
            Some(&gas),
        )
        .await
        .ok_json();
    let accounts: Vec<(&str, &str)> = list["vouchers"]
        .as_array()
        .expect("vouchers")
        .iter()
        .map(|v| {
            (
                v["voucher_id"].as_str().unwrap_or(""),
                v["personal_account"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(accounts.len(), 2, "{list:#}");
    assert!(accounts.contains(&(voucher, "5500000001")), "{list:#}");
    assert!(accounts.iter().any(|a| a.1 == "5500000002"), "{list:#}");
    let posts = eventually("the activations at the provider", || async {
        let p = provider.activations();
        (!p.is_empty()).then_some(p)
    })
    .await;
    assert_eq!(posts[0].1["month"], MONTH);
    assert_eq!(
        posts[0].1["vouchers"], list["vouchers"],
        "the same list as the provider's route"
    );
    // The silent one: no SMS after the 25th, and a late 3#1 is ignored.
    set_clock(server, astana(date!(2027 - 01 - 27), 12, 0)).await;
    settle().await;
    assert_eq!(sms_to(server, "77015550103").await.len(), 2);
    assert_eq!(
        reply(server, c.silent.phone, "3#1").await["outcome"],
        "ignored"
    );
    assert_eq!(provider.activations().len(), 1, "delivered once");
    let outbox = w::outbox(server).await;
    let handovers: Vec<&Value> = outbox["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["kind"] == "activations")
        .collect();
    assert_eq!(handovers.len(), 1);
    assert_eq!(
        (handovers[0]["state"].as_str(), handovers[0]["id"].as_str()),
        (Some("sent"), Some(posts[0].0.as_str()))
    );
}

async fn discounts_within_the_cap_show_in_the_wallet(server: &Server, c: &Cast, voucher: &str) {
    let gas = token(server, "qazaqgaz", "provider").await;
    let item = |volume: f64, discount: i64| json!({"voucher_id": voucher, "volume_m3": volume, "norm_m3": 150, "benefit_tiyn_per_m3": 2000, "discount_tiyn": discount});
    let body = json!({"month": MONTH, "items": [item(200.0, 400_000), item(120.0, 240_000)]});
    let answer = server
        .post_json("/v1/provider/discounts", Some(&gas), &body)
        .await
        .ok_json();
    assert_eq!(
        answer["items"],
        json!([
            {"voucher_id": voucher, "status": "rejected", "reason": "above_cap"},
            {"voucher_id": voucher, "status": "accepted"},
        ])
    );
    // A body that breaks the schema (a negative volume) is refused whole and changes nothing.
    let bad = json!({"month": MONTH, "items": [item(-1.0, 0)]});
    server
        .post_json("/v1/provider/discounts", Some(&gas), &bad)
        .await
        .assert_error(422, "invalid_body");
    let me = server.parent_token(&c.agrees.iin).await;
    let v = gas_voucher(&w::wallet(server, &me).await);
    assert_eq!(
        v["discount"],
        json!({"tiyn": 240_000, "volume_m3": 120.0, "norm_m3": 150.0}),
        "{v:#}"
    );
}
