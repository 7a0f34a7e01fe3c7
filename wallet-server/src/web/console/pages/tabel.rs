//! "Табель": pick a month, see the grid as in the download, download it in the four
//! formats, and — for the director — approve a finished month after a confirmation page.
//! The approved month shows its frozen stamp; late meals, duplicates and meals on
//! non-school days have sections (the director confirms the latter before approving).
//! Everything goes through `tabel::service`, as the API does.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use shared::time::{month_of, YearMonth};

use crate::domain::meal::MealStatus;
use crate::domain::tabel::Tabel;
use crate::services::tabel::render::Format;
use crate::services::tabel::{self, TabelError};
use crate::web::console::error::ConsoleError;
use crate::web::console::i18n::{day_status, meal_reason, slot as slot_name, T};
use crate::web::console::layout::{self, date, instant, tenge, Ctx, Flash, Nav};
use crate::web::console::session::{ConsoleForm, Staff};
use crate::web::AppState;

#[derive(Deserialize, Default)]
pub struct MonthQuery {
    #[serde(default)]
    month: Option<String>,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    msg: Option<String>,
}

fn month_or_now(state: &AppState, raw: Option<&str>) -> Result<YearMonth, T> {
    match raw.filter(|m| !m.is_empty()) {
        None => Ok(month_of(state.clock.now())),
        Some(m) => m.parse().map_err(|_| T::BadMonth),
    }
}

fn problem_of(e: &TabelError) -> Option<T> {
    match e {
        TabelError::MonthInFuture(_) => Some(T::MonthInFuture),
        TabelError::MonthNotEnded(_) => Some(T::MonthNotEnded),
        TabelError::AlreadyApproved(_) => Some(T::AlreadyApproved),
        _ => None,
    }
}

fn into_console(e: TabelError) -> ConsoleError {
    match e {
        TabelError::Store(s) => s.into(),
        other => {
            tracing::error!(error = %other, "console: табель");
            ConsoleError::Internal
        }
    }
}

pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Path(bin): Path<String>,
    Query(q): Query<MonthQuery>,
) -> Result<Response, ConsoleError> {
    let ctx = Ctx::load(&state, staff, &bin).await?;
    let flash = match q.msg.as_deref() {
        Some("approved") => Some(Flash::Done(T::ApprovedNow)),
        Some("already") => Some(Flash::Problem(T::AlreadyApproved)),
        Some("not_ended") => Some(Flash::Problem(T::MonthNotEnded)),
        Some("confirmed") => Some(Flash::Done(T::MealConfirmed)),
        Some("not_off_day") => Some(Flash::Problem(T::NotOffDay)),
        _ => None,
    };
    let (month, flash) = match month_or_now(&state, q.month.as_deref()) {
        Ok(m) => (m, flash),
        Err(t) => (month_of(state.clock.now()), Some(Flash::Problem(t))),
    };
    let now = state.clock.now();
    let built = tabel::tabel_for(
        state.store.as_ref(),
        ctx.bin,
        month,
        now,
        state.meal_price_tiyn,
    )
    .await;
    let (tabel, flash) = match built {
        Ok(t) => (Some(t), flash),
        Err(e) => match problem_of(&e) {
            Some(t) => (None, Some(Flash::Problem(t))),
            None => return Err(into_console(e)),
        },
    };
    let title = format!("{} · {month}", ctx.t(T::TabelTitle));
    let body = html! {
        form method="get" action={(ctx.base()) "/tabel"} class="toolbar" {
            label { (ctx.t(T::Month)) input type="month" name="month" value=(month) required; }
            button type="submit" { (ctx.t(T::Show)) }
        }
        @if let Some(t) = &tabel { (sheet(&ctx, t, month, now)) }
    };
    Ok(layout::page(&ctx, Nav::Tabel, &title, flash, body))
}

