//! The parent's event feed (issue 19): `GET /v1/wallet/events?after=…&limit=…` — meals,
//! refused scans and voucher changes of the parent's own children, for the app to poll (or
//! to turn into a push). No names and no IINs: each event names its voucher, which the
//! parent's `GET /v1/wallet/vouchers` already shows with the child.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiJson;
use crate::domain::feed::{FeedCursor, FeedEvent, FeedItem};
use crate::web::auth::Parent;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_wallet_events))
}

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// The `next` of the previous answer; absent: from the first event.
    #[param(pattern = r"^[0-9]{1,19}\.[0-3]\.[0-9a-f-]{0,80}$")]
    pub after: Option<String>,
    /// At most this many events (1 to 200; 50 when absent).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// One event of a child.
#[derive(Serialize, ToSchema)]
pub struct WalletEvent {
    /// This event's place in the feed: pass it as `after` to get what came after it.
    pub cursor: String,
    #[schema(format = Uuid)]
    pub voucher_id: String,
    /// When it happened (served, scanned, changed).
    #[schema(format = DateTime)]
    pub at: String,
    pub event: FeedItem,
}

impl From<FeedEvent> for WalletEvent {
    fn from(e: FeedEvent) -> Self {
        WalletEvent {
            cursor: e.cursor.encode(),
            voucher_id: e.voucher.to_string(),
            at: super::rfc3339(e.at),
            event: e.item,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct WalletEvents {
    /// In the order the server recorded them (a meal synced late comes late).
    pub events: Vec<WalletEvent>,
    /// Where to go on: the last event's cursor, or `after` itself when nothing is new.
    pub next: String,
}

/// Meals (accepted, duplicate or rejected, with the reason), refused scans (with the
/// terminal's reason) and voucher changes of the children the caller represents, after a
/// cursor.
#[utoipa::path(get, path = "/v1/wallet/events", tag = "wallet",
    params(EventsQuery),
    security(("bearer" = [])),
    responses((status = 200, body = WalletEvents),
        (status = 400, description = "invalid_query (an unknown parameter, or a limit that is \
            not 1 to 200) or invalid_cursor (not a cursor this feed handed out)", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_wallet_events(
    State(state): State<AppState>,
    parent: Parent,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<ApiJson<WalletEvents>, ApiError> {
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "limit must be 1 to 200",
        ));
    }
    let after = match &query.after {
        Some(text) => FeedCursor::parse(text)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_cursor", e.to_string()))?,
        None => FeedCursor::start(),
    };
    let found = state.store.wallet_events(parent.iin, &after, limit).await?;
    let next = found
        .last()
        .map(|e| e.cursor.encode())
        .unwrap_or_else(|| after.encode());
    Ok(ApiJson(WalletEvents {
        events: found.into_iter().map(WalletEvent::from).collect(),
        next,
    }))
}
