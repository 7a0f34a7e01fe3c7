//! The canteen counter as a worker sees it (issue 19): the real `canteen-terminal` full
//! screen on an 80×24 pty, its screen read back as text, devices played by `firmware-sim`
//! and the server by a fake of its terminal calls. One test per point of the issue (1–8)
//! and for the counter's features (sign-in, manual serve, void, alert line, shifts).

mod common;
mod screen_support;

use std::time::Duration;

use shared::counter::{MealSeen, Progress, ProgressCount, Shift};
use shared::sync::{MealSlot, Method};
use shared::time::{service_day, ASTANA};
use time::OffsetDateTime;

use screen_support::pty::{DOWN, ENTER, F2, F3, F4};
use screen_support::{student, Counter};

const CARD_A: &str = "0102ABCDEF";
const CARD_B: &str = "0102ABCDE0";
const UNKNOWN_CARD: &str = "0A0B0C0D0E";

fn hh_mm(at: OffsetDateTime) -> String {
    let local = at.to_offset(ASTANA);
    format!("{:02}:{:02}", local.hour(), local.minute())
}

/// Point 1: a failed read (bad checksum, noise, a garbled QR line) replaces the previous
/// child's green at once.
#[test]
fn a_failed_read_replaces_the_previous_green_at_once() {
    let mut c = Counter::start(vec![student("Аружан Б.", "2А", CARD_A)], &[]);
    c.card(CARD_A, &["ПРИНЯТО", "Аружан Б."]);
    c.sim.cmd(&format!("badsum {CARD_A}"));
    let text = c.screen().wait_for(&["НЕ ПРОЧИТАНО", "ещё раз"]);
    assert!(!text.contains("ПРИНЯТО"), "{text}");
    c.card(CARD_A, &["ОТКАЗ", "Уже ел(а)"]);
    c.sim.cmd("noise 12 card");
    let text = c.screen().wait_for(&["НЕ ПРОЧИТАНО"]);
    assert!(!text.contains("ОТКАЗ"), "{text}");
}

/// Points 2 and 7: offline is a full-width red line a long school name cannot push out,
/// with the last sync and the unsent meals; a health probe brings the terminal back within
/// seconds although its backoff has grown to a minute.
#[test]
fn offline_is_unmissable_and_recovery_is_prompt() {
    let mut c = Counter::start(
        vec![student("Аружан Б.", "2А", CARD_A)],
        &[
            "--sync-backoff-min-ms",
            "60000",
            "--sync-backoff-max-ms",
            "60000",
            "--sync-probe-ms",
            "500",
        ],
    );
    let synced = c.screen().row_with("Желіде").expect("online row");
    assert!(
        synced.contains("синхр.") && synced.contains("не отправлено: 0"),
        "{synced}"
    );
    c.sync.with(|s| s.down = true);
    c.card(CARD_A, &["ПРИНЯТО"]);
    let text = c.screen().wait_for(&["НЕТ СВЯЗИ", "НЕ ОТПРАВЛЕНО: 1"]);
    let banner = c.screen().row_with("НЕТ СВЯЗИ").expect("banner");
    assert!(banner.contains("синхр. "), "the last sync time: {banner}");
    assert!(text.contains("Не отправлено: 1"), "{text}");
    std::thread::sleep(Duration::from_secs(1));
    let back = std::time::Instant::now();
    c.sync.with(|s| s.down = false);
    c.screen().wait_for(&["Желіде", "не отправлено: 0"]);
    assert!(
        back.elapsed() < Duration::from_secs(10),
        "back online after {:?}, not after the minute of backoff",
        back.elapsed()
    );
    assert_eq!(c.sync.with(|s| s.meals.len()), 1);
}

/// Point 3: no scanner connected — the panel says so instead of inviting a scan.
#[test]
fn no_scanner_connected_is_said_on_the_panel() {
    let mut c = Counter::start(vec![student("Аружан Б.", "2А", CARD_A)], &[]);
    c.sim.cmd("unplug all");
    let text = c
        .screen()
        .wait_for(&["Сканер не подключён", "QR: ✘", "Карта: ✘"]);
    assert!(!text.contains("Поднесите QR-код или карту"), "{text}");
    c.sim.cmd("replug card");
    c.screen().wait_for(&["Поднесите карту"]);
}

