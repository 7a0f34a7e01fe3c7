//! `ApiPath<T>`: axum's path extractor, but a segment that cannot be read (e.g. `%FF`, not
//! UTF-8) answers like any other malformed id: our JSON `404`, never a plain-text `400`.

use axum::extract::rejection::PathRejection;
use axum::extract::FromRequestParts;

use crate::web::error::ApiError;

/// Path parameters, with our error shape.
#[derive(Debug, Clone, Copy, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        ApiError::not_found()
    }
}
