//! End to end, the month's list decides who eats (issue "Entitlement and billing that follow
//! the school year"): the real `wallet-server --demo`, two real `canteen-terminal`s and the
//! `firmware-sim`, over the days of a December and a January moved with `POST /dev/clock`.
//!
//! December's list of the demo school (X) names Абенов, Бекенова and Сейтова; they eat on
//! 15 December. On 5 January X's January list names Абенов only, and school Y's January list
//! names Сейтова (she moved). At X's terminal Бекенова's pass and card are then refused with
//! "not on this month's list" in Russian and Kazakh, and Сейтова's voucher there is gone; Y's
//! terminal serves Сейтова on her voucher (formed with the move, already activated). X's
//! January табель has no Бекенова, X's December табель still bills both girls' meals.
//! Both schools' staff see the move in their voucher lists.

mod common;

use std::path::Path;

use serde_json::{json, Value};
use shared::Sex;
use time::macros::datetime;
use time::{Month, OffsetDateTime};

use common::canteen::{demo_school_list, Sim, Terminal, TerminalSetup};
use common::wallet as w;
use common::{Server, DEMO_SCHOOL_BIN};

const ABENOV: &str = "Абенов Алихан Ерболович";
const BEKENOVA: &str = "Бекенова Балжан Ерболовна";
const SEITOVA: &str = "Сейтова Сабина Ерболовна";
const BEKENOVA_CARD: &str = "0E00000B01";
const SEITOVA_CARD: &str = "0E00000C01";
const Y_NAME: &str = "Школа-лицей №2";

fn mother() -> shared::Iin {
    w::iin(1987, Month::October, 9, Sex::Female, 1234)
}

fn kid(name: &str) -> shared::Iin {
    match name {
        ABENOV => w::iin(2017, Month::October, 21, Sex::Male, 1234),
        BEKENOVA => w::iin(2018, Month::October, 21, Sex::Female, 1234),
        _ => w::iin(2016, Month::October, 21, Sex::Female, 1234),
    }
}

fn row(name: &str, grade: i64, class: &str) -> Value {
    let rep = w::rep(
        &mother().expose(),
        "Абенова Гаухар Маратовна",
        "mother",
        Some("77015550177"),
    );
    w::student(
        &kid(name).expose(),
        name,
        grade,
        class,
        "primary",
        vec![rep],
    )
}

fn y_bin() -> String {
    w::bin([1, 6, 0, 5, 4, 0, 0, 0, 2, 2, 2]).to_string()
}

/// Moves the demo clock and waits until `terminals` have taken it.
async fn clock(server: &Server, terminals: &mut [&mut Terminal], to: OffsetDateTime) {
    server
        .post_json("/dev/clock", None, &json!({"now": w::rfc3339(to)}))
        .await
        .ok_json();
    let expected_ms = (to - OffsetDateTime::now_utc()).whole_milliseconds() as i64;
    for t in terminals {
        t.wait_sync("ok", "the terminal taking the new day", |s| {
            s["clock_offset_ms"].as_i64() >= Some(expected_ms - 30_000)
        });
    }
}

fn setup(dir: &Path, server: &Server, school: &str, sim: &Sim, name: &str) -> TerminalSetup {
    TerminalSetup {
        server: server.base.clone(),
        school: school.into(),
        db: dir.join(format!("{name}.db")),
        qr: sim.qr.clone(),
        card: sim.card.clone(),
        log_dir: dir.to_path_buf(),
        sync_interval_ms: 200,
        extra: Vec::new(),
    }
}

async fn code(server: &Server, school: &str) -> String {
    let staff = server.staff_token("social_pedagogue", school).await;
    let resp = server
        .post_json(
            &format!("/v1/schools/{school}/terminals"),
            Some(&staff),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status, 201, "{}", resp.text);
    resp.json()["code"].as_str().expect("code").to_owned()
}

/// This mother's voucher of `name` at `school`.
async fn voucher(server: &Server, token: &str, name: &str, school: &str) -> Value {
    let wallet = w::wallet(server, token).await;
    wallet["vouchers"]
        .as_array()
        .and_then(|vs| {
            vs.iter()
                .find(|v| v["student"]["full_name"] == name && v["school"]["bin"] == school)
        })
        .cloned()
        .unwrap_or_else(|| panic!("no voucher of {name} at {school} in {wallet:#}"))
}

async fn pass(server: &Server, token: &str, voucher: &Value) -> String {
    let id = voucher["id"].as_str().expect("id");
    let body = w::mint(server, token, id, Some("application/json"))
        .await
        .ok_json();
    body["text"].as_str().expect("text").to_owned()
}

