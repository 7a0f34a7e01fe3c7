//! The school console: the web pages social pedagogues and directors work in, in Russian
//! and Kazakh, rendered on the server (maud) with one small stylesheet and no JavaScript,
//! served by `wallet-server` itself under `/console` — HTML, so not in the OpenAPI document.
//!
//! Staff sign in through the identity provider (OpenID Connect, `oidc.rs`; in `--demo` the
//! server's own development provider, `dev_oidc.rs`). Sessions and CSRF: `session.rs`.
//! Every page reuses the services and store capabilities the API uses (табель service,
//! terminals, card binding, daily reports, consent), so the rules live in one place.

pub mod dev_oidc;
mod error;
mod i18n;
mod layout;
mod oidc;
mod pages;
mod session;
pub mod settings;

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

pub use settings::ConsoleSettings;

use crate::domain::consent::Language;
use crate::web::AppState;
use error::ConsoleError;
use session::{ConsoleForm, Staff};

/// The console's routes (and, with `--demo`, the development OpenID provider's).
pub fn router(state: &AppState) -> Router<AppState> {
    use pages::{calendar, counter, reports, signals, signin, students, tabel, terminals, today};
    let school = |path: &str| format!("/console/schools/{{bin}}{path}");
    let mut router = Router::new()
        .route("/console", get(home))
        .route("/console/", get(home))
        .route("/console/assets/console.css", get(stylesheet))
        .route("/console/login", get(signin::page))
        .route("/console/auth/start", get(signin::start))
        .route("/console/auth/callback", get(signin::callback))
        .route("/console/logout", post(signin::logout))
        .route("/console/lang", post(switch_language))
        .route(&school("/today"), get(today::page))
        .route(&school("/today/void"), post(counter::void))
        .route(&school("/today/shift"), post(counter::set_shift))
        .route(&school("/students/alert"), post(counter::set_alert))
        .route(&school("/students"), get(students::page))
        .route(&school("/students.csv"), get(students::csv))
        .route(&school("/students/card"), post(students::bind))
        .route(&school("/students/unbind"), post(students::unbind))
        .route(&school("/tabel"), get(tabel::page))
        .route(&school("/tabel/download"), get(tabel::download))
        .route(
            &school("/tabel/approve"),
            get(tabel::confirm).post(tabel::approve),
        )
        .route(
            &school("/terminals"),
            get(terminals::page).post(terminals::create),
        )
        .route(&school("/terminals/revoke"), post(terminals::revoke))
        .route(&school("/reports"), get(reports::page))
        .route(&school("/tabel/confirm-meal"), post(tabel::confirm_meal))
        .route(&school("/calendar"), get(calendar::page))
        .route(&school("/signals"), get(signals::page))
        .route(&school("/calendar/week"), post(calendar::set_week))
        .route(&school("/calendar/break"), post(calendar::set_break))
        .route(
            &school("/calendar/break/remove"),
            post(calendar::remove_break),
        );
    if state.demo.is_some() {
        router = router.merge(dev_oidc::routes());
    }
    router
}

async fn stylesheet() -> Response {
    (
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (CACHE_CONTROL, HeaderValue::from_static("max-age=3600")),
        ],
        include_str!("../../../assets/console/console.css"),
    )
        .into_response()
}

/// `/console/`: the staff member's "Today" page, or sign-in.
async fn home(staff: Result<Staff, ConsoleError>) -> Redirect {
    match staff {
        Ok(staff) => Redirect::to(&format!("/console/schools/{}/today", staff.session.school)),
        Err(_) => Redirect::to("/console/login"),
    }
}

#[derive(Deserialize)]
struct LanguageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    back: String,
}

/// Remembers the staff member's language, then shows the same page again.
async fn switch_language(
    State(state): State<AppState>,
    staff: Staff,
    ConsoleForm(form): ConsoleForm<LanguageForm>,
) -> Result<Redirect, ConsoleError> {
    staff.check_csrf(&form.csrf)?;
    let lang: Language = form.lang.parse().map_err(|_| ConsoleError::BadRequest)?;
    state
        .store
        .set_staff_language(&staff.session.subject, lang, state.clock.now())
        .await?;
    Ok(Redirect::to(
        console_path(&form.back).unwrap_or("/console/"),
    ))
}

/// `raw` when it is a path to a console page of this server that can go into a `Location`
/// header as it is: no scheme or host, no `//` or `\` a browser would read as another host,
/// and only visible ASCII (a CR, LF or NUL would make the header invalid: once a 500).
fn console_path(raw: &str) -> Option<&str> {
    let visible = raw.bytes().all(|b| b.is_ascii_graphic());
    (raw.starts_with("/console/") && visible && !raw.contains("//") && !raw.contains('\\'))
        .then_some(raw)
}

#[cfg(test)]
mod tests {
    use super::console_path;

    #[test]
    fn only_a_console_path_fit_for_a_header_is_followed() {
        for good in [
            "/console/",
            "/console/schools/050140001238/tabel?month=2026-11",
        ] {
            assert_eq!(console_path(good), Some(good));
        }
        for bad in [
            "",
            "/",
            "//evil.example/console/",
            "/console//evil.example",
            "/console/\\evil.example",
            "/\\evil.example/console/",
            "https://evil.example/console/",
            "/console/x\r\nSet-Cookie: a=b",
            "/console/x\0",
            "/console/ x",
            "/console/табель",
        ] {
            assert_eq!(console_path(bad), None, "{bad:?}");
        }
    }
}
