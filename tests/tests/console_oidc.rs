//! The console signs in, in a real browser, against an OpenID provider nobody here wrote:
//! `oidc-provider-mock` from PyPI (authlib underneath; RS256 id tokens, its own login form),
//! started on loopback and named by `OIDC_PROVIDER_MOCK` (`.ci/oidc-provider` installs it).
//! A social pedagogue signs in and lands on their school's console; a user whose id token
//! says `parent` is refused; so is one who denies consent at the provider.
//!
//! Without the provider or chromedriver the test says so and passes, unless
//! `REQUIRE_OIDC_PROVIDER=1` (CI).

mod common;
mod console_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::json;

use common::{Server, DEMO_SCHOOL_BIN};
use console_support::webdriver::{self, Browser, Driver};

/// The provider process, killed when dropped.
struct Provider {
    child: Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `oidc-provider-mock` on a free loopback port with two predefined users, and waits
/// for the address it serves on (uvicorn prints it on stderr).
fn start_provider(program: &str) -> Provider {
    let pedagogue = json!({"sub": "aigerim.s", "name": "Сапарова Айгерим",
        "role": "social_pedagogue", "school": DEMO_SCHOOL_BIN});
    let parent = json!({"sub": "parent.k", "role": "parent"});
    let mut child = Command::new(program)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--require-nonce",
            "true",
        ])
        .args(["--user-claims", &pedagogue.to_string()])
        .args(["--user-claims", &parent.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {program}: {e}"));
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let issuer = loop {
        match lines.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => {
                let found = line
                    .split_once("running on ")
                    .and_then(|(_, rest)| rest.split_whitespace().next())
                    .map(str::to_string);
                seen.push(line);
                if let Some(url) = found {
                    break url;
                }
            }
            Err(e) => panic!("{program} printed no address ({e}): {seen:#?}"),
        }
    };
    Provider { child, issuer }
}

/// Why the test cannot run here, if it cannot.
fn unavailable() -> Option<String> {
    if let Err(why) = webdriver::available() {
        return Some(why);
    }
    match std::env::var("OIDC_PROVIDER_MOCK") {
        Ok(p) if std::path::Path::new(&p).is_file() => None,
        _ => Some(
            "OIDC_PROVIDER_MOCK does not name oidc-provider-mock (bash .ci/oidc-provider)".into(),
        ),
    }
}

#[tokio::test]
async fn console_signs_in_through_a_third_party_openid_provider() {
    if let Some(why) = unavailable() {
        if std::env::var("REQUIRE_OIDC_PROVIDER").is_ok_and(|v| v == "1") {
            panic!("REQUIRE_OIDC_PROVIDER=1 but {why}");
        }
        println!("SKIPPED console_oidc: {why}");
        return;
    }
    let program = std::env::var("OIDC_PROVIDER_MOCK").expect("checked above");
    let provider = start_provider(&program);
    let data = tests::private_tempdir();
    // A confidential client: the provider wants the secret at its token endpoint.
    let secret = tests::private_tempdir();
    let secret_file = secret.path().join("client-secret");
    std::fs::write(&secret_file, "console-secret-1\n").expect("secret file");
    let server = Server::start(
        data.path(),
        &[
            "--demo",
            "--console-oidc-client-secret-file",
            secret_file.to_str().expect("utf-8 path"),
            "--console-oidc-issuer",
            &provider.issuer,
            "--console-oidc-algorithm",
            "RS256",
        ],
        &[],
    );
    let driver = Driver::start().await;
    let browser = driver.browser(1366, 768).await;

    // The social pedagogue: the provider's own page, then the school's console.
    sign_in_as(&browser, &server, &provider, "aigerim.s").await;
    browser.css("h1, nav.main").await;
    let page = browser.text().await;
    assert!(
        !page.contains("Войти не удалось"),
        "sign-in refused: {}",
        server.stderr()
    );
    assert!(
        browser
            .url()
            .await
            .ends_with(&format!("/console/schools/{DEMO_SCHOOL_BIN}/today")),
        "{}",
        browser.url().await
    );
    let role = browser.css("header .role").await.text().await;
    assert!(role.contains("педагог"), "{role}");
    let log = server.stderr();
    assert!(
        log.contains("console: staff signed in") && !log.contains("Сапарова"),
        "signed in, and the name is not logged: {log}"
    );
    browser.css("#sign-out").await.click().await;
    browser.css("#sign-in").await;

    // A parent's id token opens no console session.
    sign_in_as(&browser, &server, &provider, "parent.k").await;
    assert_refused(&browser, &server).await;
    assert!(server.stderr().contains("not a school staff member"));

    // Denied at the provider: no code, no session.
    browser.goto(&server.url("/console/")).await;
    browser.css("#sign-in").await.click().await;
    browser.css("button[value='deny']").await.click().await;
    back_at_the_console(&browser, &server).await;
    assert_refused(&browser, &server).await;

    browser.quit().await;
    drop(driver);
    server.stop();
}

/// From the console's sign-in page to the provider's form, where `sub` is chosen.
async fn sign_in_as(browser: &Browser, server: &Server, provider: &Provider, sub: &str) {
    browser.goto(&server.url("/console/")).await;
    browser.css("#sign-in").await.click().await;
    let button = browser.css(&format!("button[value='{sub}']")).await;
    let at = browser.url().await;
    assert!(
        at.starts_with(&provider.issuer),
        "the provider's own page: {at}"
    );
    button.click().await;
    back_at_the_console(browser, server).await;
}

/// Waits until the provider has sent the browser back (its page has an `h1` too).
async fn back_at_the_console(browser: &Browser, server: &Server) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !browser.url().await.starts_with(&server.url("/console/")) {
        assert!(
            std::time::Instant::now() < deadline,
            "still at {}",
            browser.url().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The console's "sign-in failed" page, and no session: the school's pages still ask to
/// sign in.
async fn assert_refused(browser: &Browser, server: &Server) {
    browser.css("h1").await;
    let text = browser.text().await;
    assert!(text.contains("Войти не удалось"), "{text}");
    browser
        .goto(&server.url(&format!("/console/schools/{DEMO_SCHOOL_BIN}/today")))
        .await;
    browser.css("#sign-in").await;
    assert!(browser.url().await.contains("/console/login"));
}
