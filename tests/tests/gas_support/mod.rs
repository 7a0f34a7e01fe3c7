//! A fake gas provider on loopback, speaking real HTTP: `GET /accounts/{number}` answers
//! its accounts (404 for others), `POST /activations` records the idempotency key and body
//! and answers 200.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The accounts the fake provider knows: (number, holder, address).
pub const ACCOUNTS: &[(&str, &str, &str)] = &[
    (
        "5500000001",
        "Серикова Дана Маратовна",
        "г. Шымкент, ул. Байтурсынова, д. 7",
    ),
    (
        "5500000002",
        "Омаров Ержан",
        "г. Шымкент, мкр. Самал, д. 2, кв. 9",
    ),
];

#[derive(Clone, Default)]
pub struct FakeProvider {
    activations: Arc<Mutex<Vec<(String, Value)>>>,
}

impl FakeProvider {
    /// Starts it; its base URL.
    pub async fn start() -> (FakeProvider, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let provider = FakeProvider::default();
        let seen = provider.activations.clone();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let Some((head, body)) = read_request(&mut conn).await else {
                        return;
                    };
                    let (status, answer) = answer(&head, body, &seen);
                    let text = answer.to_string();
                    let response = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n\
                         content-length: {}\r\nconnection: close\r\n\r\n{text}",
                        text.len()
                    );
                    let _ = conn.write_all(response.as_bytes()).await;
                });
            }
        });
        (provider, url)
    }

    /// The `POST /activations` received: (idempotency key, body).
    pub fn activations(&self) -> Vec<(String, Value)> {
        self.activations.lock().expect("lock").clone()
    }
}

fn answer(head: &str, body: Value, seen: &Mutex<Vec<(String, Value)>>) -> (&'static str, Value) {
    let request_line = head.lines().next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method == "GET" {
        if let Some(number) = path.strip_prefix("/accounts/") {
            return match ACCOUNTS.iter().find(|a| a.0 == number) {
                Some((n, h, a)) => ("200 OK", json!({"number": n, "holder": h, "address": a})),
                None => ("404 Not Found", json!({"error": "no such account"})),
            };
        }
    }
    if method == "POST" && path == "/activations" {
        let key = head
            .lines()
            .find_map(|l| {
                l.to_lowercase()
                    .strip_prefix("idempotency-key:")
                    .map(|v| v.trim().to_string())
            })
            .unwrap_or_default();
        seen.lock().expect("lock").push((key, body));
        return ("200 OK", json!({}));
    }
    ("404 Not Found", json!({}))
}

/// One request: its head and its JSON body (`null` when none).
async fn read_request(conn: &mut tokio::net::TcpStream) -> Option<(String, Value)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_string())
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < end + length {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = serde_json::from_slice(&buf[end..end + length]).unwrap_or(Value::Null);
    Some((head, body))
}