fn decision(t: &mut Terminal, what: &str, decision: &str) -> Value {
    let d = t.decision(what);
    assert_eq!(d["decision"], decision, "{what}: {d}");
    d
}

async fn tabel(server: &Server, school: &str, month: &str) -> Value {
    let staff = server.staff_token("director", school).await;
    server
        .get(
            &format!("/v1/schools/{school}/tabel?month={month}"),
            Some(&staff),
        )
        .await
        .ok_json()
}

fn marks_of(tabel: &Value, name: &str) -> Option<Value> {
    tabel["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["student"]["full_name"] == name)
        .map(|r| r["marks"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_months_list_decides_who_eats_at_which_school() {
    let dir = tests::private_tempdir();
    let data = dir.path().join("data");
    tests::private_dir(&data);
    // 1 December 2026, 10:00 in Astana.
    let server = Server::demo_from(&data, datetime!(2026-12-01 05:00 UTC));
    let december = demo_school_list(
        "2026-12",
        vec![
            row(ABENOV, 3, "3В"),
            row(BEKENOVA, 2, "2В"),
            row(SEITOVA, 4, "4В"),
        ],
    );
    let taken = w::send_list(&server, &december).await.ok_json();
    assert_eq!(taken["rejected"], json!([]), "{taken:#}");
    let mum = server.parent_token(&mother().expose()).await;
    for name in [ABENOV, BEKENOVA, SEITOVA] {
        let v = voucher(&server, &mum, name, DEMO_SCHOOL_BIN).await;
        w::activate(&server, &mum, v["id"].as_str().expect("id"))
            .await
            .ok_json();
    }
    let staff = server
        .staff_token("social_pedagogue", DEMO_SCHOOL_BIN)
        .await;
    for (name, card) in [(BEKENOVA, BEKENOVA_CARD), (SEITOVA, SEITOVA_CARD)] {
        let bound = server
            .post_json(
                &format!("/v1/schools/{DEMO_SCHOOL_BIN}/cards"),
                Some(&staff),
                &json!({"student_iin": kid(name).expose(), "card_uid": card}),
            )
            .await
            .ok_json();
        assert_eq!(bound["status"], "bound", "{bound}");
    }

    // X's terminal; 15 December: the girls eat.
    for sub in ["x", "y"] {
        std::fs::create_dir(dir.path().join(sub)).expect("sim dir");
    }
    let sim_x = Sim::start(&dir.path().join("x"));
    let x_code = code(&server, DEMO_SCHOOL_BIN).await;
    let mut tx = Terminal::start(
        &setup(dir.path(), &server, DEMO_SCHOOL_BIN, &sim_x, "x"),
        Some(&x_code),
    );
    tx.wait_sync("ok", "X's roster", |s| s["roster"].as_u64() >= Some(4));
    clock(&server, &mut [&mut tx], datetime!(2026-12-15 07:00 UTC)).await;
    let mut sim_x = sim_x;
    sim_x.cmd(&format!("card {BEKENOVA_CARD}"));
    decision(&mut tx, "Бекенова's card in December", "accept");
    sim_x.cmd(&format!("card {SEITOVA_CARD}"));
    decision(&mut tx, "Сейтова's card in December", "accept");

    // 5 January: X's January list names Абенов only; Y's names Сейтова.
    clock(&server, &mut [&mut tx], datetime!(2027-01-05 05:00 UTC)).await;
    let january = demo_school_list("2027-01", vec![row(ABENOV, 3, "3В")]);
    let taken = w::send_list(&server, &january).await.ok_json();
    assert_eq!(taken["rejected"], json!([]), "{taken:#}");
    let y_list = w::list(&y_bin(), Y_NAME, "2027-01", vec![row(SEITOVA, 4, "4А")]);
    let taken = w::send_list(&server, &y_list).await.ok_json();
    assert_eq!(
        taken["accepted"][0]["status"], "voucher_formed",
        "{taken:#}"
    );
    // Lunch on 12 January, after the winter break. X's terminal keeps Бекенова (her
    // voucher stands for the school year) with her listed days; Сейтова's voucher went.
    clock(&server, &mut [&mut tx], datetime!(2027-01-12 07:00 UTC)).await;
    tx.wait_sync("ok", "X's roster after the January lists", |s| {
        s["roster"].as_u64() == Some(3)
    });

    let bekenova = voucher(&server, &mum, BEKENOVA, DEMO_SCHOOL_BIN).await;
    let bekenova_pass = pass(&server, &mum, &bekenova).await;
    for (what, method, command) in [
        ("Бекенова's pass", "qr", format!("scan {bekenova_pass}")),
        ("Бекенова's card", "card", format!("card {BEKENOVA_CARD}")),
    ] {
        sim_x.cmd(&command);
        let d = decision(&mut tx, what, "deny");
        assert_eq!(
            (d["reason"].as_str(), d["method"].as_str()),
            (Some("not_on_list"), Some(method)),
            "{d}"
        );
        assert_eq!(d["student"], BEKENOVA, "{d}");
        assert!(
            d["reason_ru"]
                .as_str()
                .is_some_and(|r| r.contains("списке")),
            "{d}"
        );
        assert!(
            d["reason_kk"].as_str().is_some_and(|r| r.contains("тізім")),
            "{d}"
        );
    }
    sim_x.cmd(&format!("card {SEITOVA_CARD}"));
    let d = decision(&mut tx, "Сейтова's card at X after the move", "deny");
    assert_eq!(
        d["reason"], "not_on_roster",
        "her voucher at X went with the move: {d}"
    );
    let abenov = voucher(&server, &mum, ABENOV, DEMO_SCHOOL_BIN).await;
    sim_x.cmd(&format!("scan {}", pass(&server, &mum, &abenov).await));
    decision(&mut tx, "Абенов, on January's list", "accept");

    // Both schools' staff see the move.
    for (school, field, other) in [
        (DEMO_SCHOOL_BIN.to_string(), "moved_to", y_bin()),
        (y_bin(), "moved_from", DEMO_SCHOOL_BIN.to_string()),
    ] {
        let staff = server.staff_token("social_pedagogue", &school).await;
        let view = server
            .get(&format!("/v1/schools/{school}/vouchers"), Some(&staff))
            .await
            .ok_json();
        let seitova = view["vouchers"]
            .as_array()
            .and_then(|vs| vs.iter().find(|v| v["student"]["full_name"] == SEITOVA))
            .unwrap_or_else(|| panic!("Сейтова at {school}: {view:#}"));
        assert_eq!(seitova[field], other.as_str(), "{seitova}");
    }

    // Y's terminal serves Сейтова on the voucher the move formed, already activated.
    let seitova_y = voucher(&server, &mum, SEITOVA, &y_bin()).await;
    assert_eq!(seitova_y["state"], "activated", "{seitova_y}");
    let mut sim_y = Sim::start(&dir.path().join("y"));
    let y_code = code(&server, &y_bin()).await;
    let mut ty = Terminal::start(
        &setup(dir.path(), &server, &y_bin(), &sim_y, "y"),
        Some(&y_code),
    );
    ty.wait_sync("ok", "Y's roster", |s| s["roster"].as_u64() == Some(1));
    sim_y.cmd(&format!("scan {}", pass(&server, &mum, &seitova_y).await));
    let d = decision(&mut ty, "Сейтова at Y", "accept");
    assert_eq!(d["student"], SEITOVA, "{d}");
    // And her old school's pass no longer works at X.
    sim_x.cmd(&format!("scan {}", pass(&server, &mum, &seitova_y).await));
    assert_eq!(
        decision(&mut tx, "Y's pass at X", "deny")["reason"],
        "other_school"
    );

    // Both terminals push; the табели follow the lists.
    for t in [&mut tx, &mut ty] {
        t.wait_sync("ok", "everything pushed", |s| s["unsent"] == 0);
    }
    let x_january = tabel(&server, DEMO_SCHOOL_BIN, "2027-01").await;
    assert_eq!(marks_of(&x_january, BEKENOVA), None, "{x_january:#}");
    assert_eq!(marks_of(&x_january, SEITOVA), None, "{x_january:#}");
    assert_eq!(
        marks_of(&x_january, ABENOV),
        Some(json!({"2027-01-12": 1})),
        "{x_january:#}"
    );
    let x_december = tabel(&server, DEMO_SCHOOL_BIN, "2026-12").await;
    for name in [BEKENOVA, SEITOVA] {
        assert_eq!(
            marks_of(&x_december, name),
            Some(json!({"2026-12-15": 1})),
            "{name}: {x_december:#}"
        );
    }
    let y_january = tabel(&server, &y_bin(), "2027-01").await;
    assert_eq!(
        marks_of(&y_january, SEITOVA),
        Some(json!({"2027-01-12": 1})),
        "{y_january:#}"
    );
}
