//! The counter on the console (issue 19): today's progress per slot and class and the manual
//! meals per worker (sections of the Today page), voiding a meal served by mistake, the
//! classes' shifts and a student's alert line — through the same use cases as the school API.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use shared::counter::{Progress, ProgressCount, Shift, VoidVerdict, MAX_SHIFT};
use shared::{AlertLine, ClassLabel, Label};

use crate::services::counter;
use crate::store::{DayMeal, WorkerManualCount};
use crate::web::console::error::ConsoleError;
use crate::web::console::i18n::{slot as slot_name, T};
use crate::web::console::layout::{instant, Ctx, Flash};
use crate::web::console::session::{ConsoleForm, Staff};
use crate::web::AppState;

/// How many of today's latest counted meals the page lists with a void button.
const RECENT: usize = 30;

/// The flash of a redirect back to the Today page (`?msg=`).
pub fn flash_of(msg: &str) -> Option<Flash> {
    match msg {
        "voided" => Some(Flash::Done(T::MealVoided)),
        "adjustment" => Some(Flash::Done(T::MealVoidedAdjustment)),
        "need_reason" => Some(Flash::Problem(T::NeedReason)),
        "shift_saved" => Some(Flash::Done(T::ShiftSaved)),
        _ => None,
    }
}

fn counts(ctx: &Ctx, id: &str, head: T, rows: &[ProgressCount], slots: bool) -> Markup {
    let lang = ctx.lang();
    html! {
        div class="scroll" { table id=(id) {
            thead { tr {
                th scope="col" { (ctx.t(head)) }
                th scope="col" class="num" { (ctx.t(T::Served)) }
                th scope="col" class="num" { (ctx.t(T::Expected)) }
            } }
            tbody { @for c in rows { tr {
                th scope="row" { @if slots { (slot_name(&c.label, lang)) } @else { (c.label) } }
                td class="num" { (c.served) }
                td class="num" { (c.expected) }
            } } }
        } }
    }
}

/// Progress per slot and class, and manual meals per worker.
pub fn progress_sections(ctx: &Ctx, p: &Progress, manual: &[WorkerManualCount]) -> Markup {
    html! {
        h2 { (ctx.t(T::BySlot)) }
        (counts(ctx, "progress-slots", T::Slot, &p.slots, true))
        h2 { (ctx.t(T::ByClass)) }
        (counts(ctx, "progress-classes", T::Class, &p.classes, false))
        h2 { (ctx.t(T::ManualPerWorker)) }
        @if manual.is_empty() {
            p class="muted" { (ctx.t(T::NothingYet)) }
        } @else {
            div class="scroll" { table id="manual-per-worker" {
                thead { tr { th scope="col" { (ctx.t(T::Worker)) } th scope="col" class="num" { (ctx.t(T::Meals)) } } }
                tbody { @for m in manual { tr {
                    th scope="row" { @match &m.worker { Some(w) => (w), None => span class="muted" { (ctx.t(T::NoWorker)) } } }
                    td class="num" { (m.meals) }
                } } }
            } }
        }
    }
}

/// Today's latest counted meals, each with a void form (reason required).
pub fn recent_meals(ctx: &Ctx, meals: &[DayMeal]) -> Markup {
    let lang = ctx.lang();
    let base = ctx.base();
    let counted: Vec<&DayMeal> = meals
        .iter()
        .rev()
        .filter(|m| m.status == crate::domain::meal::MealStatus::Accepted)
        .take(RECENT)
        .collect();
    html! {
        h2 { (ctx.t(T::RecentMeals)) }
        @if counted.is_empty() {
            p class="muted" { (ctx.t(T::NothingYet)) }
        } @else {
            div class="scroll" { table id="recent-meals" {
                thead { tr {
                    th scope="col" { (ctx.t(T::Time)) }
                    th scope="col" { (ctx.t(T::Name)) }
                    th scope="col" { (ctx.t(T::Class)) }
                    th scope="col" { (ctx.t(T::Slot)) }
                    th scope="col" { (ctx.t(T::Method)) }
                    th scope="col" { (ctx.t(T::Void)) }
                } }
                tbody { @for m in &counted { tr {
                    td { (instant(m.served_at)) }
                    th scope="row" { (m.student_name) }
                    td { (m.class_label) }
                    td { (slot_name(&m.slot, lang)) }
                    td { (m.method) }
                    td { form method="post" action={(base) "/today/void"} class="card-form" {
                        (ctx.csrf_field())
                        input type="hidden" name="event_id" value=(m.event_id);
                        input type="text" name="reason" maxlength="100" required
                            aria-label={(ctx.t(T::VoidReason)) ", " (m.student_name)};
                        button type="submit" class="secondary" { (ctx.t(T::Void)) }
                    } }
                } } }
            } }
        }
    }
}

