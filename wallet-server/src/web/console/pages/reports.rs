//! "Reports": the school's daily report figures of the last 30 days (the same numbers the
//! NOBD report carries, read in one query by `reports::school_days`) with a bar chart of meals per day
//! drawn on the server as inline SVG.

use axum::extract::{Path, State};
use axum::response::Response;
use maud::{html, Markup};
use time::Date;

use crate::domain::report::SchoolDay;
use crate::web::console::error::ConsoleError;
use crate::web::console::i18n::T;
use crate::web::console::layout::{self, date, Ctx, Nav};
use crate::web::console::session::Staff;
use crate::web::AppState;

pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Path(bin): Path<String>,
) -> Result<Response, ConsoleError> {
    let ctx = Ctx::load(&state, staff, &bin).await?;
    let today = shared::time::service_day(state.clock.now());
    let days =
        crate::services::reports::school_days(state.store.as_ref(), ctx.bin, today, 30).await?;
    let body = html! {
        h2 { (ctx.t(T::Chart)) }
        div class="chart" { (chart(&ctx, &days)) }
        div class="scroll" { table id="reports" {
            thead { tr {
                th scope="col" { (ctx.t(T::Day)) }
                th scope="col" class="num" { (ctx.t(T::MealsServed)) }
                th scope="col" class="num" { (ctx.t(T::StudentsFed)) }
                th scope="col" class="num" { (ctx.t(T::Duplicates)) }
                th scope="col" class="num" { (ctx.t(T::VouchersFormed)) }
                th scope="col" class="num" { (ctx.t(T::VouchersActivated)) }
                th scope="col" class="num" { (ctx.t(T::VouchersRevoked)) }
            } }
            tbody { @for (day, s) in days.iter().rev() { tr {
                th scope="row" { (date(*day)) }
                td class="num" { (s.meals_served) }
                td class="num" { (s.students_fed) }
                td class="num" { (s.duplicates) }
                td class="num" { (s.vouchers_formed) }
                td class="num" { (s.vouchers_activated) }
                td class="num" { (s.vouchers_revoked) }
            } } }
        } }
    };
    Ok(layout::page(
        &ctx,
        Nav::Reports,
        ctx.t(T::ReportsTitle),
        None,
        body,
    ))
}

/// Bars of meals per day; the tallest day fills the height. Text alternatives: a title and
/// the table below.
fn chart(ctx: &Ctx, days: &[(Date, SchoolDay)]) -> Markup {
    const W: i64 = 900;
    const H: i64 = 200;
    const BASE: i64 = 180;
    let max = days
        .iter()
        .map(|(_, s)| s.meals_served)
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = W / i64::try_from(days.len().max(1)).unwrap_or(1);
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox={"0 0 " (W) " " (H)} role="img" aria-labelledby="chart-title" {
            title id="chart-title" { (ctx.t(T::Chart)) }
            line x1="0" y1=(BASE) x2=(W) y2=(BASE) stroke="#9aa6b5" stroke-width="1" {}
            text x="4" y="14" font-size="12" fill="#5b6675" { "max " (max) }
            @for (i, (day, s)) in days.iter().enumerate() {
                @let x = i64::try_from(i).unwrap_or(0) * slot + 3;
                @let h = s.meals_served * (BASE - 20) / max;
                rect x=(x) y=(BASE - h) width=(slot - 6) height=(h) fill="#0b5cad" {
                    title { (date(*day)) ": " (s.meals_served) }
                }
                @if i % 5 == 0 {
                    text x=(x) y=(H - 4) font-size="11" fill="#5b6675" { (day.day()) "." (u8::from(day.month())) }
                }
            }
        }
    }
}