fn sheet(ctx: &Ctx, t: &Tabel, month: YearMonth, now: time::OffsetDateTime) -> Markup {
    let base = ctx.base();
    let finished = month < month_of(now);
    html! {
        p class="toolbar" {
            @for (f, label) in [("pdf", "PDF"), ("xlsx", "Excel (XLSX)"), ("csv", "CSV"), ("json", "JSON")] {
                a class="button secondary" href={(base) "/tabel/download?month=" (month) "&format=" (f)} download {
                    (ctx.t(T::Download)) " " (label)
                }
            }
        }
        @match &t.approval {
            Some(a) => p class="stamp" id="approval-stamp" {
                (ctx.t(T::ApprovedStamp)) " " (instant(a.approved_at)) " · " (a.approved_by)
                small { "SHA-256 " (a.content_hash) }
            },
            None => p class="toolbar" {
                span class="muted" { (ctx.t(T::NotApproved)) }
                @if ctx.staff.is_director() && finished {
                    a class="button" id="approve" href={(base) "/tabel/approve?month=" (month)} { (ctx.t(T::Approve)) }
                }
            },
        }
        div class="cards" {
            div class="card" { span class="big" { (t.totals.meals) } (ctx.t(T::Meals)) }
            div class="card" { span class="big" { (t.totals.students_fed) } (ctx.t(T::StudentsFed)) }
            div class="card" { span class="big" { (tenge(t.payable_tiyn)) } (ctx.t(T::Payable)) }
        }
        p class="muted" { (ctx.t(T::MealPrice)) ": " (tenge(t.totals.meal_price_tiyn)) ". " (ctx.t(T::Legend)) }
        (grid(ctx, t))
        @if let Some(adj) = &t.adjustments {
            h2 { (ctx.t(T::LateMeals)) " · " (adj.month) " · " (tenge(adj.amount_tiyn)) }
            div class="scroll" { table id="late-meals" {
                thead { tr { th scope="col" { (ctx.t(T::Name)) } th scope="col" { (ctx.t(T::Class)) }
                    th scope="col" { (ctx.t(T::Day)) } th scope="col" { (ctx.t(T::Slot)) } th scope="col" { (ctx.t(T::Received)) } } }
                tbody { @for r in &adj.rows { tr {
                    th scope="row" { (r.student.full_name) } td { (r.student.class_label) }
                    td { (date(r.service_day)) } td { (slot_name(&r.slot, ctx.lang())) } td { (instant(r.received_at)) }
                } } }
            } }
        }
        (unbilled(ctx, t, month))
        h2 { (ctx.t(T::Excluded)) }
        @if t.excluded.is_empty() { p class="muted" { (ctx.t(T::NothingYet)) } } @else {
            div class="scroll" { table id="excluded" {
                thead { tr { th scope="col" { (ctx.t(T::Name)) } th scope="col" { (ctx.t(T::Class)) }
                    th scope="col" { (ctx.t(T::Day)) } th scope="col" { (ctx.t(T::Slot)) } th scope="col" { (ctx.t(T::Reason)) } } }
                tbody { @for e in &t.excluded { tr {
                    th scope="row" { (e.student.full_name) } td { (e.student.class_label) }
                    td { (date(e.service_day)) } td { (slot_name(&e.slot, ctx.lang())) }
                    td { @if e.status == MealStatus::Duplicate { (meal_reason("duplicate", ctx.lang())) }
                         @else { (meal_reason(e.reason.as_deref().unwrap_or("rejected"), ctx.lang())) } }
                } } }
            } }
        }
    }
}

/// Meals on non-school days, outside the amount; the director confirms each before approving.
fn unbilled(ctx: &Ctx, t: &Tabel, month: YearMonth) -> Markup {
    let can_confirm = ctx.staff.is_director() && t.approval.is_none();
    html! {
        h2 { (ctx.t(T::Unbilled)) }
        @if t.unbilled.is_empty() { p class="muted" { (ctx.t(T::NothingYet)) } } @else {
            p class="muted" { (ctx.t(T::UnbilledHelp)) }
            div class="scroll" { table id="unbilled" {
                thead { tr { th scope="col" { (ctx.t(T::Name)) } th scope="col" { (ctx.t(T::Class)) }
                    th scope="col" { (ctx.t(T::Day)) } th scope="col" { (ctx.t(T::Slot)) } th scope="col" { (ctx.t(T::DayKind)) }
                    @if can_confirm { th scope="col" { (ctx.t(T::ConfirmMeal)) } } } }
                tbody { @for u in &t.unbilled { tr {
                    th scope="row" { (u.student.full_name) } td { (u.student.class_label) }
                    td { (date(u.service_day)) } td { (slot_name(&u.slot, ctx.lang())) }
                    td { (day_status(u.day, ctx.lang())) }
                    @if can_confirm { td { @if month.contains(u.service_day) {
                        form method="post" action={(ctx.base()) "/tabel/confirm-meal"} class="card-form" {
                            (ctx.csrf_field())
                            input type="hidden" name="month" value=(month);
                            input type="hidden" name="event" value=(u.event_id);
                            button type="submit" aria-label={(ctx.t(T::ConfirmMeal)) " " (u.student.full_name) " " (date(u.service_day))} { (ctx.t(T::ConfirmMeal)) }
                        }
                    } } }
                } } }
            } }
        }
    }
}

