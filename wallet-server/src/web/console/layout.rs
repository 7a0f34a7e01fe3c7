//! The frame every console page shares: security headers, the header with the school, the
//! role, the language switch and sign-out, the navigation, the open табель notices (until
//! their month is approved), and a message line. Also the
//! small formatting helpers (Astana dates and times, tenge).

use axum::http::header::{self, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};
use shared::Bin;
use time::{Date, OffsetDateTime};

use super::error::ConsoleError;
use super::i18n::T;
use super::session::Staff;
use crate::domain::consent::Language;
use crate::domain::Role;
use crate::services::tabel::notices::{self, OpenNotice};
use crate::web::AppState;

/// Headers of every console page: HTML, nothing from elsewhere, never cached, never framed.
pub fn html_headers() -> [(HeaderName, HeaderValue); 6] {
    [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
                 frame-ancestors 'none'; base-uri 'none'",
            ),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    ]
}

/// Which navigation entry is the current page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Today,
    Students,
    Tabel,
    Terminals,
    Reports,
    Calendar,
    Signals,
}

/// A message at the top of a page.
#[derive(Debug, Clone, Copy)]
pub enum Flash {
    Done(T),
    Problem(T),
}

/// What every page of one school needs.
pub struct Ctx {
    pub staff: Staff,
    pub bin: Bin,
    pub school_name: String,
    /// Табель notices whose month is not approved: shown on every page.
    pub notices: Vec<OpenNotice>,
}

impl Ctx {
    /// The staff member's own school (another BIN in the URL: not found).
    pub async fn load(state: &AppState, staff: Staff, bin: &str) -> Result<Ctx, ConsoleError> {
        let bin = staff.own_school(bin)?;
        let school = state
            .store
            .school(bin)
            .await?
            .ok_or(ConsoleError::NotFound)?;
        let notices = notices::open_for(state.store.as_ref(), bin).await?;
        Ok(Ctx {
            staff,
            bin,
            school_name: school.name,
            notices,
        })
    }

    pub fn t(&self, t: T) -> &'static str {
        t.get(self.staff.lang)
    }

    pub fn lang(&self) -> Language {
        self.staff.lang
    }

    /// `/console/schools/<BIN>`
    pub fn base(&self) -> String {
        format!("/console/schools/{}", self.bin)
    }

    pub fn csrf(&self) -> &str {
        &self.staff.session.csrf_token
    }

    /// The hidden CSRF field of a form.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.csrf()); }
    }
}

fn nav_items(ctx: &Ctx) -> [(Nav, T, String); 7] {
    let base = ctx.base();
    [
        (Nav::Today, T::NavToday, format!("{base}/today")),
        (Nav::Students, T::NavStudents, format!("{base}/students")),
        (Nav::Tabel, T::NavTabel, format!("{base}/tabel")),
        (Nav::Terminals, T::NavTerminals, format!("{base}/terminals")),
        (Nav::Reports, T::NavReports, format!("{base}/reports")),
        (Nav::Calendar, T::NavCalendar, format!("{base}/calendar")),
        (Nav::Signals, T::NavSignals, format!("{base}/signals")),
    ]
}

/// A whole page of the console.
pub fn page(ctx: &Ctx, nav: Nav, title: &str, flash: Option<Flash>, body: Markup) -> Response {
    let lang = ctx.lang();
    let role = match ctx.staff.session.role {
        Role::Director => T::RoleDirector,
        _ => T::RoleSocialPedagogue,
    };
    let back = nav_items(ctx)
        .into_iter()
        .find(|(n, _, _)| *n == nav)
        .map(|(_, _, href)| href)
        .unwrap_or_default();
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.as_str()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — " (ctx.t(T::AppName)) }
                link rel="stylesheet" href="/console/assets/console.css";
            }
            body {
                a class="skip" href="#main" { (ctx.t(T::SkipToContent)) }
                header class="top" {
                    div class="brand" {
                        strong { (ctx.t(T::AppName)) }
                        span class="school" { (ctx.school_name) " · БИН " (ctx.bin) }
                    }
                    div class="who" {
                        span class="role" { (ctx.t(role)) }
                        form method="post" action="/console/lang" class="inline" {
                            (ctx.csrf_field())
                            input type="hidden" name="back" value=(back);
                            span class="sr-only" { (ctx.t(T::Language)) }
                            button type="submit" name="lang" value="ru" aria-pressed=(lang == Language::Ru) { "Русский" }
                            button type="submit" name="lang" value="kk" aria-pressed=(lang == Language::Kk) { "Қазақша" }
                        }
                        form method="post" action="/console/logout" class="inline" {
                            (ctx.csrf_field())
                            button type="submit" id="sign-out" { (ctx.t(T::SignOut)) }
                        }
                    }
                }
                nav class="main" aria-label=(ctx.t(T::AppName)) {
                    ul {
                        @for (n, label, href) in nav_items(ctx) {
                            li {
                                @if n == nav {
                                    a href=(href) aria-current="page" { (ctx.t(label)) }
                                } @else {
                                    a href=(href) { (ctx.t(label)) }
                                }
                            }
                        }
                    }
                }
                main id="main" tabindex="-1" {
                    (notices_box(ctx))
                    h1 { (title) }
                    @match flash {
                        Some(Flash::Done(t)) => p class="flash done" role="status" { (ctx.t(t)) },
                        Some(Flash::Problem(t)) => p class="flash problem" role="alert" { (ctx.t(t)) },
                        None => {},
                    }
                    (body)
                }
            }
        }
    };
    (html_headers(), markup).into_response()
}

/// The open табель notices, each with a link to its month.
fn notices_box(ctx: &Ctx) -> Markup {
    if ctx.notices.is_empty() {
        return html! {};
    }
    html! {
        section class="notices" id="tabel-notices" role="status" aria-label=(ctx.t(T::Notices)) {
            ul {
                @for n in &ctx.notices {
                    li class="notice" data-month=(n.month.to_string()) {
                        @match ctx.lang() {
                            Language::Kk => (n.text_kk),
                            _ => (n.text_ru),
                        }
                        " "
                        a href=(format!("{}/tabel?month={}", ctx.base(), n.month)) { (ctx.t(T::OpenTabel)) }
                    }
                }
            }
        }
    }
}

/// `24.11.2026`
pub fn date(d: Date) -> String {
    format!("{:02}.{:02}.{}", d.day(), u8::from(d.month()), d.year())
}

/// `24.11.2026 12:30` in Astana time.
pub fn instant(t: OffsetDateTime) -> String {
    let t = t.to_offset(shared::time::ASTANA);
    format!("{} {:02}:{:02}", date(t.date()), t.hour(), t.minute())
}

/// Tiyn as tenge: `12 800,00 ₸`.
pub fn tenge(tiyn: i64) -> String {
    let whole = (tiyn / 100).abs().to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push('\u{a0}');
        }
        grouped.push(c);
    }
    let sign = if tiyn < 0 { "-" } else { "" };
    format!("{sign}{grouped},{:02}\u{a0}₸", (tiyn % 100).abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_dates_read_as_in_kazakhstan() {
        assert_eq!(tenge(1_280_000), "12\u{a0}800,00\u{a0}₸");
        assert_eq!(tenge(80_050), "800,50\u{a0}₸");
        assert_eq!(date(time::macros::date!(2026 - 11 - 04)), "04.11.2026");
        assert_eq!(
            instant(time::macros::datetime!(2026-11-24 07:30 UTC)),
            "24.11.2026 12:30"
        );
    }
}
