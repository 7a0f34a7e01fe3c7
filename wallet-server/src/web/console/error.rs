//! What a console page answers when it cannot do what was asked: an HTML page in both
//! languages (the visitor's language may not be known yet) with the fitting status, or a
//! redirect to sign-in. Nothing here ever shows another school's data or internal details.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup, DOCTYPE};

use super::i18n::T;
use crate::domain::consent::Language;
use crate::store::StoreError;

/// Why a console request ends without its page.
#[derive(Debug)]
pub enum ConsoleError {
    /// No session, or an expired one: go and sign in.
    SignIn,
    /// Unknown page, or another school's.
    NotFound,
    /// Signed in, but the role may not do this.
    Forbidden(T),
    /// The form's CSRF token is missing or wrong: nothing was changed.
    Csrf,
    /// The request could not be understood.
    BadRequest,
    /// Sign-in through the identity provider failed (the reason is logged).
    SignInFailed,
    Internal,
}

impl From<StoreError> for ConsoleError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ConsoleError::NotFound,
            other => {
                tracing::error!(error = %other, "console: store error");
                ConsoleError::Internal
            }
        }
    }
}

/// A bare page for errors and sign-in: both languages, no navigation.
pub fn bare_page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="ru" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href="/console/assets/console.css";
            }
            body {
                main id="main" class="narrow" { (body) }
            }
        }
    }
}

fn both(t: T) -> Markup {
    html! {
        span lang="ru" { (t.get(Language::Ru)) }
        " / "
        span lang="kk" { (t.get(Language::Kk)) }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, title, text) = match &self {
            ConsoleError::SignIn => {
                return Redirect::to("/console/login?expired=1").into_response()
            }
            ConsoleError::NotFound => (StatusCode::NOT_FOUND, T::NotFoundTitle, T::NotFoundText),
            ConsoleError::Forbidden(why) => (StatusCode::FORBIDDEN, T::ForbiddenTitle, *why),
            ConsoleError::Csrf => (StatusCode::FORBIDDEN, T::CsrfTitle, T::CsrfText),
            ConsoleError::BadRequest => (
                StatusCode::BAD_REQUEST,
                T::BadRequestTitle,
                T::BadRequestText,
            ),
            ConsoleError::SignInFailed => (
                StatusCode::BAD_REQUEST,
                T::SignInFailed,
                T::SignInFailedText,
            ),
            ConsoleError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                T::ErrorTitle,
                T::InternalText,
            ),
        };
        let page = bare_page(
            title.get(Language::Ru),
            html! {
                h1 { (both(title)) }
                p class="error" role="alert" {
                    (text.get(Language::Ru)) br;
                    span lang="kk" { (text.get(Language::Kk)) }
                }
                p { a href="/console/" { (both(T::BackToConsole)) } }
            },
        );
        (status, super::layout::html_headers(), page).into_response()
    }
}
