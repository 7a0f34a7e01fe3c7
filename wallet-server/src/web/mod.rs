//! The web layer: the JSON API (`api`), the school console (`console`), who is calling
//! (`auth`), the one error type both answer with (`error`), the state handlers share, and
//! the HTTP server they run in (`listen`, over TLS with `tls`).

pub mod api;
pub mod auth;
pub mod console;
pub mod error;
pub mod listen;
mod state;
pub mod tls;

pub use state::{AppParts, AppState, DemoTools};

use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The whole application: the JSON API and the school console, on one router.
pub fn router(state: AppState) -> axum::Router {
    let pages = console::router(&state);
    api::router(state, pages)
        .layer(axum::middleware::from_fn(limit_headers))
        .layer(axum::middleware::map_response(private_by_default))
}

/// A request head over [`listen::MAX_HEADER_BYTES`] is answered `431 headers_too_large`
/// with our error body, before any extractor reads a header (hyper alone would answer an
/// empty `431`, see `listen.rs`).
async fn limit_headers(request: Request, next: Next) -> Response {
    // Each line is `name: value\r\n`.
    let size: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if size > listen::MAX_HEADER_BYTES {
        return error::ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!(
                "the request's headers hold {size} bytes; at most {} are taken",
                listen::MAX_HEADER_BYTES
            ),
        )
        .into_response();
    }
    next.run(request).await
}

/// Almost every answer carries personal data (names, meals, табели, error bodies that echo
/// input), so no answer is stored by a browser or proxy, nor sniffed as another type, unless
/// its handler chose a policy of its own (the console's stylesheet is cached an hour). Set
/// here once, outermost, so a new route cannot forget it.
async fn private_by_default(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    headers
        .entry(X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    response
}
