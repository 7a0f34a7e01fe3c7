//! "Today": meals served so far by slot, distinct students fed, the terminals with their
//! last sync and unsent meals (as of their last push), and meals refused by reason.

use std::collections::{BTreeMap, HashSet};

use axum::extract::{Path, State};
use axum::response::Response;
use maud::html;

use crate::domain::meal::MealStatus;
use crate::web::console::error::ConsoleError;
use crate::web::console::i18n::{meal_reason, slot as slot_name, T};
use crate::web::console::layout::{self, date, instant, Ctx, Nav};
use crate::web::console::session::Staff;
use crate::web::AppState;

pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Path(bin): Path<String>,
) -> Result<Response, ConsoleError> {
    let ctx = Ctx::load(&state, staff, &bin).await?;
    let today = shared::time::service_day(state.clock.now());
    let meals = state.store.meals_of_school_day(ctx.bin, today).await?;
    let slots = crate::domain::meal::effective_slots(&state.store.meal_slots(ctx.bin).await?);
    let mut by_slot: BTreeMap<String, u32> = slots.iter().map(|s| (s.name.clone(), 0)).collect();
    let mut fed = HashSet::new();
    let mut refused: BTreeMap<String, u32> = BTreeMap::new();
    for m in &meals {
        if m.status == MealStatus::Accepted {
            *by_slot.entry(m.slot.clone()).or_default() += 1;
            fed.insert(m.student);
        } else {
            let code = match m.status {
                MealStatus::Duplicate => "duplicate".to_string(),
                _ => m.reason.clone().unwrap_or_else(|| "rejected".into()),
            };
            *refused.entry(code).or_default() += 1;
        }
    }
    let served: u32 = by_slot.values().sum();
    let terminals = state.store.terminals_of_school(ctx.bin).await?;
    let lang = ctx.lang();
    let title = format!("{} · {}", ctx.t(T::TodayTitle), date(today));
    let body = html! {
        div class="cards" {
            div class="card" { span class="big" id="meals-served" { (served) } (ctx.t(T::MealsServed)) }
            div class="card" { span class="big" id="students-fed" { (fed.len()) } (ctx.t(T::StudentsFed)) }
        }
        h2 { (ctx.t(T::BySlot)) }
        div class="scroll" { table {
            thead { tr { th scope="col" { (ctx.t(T::Slot)) } th scope="col" class="num" { (ctx.t(T::Meals)) } } }
            tbody { @for (slot, n) in &by_slot { tr { th scope="row" { (slot_name(slot, lang)) } td class="num" { (n) } } } }
        } }
        h2 { (ctx.t(T::NavTerminals)) }
        @if terminals.iter().all(|t| t.revoked_at.is_some()) {
            p class="muted" { (ctx.t(T::NoTerminals)) }
        } @else {
            div class="scroll" { table {
                thead { tr {
                    th scope="col" { (ctx.t(T::Terminal)) }
                    th scope="col" { (ctx.t(T::LastSync)) }
                    th scope="col" class="num" { (ctx.t(T::Unsent)) }
                } }
                tbody { @for t in terminals.iter().filter(|t| t.revoked_at.is_none()) { tr {
                    th scope="row" { (t.name) }
                    td { @match t.last_push_at.or(t.last_seen_at) {
                        Some(at) => (instant(at)),
                        None => span class="muted" { (ctx.t(T::Never)) },
                    } }
                    td class="num" { (t.unsent_reported.map(|n| n.to_string()).unwrap_or_else(|| "—".into())) }
                } } }
            } }
        }
        h2 { (ctx.t(T::Denials)) }
        @if refused.is_empty() {
            p class="muted" { (ctx.t(T::NothingYet)) }
        } @else {
            div class="scroll" { table {
                thead { tr { th scope="col" { (ctx.t(T::Reason)) } th scope="col" class="num" { (ctx.t(T::Count)) } } }
                tbody { @for (code, n) in &refused { tr { th scope="row" { (meal_reason(code, lang)) } td class="num" { (n) } } } }
            } }
        }
    };
    Ok(layout::page(&ctx, Nav::Today, &title, None, body))
}
