//! Taking a meal back (issue 19): what a void answers, decided purely from the stored meal.
//!
//! A terminal voids its own meals within [`VOID_WINDOW`] of serving them (the worker's
//! mistake); staff void from the console at any time. Before the meal's month is approved the
//! meal leaves the табель; after, the табель is frozen, so the void becomes the next month's
//! adjustment. A void already applied answers what it answered the first time.

use shared::counter::VoidVerdict;
use time::{Duration, OffsetDateTime};

use super::MealStatus;

/// How long after `served_at` a terminal may void a meal (the terminal offers 5 minutes; the
/// server allows for a slow push).
pub const VOID_WINDOW: Duration = Duration::minutes(10);

/// The stored meal a void names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoidTarget {
    pub served_at: OffsetDateTime,
    pub status: MealStatus,
    /// What an earlier void of this meal answered.
    pub void_kind: Option<VoidVerdict>,
}

/// Why a void is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoidRefusal {
    /// No meal of this terminal (or school, for staff) has that id.
    UnknownMeal,
    /// A terminal's void long after the meal was served.
    TooLate,
}

impl VoidRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            VoidRefusal::UnknownMeal => "unknown_meal",
            VoidRefusal::TooLate => "too_late",
        }
    }
}

/// What a void of `target` does. `terminal_voided_at` is the terminal's time of the void
/// (`None` for staff, who have no window); `month_approved` whether the meal's month is.
pub fn void_verdict(
    target: Option<&VoidTarget>,
    terminal_voided_at: Option<OffsetDateTime>,
    month_approved: bool,
) -> Result<VoidVerdict, VoidRefusal> {
    let target = target.ok_or(VoidRefusal::UnknownMeal)?;
    if let Some(done) = target.void_kind {
        return Ok(done);
    }
    if terminal_voided_at.is_some_and(|at| at - target.served_at > VOID_WINDOW) {
        return Err(VoidRefusal::TooLate);
    }
    // Only a counted meal moves money; a duplicate or rejected one is just marked.
    if month_approved && target.status == MealStatus::Accepted {
        Ok(VoidVerdict::Adjustment)
    } else {
        Ok(VoidVerdict::Voided)
    }
}

/// The stored word of a verdict that was applied.
pub fn kind_word(verdict: VoidVerdict) -> Option<&'static str> {
    match verdict {
        VoidVerdict::Voided => Some("voided"),
        VoidVerdict::Adjustment => Some("adjustment"),
        VoidVerdict::Rejected => None,
    }
}

/// The inverse of [`kind_word`].
pub fn kind_of(word: &str) -> Option<VoidVerdict> {
    match word {
        "voided" => Some(VoidVerdict::Voided),
        "adjustment" => Some(VoidVerdict::Adjustment),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const SERVED: OffsetDateTime = datetime!(2026-11-24 07:00 UTC);

    fn meal(status: MealStatus) -> VoidTarget {
        VoidTarget {
            served_at: SERVED,
            status,
            void_kind: None,
        }
    }

    #[test]
    fn a_terminal_voids_within_ten_minutes_and_staff_at_any_time() {
        let accepted = meal(MealStatus::Accepted);
        let in_time = Some(SERVED + Duration::minutes(10));
        let late = Some(SERVED + Duration::minutes(11));
        assert_eq!(
            void_verdict(Some(&accepted), in_time, false),
            Ok(VoidVerdict::Voided)
        );
        assert_eq!(
            void_verdict(Some(&accepted), late, false),
            Err(VoidRefusal::TooLate)
        );
        assert_eq!(
            void_verdict(Some(&accepted), None, false),
            Ok(VoidVerdict::Voided)
        );
        assert_eq!(
            void_verdict(None, in_time, false),
            Err(VoidRefusal::UnknownMeal)
        );
    }

    #[test]
    fn after_approval_a_counted_meal_becomes_an_adjustment_and_replays_answer_the_same() {
        let accepted = meal(MealStatus::Accepted);
        assert_eq!(
            void_verdict(Some(&accepted), None, true),
            Ok(VoidVerdict::Adjustment)
        );
        assert_eq!(
            void_verdict(Some(&meal(MealStatus::Duplicate)), None, true),
            Ok(VoidVerdict::Voided)
        );
        let done = VoidTarget {
            void_kind: Some(VoidVerdict::Adjustment),
            status: MealStatus::Voided,
            ..accepted
        };
        // Replayed long after: the stored answer, not too_late.
        let much_later = Some(SERVED + Duration::days(3));
        assert_eq!(
            void_verdict(Some(&done), much_later, false),
            Ok(VoidVerdict::Adjustment)
        );
        assert_eq!(kind_of("adjustment"), Some(VoidVerdict::Adjustment));
        assert_eq!(kind_word(VoidVerdict::Rejected), None);
    }
}