/// The classes of today's progress with a shift selector each.
pub fn shift_forms(ctx: &Ctx, p: &Progress, shifts: &[crate::store::ClassShift]) -> Markup {
    let base = ctx.base();
    let of = |class: &str| {
        shifts
            .iter()
            .find(|s| s.class_label == class)
            .map(|s| s.shift.get())
    };
    html! {
        h2 { (ctx.t(T::Shifts)) }
        div class="scroll" { table id="class-shifts" {
            thead { tr { th scope="col" { (ctx.t(T::Class)) } th scope="col" { (ctx.t(T::Shift)) } } }
            tbody { @for c in &p.classes { tr {
                th scope="row" { (c.label) }
                td { form method="post" action={(base) "/today/shift"} class="card-form" {
                    (ctx.csrf_field())
                    input type="hidden" name="class_label" value=(c.label);
                    select name="shift" aria-label={(ctx.t(T::Shift)) ", " (c.label)} {
                        option value="" selected[of(&c.label).is_none()] { (ctx.t(T::AnyShift)) }
                        @for n in 1..=MAX_SHIFT {
                            option value=(n) selected[of(&c.label) == Some(n)] { (n) }
                        }
                    }
                    button type="submit" { (ctx.t(T::Save)) }
                } }
            } } }
        } }
    }
}

#[derive(Deserialize)]
pub struct VoidForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    event_id: String,
    #[serde(default)]
    reason: String,
}

/// Staff void a meal of their school (the store finds it only among the school's meals).
pub async fn void(
    State(state): State<AppState>,
    staff: Staff,
    Path(bin): Path<String>,
    ConsoleForm(form): ConsoleForm<VoidForm>,
) -> Result<Response, ConsoleError> {
    let ctx = Ctx::load(&state, staff, &bin).await?;
    ctx.staff.check_csrf(&form.csrf)?;
    let event_id: uuid::Uuid = form.event_id.parse().map_err(|_| ConsoleError::NotFound)?;
    let back =
        |msg: &str| Ok(Redirect::to(&format!("{}/today?msg={msg}", ctx.base())).into_response());
    let Ok(reason) = form.reason.trim().parse::<Label>() else {
        return back("need_reason");
    };
    let verdict = counter::void_meal(
        state.store.as_ref(),
        ctx.bin,
        event_id,
        &reason,
        &ctx.staff.actor(),
        state.clock.now(),
    )
    .await?;
    tracing::info!(school = %ctx.bin, %event_id, ?verdict, "console: meal voided");
    back(match verdict {
        VoidVerdict::Adjustment => "adjustment",
        _ => "voided",
    })
}

#[derive(Deserialize)]
pub struct ShiftForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    class_label: String,
    #[serde(default)]
    shift: String,
}

/// Staff give a class its shift (empty: any slot).
pub async fn set_shift(
    State(state): State<AppState>,
    staff: Staff,
    Path(bin): Path<String>,
    ConsoleForm(form): ConsoleForm<ShiftForm>,
) -> Result<Response, ConsoleError> {
    let ctx = Ctx::load(&state, staff, &bin).await?;
    ctx.staff.check_csrf(&form.csrf)?;
    let class: ClassLabel = form
        .class_label
        .trim()
        .parse()
        .map_err(|_| ConsoleError::BadRequest)?;
    let shift = match form.shift.trim() {
        "" => None,
        n => Some(
            n.parse::<u8>()
                .ok()
                .and_then(|n| Shift::new(n).ok())
                .ok_or(ConsoleError::BadRequest)?,
        ),
    };
    counter::set_class_shift(
        state.store.as_ref(),
        ctx.bin,
        &class,
        shift,
        &ctx.staff.actor(),
        state.clock.now(),
    )
    .await?;
    Ok(Redirect::to(&format!("{}/today?msg=shift_saved", ctx.base())).into_response())
}

#[derive(Deserialize)]
pub struct AlertForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    voucher: String,
    #[serde(default)]
    line: String,
}

/// Staff set (or, with an empty line, clear) the alert line of a student of their school.
pub async fn set_alert(
    State(state): State<AppState>,
    staff: Staff,
    Path(bin): Path<String>,
    ConsoleForm(form): ConsoleForm<AlertForm>,
) -> Result<Response, ConsoleError> {
    let ctx = Ctx::load(&state, staff, &bin).await?;
    ctx.staff.check_csrf(&form.csrf)?;
    let student = super::students::student_of(&state, &ctx, &form.voucher).await?;
    let back =
        |msg: &str| Ok(Redirect::to(&format!("{}/students?msg={msg}", ctx.base())).into_response());
    let line = match form.line.trim() {
        "" => None,
        text => match text.parse::<AlertLine>() {
            Ok(l) => Some(l),
            Err(_) => return back("bad_alert"),
        },
    };
    counter::set_alert_line(
        state.store.as_ref(),
        ctx.bin,
        student,
        line.as_ref(),
        &ctx.staff.actor(),
        state.clock.now(),
    )
    .await?;
    back("alert_saved")
}
