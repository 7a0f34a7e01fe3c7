//! Helpers the fault drills share: a seeded random source whose seed is printed (and can be
//! forced through an environment variable, so a failing drill reproduces), a demo school
//! filled with many card-holding pupils whose vouchers are activated, terminal enrollment,
//! and reading the server's books (every meal of every pupil) back.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use shared::{Iin, Sex};
use time::Month;

use super::canteen::demo_school_list;
use super::wallet as w;
use super::{Server, DEMO_SCHOOL_BIN};

/// SplitMix64: tiny, good enough to pick kill points and scan orders, and reproducible.
pub struct Rng(u64);

impl Rng {
    /// The seed from `var` when set, else from the clock; printed either way.
    pub fn from_env(var: &str) -> Rng {
        let seed = match std::env::var(var) {
            Ok(text) => text
                .trim()
                .parse()
                .unwrap_or_else(|e| panic!("{var}={text:?} is not a u64: {e}")),
            Err(_) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0x5eed),
        };
        eprintln!("drill seed: {var}={seed} (set it to replay this run)");
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// `true` with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.range(0, i as u64) as usize;
            items.swap(i, j);
        }
    }
}

/// A pupil the drills add to the demo school: primary grade (voucher formed at once),
/// a bound card, the voucher activated by their mother.
#[derive(Debug, Clone)]
pub struct Pupil {
    pub name: String,
    pub iin: Iin,
    pub card: String,
    pub voucher: String,
}

/// The mother of every drill pupil.
pub fn drill_mother() -> Iin {
    w::iin(1985, Month::January, 9, Sex::Female, 1234)
}

const FIRST: [&str; 10] = [
    "Алихан",
    "Берик",
    "Вадим",
    "Гани",
    "Данияр",
    "Ержан",
    "Жандос",
    "Зангар",
    "Ильяс",
    "Кайрат",
];
const PATRONYMIC: [&str; 10] = [
    "Асланович",
    "Болатович",
    "Витальевич",
    "Галымович",
    "Даулетович",
    "Ерланович",
    "Жанатович",
    "Зарланович",
    "Исаевич",
    "Канатович",
];

/// Adds `n` (≤ 100) pupils to the demo school's list for `period` (`YYYY-MM`), binds their cards (`0D000000xx`, `card_prefix`
/// first) and activates their vouchers. Returns them and their mother's token.
pub async fn fill_school(server: &Server, period: &str, n: usize) -> (Vec<Pupil>, String) {
    assert!(n <= 100, "at most 100 pupils");
    let mother = drill_mother();
    let mut pupils: Vec<Pupil> = (0..n)
        .map(|i| {
            let month = Month::try_from(1 + (i % 12) as u8).expect("month");
            let day = 1 + (i / 12) as u8;
            Pupil {
                name: format!("Испытанов {} {}", FIRST[i % 10], PATRONYMIC[i / 10]),
                iin: w::iin(2017, month, day, Sex::Male, 1234),
                card: format!("0D{:08X}", 0x100 + i),
                voucher: String::new(),
            }
        })
        .collect();
    relist(server, period, &pupils).await;
    let staff = server
        .staff_token("social_pedagogue", DEMO_SCHOOL_BIN)
        .await;
    let token = server.parent_token(&mother.expose()).await;
    let wallet = w::wallet(server, &token).await;
    let by_name: BTreeMap<&str, &str> = wallet["vouchers"]
        .as_array()
        .expect("vouchers")
        .iter()
        .map(|v| {
            (
                v["student"]["full_name"].as_str().expect("name"),
                v["id"].as_str().expect("id"),
            )
        })
        .collect();
    for pupil in &mut pupils {
        pupil.voucher = by_name
            .get(pupil.name.as_str())
            .unwrap_or_else(|| panic!("no voucher for {}", pupil.name))
            .to_string();
        let bound = server
            .post_json(
                &format!("/v1/schools/{DEMO_SCHOOL_BIN}/cards"),
                Some(&staff),
                &json!({"student_iin": pupil.iin.expose(), "card_uid": pupil.card}),
            )
            .await
            .ok_json();
        assert_eq!(bound["status"], "bound", "{bound}");
        w::activate(server, &token, &pupil.voucher).await.ok_json();
    }
    (pupils, token)
}

/// Sends the demo school's list for `period` (`YYYY-MM`) naming `pupils`: the month's list
/// decides who may eat, so a drill that runs into the next month sends that month's too.
pub async fn relist(server: &Server, period: &str, pupils: &[Pupil]) {
    let rep = w::rep(
        &drill_mother().expose(),
        "Испытанова Мария Петровна",
        "mother",
        Some("77015550199"),
    );
    let rows = pupils
        .iter()
        .map(|p| {
            w::student(
                &p.iin.expose(),
                &p.name,
                3,
                "3Д",
                "primary",
                vec![rep.clone()],
            )
        })
        .collect();
    let reception = w::send_list(server, &demo_school_list(period, rows))
        .await
        .ok_json();
    assert_eq!(reception["rejected"], json!([]), "{reception:#}");
}

