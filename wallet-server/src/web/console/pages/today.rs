//! "Today": meals served so far, distinct students fed, the whole school's progress (served
//! and expected per slot and class) and manual meals per worker, the terminals with their
//! last sync and unsent meals (as of their last push), meals refused by reason, the latest
//! meals with a void button, and the classes' shifts (issue 19: `pages::counter`).

use std::collections::{BTreeMap, HashSet};

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::html;

use super::counter;
use crate::domain::meal::MealStatus;
use crate::web::console::error::ConsoleError;
use crate::web::console::i18n::{meal_reason, T};
use crate::web::console::layout::{self, date, instant, Ctx, Nav};
use crate::web::console::session::Staff;
use crate::web::AppState;

#[derive(serde::Deserialize)]
pub struct TodayQuery {
    #[serde(default)]
    msg: String,
}

pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Path(bin): Path<String>,
    Query(q): Query<TodayQuery>,
) -> Result<Response, ConsoleError> {
    let ctx = Ctx::load(&state, staff, &bin).await?;
    let now = state.clock.now();
    let today = shared::time::service_day(now);
    let meals = state.store.meals_of_school_day(ctx.bin, today).await?;
    let progress = crate::services::counter::today(state.store.as_ref(), ctx.bin, now).await?;
    let manual = state.store.manual_meals_per_worker(ctx.bin, today).await?;
    let shifts = state.store.class_shifts(ctx.bin).await?;
    let mut fed = HashSet::new();
    let mut refused: BTreeMap<String, u32> = BTreeMap::new();
    for m in &meals {
        if m.status == MealStatus::Accepted {
            fed.insert(m.student);
        } else {
            let code = match m.status {
                MealStatus::Duplicate => "duplicate".to_string(),
                MealStatus::Voided => "voided".to_string(),
                _ => m.reason.clone().unwrap_or_else(|| "rejected".into()),
            };
            *refused.entry(code).or_default() += 1;
        }
    }
    let served: u32 = progress.slots.iter().map(|s| s.served).sum();
    let terminals = state.store.terminals_of_school(ctx.bin).await?;
    let lang = ctx.lang();
    let title = format!("{} · {}", ctx.t(T::TodayTitle), date(today));
    let body = html! {
        div class="cards" {
            div class="card" { span class="big" id="meals-served" { (served) } (ctx.t(T::MealsServed)) }
            div class="card" { span class="big" id="students-fed" { (fed.len()) } (ctx.t(T::StudentsFed)) }
        }
        (counter::progress_sections(&ctx, &progress, &manual))
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
        (counter::recent_meals(&ctx, &meals))
        (counter::shift_forms(&ctx, &progress, &shifts))
    };
    Ok(layout::page(
        &ctx,
        Nav::Today,
        &title,
        counter::flash_of(&q.msg),
        body,
    ))
}
