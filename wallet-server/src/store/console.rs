//! What the school console needs from storage beyond the API's capabilities: signed-in
//! staff sessions, each staff member's language, a school's meals of one day (the "Today"
//! page) and unbinding an ID card. Each method is one transaction.

use async_trait::async_trait;
use shared::{Bin, CardUid, Iin};
use time::{Date, OffsetDateTime};

use super::StoreError;
use crate::domain::audit::Actor;
use crate::domain::consent::Language;
use crate::domain::meal::MealStatus;
use crate::domain::Role;

/// A console session. Only the SHA-256 of the session id (the cookie) is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    pub id_hash: String,
    /// The staff member's subject at the identity provider.
    pub subject: String,
    /// The staff member's name from the identity provider's claims, when it gave one.
    pub name: Option<String>,
    pub role: Role,
    pub school: Bin,
    /// The token every form of this session must carry.
    pub csrf_token: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// One meal of a school's day, as the "Today" page counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayMeal {
    pub event_id: uuid::Uuid,
    pub student: Iin,
    /// The student's name and class (empty when the student is not on file).
    pub student_name: String,
    pub class_label: String,
    pub slot: String,
    pub served_at: OffsetDateTime,
    /// `qr`, `card` or `manual`.
    pub method: String,
    pub status: MealStatus,
    pub reason: Option<String>,
}

/// The console's storage capability.
#[async_trait]
pub trait ConsoleStore: Send + Sync {
    /// Stores a new session (and forgets sessions that expired before its start).
    async fn create_console_session(&self, session: &ConsoleSession) -> Result<(), StoreError>;
    /// The session with this id hash, unless it expired at `now`.
    async fn console_session(
        &self,
        id_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<ConsoleSession>, StoreError>;
    /// Ends a session (idempotent).
    async fn delete_console_session(&self, id_hash: &str) -> Result<(), StoreError>;
    async fn staff_language(&self, subject: &str) -> Result<Option<Language>, StoreError>;
    async fn set_staff_language(
        &self,
        subject: &str,
        language: Language,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Every meal (all statuses) of a school with this service day.
    async fn meals_of_school_day(&self, school: Bin, day: Date)
        -> Result<Vec<DayMeal>, StoreError>;
    /// Students on the school's school-meals list of `period` (`YYYY-MM`), with or without
    /// a voucher yet.
    async fn listed_students(&self, school: Bin, period: &str) -> Result<Vec<Iin>, StoreError>;
    /// Unbinds the student's card (the student must be of `school`, else `NotFound`);
    /// returns the card that was bound, `None` if there was none (nothing changes then).
    async fn unbind_card(
        &self,
        school: Bin,
        student: Iin,
        by: &Actor,
        at: OffsetDateTime,
    ) -> Result<Option<CardUid>, StoreError>;
}

/// A stored role word back to the role.
pub(crate) fn parse_role(word: &str) -> Result<Role, StoreError> {
    match word {
        "social_pedagogue" => Ok(Role::SocialPedagogue),
        "director" => Ok(Role::Director),
        _ => Err(StoreError::Corrupt("stored console role".into())),
    }
}
