//! The web layer: the JSON API (`api`), the school console (`console`), who is calling
//! (`auth`), the one error type both answer with (`error`), and the state handlers share.

pub mod api;
pub mod auth;
pub mod console;
pub mod error;
mod state;

pub use state::{AppState, DemoTools};

use axum::http::header::{CACHE_CONTROL, X_CONTENT_TYPE_OPTIONS};
use axum::http::HeaderValue;
use axum::response::Response;

/// The whole application: the JSON API and the school console, on one router.
pub fn router(state: AppState) -> axum::Router {
    let pages = console::router(&state);
    api::router(state, pages).layer(axum::middleware::map_response(private_by_default))
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
