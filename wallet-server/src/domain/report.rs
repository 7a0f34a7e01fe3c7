//! The daily report to NOBD (DESIGN.md §7.1): one line per school and day.

use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

/// Where reports are addressed in the outbox.
pub const NOBD: &str = "nobd";

/// One school's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SchoolDay {
    pub bin: String,
    pub vouchers_formed: i64,
    pub vouchers_activated: i64,
    pub vouchers_revoked: i64,
    /// Billable meals.
    pub meals_served: i64,
    pub duplicates: i64,
    pub students_fed: i64,
}

/// The report of one day (DESIGN.md §7.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DailyReport {
    /// `YYYY-MM-DD`, Astana.
    #[schema(value_type = String)]
    pub date: Date,
    pub schools: Vec<SchoolDay>,
}
