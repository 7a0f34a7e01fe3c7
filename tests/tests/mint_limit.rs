//! The per-voucher pass mint limit survives (issue 16, "Limits that survive"): it is counted
//! in the database, so a restarted server still refuses a voucher that used its allowance,
//! and two server processes on one PostgreSQL database share one allowance.

mod common;

use std::sync::Arc;

use common::backend::Backend;
use common::wallet::{self as w, demo, Term};
use common::Server;

/// The limit the servers run with; the window (an hour, aligned on the clock) is long enough
/// that a test never crosses into the next one.
const LIMIT: usize = 3;
const LIMITED: [&str; 5] = [
    "--demo",
    "--pass-mint-limit",
    "3",
    "--pass-mint-window-secs",
    "3600",
];

fn args(backend: &Backend) -> Vec<&str> {
    let mut args = LIMITED.to_vec();
    args.extend(backend.args());
    args
}

#[tokio::test]
async fn the_mint_limit_holds_across_a_restart() {
    for backend in Backend::all().await {
        let data = tests::private_tempdir();
        let server = Server::start(data.path(), &args(&backend), &[]);
        let _term = Term::enter(&server).await;
        let mother = server.parent_token(&demo::mother().expose()).await;
        let voucher = w::voucher_ids(&w::wallet(&server, &mother).await).remove(0);
        for i in 0..LIMIT {
            let resp = w::mint(&server, &mother, &voucher, None).await;
            assert_eq!(
                resp.status,
                200,
                "{} mint {i}: {}",
                backend.name(),
                resp.text
            );
        }
        server.stop();

        let server = Server::start(data.path(), &args(&backend), &[]);
        let mother = server.parent_token(&demo::mother().expose()).await;
        let resp = w::mint(&server, &mother, &voucher, None).await;
        resp.assert_error(429, "too_many_passes");
        let retry: i64 = resp
            .header("retry-after")
            .unwrap_or_else(|| panic!("429 without Retry-After: {:?}", resp.headers))
            .parse()
            .expect("Retry-After in seconds");
        assert!((1..=3600).contains(&retry), "Retry-After {retry}");
        server.stop();
        backend.drop_database().await;
    }
}

#[tokio::test]
async fn two_servers_on_one_postgres_share_one_allowance() {
    let Some(backend) = Backend::postgres().await else {
        return;
    };
    // One data directory: both processes hold the same pass keys, as replicas of one
    // deployment (and the demo's token signing key).
    let data = tests::private_tempdir();
    let first = Server::start(data.path(), &args(&backend), &[]);
    let second = Server::start(data.path(), &args(&backend), &[]);
    let mothers = [
        first.parent_token(&demo::mother().expose()).await,
        second.parent_token(&demo::mother().expose()).await,
    ];
    let voucher = w::voucher_ids(&w::wallet(&first, &mothers[0]).await).remove(0);

    // Twenty mints at once, alternating between the processes.
    let servers = [Arc::new(first), Arc::new(second)];
    let mut tasks = Vec::new();
    for i in 0..20 {
        let server = servers[i % 2].clone();
        let (mother, voucher) = (mothers[i % 2].clone(), voucher.clone());
        tasks.push(tokio::spawn(async move {
            w::mint(&server, &mother, &voucher, None).await
        }));
    }
    let mut minted = 0;
    for task in tasks {
        let resp = task.await.expect("mint task");
        if resp.status == 200 {
            minted += 1;
        } else {
            resp.assert_error(429, "too_many_passes");
        }
    }
    assert_eq!(minted, LIMIT, "passes minted across both processes");
    // And afterwards neither process has any allowance left.
    for (server, mother) in servers.into_iter().zip(&mothers) {
        w::mint(&server, mother, &voucher, None)
            .await
            .assert_error(429, "too_many_passes");
        Arc::into_inner(server)
            .expect("no task holds the server")
            .stop();
    }
    backend.drop_database().await;
}
