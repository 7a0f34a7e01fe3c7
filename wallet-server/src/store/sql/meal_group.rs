//! Several terminals' pushes in one write transaction: the store's half of the group commit
//! (`services::meal_pushes` gathers the pushes waiting at one moment). Each push is applied
//! exactly as on its own — its denials, its meals (`meal_push`), its voids (`meal_void`) —
//! in arrival order, on the one transaction, so a push sees every row of the pushes before it
//! (two pushes of one student's lunch: the first is accepted, the second a duplicate). One
//! commit answers them all; a failure keeps none of them.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::future::Future;

use shared::sync::{MealBatchResult, MealSlot};
use shared::Bin;

use crate::store::{MealPush, StoreError};

/// How often a push (or a group) aborted by a deadlock is tried in all.
const ATTEMPTS: u32 = 5;

super::per_backend! {
    /// Runs `attempt` again while the database aborts it as a deadlock. Pushes of a school
    /// take turns (`lock_school_pushes`), but on PostgreSQL a student's meals can still meet
    /// across schools (a student who moved); nothing of an aborted attempt is kept. SQLite's
    /// writers queue on one lock and never deadlock (`is_deadlock` is false).
    pub(in crate::store) async fn retrying_deadlocks<T, F, Fut>(
        mut attempt: F,
    ) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let mut n = 1;
        loop {
            match attempt().await {
                Err(e) if n < ATTEMPTS && is_deadlock(&e) => {
                    tracing::warn!(attempt = n, error = %e, "meal push aborted by a deadlock; retrying");
                    n += 1;
                }
                other => return other,
            }
        }
    }

    /// One attempt at a group of pushes, in one write transaction.
    pub(in crate::store) async fn record_once(
        store: &Store,
        pushes: &[MealPush<'_>],
    ) -> Result<Vec<MealBatchResult>, StoreError> {
        let mut tx = write(store).await?;
        // Every school's push lock first, in one order in every process: two servers' groups
        // never wait on each other's locks in a cycle.
        let schools: BTreeSet<Bin> = pushes.iter().map(|p| p.terminal.school).collect();
        for school in &schools {
            lock_school_pushes(&mut tx, *school).await?;
        }
        let mut slots: HashMap<Bin, Vec<MealSlot>> = HashMap::new();
        let mut out = Vec::with_capacity(pushes.len());
        for push in pushes {
            let school = push.terminal.school;
            if let Entry::Vacant(e) = slots.entry(school) {
                e.insert(meal_push::slots_of(&mut tx, school).await?);
            }
            let school_slots = slots.get(&school).map(Vec::as_slice).unwrap_or_default();
            out.push(apply(&mut tx, push, school_slots).await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// One push inside the group's transaction: denials, then meals, then voids (a void may
    /// name a meal of the same push).
    async fn apply(
        conn: &mut Conn,
        push: &MealPush<'_>,
        slots: &[MealSlot],
    ) -> Result<MealBatchResult, StoreError> {
        let (terminal, batch, now) = (push.terminal, push.batch, push.now);
        signals::denials_in(conn, terminal, &batch.denials, now).await?;
        let results = meal_push::push_meals_in(conn, terminal, batch, now, slots, push.judge).await?;
        let voids = meal_void::terminal_voids_in(conn, terminal, &batch.voids, now).await?;
        Ok(MealBatchResult { results, voids })
    }
}
