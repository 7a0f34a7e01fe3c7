//! The wallet server's HTTP API as the load generator uses it: one shared connection pool,
//! each call timed and classified for the statistics.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

/// A server under test.
#[derive(Clone)]
pub struct Api {
    http: Client,
    base: String,
    /// Every server's own address when several stand behind a balancer: a demo clock is
    /// moved on each (through the balancer it would move one). Empty: `base` alone.
    clocks: Vec<String>,
}

/// The answer of a timed call.
pub struct Timed {
    pub status: StatusCode,
    pub latency: Duration,
    pub body: bytes::Bytes,
}

impl Api {
    pub fn new(base: &str) -> anyhow::Result<Api> {
        let http = crate::http_client(None)
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(1024)
            .build()
            .context("building the HTTP client")?;
        Ok(Api {
            http,
            base: base.trim_end_matches('/').to_string(),
            clocks: Vec::new(),
        })
    }

    /// The same API whose demo clock lives on each of `servers` (behind a balancer).
    pub fn with_clocks(self, servers: &[String]) -> Api {
        Api {
            clocks: servers.to_vec(),
            ..self
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends one request and measures it up to the last byte of the body.
    pub async fn timed(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        accept: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<Timed> {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(a) = accept {
            req = req.header(reqwest::header::ACCEPT, a);
        }
        if let Some(b) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b);
        }
        let started = Instant::now();
        let resp = req.send().await?;
        let status = resp.status();
        let body = resp.bytes().await?;
        Ok(Timed {
            status,
            latency: started.elapsed(),
            body,
        })
    }

    /// A JSON call that must succeed (seeding); the error names the path and the answer.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let body = body.map(|b| serde_json::to_vec(&b)).transpose()?;
        let t = self.timed(method, path, token, None, body).await?;
        if !t.status.is_success() {
            bail!(
                "{path}: {} {}",
                t.status,
                String::from_utf8_lossy(&t.body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            );
        }
        if t.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&t.body).with_context(|| format!("{path}: answer is not JSON"))
    }

    /// A development token from the demo identity provider.
    pub async fn token(
        &self,
        sub: &str,
        role: &str,
        school: Option<&str>,
    ) -> anyhow::Result<String> {
        let mut req = json!({ "sub": sub, "role": role });
        if let Some(s) = school {
            req["school"] = json!(s);
        }
        let v = self
            .call(Method::POST, "/dev/token", None, Some(req))
            .await
            .context("the server must run with --demo (the load generator uses /dev/token)")?;
        v["token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("/dev/token: no token in the answer"))
    }

    /// Moves the demo clock of every server to `to`.
    pub async fn move_clock(&self, to: time::OffsetDateTime) -> anyhow::Result<()> {
        let now = to.format(&time::format_description::well_known::Rfc3339)?;
        let own = [self.base.clone()];
        let servers = if self.clocks.is_empty() {
            &own[..]
        } else {
            &self.clocks[..]
        };
        for server in servers {
            let answer = self
                .http
                .post(format!("{server}/dev/clock"))
                .json(&json!({ "now": now }))
                .send()
                .await
                .with_context(|| format!("moving the clock of {server}"))?;
            if !answer.status().is_success() {
                bail!("{server}/dev/clock: {}", answer.status());
            }
        }
        Ok(())
    }

    /// Jobs due and not done yet, summed over kinds (`wallet_jobs_due` in `/metrics`).
    pub async fn jobs_due(&self) -> anyhow::Result<u64> {
        let text = self
            .http
            .get(self.url("/metrics"))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        Ok(text
            .lines()
            .filter(|l| l.starts_with("wallet_jobs_due{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64)
    }

    pub async fn ready(&self) -> bool {
        matches!(
            self.http.get(self.url("/readyz")).send().await,
            Ok(r) if r.status().is_success()
        )
    }
}
