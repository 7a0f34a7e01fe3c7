//! A small W3C WebDriver client over `reqwest` for driving headless Chromium through
//! `chromedriver`: sessions, navigation, elements, keys, cookies, screenshots. The
//! protocol is plain JSON over HTTP, so this needs no browser-automation crate (and no
//! second HTTP stack in the build).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// `chromedriver` and `chromium` on the PATH, or why not.
pub fn available() -> Result<(), String> {
    for tool in ["chromedriver", "chromium"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Err(format!(
                "{tool} is not installed (Debian: chromium chromium-driver)"
            ));
        }
    }
    Ok(())
}

/// A running chromedriver; killed when dropped.
pub struct Driver {
    child: Child,
    base: String,
}

impl Drop for Driver {
    /// Kills chromedriver's whole process group, so a test that panics before `quit`
    /// leaves no Chromium behind.
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    pub async fn start() -> Driver {
        let port = tests::free_port();
        use std::os::unix::process::CommandExt;
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let http = http();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = http.get(format!("{}/status", driver.base)).send().await;
            if let Ok(resp) = ready {
                let v: Value = resp.json().await.unwrap_or_default();
                if v["value"]["ready"] == true {
                    return driver;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A headless Chromium window of `width`×`height`.
    pub async fn browser(&self, width: u32, height: u32) -> Browser {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium_path(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--no-first-run", "--lang=ru",
                         "--disable-breakpad", "--disable-crash-reporter",
                         format!("--window-size={width},{height}")],
            },
        }}});
        let http = http();
        let v = call(
            &http,
            reqwest::Method::POST,
            &format!("{}/session", self.base),
            Some(caps),
        )
        .await;
        let id = v["sessionId"].as_str().expect("session id").to_string();
        Browser {
            http,
            base: format!("{}/session/{id}", self.base),
        }
    }
}

fn chromium_path() -> String {
    ["/usr/bin/chromium", "/usr/lib/chromium/chromium"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("chromium")
        .to_string()
}

fn http() -> reqwest::Client {
    tests::http_client(None)
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("HTTP client")
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Value {
    let mut req = http.request(method.clone(), url);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status();
    let v: Value = resp
        .json()
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    assert!(status.is_success(), "{method} {url}: {status} {v}");
    v["value"].clone()
}

/// One browser session.
pub struct Browser {
    http: reqwest::Client,
    base: String,
}

/// An element of the current page.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

impl Browser {
    async fn post(&self, path: &str, body: Value) -> Value {
        call(
            &self.http,
            reqwest::Method::POST,
            &format!("{}{path}", self.base),
            Some(body),
        )
        .await
    }

    async fn get(&self, path: &str) -> Value {
        call(
            &self.http,
            reqwest::Method::GET,
            &format!("{}{path}", self.base),
            None,
        )
        .await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({"url": url})).await;
    }

    pub async fn url(&self) -> String {
        self.get("/url")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn source(&self) -> String {
        self.get("/source")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The visible text of the page.
    pub async fn text(&self) -> String {
        self.find("css selector", "body").await.text().await
    }

    async fn try_find(&self, using: &str, value: &str) -> Option<Element<'_>> {
        let resp = self
            .http
            .post(format!("{}/element", self.base))
            .json(&json!({"using": using, "value": value}))
            .send()
            .await
            .ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let v: Value = resp.json().await.ok()?;
        Some(Element {
            browser: self,
            id: v["value"][ELEMENT].as_str()?.to_string(),
        })
    }

    /// Waits (bounded) for an element: `css selector` or `xpath`.
    pub async fn find(&self, using: &str, value: &str) -> Element<'_> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(e) = self.try_find(using, value).await {
                return e;
            }
            if Instant::now() > deadline {
                let page = self.source().await;
                panic!(
                    "no element {using} {value:?} on {}:\n{page}",
                    self.url().await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn css(&self, selector: &str) -> Element<'_> {
        self.find("css selector", selector).await
    }

    pub async fn xpath(&self, path: &str) -> Element<'_> {
        self.find("xpath", path).await
    }

    /// The value of a cookie (HttpOnly ones included: WebDriver sees them).
    pub async fn cookie(&self, name: &str) -> String {
        self.get(&format!("/cookie/{name}")).await["value"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn delete_cookies(&self) {
        call(
            &self.http,
            reqwest::Method::DELETE,
            &format!("{}/cookie", self.base),
            None,
        )
        .await;
    }

    pub async fn resize(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({"width": width, "height": height}))
            .await;
    }

    /// A PNG of the viewport, written to `path`.
    pub async fn screenshot(&self, path: &Path) {
        use base64::Engine;
        let b64 = self.get("/screenshot").await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().expect("base64 screenshot"))
            .expect("valid base64");
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        std::fs::write(path, png).expect("write screenshot");
    }

    pub async fn quit(self) {
        call(&self.http, reqwest::Method::DELETE, &self.base, None).await;
    }
}

impl Element<'_> {
    pub async fn click(&self) {
        self.browser
            .post(&format!("/element/{}/click", self.id), json!({}))
            .await;
    }

    pub async fn type_text(&self, text: &str) {
        self.browser
            .post(
                &format!("/element/{}/value", self.id),
                json!({"text": text}),
            )
            .await;
    }

    pub async fn clear(&self) {
        self.browser
            .post(&format!("/element/{}/clear", self.id), json!({}))
            .await;
    }

    pub async fn text(&self) -> String {
        self.browser
            .get(&format!("/element/{}/text", self.id))
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn attribute(&self, name: &str) -> Option<String> {
        self.browser
            .get(&format!("/element/{}/attribute/{name}", self.id))
            .await
            .as_str()
            .map(str::to_string)
    }
}