/// The month after `period` (`YYYY-MM`).
pub fn next_period(period: &str) -> String {
    let month: shared::time::YearMonth = period.parse().expect("period");
    month.next().to_string()
}

/// The device token of a terminal enrolled at the demo school with a fresh code.
pub async fn demo_terminal_token(server: &Server) -> String {
    terminal_token_at(server, DEMO_SCHOOL_BIN).await
}

/// The device token of a terminal enrolled at school `bin` with a fresh code.
pub async fn terminal_token_at(server: &Server, bin: &str) -> String {
    let code = enrollment_code_at(server, bin).await;
    let enrolled = server
        .post_json(
            "/v1/terminals/enroll",
            None,
            &json!({"code": code, "name": "Столовая, касса 1"}),
        )
        .await
        .ok_json();
    enrolled["token"]
        .as_str()
        .expect("device token")
        .to_string()
}

/// A one-time enrollment code for the demo school.
pub async fn enrollment_code(server: &Server) -> String {
    enrollment_code_at(server, DEMO_SCHOOL_BIN).await
}

/// A one-time enrollment code for school `bin`, made by its social pedagogue.
pub async fn enrollment_code_at(server: &Server, bin: &str) -> String {
    let staff = server.staff_token("social_pedagogue", bin).await;
    let resp = server
        .post_json(
            &format!("/v1/schools/{bin}/terminals"),
            Some(&staff),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status, 201, "{}: {}", resp.what, resp.text);
    resp.json()["code"].as_str().expect("code").to_owned()
}

/// Every meal the server holds for these pupils (any status), by event id, with the
/// voucher it is on.
pub async fn books(server: &Server, token: &str, pupils: &[Pupil]) -> BTreeMap<String, Value> {
    let mut all = BTreeMap::new();
    for pupil in pupils {
        let body = server
            .get(
                &format!("/v1/wallet/vouchers/{}/history", pupil.voucher),
                Some(token),
            )
            .await
            .ok_json();
        for meal in body["meals"].as_array().expect("meals") {
            let id = meal["event_id"].as_str().expect("event id").to_owned();
            let mut meal = meal.clone();
            meal["voucher_id"] = json!(pupil.voucher);
            let again = all.insert(id.clone(), meal);
            assert!(again.is_none(), "event {id} twice in the books");
        }
    }
    all
}

/// Reads the books until `done` holds for them (at most `timeout`); returns the last read.
pub async fn books_when(
    server: &Server,
    token: &str,
    pupils: &[Pupil],
    timeout: Duration,
    done: impl Fn(&BTreeMap<String, Value>) -> bool,
) -> BTreeMap<String, Value> {
    let deadline = Instant::now() + timeout;
    loop {
        let books = books(server, token, pupils).await;
        if done(&books) || Instant::now() > deadline {
            return books;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// (voucher, service day, slot) of a meal or a decision line.
pub fn meal_key(v: &Value) -> (String, String, String) {
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
    (s("voucher_id"), s("service_day"), s("slot"))
}

/// The simulated time of a drill: where the demo clock was last set, and when. A restarted
/// server is started at [`DrillClock::now`] (`--demo-clock`), so it keeps the drill's time.
#[derive(Debug, Clone, Copy)]
pub struct DrillClock {
    set_to: time::OffsetDateTime,
    set_at: Instant,
}

impl DrillClock {
    pub fn new(now: time::OffsetDateTime) -> DrillClock {
        DrillClock {
            set_to: now,
            set_at: Instant::now(),
        }
    }

    pub fn now(&self) -> time::OffsetDateTime {
        self.set_to + self.set_at.elapsed()
    }

    /// Moves the server's demo clock (and this record of it) to `to`.
    pub async fn set(&mut self, server: &Server, to: time::OffsetDateTime) {
        server
            .post_json("/dev/clock", None, &json!({"now": w::rfc3339(to)}))
            .await
            .ok_json();
        *self = DrillClock::new(to);
    }
}

/// `wallet-server --demo` on `data`, listening on `addr`, its demo clock starting at
/// `clock` (when given); a start refused because the port is still held is retried.
pub fn demo_server(
    data: &std::path::Path,
    addr: &str,
    clock: Option<&DrillClock>,
    env: &[(&str, &str)],
) -> Server {
    let args = || {
        let mut args = vec!["--demo".to_string()];
        if let Some(c) = clock {
            args.extend(["--demo-clock".to_string(), w::rfc3339(c.now())]);
        }
        args
    };
    Server::start_at(data, addr, args, env)
}

/// SIGKILL: no shutdown, no cleanup; the process is reaped.
pub fn sigkill(server: Server) {
    let status = std::process::Command::new("kill")
        .args(["-KILL", &server.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -KILL: {status}");
    drop(server);
}
