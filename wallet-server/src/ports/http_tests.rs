//! The HTTP adapters against a tiny local server: what they send, how they read answers,
//! and that failures never carry an IIN into an error message (and so into a log).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use shared::{Iin, Sex};
use time::macros::date;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use super::{
    tls, DeliveryError, HttpPhoneDirectory, HttpSmsGateway, PhoneDirectory, Sms, SmsGateway,
};
use crate::domain::consent::Language;
use crate::domain::{Relation, Representative};

type Answer = Arc<dyn Fn(&str) -> (u16, String) + Send + Sync>;

/// Serves each request with `answer(request head + body)`; returns the base URL and the
/// requests seen.
async fn serve(answer: Answer) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let request = read_request(&mut conn).await;
            let (status, body) = answer(&request);
            log.lock().expect("lock").push(request);
            let reply = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = conn.write_all(reply.as_bytes()).await;
        }
    });
    (url, seen)
}

/// One whole request: the head, then as many body bytes as `content-length` says.
async fn read_request(conn: &mut tokio::net::TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_string())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
        match conn.read(&mut chunk).await {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&buf).into_owned(),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn person(serial: u16, relation: Relation, phone: Option<&str>) -> (Representative, Relation) {
    let iin = (serial..9999)
        .find_map(|s| Iin::generate(date!(1984 - 02 - 02), Sex::Female, s))
        .expect("iin");
    let rep = Representative {
        iin,
        full_name: "Родитель".into(),
        phone: phone.map(str::to_string),
    };
    (rep, relation)
}

#[tokio::test]
async fn bmg_is_asked_by_priority_and_its_language_is_kept() {
    let mother = person(1000, Relation::Mother, Some("+7 701 000 00 01"));
    let father = person(2000, Relation::Father, None);
    let father_iin = father.0.iin.expose();
    let answer: Answer = Arc::new(move |req: &str| {
        if req.contains(&format!("iin={father_iin}")) {
            (
                200,
                r#"{"phone": "8 702 000 00 02", "language": "kk"}"#.into(),
            )
        } else {
            (404, "{}".into())
        }
    });
    let (url, seen) = serve(answer).await;
    let bmg = HttpPhoneDirectory::new(&format!("{url}/phones"), Duration::from_secs(5), &tls())
        .expect("client");
    let contact = bmg
        .contact(&[father.clone(), mother.clone()])
        .await
        .expect("lookup")
        .expect("a contact");
    // BMG knows no number for the mother (404) — the list's phone does not overrule it.
    assert_eq!(contact.relation, Relation::Father);
    assert_eq!(contact.phone, "77020000002");
    assert_eq!(contact.language, Some(Language::Kk));
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 2);
    assert!(seen[0].starts_with(&format!("GET /phones?iin={} ", mother.0.iin.expose())));
}

#[tokio::test]
async fn bmg_down_falls_back_to_the_lists_phone_and_errors_hold_no_iin() {
    let mother = person(1000, Relation::Mother, Some("+7 701 000 00 01"));
    let nobody = person(3000, Relation::Guardian, None);
    let answer: Answer = Arc::new(|_: &str| (503, "{}".into()));
    let (url, _) = serve(answer).await;
    let bmg = HttpPhoneDirectory::new(&url, Duration::from_secs(5), &tls()).expect("client");
    let contact = bmg
        .contact(&[mother])
        .await
        .expect("fallback")
        .expect("contact");
    assert_eq!(
        (contact.phone.as_str(), contact.language),
        ("77010000001", None)
    );
    let err = bmg
        .contact(std::slice::from_ref(&nobody))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("503"), "{err}");
    // Nobody listens here: the connection error must not name the URL with the IIN.
    let closed = HttpPhoneDirectory::new("http://127.0.0.1:9/bmg", Duration::from_secs(2), &tls())
        .expect("client");
    let err = closed
        .contact(std::slice::from_ref(&nobody))
        .await
        .unwrap_err();
    assert!(!err.to_string().contains(&nobody.0.iin.expose()), "{err}");
}

#[tokio::test]
async fn the_sms_gateway_gets_the_idempotency_key_and_its_answers_are_read() {
    let answer: Answer = Arc::new(|req: &str| {
        let code = req
            .split("\r\n\r\n")
            .nth(1)
            .and_then(|body| serde_json::from_str::<serde_json::Value>(body).ok())
            .and_then(|v| v["text"].as_str().and_then(|t| t.parse().ok()))
            .unwrap_or(500);
        (code, "{}".into())
    });
    let (url, seen) = serve(answer).await;
    let gateway =
        HttpSmsGateway::new(&format!("{url}/sms"), Duration::from_secs(5), &tls()).expect("client");
    let id = Uuid::now_v7();
    let send = |text: &'static str| {
        let gateway = gateway.clone();
        async move {
            gateway
                .send(&Sms {
                    id,
                    to: "77010000001",
                    text,
                })
                .await
        }
    };
    assert_eq!(send("200").await, Ok(()));
    assert_eq!(send("409").await, Ok(()), "the gateway already has it");
    assert!(matches!(send("503").await, Err(DeliveryError::Retry(_))));
    assert!(matches!(send("429").await, Err(DeliveryError::Retry(_))));
    assert!(matches!(
        send("400").await,
        Err(DeliveryError::Permanent(_))
    ));
    let first = seen.lock().expect("lock")[0].to_lowercase();
    assert!(first.starts_with("post /sms "), "{first}");
    assert!(first.contains(&format!("idempotency-key: {id}")), "{first}");
    assert!(first.contains(&format!(r#""id":"{id}""#)) && first.contains(r#""to":"77010000001""#));
    let closed = HttpSmsGateway::new("http://127.0.0.1:9/sms", Duration::from_secs(2), &tls())
        .expect("client");
    let unreachable = closed
        .send(&Sms {
            id,
            to: "77010000001",
            text: "x",
        })
        .await;
    assert!(matches!(unreachable, Err(DeliveryError::Retry(_))));
}
