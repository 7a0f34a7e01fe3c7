//! Consent by SMS, end to end on the real binary: a list with upper-grade students starts
//! SMS conversations; parents answer `3#1`/`3#2` through the inbound route; the demo clock
//! brings the reminder and the timeout. Then crashes: a server killed between a job's claim
//! and its completion, and between an SMS's acknowledgement and its record, restarted on the
//! same data: no job lost, no SMS delivered twice (an HTTP gateway the test runs counts the
//! deliveries by idempotency key).

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use common::wallet::{self as w, Term};
use common::Server;
use serde_json::{json, Value};
use shared::{Iin, Sex};
use time::{Duration, Month, OffsetDateTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Longest wait for background work (scheduler, outbox) to show.
const SETTLE: StdDuration = StdDuration::from_secs(15);

fn data_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("data dir")
}

/// Polls `check` until it returns `Some`, at most [`SETTLE`].
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
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

async fn set_clock(server: &Server, to: OffsetDateTime) {
    server
        .post_json("/dev/clock", None, &json!({"now": w::rfc3339(to)}))
        .await
        .ok_json();
}

/// The SMS of the outbox, oldest first.
async fn sms(server: &Server) -> Vec<Value> {
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

async fn sms_to(server: &Server, phone: &str) -> Vec<Value> {
    sms(server).await.into_iter().filter(|m| m["to"] == phone).collect()
}

async fn consents(server: &Server) -> Vec<Value> {
    let token = server.integration_token().await;
    let body = server
        .get("/v1/integration/consents?limit=1000", Some(&token))
        .await
        .ok_json();
    body["consents"].as_array().expect("consents").clone()
}

async fn consent_state(server: &Server, student: &Iin) -> String {
    consents(server)
        .await
        .iter()
        .find(|c| c["student"]["iin_masked"] == student.to_string())
        .and_then(|c| c["state"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no consent for {student}"))
}

async fn reply(server: &Server, phone: &str, text: &str) -> Value {
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
struct Family {
    child: Iin,
    child_name: String,
    mother: Iin,
    mother_name: String,
    phone_in_list: &'static str,
    phone: &'static str,
}

fn family(i: u8, phone_in_list: &'static str, phone: &'static str) -> Family {
    Family {
        child: w::iin(2012, Month::March, 1 + i, Sex::Male, 6001),
        child_name: format!("Ученик Номер{i}"),
        mother: w::iin(1982, Month::April, 1 + i, Sex::Female, 6001),
        mother_name: format!("Мама Номер{i}"),
        phone_in_list,
        phone,
    }
}

fn row(f: &Family) -> Value {
    let mum = w::rep(&f.mother.expose(), &f.mother_name, "mother", Some(f.phone_in_list));
    w::student(&f.child.expose(), &f.child_name, 7, "7А", "asp", vec![mum])
}

#[tokio::test]
async fn parents_answer_by_sms_and_silence_has_deadlines() {
    let data = data_dir();
    let server = Server::demo(data.path());
    let term = Term::enter(&server).await;
    let bin = w::bin([0, 4, 0, 1, 4, 0, 0, 0, 7, 1, 1]).to_string();
    let silent = family(1, "+7 701 555 01 01", "77015550101");
    let agrees = family(2, "8 (702) 555-01-02", "77025550102");
    let refuses = family(3, "77055550103", "77055550103");
    // Two children of one mother: one conversation each.
    let twins_mum = family(4, "+77075550104", "77075550104");
    let second = Family {
        child: w::iin(2014, Month::May, 5, Sex::Female, 6001),
        child_name: "Ученица Вторая".into(),
        ..family(4, "+77075550104", "77075550104")
    };
    let orphan = w::iin(2011, Month::June, 6, Sex::Male, 6001);
    let guardian = w::iin(1970, Month::July, 7, Sex::Female, 6001);
    let mut students: Vec<Value> = [&silent, &agrees, &refuses, &twins_mum, &second].map(row).to_vec();
    students.push(w::student(&orphan.expose(), "Без Телефона", 8, "8Б", "orphan",
        vec![w::rep(&guardian.expose(), "Опекун Без Телефона", "guardian", None)]));
    let list = w::list(&bin, "Школа SMS", &term.period(), students);
    let t0 = term.now();
    let answer = w::send_list(&server, &list).await.ok_json();
    let consent_of: Vec<&str> = answer["accepted"]
        .as_array()
        .expect("accepted")
        .iter()
        .map(|r| {
            assert_eq!(r["status"], "awaiting_consent", "{answer:#}");
            r["consent"].as_str().expect("consent")
        })
        .collect();
    assert_eq!(consent_of, ["pending", "pending", "pending", "pending", "pending", "no_phone"]);

    // The start SMS went to each mother (in the outbox, delivered by the logging gateway).
    let start = sms_to(&server, silent.phone).await;
    assert_eq!(start.len(), 1, "{start:#?}");
    let text = start[0]["text"].as_str().expect("text");
    assert!(text.starts_with(&format!("Уважаемый (ая) {}!", silent.mother_name)), "{text}");
    assert!(text.contains(&format!("Вашему ребенку {} полагается", silent.child_name)));
    assert!(text.contains("3#1") && text.contains("3#2") && text.contains("3 календарных дней"));
    assert_eq!(start[0]["state"], "sent");
    assert_eq!(sms_to(&server, twins_mum.phone).await.len(), 2, "one SMS per child");
    assert_eq!(sms(&server).await.len(), 5, "no SMS without a phone");
    assert_eq!(consent_state(&server, &orphan).await, "no_phone");

    // 3#1 (spaces and all): the voucher at once, in that mother's wallet.
    let outcome = reply(&server, "+7 702 555 01 02", " 3 # 1 ").await;
    assert_eq!(outcome["outcome"], "agreed", "{outcome}");
    let voucher = outcome["voucher_id"].as_str().expect("voucher id").to_string();
    let mum = server.parent_token(&agrees.mother.expose()).await;
    let wallet = w::wallet(&server, &mum).await;
    assert_eq!(w::voucher_ids(&wallet), [voucher.as_str()]);
    assert_eq!(w::find_voucher(&wallet, &voucher)["state"], "formed");
    let confirmation = sms_to(&server, agrees.phone).await;
    assert_eq!(confirmation.len(), 2);
    let text = confirmation[1]["text"].as_str().expect("text");
    assert!(text.contains("обработано положительно") && text.contains("https://egovmobile.page.link/socwallet"));
    assert!(text.contains(&agrees.child_name), "{text}");

    // 3#2: no voucher, the refusal SMS; a reply after the end changes nothing.
    assert_eq!(reply(&server, refuses.phone, "3#2").await["outcome"], "refused");
    let refusal = sms_to(&server, refuses.phone).await;
    assert!(refusal[1]["text"].as_str().expect("text").starts_with("Вы отказались от получения услуги"));
    assert_eq!(reply(&server, refuses.phone, "3#1").await["outcome"], "ignored");
    assert_eq!(sms_to(&server, refuses.phone).await.len(), 2);
    let mum3 = server.parent_token(&refuses.mother.expose()).await;
    assert_eq!(w::wallet(&server, &mum3).await, json!({"vouchers": []}));
    assert_eq!(reply(&server, "+7 700 000 00 00", "3#1").await["outcome"], "ignored");

    // The mother of two: the oldest request first, and the SMS name the child.
    assert_eq!(reply(&server, twins_mum.phone, "3#1").await["outcome"], "agreed");
    assert_eq!(reply(&server, twins_mum.phone, "3#2").await["outcome"], "refused");
    let both = sms_to(&server, twins_mum.phone).await;
    assert!(both[2]["text"].as_str().expect("text").contains(&twins_mum.child_name));
    assert!(both[3]["text"].as_str().expect("text").contains(&second.child_name));
    assert_eq!(consent_state(&server, &twins_mum.child).await, "agreed");
    assert_eq!(consent_state(&server, &second.child).await, "refused");

    // Anything else: a help SMS, nothing changes.
    assert_eq!(reply(&server, silent.phone, "да").await["outcome"], "help_sent");
    assert_eq!(consent_state(&server, &silent.child).await, "pending");
    assert!(sms_to(&server, silent.phone).await[1]["text"].as_str().expect("text").contains("3#1"));

    // Three days of silence: one reminder. Three more: timed out.
    set_clock(&server, t0 + Duration::days(3) + Duration::minutes(1)).await;
    let reminder = eventually("the reminder", || async {
        let all = sms_to(&server, silent.phone).await;
        (all.len() == 3).then(|| all[2].clone())
    })
    .await;
    assert!(reminder["text"].as_str().expect("text").starts_with("Повторное сообщение.\nУважаемый"));
    assert_eq!(consent_state(&server, &silent.child).await, "reminded");
    set_clock(&server, t0 + Duration::days(6) + Duration::minutes(2)).await;
    eventually("the timeout", || async {
        (consent_state(&server, &silent.child).await == "timed_out").then_some(())
    })
    .await;
    assert_eq!(reply(&server, silent.phone, "3#1").await["outcome"], "ignored");
    assert_eq!(sms_to(&server, silent.phone).await.len(), 3, "no SMS after the end");
    assert_eq!(sms(&server).await.len(), 11);

    // The list again: the conversations stand, the agreed row has its voucher.
    let again = w::send_list(&server, &list).await.ok_json();
    let rows = again["accepted"].as_array().expect("accepted");
    assert_eq!((rows[0]["consent"].as_str(), rows[0]["status"].as_str()), (Some("timed_out"), Some("awaiting_consent")));
    assert_eq!((rows[1]["consent"].as_str(), rows[1]["voucher_id"].as_str()), (Some("agreed"), Some(voucher.as_str())));
    assert_eq!(rows[1]["status"], "voucher_formed");
    assert_eq!(sms(&server).await.len(), 11, "nothing sent twice");

    // The log holds no full phone, no child's IIN, no SMS text.
    let log = server.stderr();
    for secret in [silent.phone, agrees.phone, "Уважаемый", "обработано"] {
        assert!(!log.contains(secret), "the log holds {secret:?}");
    }
    assert!(!log.contains(&silent.child.expose()));
    server.stop();
}

#[tokio::test]
async fn bad_inbound_sms_are_refused_and_change_nothing() {
    let data = data_dir();
    let server = Server::demo(data.path());
    let token = server.integration_token().await;
    let path = "/v1/integration/sms/inbound";
    let body = json!({"phone": "+7 701 555 00 00", "text": "3#1"});
    server.post_json(path, None, &body).await.assert_error(401, "unauthorized");
    server.post_json(path, Some("garbage"), &body).await.assert_error(401, "unauthorized");
    let parent = server.parent_token(common::DEMO_PARENT_IIN).await;
    server.post_json(path, Some(&parent), &body).await.assert_error(403, "forbidden");
    let before = w::outbox(&server).await;
    for (bad, code) in [
        (json!({"phone": "12345", "text": "3#1"}), "invalid_phone"),
        (json!({"phone": "+7 727 255 00 00", "text": "3#1"}), "invalid_phone"),
        (json!({"phone": "+7 701 ABC 00 00", "text": "3#1"}), "invalid_phone"),
        (json!({"phone": "87015550000", "text": "3#1".repeat(300)}), "text_too_long"),
        (json!({"phone": "87015550000", "text": "3#1\u{0}\u{1}"}), "invalid_text"),
        (json!({"phone": "87015550000"}), "invalid_body"),
        (json!({"phone": "87015550000", "text": "3#1", "extra": 1}), "invalid_body"),
        (json!({"phone": 87015550000_u64, "text": "3#1"}), "invalid_body"),
    ] {
        server.post_json(path, Some(&token), &bad).await.assert_error(422, code);
    }
    assert_eq!(w::outbox(&server).await, before);
    // Every well-formed number is accepted (and, with no open request, ignored).
    for phone in ["+7 701 555 00 00", "87015550000", "77015550000", "7015550000", "+7 (701) 555-00-00"] {
        let resp = server.post_json(path, Some(&token), &json!({"phone": phone, "text": "3#1"})).await;
        assert_eq!(resp.ok_json()["outcome"], "ignored", "{phone}");
    }
    server.stop();
}

/// A tiny SMS gateway: records each POST's idempotency key and JSON body, answers 200.
#[derive(Clone, Default)]
struct Gateway {
    posts: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Gateway {
    async fn start() -> (Gateway, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
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
                    let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                    let _ = conn.write_all(ok).await;
                });
            }
        });
        (gateway, url)
    }

    fn posts(&self) -> Vec<(String, Value)> {
        self.posts.lock().expect("lock").clone()
    }

    /// POSTs per idempotency key.
    fn by_key(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for (key, body) in self.posts() {
            assert_eq!(body["id"], key.as_str(), "the body's id is the idempotency key");
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
        head.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")).map(|v| v.trim().to_string()))
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

fn start_with(data: &std::path::Path, gateway: &str, stall: Option<&str>) -> Server {
    let mut env = vec![("SMS_GATEWAY_URL", gateway)];
    if let Some(stall) = stall {
        env.push(("WALLET_DEMO_STALL", stall));
    }
    Server::start(data, &["--demo"], &env)
}

/// SIGKILL: no shutdown, no cleanup.
fn kill(server: Server) {
    let status = std::process::Command::new("kill")
        .args(["-KILL", &server.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    drop(server);
}

async fn wait_for_log(server: &Server, marker: &str) {
    eventually(marker, || async { server.stderr().contains(marker).then_some(()) }).await;
}

/// The upper-grade child of the crash tests and the list that starts its conversation.
fn crash_list(term: &Term, phone: &str) -> (Iin, Value) {
    let child = w::iin(2012, Month::September, 9, Sex::Female, 7001);
    let mum = w::iin(1983, Month::September, 9, Sex::Female, 7001);
    let bin = w::bin([0, 4, 0, 1, 4, 0, 0, 0, 7, 9, 9]).to_string();
    let student = w::student(&child.expose(), "Ученица Краш", 7, "7В", "asp",
        vec![w::rep(&mum.expose(), "Мама Краш", "mother", Some(phone))]);
    (child, w::list(&bin, "Школа сбоев", &term.period(), vec![student]))
}

async fn job_of(server: &Server, kind: &str) -> Value {
    let token = server.integration_token().await;
    let jobs = server.get("/v1/integration/jobs?limit=1000", Some(&token)).await.ok_json();
    jobs["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .find(|j| j["kind"] == kind)
        .cloned()
        .unwrap_or_else(|| panic!("no {kind} job in {jobs:#}"))
}

#[tokio::test]
async fn a_job_killed_between_claim_and_completion_is_not_lost_and_not_doubled() {
    let (gateway, url) = Gateway::start().await;
    let data = data_dir();

    // Run A: the reminder is claimed, then the server dies before running it.
    let server = start_with(data.path(), &url, Some("job:consent_remind:before"));
    let term = Term::enter(&server).await;
    let (child, list) = crash_list(&term, "+7 701 777 00 01");
    let t0 = term.now();
    assert_eq!(w::send_list(&server, &list).await.ok_json()["accepted"][0]["consent"], "pending");
    assert_eq!(gateway.posts().len(), 1, "the start SMS reached the gateway");
    set_clock(&server, t0 + Duration::days(3) + Duration::minutes(1)).await;
    wait_for_log(&server, "demo stall: job claimed, not run").await;
    assert_eq!(sms(&server).await.len(), 1, "no reminder yet");
    kill(server);

    // Run B: after the lease, the job runs again; the server dies before completing it.
    let server = start_with(data.path(), &url, Some("job:consent_remind:after"));
    set_clock(&server, t0 + Duration::days(3) + Duration::minutes(5)).await;
    wait_for_log(&server, "demo stall: job run, not completed").await;
    eventually("the reminder delivered", || async {
        let all = sms(&server).await;
        (all.len() == 2 && all[1]["state"] == "sent").then_some(())
    })
    .await;
    assert_eq!(consent_state(&server, &child).await, "reminded");
    assert_eq!(job_of(&server, "consent_remind").await["state"], "running");
    kill(server);

    // Run C: the job runs a third time, changes nothing, and is done.
    let server = start_with(data.path(), &url, None);
    set_clock(&server, t0 + Duration::days(3) + Duration::minutes(10)).await;
    let job = eventually("the reminder job done", || async {
        let job = job_of(&server, "consent_remind").await;
        (job["state"] == "done").then_some(job)
    })
    .await;
    assert_eq!(job["attempts"], 3, "{job}");
    assert_eq!(sms(&server).await.len(), 2, "one reminder, not two");
    // The timeout still comes: the job the reminder scheduled survived both crashes.
    set_clock(&server, t0 + Duration::days(6) + Duration::minutes(20)).await;
    eventually("the timeout", || async {
        (consent_state(&server, &child).await == "timed_out").then_some(())
    })
    .await;
    let by_key = gateway.by_key();
    assert_eq!(by_key.len(), 2, "start and reminder: {by_key:?}");
    assert!(by_key.values().all(|&n| n == 1), "each delivered once: {by_key:?}");
    server.stop();
}

#[tokio::test]
async fn an_sms_acknowledged_but_not_recorded_is_sent_again_under_the_same_key_only() {
    let (gateway, url) = Gateway::start().await;
    let data = data_dir();

    // Run X: the gateway acknowledges the start SMS; the server dies before recording it.
    let server = start_with(data.path(), &url, Some("outbox:after_send"));
    let term = Term::enter(&server).await;
    let (_child, list) = crash_list(&term, "87017770002");
    w::send_list(&server, &list).await.ok_json();
    wait_for_log(&server, "demo stall: SMS acknowledged, not yet recorded").await;
    let pending = sms(&server).await;
    assert_eq!((pending.len(), pending[0]["state"].as_str()), (1, Some("pending")));
    let id = pending[0]["id"].as_str().expect("id").to_string();
    kill(server);

    // Run Y: after the lease the outbox delivers it again — under the same key.
    let server = start_with(data.path(), &url, None);
    set_clock(&server, term.now() + Duration::minutes(5)).await;
    let sent = eventually("the SMS recorded as sent", || async {
        let all = sms(&server).await;
        (all.len() == 1 && all[0]["state"] == "sent").then(|| all[0].clone())
    })
    .await;
    assert_eq!((sent["id"].as_str(), sent["attempts"].as_i64()), (Some(id.as_str()), Some(2)));
    // Acknowledged and recorded: never sent again.
    tokio::time::sleep(StdDuration::from_secs(3)).await;
    let posts = gateway.posts();
    assert_eq!(posts.len(), 2, "one retry after the crash: {posts:?}");
    assert_eq!(gateway.by_key(), HashMap::from([(id.clone(), 2)]), "one message for the gateway");
    assert_eq!(posts[0].1, posts[1].1, "the very same message");
    assert_eq!(posts[0].1["to"], "77017770002");
    server.stop();
}
