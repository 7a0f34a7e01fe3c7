//! The lunch rush of the multi-server drill, as clients see it through a balancer: virtual
//! terminals pushing meal batches (a batch that fails is pushed again with the same event
//! ids until acknowledged, as the real terminal does), a parent minting passes for one
//! voucher, and an integration sending lists that start consent conversations (one SMS
//! each). Every failed try is kept with its time, so the drill can say how many requests
//! the kill cost.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use shared::VoucherId;

use super::drills::Pupil;
use super::wallet::{self as w, ASTANA};

/// How long a client waits for one answer.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// A request still failing after this many tries fails the drill.
const MAX_TRIES: usize = 100;

/// A client of the balancer.
pub fn client() -> reqwest::Client {
    tests::http_client(None)
        .no_proxy()
        .timeout(CLIENT_TIMEOUT)
        .build()
        .expect("HTTP client")
}

/// Tries that did not get their answer: when, and why.
pub type Failures = Vec<(Instant, String)>;

/// Sends `request()` until it gets one of `wanted`; the status and body, and the failures.
async fn until_answered(
    request: impl Fn() -> reqwest::RequestBuilder,
    wanted: &[u16],
    failures: &mut Failures,
) -> (u16, Value) {
    for _ in 0..MAX_TRIES {
        let why = match request().send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let text = resp.text().await.unwrap_or_default();
                if wanted.contains(&status) {
                    let body = serde_json::from_str(&text).unwrap_or(json!({"raw": text}));
                    return (status, body);
                }
                format!("{status} {text}")
            }
            Err(e) => e.to_string(),
        };
        failures.push((Instant::now(), why));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no answer after {MAX_TRIES} tries: {failures:?}");
}

/// What one terminal pushed: the verdict of every event, and its failed tries.
#[derive(Debug, Default)]
pub struct TerminalRun {
    pub verdicts: BTreeMap<String, String>,
    pub failures: Failures,
}

/// A batch of `size` meals of pupils picked by `pick`, served now (fresh event ids).
pub fn batch(pupils: &[Pupil], size: usize, mut pick: impl FnMut() -> usize) -> Vec<Value> {
    (0..size)
        .map(|_| {
            let pupil = &pupils[pick() % pupils.len()];
            let at = super::story_now();
            json!({
                "event_id": VoucherId::new().to_string(),
                "voucher_id": pupil.voucher,
                "slot": "day",
                "service_day": at.to_offset(ASTANA).date().to_string(),
                "served_at": w::rfc3339(at),
                "method": "card",
            })
        })
        .collect()
}

/// Pushes `batches` one after another until `stop`; a batch begun is pushed until
/// acknowledged.
pub async fn terminal(
    base: String,
    token: String,
    batches: Vec<Vec<Value>>,
    stop: Arc<AtomicBool>,
) -> TerminalRun {
    let client = client();
    let mut run = TerminalRun::default();
    for events in batches {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let body = json!({"events": events, "unsent_after": 0});
        let push = || {
            client
                .post(format!("{base}/v1/terminals/meals"))
                .bearer_auth(&token)
                .json(&body)
        };
        let (_, answer) = until_answered(push, &[200], &mut run.failures).await;
        let results = answer["results"].as_array().expect("results");
        assert_eq!(
            results.len(),
            events.len(),
            "one verdict per event: {answer}"
        );
        for (event, result) in events.iter().zip(results) {
            assert_eq!(result["event_id"], event["event_id"], "{answer}");
            let status = result["status"].as_str().expect("status").to_owned();
            let id = result["event_id"].as_str().expect("id").to_owned();
            run.verdicts.insert(id, status);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    run
}

/// What the minting parent got: passes, refusals (429) and failed tries.
#[derive(Debug, Default)]
pub struct MintRun {
    pub minted: usize,
    pub refused: usize,
    /// Passes minted through each of the bases, in their order.
    pub minted_at: Vec<usize>,
    pub failures: Failures,
}

/// Mints passes for `voucher` as the parent `token` until `stop`, through each of `bases` in
/// turn: a balancer that keeps one caller on one server would otherwise leave the limit
/// to one process.
pub async fn minter(
    bases: Vec<String>,
    token: String,
    voucher: String,
    stop: Arc<AtomicBool>,
) -> MintRun {
    let client = client();
    let mut run = MintRun {
        minted_at: vec![0; bases.len()],
        ..MintRun::default()
    };
    let urls: Vec<String> = bases
        .iter()
        .map(|base| format!("{base}/v1/wallet/vouchers/{voucher}/passes"))
        .collect();
    for turn in (0..urls.len()).cycle() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let mint = || client.post(&urls[turn]).bearer_auth(&token);
        match until_answered(mint, &[200, 429], &mut run.failures).await {
            (200, _) => {
                run.minted += 1;
                run.minted_at[turn] += 1;
            }
            (_, body) => {
                assert_eq!(body["error"]["code"], "too_many_passes", "{body}");
                run.refused += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    run
}

/// Sends each list (an integration's token) until accepted, `gap` apart; the failed tries.
pub async fn lists(base: String, token: String, lists: Vec<Value>, gap: Duration) -> Failures {
    let client = client();
    let mut failures = Failures::new();
    for list in lists {
        let send = || {
            client
                .post(format!("{base}/v1/integration/eligibility-lists"))
                .bearer_auth(&token)
                .json(&list)
        };
        let (_, reception) = until_answered(send, &[200], &mut failures).await;
        assert_eq!(reception["rejected"], json!([]), "{reception}");
        tokio::time::sleep(gap).await;
    }
    failures
}
