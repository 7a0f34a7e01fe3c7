//! The web layer: the JSON API (`api`), the school console (`console`), who is calling
//! (`auth`), the one error type both answer with (`error`), and the state handlers share.

pub mod api;
pub mod auth;
pub mod console;
pub mod error;
mod state;

pub use state::{AppState, DemoTools};

/// The whole application: the JSON API and the school console, on one router.
pub fn router(state: AppState) -> axum::Router {
    let pages = console::router(&state);
    api::router(state, pages)
}