/// Point 4: reasons that say what to do.
#[test]
fn reasons_say_what_to_do() {
    let a = student("Аружан Б.", "2А", CARD_A);
    let b = student("Ерлан Т.", "3Б", CARD_B);
    let mut c = Counter::start(vec![a.clone(), b.clone()], &[]);
    let other_meal = OffsetDateTime::now_utc() - Duration::from_secs(600);
    c.sync.with(|s| {
        s.meals_seen = vec![MealSeen {
            voucher_id: b.voucher_id,
            slot: "day".parse().expect("slot"),
            service_day: service_day(other_meal),
            served_at: other_meal,
            terminal: "Касса 2".into(),
            method: Method::Card,
        }]
    });
    c.screen().wait("a sync with meals_seen", |_| {
        c.sync
            .with(|s| s.pulls.iter().any(|p| p.contains("meals_after=1")))
    });
    c.card(
        UNKNOWN_CARD,
        &["Карта № 0A0B0C0D0E", "обратитесь к социальному педагогу"],
    );
    let now = OffsetDateTime::now_utc();
    let expired = c.sync.pass(
        a.voucher_id,
        now - Duration::from_secs(3600),
        now - Duration::from_secs(600),
    );
    c.qr(&expired, &["Аружан Б.", "попросите родителя обновить код"]);
    let mut forged = c
        .sync
        .pass(a.voucher_id, now, now + Duration::from_secs(3600));
    forged.replace_range(20..21, if &forged[20..21] == "A" { "B" } else { "A" });
    let text = c.qr(&forged, &["Код не распознан как действительный"]);
    assert!(!text.contains("Поддельный"), "{text}");
    c.card(CARD_A, &["ПРИНЯТО", "Аружан Б."]);
    let first = hh_mm(OffsetDateTime::now_utc());
    c.sync.with(|_| ());
    c.card(CARD_A, &["ОТКАЗ", "Уже ел(а) в", "этот терминал"]);
    let row = c.screen().row_with("Уже ел(а) в").expect("earlier meal");
    assert!(row.contains(&format!("в {first} · day")), "{row}");
    c.card(CARD_B, &["Ерлан Т.", "Касса 2"]);
    let row = c.screen().row_with("Касса 2").expect("other terminal");
    assert!(row.contains(&hh_mm(other_meal)), "{row}");
    // Refused scans were pushed for the signals; an unreadable one was not.
    c.screen()
        .wait("denials pushed", |_| c.sync.with(|s| s.denials.len() >= 4));
    let reasons: Vec<String> = c
        .sync
        .with(|s| s.denials.iter().map(|d| d.reason.to_string()).collect());
    assert!(reasons.contains(&"unknown_card".to_owned()), "{reasons:?}");
    assert!(reasons.contains(&"expired_code".to_owned()), "{reasons:?}");
    assert!(reasons.contains(&"already_ate".to_owned()), "{reasons:?}");
    let unknown = c.sync.with(|s| {
        s.denials
            .iter()
            .find(|d| d.reason == "unknown_card")
            .and_then(|d| d.card_uid)
    });
    assert_eq!(
        unknown.map(|u| u.to_string()).as_deref(),
        Some(UNKNOWN_CARD)
    );
}

/// Point 5: the header clock is the server's; "Сегодня" turns at midnight without a scan;
/// the last result moves to the list (times with minutes).
#[test]
fn the_clock_is_the_servers_and_the_day_turns_by_itself() {
    let now = OffsetDateTime::now_utc();
    let local = now.to_offset(ASTANA);
    let midnight = local.replace_time(time::Time::MIDNIGHT) + time::Duration::days(1);
    let mut c = Counter::start(vec![student("Аружан Б.", "2А", CARD_A)], &[]);
    let ahead = (midnight - time::Duration::seconds(13)) - OffsetDateTime::now_utc();
    c.sync.with(|s| s.ahead = ahead);
    c.screen().wait_for(&["23:59:"]);
    let text = c.card(CARD_A, &["ПРИНЯТО", "Сегодня / Бүгін: 1"]);
    assert!(
        text.contains("23:59"),
        "the server's time in the header:\n{text}"
    );
    // The result fades from the panel into the list, with its minute.
    let text = c
        .screen()
        .wait_for(&["Поднесите QR-код или карту", "Последние"]);
    let listed = c
        .screen()
        .row_with("Аружан Б. (2А)")
        .expect("the last result in the list");
    assert!(listed.contains("23:59 ✔"), "{listed}\n{text}");
    // Midnight: today's count turns without a scan.
    c.screen().wait_for(&["00:00:", "Сегодня / Бүгін: 0"]);
}

/// Point 6: a different sound for accept and deny (the console's tones; BEL elsewhere).
#[test]
fn accept_and_deny_sound_different() {
    let mut c = Counter::start(
        vec![student("Аружан Б.", "2А", CARD_A)],
        &["--beep", "console"],
    );
    c.card(CARD_A, &["ПРИНЯТО"]);
    c.card(UNKNOWN_CARD, &["ОТКАЗ"]);
    std::thread::sleep(Duration::from_millis(500));
    let raw = String::from_utf8_lossy(&c.screen().raw()).into_owned();
    let accept = raw
        .find("\x1b[10;1200]\x1b[11;120]\x07")
        .expect("the accept tone");
    let deny = raw
        .find("\x1b[10;300]\x1b[11;450]\x07")
        .expect("the deny tone");
    assert!(accept < deny);

    c.run(&["--beep", "bell"], false);
    c.screen().wait_for(&["Желіде"]);
    let before = c.screen().raw().iter().filter(|b| **b == 7).count();
    c.card(UNKNOWN_CARD, &["ОТКАЗ"]);
    std::thread::sleep(Duration::from_millis(500));
    let bells = c.screen().raw().iter().filter(|b| **b == 7).count() - before;
    assert_eq!(bells, 2, "deny rings twice with --beep bell");
}