fn grid(ctx: &Ctx, t: &Tabel) -> Markup {
    html! {
        div class="scroll" { table class="grid" id="tabel-grid" {
            caption { (t.school.name) " · " (t.month) }
            thead { tr {
                th scope="col" { (ctx.t(T::Name)) }
                th scope="col" { (ctx.t(T::Class)) }
                @for d in &t.days {
                    th scope="col" class=[d.off().then_some("off")] { (d.date.day()) }
                }
                th scope="col" class="num" { (ctx.t(T::Total)) }
            } }
            tbody { @for r in &t.rows { tr {
                th scope="row" { (r.student.full_name) }
                td { (r.student.class_label) }
                @for d in &t.days {
                    td class=[d.off().then_some("off")] {
                        @match r.marks.get(&d.date) { Some(1) => "✓", Some(n) => (n), None => "" }
                    }
                }
                td class="num" { (r.total) }
            } } }
            tfoot { tr {
                th scope="row" colspan="2" { (ctx.t(T::PerDay)) }
                @for d in &t.days { td { (t.per_day.get(&d.date).copied().unwrap_or(0)) } }
                td class="num" { (t.totals.meals) }
            } }
        } }
    }
}

pub async fn download(
    State(state): State<AppState>,
    staff: Staff,
    Path(bin): Path<String>,
    Query(q): Query<MonthQuery>,
) -> Result<Response, ConsoleError> {
    let ctx = Ctx::load(&state, staff, &bin).await?;
    let format =
        Format::parse(q.format.as_deref().unwrap_or("pdf")).ok_or(ConsoleError::BadRequest)?;
    let (_, tabel) = asked_tabel(&state, &ctx, &q).await?;
    crate::web::api::tabel::respond(tabel, format)
        .await
        .map_err(|_| ConsoleError::Internal)
}

/// The табель of the month the query asks for (this month when it names none); a month that
/// has none yet (or the stamp of which cannot be read) is the not-found page.
async fn asked_tabel(
    state: &AppState,
    ctx: &Ctx,
    q: &MonthQuery,
) -> Result<(YearMonth, Tabel), ConsoleError> {
    let month = month_or_now(state, q.month.as_deref()).map_err(|_| ConsoleError::BadRequest)?;
    let now = state.clock.now();
    let tabel = tabel::tabel_for(
        state.store.as_ref(),
        ctx.bin,
        month,
        now,
        state.meal_price_tiyn,
    )
    .await
    .map_err(|e| {
        if problem_of(&e).is_some() {
            ConsoleError::NotFound
        } else {
            into_console(e)
        }
    })?;
    Ok((month, tabel))
}

