//! Crashes, end to end on the real binary: a server killed (SIGKILL) between a job's
//! claim and its completion, and between an SMS's acknowledgement by the gateway and our
//! record of it, then restarted on the same data. No job is lost, and no SMS reaches the
//! gateway as two messages: an HTTP gateway the test runs counts the deliveries by their
//! idempotency key. The stall points are the `--demo`-only `WALLET_DEMO_STALL` knob.

mod common;
mod consent_support;

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use common::wallet::{self as w, Term};
use common::Server;
use consent_support::{
    consent_state, data_dir, eventually, reminder_due, set_clock, sms, timeout_due, Gateway,
};
use serde_json::Value;
use shared::{Iin, Sex};
use time::{Duration, Month};

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
    eventually(marker, || async {
        server.stderr().contains(marker).then_some(())
    })
    .await;
}

/// The upper-grade child of the crash tests and the list that starts its conversation.
fn crash_list(term: &Term, phone: &str) -> (Iin, Value) {
    let child = w::iin(2012, Month::September, 9, Sex::Female, 7001);
    let mum = w::iin(1983, Month::September, 9, Sex::Female, 7001);
    let bin = w::bin([0, 4, 0, 1, 4, 0, 0, 0, 7, 9, 9]).to_string();
    let student = w::student(
        &child.expose(),
        "Ученица Краш",
        7,
        "7В",
        "asp",
        vec![w::rep(&mum.expose(), "Мама Краш", "mother", Some(phone))],
    );
    (
        child,
        w::list(&bin, "Школа сбоев", &term.period(), vec![student]),
    )
}

async fn job_of(server: &Server, kind: &str) -> Value {
    let token = server.integration_token().await;
    let jobs = server
        .get("/v1/integration/jobs?limit=1000", Some(&token))
        .await
        .ok_json();
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
    assert_eq!(
        w::send_list(&server, &list).await.ok_json()["accepted"][0]["consent"],
        "pending"
    );
    assert_eq!(
        gateway.posts().len(),
        1,
        "the start SMS reached the gateway"
    );
    set_clock(&server, reminder_due(t0) + Duration::minutes(1)).await;
    wait_for_log(&server, "demo stall: job claimed, not run").await;
    assert_eq!(sms(&server).await.len(), 1, "no reminder yet");
    kill(server);

    // Run B: after the lease, the job runs again; the server dies before completing it.
    let server = start_with(data.path(), &url, Some("job:consent_remind:after"));
    set_clock(&server, reminder_due(t0) + Duration::minutes(5)).await;
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
    set_clock(&server, reminder_due(t0) + Duration::minutes(10)).await;
    let job = eventually("the reminder job done", || async {
        let job = job_of(&server, "consent_remind").await;
        (job["state"] == "done").then_some(job)
    })
    .await;
    assert_eq!(job["attempts"], 3, "{job}");
    assert_eq!(sms(&server).await.len(), 2, "one reminder, not two");
    // The timeout still comes: the job the reminder scheduled survived both crashes.
    set_clock(
        &server,
        timeout_due(reminder_due(t0)) + Duration::minutes(20),
    )
    .await;
    eventually("the timeout", || async {
        (consent_state(&server, &child).await == "timed_out").then_some(())
    })
    .await;
    let by_key = gateway.by_key();
    assert_eq!(by_key.len(), 2, "start and reminder: {by_key:?}");
    assert!(
        by_key.values().all(|&n| n == 1),
        "each delivered once: {by_key:?}"
    );
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
    assert_eq!(
        (pending.len(), pending[0]["state"].as_str()),
        (1, Some("pending"))
    );
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
    assert_eq!(
        (sent["id"].as_str(), sent["attempts"].as_i64()),
        (Some(id.as_str()), Some(2))
    );
    // Acknowledged and recorded: never sent again.
    tokio::time::sleep(StdDuration::from_secs(3)).await;
    let posts = gateway.posts();
    assert_eq!(posts.len(), 2, "one retry after the crash: {posts:?}");
    assert_eq!(
        gateway.by_key(),
        HashMap::from([(id.clone(), 2)]),
        "one message for the gateway"
    );
    assert_eq!(posts[0].1, posts[1].1, "the very same message");
    assert_eq!(posts[0].1["to"], "77017770002");
    server.stop();
}
