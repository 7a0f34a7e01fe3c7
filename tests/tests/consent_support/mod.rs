//! What the consent end-to-end tests share: waiting for background work, reading the
//! outbox and the conversations, replying by SMS, and the families of the test lists.

// Each test file uses a different part of this module.
#![allow(dead_code)]

pub mod lists;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use serde_json::{json, Value};
use shared::{Iin, Sex};
use time::{Month, OffsetDateTime};

use crate::common::wallet as w;
use crate::common::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Longest wait for background work (scheduler, outbox) to show.
pub const SETTLE: StdDuration = StdDuration::from_secs(15);

pub fn data_dir() -> tempfile::TempDir {
    tests::private_tempdir()
}

/// Polls `check` until it returns `Some`, at most [`SETTLE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + SETTLE;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
}

/// `hour:minute` Astana time on `day`.
pub fn astana(day: time::Date, hour: u8, minute: u8) -> OffsetDateTime {
    let at = time::Time::from_hms(hour, minute, 0).expect("a time of day");
    day.with_time(at).assume_offset(w::ASTANA)
}

/// When the reminder of a school-meals conversation whose start SMS went out at `start` (in
/// the daytime) is due, as the issue states the rule: the three full Astana days after the
/// start's day, then the morning (SMS keep quiet hours), 09:00.
pub fn reminder_due(start: OffsetDateTime) -> OffsetDateTime {
    let day = start.to_offset(w::ASTANA).date();
    astana(day + time::Duration::days(4), 9, 0)
}

/// When a school-meals conversation whose reminder went out at `reminded` (in the daytime)
/// times out: when the day after the three full days after the reminder's day begins.
pub fn timeout_due(reminded: OffsetDateTime) -> OffsetDateTime {
    let day = reminded.to_offset(w::ASTANA).date();
    astana(day + time::Duration::days(4), 0, 0)
}

/// Lets the server's scheduler and outbox worker (which poll every second) run a few times,
/// before checking that something did *not* happen.
pub async fn settle() {
    tokio::time::sleep(StdDuration::from_millis(2_500)).await;
}

pub async fn set_clock(server: &Server, to: OffsetDateTime) {
    server
        .post_json("/dev/clock", None, &json!({"now": w::rfc3339(to)}))
        .await
        .ok_json();
}

/// The SMS of the outbox, oldest first.
pub async fn sms(server: &Server) -> Vec<Value> {
    let outbox = w::outbox(server).await;
    let mut all: Vec<Value> = outbox["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["kind"] == "sms")
        .cloned()
        .collect();
    all.reverse();
    all
}

pub async fn sms_to(server: &Server, phone: &str) -> Vec<Value> {
    sms(server)
        .await
        .into_iter()
        .filter(|m| m["to"] == phone)
        .collect()
}

pub async fn consents(server: &Server) -> Vec<Value> {
    let token = server.integration_token().await;
    let body = server
        .get("/v1/integration/consents?limit=1000", Some(&token))
        .await
        .ok_json();
    body["consents"].as_array().expect("consents").clone()
}

pub async fn consent_state(server: &Server, student: &Iin) -> String {
    consents(server)
        .await
        .iter()
        .find(|c| c["student"]["iin_masked"] == student.to_string())
        .and_then(|c| c["state"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no consent for {student}"))
}

pub async fn reply(server: &Server, phone: &str, text: &str) -> Value {
    let token = server.integration_token().await;
    server
        .post_json(
            "/v1/integration/sms/inbound",
            Some(&token),
            &json!({"phone": phone, "text": text}),
        )
        .await
        .ok_json()
}

/// A family of the test list: a child in grade 7 and the mother with a phone (as written
/// in the list, and normalised).
pub struct Family {
    pub child: Iin,
    pub child_name: String,
    pub mother: Iin,
    pub mother_name: String,
    pub phone_in_list: &'static str,
    pub phone: &'static str,
}

pub fn family(i: u8, phone_in_list: &'static str, phone: &'static str) -> Family {
    Family {
        child: w::iin(2012, Month::March, 1 + i, Sex::Male, 6001),
        child_name: format!("Ученик Номер{i}"),
        mother: w::iin(1982, Month::April, 1 + i, Sex::Female, 6001),
        mother_name: format!("Мама Номер{i}"),
        phone_in_list,
        phone,
    }
}

pub fn row(f: &Family) -> Value {
    let mum = w::rep(
        &f.mother.expose(),
        &f.mother_name,
        "mother",
        Some(f.phone_in_list),
    );
    w::student(&f.child.expose(), &f.child_name, 7, "7А", "asp", vec![mum])
}

/// A tiny SMS gateway: records each POST's idempotency key and JSON body, answers 200.
#[derive(Clone, Default)]
pub struct Gateway {
    posts: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Gateway {
    pub async fn start() -> (Gateway, String) {
        Gateway::start_slow(StdDuration::ZERO).await
    }

    /// A gateway that takes `delay` to answer after recording a message: a crash of the
    /// sender meanwhile leaves a message delivered but not recorded as sent.
    pub async fn start_slow(delay: StdDuration) -> (Gateway, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/sms", listener.local_addr().expect("addr"));
        let gateway = Gateway::default();
        let posts = gateway.posts.clone();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let posts = posts.clone();
                tokio::spawn(async move {
                    if let Some(post) = read_post(&mut conn).await {
                        posts.lock().expect("lock").push(post);
                    }
                    tokio::time::sleep(delay).await;
                    let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                    let _ = conn.write_all(ok).await;
                });
            }
        });
        (gateway, url)
    }

    pub fn posts(&self) -> Vec<(String, Value)> {
        self.posts.lock().expect("lock").clone()
    }

    /// POSTs per idempotency key.
    pub fn by_key(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for (key, body) in self.posts() {
            assert_eq!(
                body["id"],
                key.as_str(),
                "the body's id is the idempotency key"
            );
            *counts.entry(key).or_default() += 1;
        }
        counts
    }
}

/// One HTTP request: (Idempotency-Key, JSON body).
async fn read_post(conn: &mut tokio::net::TcpStream) -> Option<(String, Value)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_lowercase();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            l.strip_prefix(&format!("{name}:"))
                .map(|v| v.trim().to_string())
        })
    };
    let length: usize = header("content-length")?.parse().ok()?;
    while buf.len() < header_end + length {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = serde_json::from_slice(&buf[header_end..header_end + length]).ok()?;
    Some((header("idempotency-key")?, body))
}
