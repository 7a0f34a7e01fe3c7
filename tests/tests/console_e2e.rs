//! End to end in a real browser: headless Chromium driven through chromedriver against the
//! real `wallet-server --demo`. The social pedagogue signs in on the demo provider's page,
//! creates a terminal code (a terminal then pushes meals), binds a card, opens the табель
//! and downloads it; the director approves the finished month after the confirmation page;
//! another school's staff sees nothing of the first school. Every page is saved as a PNG in
//! `target/console-screenshots/` (1366×768, and the students page at phone size).
//!
//! Without `chromedriver` the test says so and passes, unless `REQUIRE_CHROMIUM=1` (CI).

mod common;
mod console_support;

use std::path::PathBuf;

use serde_json::{json, Value};
use time::OffsetDateTime;

use common::{Server, DEMO_SCHOOL_BIN, OTHER_SCHOOL_BIN};
use console_support::webdriver::{self, Browser, Driver};
use console_support::{client, send};

const AIGERIM: &str = "Сапарова Айгерим Ерлановна";
const DANA: &str = "Ким Дана Сергеевна";
const ASTANA: time::UtcOffset = time::macros::offset!(+5);

fn shots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("console-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

async fn shot(browser: &Browser, name: &str) {
    let path = shots_dir().join(name);
    browser.screenshot(&path).await;
    println!("screenshot: {}", path.display());
}

/// Signs in on the demo provider's page with a role and a school.
async fn sign_in(
    browser: &Browser,
    server: &Server,
    role: &str,
    school: &str,
    shot_as: Option<&str>,
) {
    browser.goto(&server.url("/console/")).await;
    browser.css("#sign-in").await.click().await;
    browser
        .css(&format!("input[value='{role}']"))
        .await
        .click()
        .await;
    browser
        .css(&format!("option[value='{school}']"))
        .await
        .click()
        .await;
    if let Some(name) = shot_as {
        shot(browser, name).await;
    }
    browser.css("#demo-sign-in").await.click().await;
    browser.css("nav.main").await;
}

/// Signs out and waits for the sign-in page that says so.
async fn sign_out(browser: &Browser) {
    browser.css("#sign-out").await.click().await;
    browser.css("#sign-in").await;
    assert!(browser.text().await.contains("Вы вышли"));
}

/// A terminal enrolled with the code shown on the page pushes three meals: one billable,
/// its duplicate, and one on a voucher not yet activated.
async fn terminal_pushes(server: &Server, code: &str) {
    let enrolled = server
        .post_json(
            "/v1/terminals/enroll",
            None,
            &json!({"code": code, "name": "Столовая, касса 1"}),
        )
        .await
        .ok_json();
    let token = enrolled["token"]
        .as_str()
        .expect("device token")
        .to_string();
    let staff = server
        .staff_token("social_pedagogue", DEMO_SCHOOL_BIN)
        .await;
    let list = server
        .get(
            &format!("/v1/schools/{DEMO_SCHOOL_BIN}/vouchers"),
            Some(&staff),
        )
        .await
        .ok_json();
    let id_of = |name: &str| -> String {
        let v: Option<&Value> = list["vouchers"]
            .as_array()
            .expect("vouchers")
            .iter()
            .find(|v| v["student"]["full_name"] == name);
        v.expect("voucher")["id"].as_str().expect("id").to_string()
    };
    let now = common::story_now().to_offset(ASTANA);
    let event = |n: u32, voucher: String| {
        json!({
            "event_id": format!("01937000-0000-7000-8000-{n:012x}"),
            "voucher_id": voucher, "slot": "day", "service_day": now.date().to_string(),
            "served_at": rfc3339(now), "method": "card",
        })
    };
    let answer = server
        .post_json(
            "/v1/terminals/meals",
            Some(&token),
            &json!({"events": [event(1, id_of(AIGERIM)), event(2, id_of(AIGERIM)), event(3, id_of(DANA))],
                    "unsent_after": 2}),
        )
        .await
        .ok_json();
    let statuses: Vec<&str> = answer["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["status"].as_str().expect("status"))
        .collect();
    assert_eq!(statuses, ["accepted", "duplicate", "rejected"], "{answer}");
}

#[tokio::test]
async fn staff_work_in_the_console_in_a_browser() {
    if let Err(why) = webdriver::available() {
        if std::env::var("REQUIRE_CHROMIUM").is_ok_and(|v| v == "1") {
            panic!("REQUIRE_CHROMIUM=1 but {why}");
        }
        println!("SKIPPED console_e2e: {why}");
        return;
    }
    let data = tests::private_tempdir();
    let server = Server::demo(data.path());
    let console_line = server.stdout.iter().find(|l| l.contains("/console/"));
    assert!(
        console_line.is_some(),
        "the banner prints the console URL: {:?}",
        server.stdout
    );
    let driver = Driver::start().await;
    let browser = driver.browser(1366, 768).await;
    let base = server.url(&format!("/console/schools/{DEMO_SCHOOL_BIN}"));
    social_pedagogue_day(&browser, &server, &base).await;
    director_approves(&browser, &server, &base).await;
    other_school_sees_nothing(&browser, &server, &base).await;
    browser.quit().await;
    drop(driver);
    server.stop();
}

/// The social pedagogue: sign-in, terminal code and meals, Today, a card, the табель and
/// its PDF, reports, Kazakh, sign-out.
async fn social_pedagogue_day(browser: &Browser, server: &Server, base: &str) {
    // Sign-in page, then the demo provider's page: social pedagogue of the demo school.
    browser.goto(&server.url("/console/")).await;
    browser.css("#sign-in").await;
    assert!(browser.url().await.ends_with("/console/login"));
    shot(browser, "01-sign-in.png").await;
    sign_in(
        browser,
        server,
        "social_pedagogue",
        DEMO_SCHOOL_BIN,
        Some("02-demo-sign-in.png"),
    )
    .await;
    assert!(browser
        .url()
        .await
        .ends_with(&format!("/console/schools/{DEMO_SCHOOL_BIN}/today")));

    // Terminals: a code, shown large; a terminal enrolls with it and pushes meals.
    browser.goto(&format!("{base}/terminals")).await;
    browser.css("#create-code").await.click().await;
    let code = browser.css("#enrollment-code").await.text().await;
    assert_eq!(code.len(), 14, "XXXX-XXXX-XXXX: {code}");
    terminal_pushes(server, &code).await;
    browser.goto(&format!("{base}/terminals")).await;
    let terminals = browser.css("#terminals").await.text().await;
    assert!(
        terminals.contains("Столовая, касса 1") && terminals.contains('2'),
        "{terminals}"
    );
    shot(browser, "05-terminals.png").await;

    // Today: one meal served, one student fed, a duplicate and an inactive voucher refused.
    browser.goto(&format!("{base}/today")).await;
    assert_eq!(browser.css("#meals-served").await.text().await, "1");
    assert_eq!(browser.css("#students-fed").await.text().await, "1");
    let text = browser.text().await;
    assert!(
        text.contains("Повторно в тот же день") && text.contains("Ваучер не действует"),
        "{text}"
    );
    shot(browser, "03-today.png").await;

    // Students: bind a card to Dana.
    browser.goto(&format!("{base}/students")).await;
    let row = format!("//tr[th[contains(., '{DANA}')]]");
    browser
        .xpath(&format!("{row}//input[@name='card_uid']"))
        .await
        .type_text("0102abcdef")
        .await;
    browser
        .xpath(&format!("{row}//button[@type='submit']"))
        .await
        .click()
        .await;
    browser.css(".flash.done").await;
    let row_text = browser.xpath(&row).await.text().await;
    assert!(row_text.contains("0102ABCDEF"), "{row_text}");
    shot(browser, "04-students.png").await;
    browser.resize(390, 844).await;
    shot(browser, "04b-students-phone.png").await;
    browser.resize(1366, 768).await;

    // Табель: the grid with Aigerim's meal, and the PDF download.
    browser.goto(&format!("{base}/tabel")).await;
    let grid = browser.css("#tabel-grid").await.text().await;
    assert!(grid.contains(AIGERIM) && grid.contains('✓'), "{grid}");
    shot(browser, "06-tabel.png").await;
    let pdf_link = browser
        .css("a[href*='format=pdf']")
        .await
        .attribute("href")
        .await
        .expect("href");
    let session = browser.cookie("sw_console").await;
    let pdf = send(
        client()
            .get(server.url(pdf_link.trim_start_matches(&server.base)))
            .header("cookie", format!("sw_console={session}")),
    )
    .await;
    assert_eq!(pdf.status, 200);
    assert!(pdf.bytes.starts_with(b"%PDF"), "a PDF табель");

    // Reports, and the switch to Kazakh.
    browser.goto(&format!("{base}/reports")).await;
    browser.css("#reports").await;
    shot(browser, "07-reports.png").await;
    browser.css("button[value='kk']").await.click().await;
    browser.css("html[lang='kk']").await;
    assert!(browser
        .text()
        .await
        .contains("Соңғы 30 күндегі күнделікті есептер"));
    shot(browser, "08-reports-kk.png").await;
    sign_out(browser).await;
}

/// The director, on the 1st of next month, approves this month after confirming.
async fn director_approves(browser: &Browser, server: &Server, base: &str) {
    // The director on the 1st of next month approves this month after confirming.
    let now = common::story_now().to_offset(ASTANA);
    let month = format!("{}-{:02}", now.year(), u8::from(now.month()));
    let next = (now.date().replace_day(1).expect("1st") + time::Duration::days(32))
        .replace_day(1)
        .expect("1st")
        .with_hms(9, 0, 0)
        .expect("09:00")
        .assume_offset(ASTANA);
    let moved = server
        .post_json("/dev/clock", None, &json!({"now": rfc3339(next)}))
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    sign_in(browser, server, "director", DEMO_SCHOOL_BIN, None).await;
    browser.goto(&format!("{base}/tabel?month={month}")).await;
    browser.css("#approve").await.click().await;
    browser.css("#confirm-approve").await;
    shot(browser, "09-approve-confirm.png").await;
    browser.css("#confirm-approve").await.click().await;
    let stamp = browser.css("#approval-stamp").await.text().await;
    assert!(
        stamp.contains("Утверждён") && stamp.contains("SHA-256"),
        "{stamp}"
    );
    shot(browser, "10-tabel-approved.png").await;
    sign_out(browser).await;
}

/// Another school's social pedagogue: its own pupils only; the first school's pages 404.
async fn other_school_sees_nothing(browser: &Browser, server: &Server, base: &str) {
    // Another school's social pedagogue: its own pupils only; the first school's pages 404.
    sign_in(browser, server, "social_pedagogue", OTHER_SCHOOL_BIN, None).await;
    browser
        .goto(&server.url(&format!("/console/schools/{OTHER_SCHOOL_BIN}/students")))
        .await;
    let own = browser.css("#students").await.text().await;
    assert!(
        own.contains("Омаров Тимур") && !own.contains("Сапаров"),
        "{own}"
    );
    for page in ["today", "students", "tabel", "terminals", "reports"] {
        browser.goto(&format!("{base}/{page}")).await;
        let source = browser.source().await;
        assert!(source.contains("Страница не найдена"), "{page}: {source}");
        assert!(
            !source.contains("Сапаров")
                && !source.contains("Ким Дана")
                && !source.contains("Столовая"),
            "{page}"
        );
    }
    shot(browser, "11-other-school-not-found.png").await;
}
