//! How a meal was identified at the canteen and what the server decided about it.

/// How a student was identified at the canteen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MealMethod {
    Qr,
    Card,
}

super::words!(MealMethod, "meal method", { Qr => "qr", Card => "card" });

/// The server's verdict on a meal event.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MealStatus {
    Accepted,
    Duplicate,
    Rejected,
}

super::words!(MealStatus, "meal status", {
    Accepted => "accepted", Duplicate => "duplicate", Rejected => "rejected",
});
