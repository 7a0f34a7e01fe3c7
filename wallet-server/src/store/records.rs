//! The meal rule as the store calls it while it stores a pushed batch.

use crate::domain::meal::VoucherFacts;

/// Decides whether a meal event is rejected (the reason) given the facts; `None` = valid.
/// The store calls it inside the push transaction; the rules live in `meals.rs`.
pub type MealJudge<'a> = &'a (dyn Fn(
    &shared::sync::MealEvent,
    Option<&VoucherFacts>,
    &[shared::sync::MealSlot],
) -> Option<String>
         + Sync);