/// Point 8: a meal committed just before a crash and never shown is offered as "recorded
/// N s ago on this terminal", and the worker serves it.
#[test]
fn a_meal_committed_but_never_shown_is_served() {
    let mut c = Counter::start(vec![student("Аружан Б.", "2А", CARD_A)], &[]);
    c.sync.with(|s| s.down = true);
    c.screen().wait_for(&["НЕТ СВЯЗИ"]);
    c.card(CARD_A, &["ПРИНЯТО"]);
    c.screen_mut().kill();
    // The crash came between the commit and the screen: the meal was never shown.
    let db = rusqlite::Connection::open(c.db()).expect("db");
    assert_eq!(
        db.execute("UPDATE meals SET shown = 0", [])
            .expect("update"),
        1
    );
    drop(db);
    c.run(&[], false);
    c.screen().wait_for(&["НЕТ СВЯЗИ"]);
    let text = c.card(CARD_A, &["ПРИНЯТО", "на этом терминале — выдайте питание"]);
    assert!(text.contains("Записано "), "{text}");
    let count: i64 = rusqlite::Connection::open(c.db())
        .expect("db")
        .query_row("SELECT count(*) FROM meals", [], |r| r.get(0))
        .expect("count");
    assert_eq!(count, 1, "nothing new recorded");
    c.card(CARD_A, &["ОТКАЗ", "Уже ел(а)"]);
}

/// The counter: sign in, find a child by name, serve by hand with a reason, void it, and
/// the progress line; the alert line on every scan; the shift rule.
#[test]
fn sign_in_manual_serve_void_alert_and_shift() {
    let mut a = student("Аружан Б.", "2А", CARD_A);
    a.alert = Some("Аллергия: орехи".parse().expect("alert"));
    let mut b = student("Ерлан Т.", "3Б", CARD_B);
    b.shift = Some(Shift::new(2).expect("shift"));
    let mut c = Counter::start(vec![a.clone(), b], &[]);
    c.sync.with(|s| {
        s.slots = vec![MealSlot {
            name: "обед-1".into(),
            start_minute: 0,
            end_minute: 24 * 60,
            shift: Some(Shift::new(1).expect("shift")),
        }];
        s.progress = Some(Progress {
            service_day: service_day(OffsetDateTime::now_utc()),
            slots: vec![ProgressCount {
                label: "обед-1".into(),
                served: 40,
                expected: 120,
            }],
            classes: vec![],
        });
    });
    c.screen().wait_for(&["Выдано (школа): обед-1 40/120"]);
    let screen = c.screen_mut();
    screen.keys(F4);
    screen.keys("Гульнар");
    screen.keys(ENTER);
    screen.wait_for(&["Кассир: Гульнар"]);
    c.card(CARD_B, &["Ерлан Т.", "Питание не в эту смену"]);
    let screen = c.screen_mut();
    screen.keys(F2);
    screen.keys("ару");
    screen.wait_for(&["Поиск ученика", "Аружан Б. · 2А ⚠ Аллергия: орехи"]);
    screen.keys(ENTER);
    screen.wait_for(&["Выдать вручную: Аружан Б.", "Забыл(а) карту и телефон"]);
    screen.keys(ENTER);
    screen.wait_for(&[
        "ПРИНЯТО",
        "Выдано вручную: Забыл(а) карту и телефон",
        "⚠ Аллергия: орехи",
    ]);
    c.screen().wait("the manual meal pushed", |_| {
        c.sync.with(|s| !s.meals.is_empty())
    });
    let meal = c.sync.with(|s| s.meals[0].clone());
    assert_eq!(meal.method, Method::Manual);
    assert_eq!(
        meal.manual_reason.as_deref(),
        Some("Забыл(а) карту и телефон")
    );
    assert_eq!(meal.worker.as_deref(), Some("Гульнар"));
    c.card(CARD_A, &["ОТКАЗ", "⚠ Аллергия: орехи"]);
    let screen = c.screen_mut();
    screen.keys(F3);
    screen.wait_for(&["Отмена питания", "Аружан Б. · 2А · обед-1"]);
    screen.keys(ENTER);
    screen.keys(DOWN);
    screen.keys(ENTER);
    screen.wait_for(&["Питание отменено"]);
    c.screen()
        .wait("the void pushed", |_| c.sync.with(|s| !s.voids.is_empty()));
    let void = c.sync.with(|s| s.voids[0].clone());
    assert_eq!(void.event_id, meal.event_id);
    assert_eq!(void.reason, "Питание не выдано");
    assert_eq!(void.worker.as_deref(), Some("Гульнар"));
    // Taken back: the child may be served again.
    c.card(CARD_A, &["ПРИНЯТО", "⚠ Аллергия: орехи"]);
}