/// The confirmation page before an approval.
pub async fn confirm(
    State(state): State<AppState>,
    staff: Staff,
    Path(bin): Path<String>,
    Query(q): Query<MonthQuery>,
) -> Result<Response, ConsoleError> {
    let ctx = Ctx::load(&state, staff, &bin).await?;
    if !ctx.staff.is_director() {
        return Err(ConsoleError::Forbidden(T::OnlyDirector));
    }
    let (month, t) = asked_tabel(&state, &ctx, &q).await?;
    let base = ctx.base();
    let body = html! {
        p { (ctx.t(T::ConfirmText)) }
        div class="cards" {
            div class="card" { span class="big" { (t.totals.meals) } (ctx.t(T::Meals)) }
            div class="card" { span class="big" { (tenge(t.payable_tiyn)) } (ctx.t(T::Payable)) }
            @if !t.unbilled.is_empty() {
                div class="card" id="unbilled-left-out" { span class="big" { (t.unbilled.len()) } (ctx.t(T::Unbilled)) }
            }
        }
        form method="post" action={(base) "/tabel/approve"} class="toolbar" {
            (ctx.csrf_field())
            input type="hidden" name="month" value=(month);
            button type="submit" id="confirm-approve" { (ctx.t(T::ConfirmYes)) }
            a class="button secondary" href={(base) "/tabel?month=" (month)} { (ctx.t(T::Cancel)) }
        }
    };
    let title = format!("{} · {month}", ctx.t(T::ConfirmTitle));
    Ok(layout::page(&ctx, Nav::Tabel, &title, None, body))
}

#[derive(Deserialize)]
pub struct ApproveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    month: String,
}

/// The director approves; a second click finds the month approved and says so.
pub async fn approve(
    State(state): State<AppState>,
    staff: Staff,
    Path(bin): Path<String>,
    ConsoleForm(form): ConsoleForm<ApproveForm>,
) -> Result<Response, ConsoleError> {
    let ctx = Ctx::load(&state, staff, &bin).await?;
    ctx.staff.check_csrf(&form.csrf)?;
    if !ctx.staff.is_director() {
        return Err(ConsoleError::Forbidden(T::OnlyDirector));
    }
    let month: YearMonth = form.month.parse().map_err(|_| ConsoleError::BadRequest)?;
    let outcome = tabel::approve(
        state.store.as_ref(),
        ctx.bin,
        month,
        tabel::Approver {
            actor: ctx.staff.actor(),
            name: ctx.staff.session.name.clone(),
        },
        state.clock.now(),
        state.meal_price_tiyn,
    )
    .await;
    let msg = match outcome {
        Ok(t) => {
            tracing::info!(school = %ctx.bin, %month, meals = t.totals.meals, "console: табель approved");
            "approved"
        }
        Err(TabelError::AlreadyApproved(_)) => "already",
        Err(TabelError::MonthNotEnded(_) | TabelError::MonthInFuture(_)) => "not_ended",
        Err(e) => return Err(into_console(e)),
    };
    let target = format!("{}/tabel?month={month}&msg={msg}", ctx.base());
    Ok((StatusCode::SEE_OTHER, Redirect::to(&target)).into_response())
}

#[derive(Deserialize)]
pub struct ConfirmMealForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    month: String,
    #[serde(default)]
    event: String,
}

/// The director confirms a meal on a non-school day: billed from now on (audited).
pub async fn confirm_meal(
    State(state): State<AppState>,
    staff: Staff,
    Path(bin): Path<String>,
    ConsoleForm(form): ConsoleForm<ConfirmMealForm>,
) -> Result<Response, ConsoleError> {
    use crate::services::tabel::off_day::{confirm_off_day_meal, ConfirmError};
    let ctx = Ctx::load(&state, staff, &bin).await?;
    ctx.staff.check_csrf(&form.csrf)?;
    if !ctx.staff.is_director() {
        return Err(ConsoleError::Forbidden(T::OnlyDirector));
    }
    let month: YearMonth = form.month.parse().map_err(|_| ConsoleError::BadRequest)?;
    let event: uuid::Uuid = form.event.parse().map_err(|_| ConsoleError::NotFound)?;
    let outcome = confirm_off_day_meal(
        state.store.as_ref(),
        ctx.bin,
        month,
        event,
        ctx.staff.actor(),
        state.clock.now(),
    )
    .await;
    let msg = match outcome {
        Ok(_) => "confirmed",
        Err(ConfirmError::MonthApproved(_)) => "already",
        Err(ConfirmError::SchoolDay(_) | ConfirmError::NotAccepted(_)) => "not_off_day",
        Err(ConfirmError::NotFound(_)) => return Err(ConsoleError::NotFound),
        Err(ConfirmError::Store(e)) => return Err(e.into()),
    };
    let target = format!("{}/tabel?month={month}&msg={msg}", ctx.base());
    Ok((StatusCode::SEE_OTHER, Redirect::to(&target)).into_response())
}
