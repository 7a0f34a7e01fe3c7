//! `ApiJson<T>`: axum's JSON extractor and response, but with our error shape when the
//! body is missing, malformed, too large or of the wrong content type.

use axum::extract::FromRequest;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// JSON body in, JSON body out.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl<T: serde::Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}
