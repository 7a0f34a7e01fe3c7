//! A stand-in for the wallet server's three terminal calls (and `/healthz`), speaking the
//! wire contract of `shared::sync` over plain HTTP on std sockets: the screen tests set the
//! roster (shifts, alert lines), the slots, the progress and other terminals' meals as they
//! need, take the server down and up, and read what the terminal pushed — without
//! depending on the server's side of the counter, which is built separately.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use shared::counter::{MealSeen, MealVoid, Progress, ScanDenial, VoidResult, VoidVerdict};
use shared::pass::{KeySet, PassClaims, PassSigner};
use shared::sync::{
    EnrollResponse, MealBatch, MealBatchResult, MealEvent, MealResult, MealSlot, MealVerdict,
    RosterEntry, SchoolInfo, SyncResponse,
};
use time::OffsetDateTime;
use uuid::Uuid;

pub const SCHOOL: &str = "990340001230";

/// What the fake serves and what it was sent.
#[derive(Default)]
pub struct SyncState {
    pub school_name: String,
    pub roster: Vec<RosterEntry>,
    pub slots: Vec<MealSlot>,
    pub progress: Option<Progress>,
    pub meals_seen: Vec<MealSeen>,
    /// The server's clock runs this far ahead of the machine's.
    pub ahead: time::Duration,
    /// Every call fails with 503 (the server is down); `/healthz` too.
    pub down: bool,
    pub meals: Vec<MealEvent>,
    pub voids: Vec<MealVoid>,
    pub denials: Vec<ScanDenial>,
    pub pulls: Vec<String>,
}

/// The running fake; its thread lives as long as the test process.
#[derive(Clone)]
pub struct FakeSync {
    pub url: String,
    pub state: Arc<Mutex<SyncState>>,
    signer: Arc<PassSigner>,
}

impl FakeSync {
    pub fn start(school_name: &str) -> FakeSync {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (signer, _) = PassSigner::generate().expect("key");
        let fake = FakeSync {
            url,
            state: Arc::new(Mutex::new(SyncState {
                school_name: school_name.into(),
                slots: vec![MealSlot::whole_day()],
                ..SyncState::default()
            })),
            signer: Arc::new(signer),
        };
        let serving = fake.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let fake = serving.clone();
                std::thread::spawn(move || fake.answer(stream));
            }
        });
        fake
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut SyncState) -> T) -> T {
        f(&mut self.state.lock().expect("fake sync state"))
    }

    /// A pass of `voucher` valid from `from` until `until`.
    pub fn pass(
        &self,
        voucher: shared::VoucherId,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> String {
        let claims = PassClaims {
            voucher_id: voucher,
            school: SCHOOL.parse().expect("bin"),
            valid_from: from,
            valid_until: until,
            nonce: self.signer.nonce().expect("nonce"),
        };
        self.signer.mint(&claims).expect("mint")
    }

    fn answer(&self, stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut head = String::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if head.is_empty() {
                head = line;
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let mut parts = head.split_whitespace();
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let (status, json) = self.route(method, target, &body);
        let answer = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{json}",
            json.len()
        );
        let mut stream = stream;
        let _ = stream.write_all(answer.as_bytes());
    }

    fn route(&self, method: &str, target: &str, body: &[u8]) -> (&'static str, String) {
        let mut s = self.state.lock().expect("fake sync state");
        if s.down {
            return (
                "503 Service Unavailable",
                r#"{"error":{"code":"down","message":"down"}}"#.into(),
            );
        }
        let path = target.split('?').next().unwrap_or("");
        let ok = |v: serde_json::Value| ("200 OK", v.to_string());
        match (method, path) {
            ("GET", "/healthz") => ok(serde_json::json!({"status": "ok"})),
            ("POST", "/v1/terminals/enroll") => ok(serde_json::to_value(EnrollResponse {
                terminal_id: Uuid::now_v7(),
                token: "token-1".into(),
                school: SchoolInfo {
                    bin: SCHOOL.parse().expect("bin"),
                    name: s.school_name.clone(),
                },
            })
            .expect("json")),
            ("GET", "/v1/terminals/sync") => {
                s.pulls.push(target.to_owned());
                let mut keys = KeySet::new();
                keys.insert(self.signer.public_key());
                ok(serde_json::to_value(SyncResponse {
                    school: SchoolInfo {
                        bin: SCHOOL.parse().expect("bin"),
                        name: s.school_name.clone(),
                    },
                    cursor: 1,
                    roster: s.roster.clone(),
                    full: true,
                    keys: keys.published(),
                    slots: s.slots.clone(),
                    server_time: OffsetDateTime::now_utc() + s.ahead,
                    progress: s.progress.clone(),
                    meals_seen: s.meals_seen.clone(),
                    meals_cursor: Some(s.meals_seen.len() as i64),
                })
                .expect("json"))
            }
            ("POST", "/v1/terminals/meals") => {
                let Ok(batch) = serde_json::from_slice::<MealBatch>(body) else {
                    return ("400 Bad Request", "{}".into());
                };
                let results = batch
                    .events
                    .iter()
                    .map(|e| MealResult {
                        event_id: e.event_id,
                        status: MealVerdict::Accepted,
                        reason: None,
                    })
                    .collect();
                let voids = batch
                    .voids
                    .iter()
                    .map(|v| VoidResult {
                        event_id: v.event_id,
                        status: VoidVerdict::Voided,
                        reason: None,
                    })
                    .collect();
                s.meals.extend(batch.events);
                s.voids.extend(batch.voids);
                s.denials.extend(batch.denials);
                ok(serde_json::to_value(MealBatchResult { results, voids }).expect("json"))
            }
            _ => ("404 Not Found", "{}".into()),
        }
    }
}
