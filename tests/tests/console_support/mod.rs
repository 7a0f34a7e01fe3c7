//! Helpers for the school console tests: signing in through the demo's OpenID provider
//! with plain HTTP (no cookie jar: cookies are read and sent by hand, redirects are not
//! followed, so every step is visible), form posts, and a small W3C WebDriver client for
//! the browser test (`webdriver.rs`).

#![allow(dead_code)]

pub mod webdriver;

use std::collections::HashMap;

use crate::common::Server;

/// A client that never follows redirects and keeps no cookies.
pub fn client() -> reqwest::Client {
    tests::http_client(None)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .expect("HTTP client")
}

/// `application/x-www-form-urlencoded` of pairs.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn dec(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("hex");
                out.push(u8::from_str_radix(hex, 16).expect("hex"));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).expect("utf-8")
}

/// The query of a URL as a map.
pub fn query_of(url: &str) -> HashMap<String, String> {
    url.split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default()
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (dec(k), dec(v)))
        .collect()
}

/// An answer read in full.
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub content_type: String,
    pub body: String,
    pub bytes: Vec<u8>,
    pub headers: reqwest::header::HeaderMap,
}

impl Page {
    /// `name=value` of a cookie this answer sets.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(|c| c.split(';').next().unwrap_or_default().to_string())
    }

    /// The first CSRF field of the page.
    pub fn csrf(&self) -> String {
        let (_, rest) = self
            .body
            .split_once(r#"name="csrf" value=""#)
            .unwrap_or_else(|| panic!("no CSRF field in:\n{}", self.body));
        rest.split('"').next().expect("value").to_string()
    }
}

pub async fn send(req: reqwest::RequestBuilder) -> Page {
    let resp = req.send().await.expect("HTTP exchange");
    let status = resp.status().as_u16();
    let header = |name| {
        resp.headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let location = header(reqwest::header::LOCATION);
    let content_type = header(reqwest::header::CONTENT_TYPE).unwrap_or_default();
    let set_cookies = resp
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.expect("body").to_vec();
    Page {
        headers,
        status,
        location,
        set_cookies,
        content_type,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        bytes,
    }
}

/// A signed-in console user (its session cookie).
pub struct Console<'a> {
    pub server: &'a Server,
    pub http: reqwest::Client,
    pub cookie: String,
}

impl<'a> Console<'a> {
    /// Signs in through `/console/auth/start` → the demo provider's authorize form →
    /// the callback, as a browser would.
    pub async fn sign_in(server: &'a Server, role: &str, school: &str) -> Console<'a> {
        let http = client();
        let start = send(http.get(server.url("/console/auth/start"))).await;
        assert_eq!(start.status, 303, "start: {}", start.body);
        let auth_cookie = start.cookie("sw_console_auth").expect("sign-in cookie");
        let authorize = start.location.expect("authorize URL");
        let mut params = query_of(&authorize);
        params.insert("role".into(), role.into());
        params.insert("school".into(), school.into());
        let pairs: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let issued = send(
            http.post(server.url("/dev/oidc/authorize"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form(&pairs)),
        )
        .await;
        assert_eq!(issued.status, 303, "authorize: {}", issued.body);
        let callback = issued.location.expect("callback URL");
        let path = callback.trim_start_matches(&server.base);
        let done = send(http.get(server.url(path)).header("cookie", &auth_cookie)).await;
        assert_eq!(done.status, 303, "callback: {}", done.body);
        let cookie = done.cookie("sw_console").expect("session cookie");
        Console {
            server,
            http,
            cookie,
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        send(
            self.http
                .get(self.server.url(path))
                .header("cookie", &self.cookie),
        )
        .await
    }

    pub async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> Page {
        send(
            self.http
                .post(self.server.url(path))
                .header("cookie", &self.cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form(pairs)),
        )
        .await
    }
}
