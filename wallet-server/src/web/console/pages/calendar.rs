//! "Календарь": the school's calendar of a school year — its week, region, the breaks in
//! force (and who set them), the year's declared holidays and transfers, and the count of
//! school days. The director sets the five- or six-day week and the school's own breaks
//! here; the same use cases as the API (`services::calendar`), refused the same way when a
//! change touches an approved month.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use time::Date;

use crate::domain::calendar::{BreakScope, CalendarChange, SchoolBreak, SchoolWeek, SchoolYear};
use crate::services::calendar::{self, CalendarError};
use crate::web::console::error::ConsoleError;
use crate::web::console::i18n::{day_status, T};
use crate::web::console::layout::{self, date, Ctx, Flash, Nav};
use crate::web::console::session::{ConsoleForm, Staff};
use crate::web::AppState;

#[derive(Deserialize, Default)]
pub struct CalendarQuery {
    #[serde(default)]
    school_year: Option<String>,
    #[serde(default)]
    msg: Option<String>,
}

fn year_or_now(state: &AppState, raw: Option<&str>) -> SchoolYear {
    raw.and_then(|y| y.parse().ok())
        .unwrap_or_else(|| SchoolYear::of(shared::time::service_day(state.clock.now())))
}

fn flash_of(msg: Option<&str>) -> Option<Flash> {
    Some(match msg? {
        "week" => Flash::Done(T::WeekSaved),
        "break" => Flash::Done(T::BreakSaved),
        "removed" => Flash::Done(T::BreakRemoved),
        "locked" => Flash::Problem(T::CalendarLocked),
        "bad_break" => Flash::Problem(T::BadBreak),
        _ => return None,
    })
}

pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Path(bin): Path<String>,
    Query(q): Query<CalendarQuery>,
) -> Result<Response, ConsoleError> {
    let ctx = Ctx::load(&state, staff, &bin).await?;
    let year = year_or_now(&state, q.school_year.as_deref());
    let view = calendar::school_calendar(&*state.store, ctx.bin, year)
        .await
        .map_err(into_console)?;
    let base = ctx.base();
    let director = ctx.staff.is_director();
    let scope = |s: &BreakScope| match s {
        BreakScope::National => ctx.t(T::ScopeNational).to_string(),
        BreakScope::Region(r) => format!("{} ({r})", ctx.t(T::ScopeRegion)),
        BreakScope::School(_) => ctx.t(T::ScopeSchool).to_string(),
    };
    let body = html! {
        form method="get" action={(base) "/calendar"} class="toolbar" {
            label { (ctx.t(T::SchoolYear)) input type="text" name="school_year" value=(year) pattern="[0-9]{4}-[0-9]{4}" required; }
            button type="submit" { (ctx.t(T::Show)) }
        }
        div class="cards" {
            div class="card" { span class="big" { (view.week.days()) } (ctx.t(T::SchoolWeek)) }
            div class="card" { span class="big" { (view.school_days) } (ctx.t(T::SchoolDaysInYear)) }
            div class="card" { span class="big" id="region" { @match &view.region { Some(r) => (r), None => "—" } } (ctx.t(T::Region)) }
        }
        @if view.region.is_none() { p class="muted" { (ctx.t(T::Region)) ": " (ctx.t(T::RegionNotSet)) } }
        @if director {
            form method="post" action={(base) "/calendar/week"} class="toolbar" id="week-form" {
                (ctx.csrf_field())
                input type="hidden" name="school_year" value=(year);
                label { (ctx.t(T::SchoolWeek)) select name="days_per_week" {
                    option value="5" selected[view.week == SchoolWeek::FiveDay] { (ctx.t(T::FiveDay)) }
                    option value="6" selected[view.week == SchoolWeek::SixDay] { (ctx.t(T::SixDay)) }
                } }
                button type="submit" { (ctx.t(T::SaveWeek)) }
            }
        }
        h2 { (ctx.t(T::Breaks)) }
        @if view.breaks.is_empty() { p class="muted" { (ctx.t(T::NothingYet)) } } @else {
            div class="scroll" { table id="breaks" {
                thead { tr { th scope="col" { (ctx.t(T::BreakKey)) } th scope="col" { (ctx.t(T::FromDay)) }
                    th scope="col" { (ctx.t(T::ToDay)) } th scope="col" { (ctx.t(T::Scope)) } } }
                tbody { @for b in &view.breaks { tr {
                    th scope="row" { (b.key) } td { (date(b.from)) } td { (date(b.to)) }
                    td { (scope(&b.scope))
                        @if director && matches!(b.scope, BreakScope::School(_)) {
                            form method="post" action={(base) "/calendar/break/remove"} class="card-form" {
                                (ctx.csrf_field())
                                input type="hidden" name="school_year" value=(year);
                                input type="hidden" name="key" value=(b.key);
                                button type="submit" class="danger" { (ctx.t(T::RemoveBreak)) }
                            }
                        }
                    }
                } } }
            } }
        }
        @if director {
            form method="post" action={(base) "/calendar/break"} class="toolbar" id="break-form" {
                (ctx.csrf_field())
                input type="hidden" name="school_year" value=(year);
                label { (ctx.t(T::BreakKey)) input type="text" name="key" required pattern="[a-z0-9_]{2,40}"; }
                label { (ctx.t(T::FromDay)) input type="date" name="from" required; }
                label { (ctx.t(T::ToDay)) input type="date" name="to" required; }
                button type="submit" { (ctx.t(T::SaveBreak)) }
            }
        }
        h2 { (ctx.t(T::Declared)) }
        div class="scroll" { table id="days-off" {
            thead { tr { th scope="col" { (ctx.t(T::Day)) } th scope="col" { (ctx.t(T::DayKind)) } } }
            tbody { @for d in view.days_off.iter().filter(|d| d.status != crate::domain::calendar::DayStatus::RestDay) { tr {
                th scope="row" { (date(d.date)) }
                td { (day_status(d.status, ctx.lang()))
                    @if let Some(x) = view.declared.iter().find(|x| x.date == d.date) { " · " (x.name) } }
            } } }
        } }
    };
    let title = format!("{} · {year}", ctx.t(T::CalendarTitle));
    Ok(layout::page(
        &ctx,
        Nav::Calendar,
        &title,
        flash_of(q.msg.as_deref()),
        body,
    ))
}

fn into_console(e: CalendarError) -> ConsoleError {
    match e {
        CalendarError::NotFound => ConsoleError::NotFound,
        CalendarError::Store(s) => s.into(),
        CalendarError::ApprovedMonth(_) => ConsoleError::BadRequest,
    }
}

/// Applies a director's change and goes back to the page with its outcome.
async fn apply(
    state: &AppState,
    ctx: &Ctx,
    year: SchoolYear,
    change: Option<CalendarChange>,
    done: &str,
) -> Result<Response, ConsoleError> {
    let msg = match change {
        None => "bad_break",
        Some(c) => {
            match calendar::change(&*state.store, &c, ctx.staff.actor(), state.clock.now()).await {
                Ok(()) => done,
                Err(CalendarError::ApprovedMonth(_)) => "locked",
                Err(CalendarError::NotFound) => "bad_break",
                Err(e) => return Err(into_console(e)),
            }
        }
    };
    let target = format!("{}/calendar?school_year={year}&msg={msg}", ctx.base());
    Ok(Redirect::to(&target).into_response())
}

async fn director_ctx(
    state: &AppState,
    staff: Staff,
    bin: &str,
    csrf: &str,
) -> Result<Ctx, ConsoleError> {
    let ctx = Ctx::load(state, staff, bin).await?;
    ctx.staff.check_csrf(csrf)?;
    if !ctx.staff.is_director() {
        return Err(ConsoleError::Forbidden(T::OnlyDirectorCalendar));
    }
    Ok(ctx)
}

#[derive(Deserialize)]
pub struct WeekForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    school_year: String,
    #[serde(default)]
    days_per_week: String,
}

pub async fn set_week(
    State(state): State<AppState>,
    staff: Staff,
    Path(bin): Path<String>,
    ConsoleForm(form): ConsoleForm<WeekForm>,
) -> Result<Response, ConsoleError> {
    let ctx = director_ctx(&state, staff, &bin, &form.csrf).await?;
    let year: SchoolYear = form
        .school_year
        .parse()
        .map_err(|_| ConsoleError::BadRequest)?;
    let week = form
        .days_per_week
        .parse()
        .ok()
        .and_then(SchoolWeek::from_days)
        .ok_or(ConsoleError::BadRequest)?;
    let change = CalendarChange::SetWeek {
        school: ctx.bin,
        school_year: year,
        week,
    };
    apply(&state, &ctx, year, Some(change), "week").await
}

#[derive(Deserialize)]
pub struct BreakForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    school_year: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

fn form_date(raw: &str) -> Option<Date> {
    shared::time::parse_date(raw).ok()
}

pub async fn set_break(
    State(state): State<AppState>,
    staff: Staff,
    Path(bin): Path<String>,
    ConsoleForm(form): ConsoleForm<BreakForm>,
) -> Result<Response, ConsoleError> {
    let ctx = director_ctx(&state, staff, &bin, &form.csrf).await?;
    let year: SchoolYear = form
        .school_year
        .parse()
        .map_err(|_| ConsoleError::BadRequest)?;
    let change = (|| {
        let b = SchoolBreak::new(
            year,
            form.key.trim().parse().ok()?,
            BreakScope::School(ctx.bin),
            form_date(&form.from)?,
            form_date(&form.to)?,
        )
        .ok()?;
        Some(CalendarChange::SetBreak(b))
    })();
    apply(&state, &ctx, year, change, "break").await
}

pub async fn remove_break(
    State(state): State<AppState>,
    staff: Staff,
    Path(bin): Path<String>,
    ConsoleForm(form): ConsoleForm<BreakForm>,
) -> Result<Response, ConsoleError> {
    let ctx = director_ctx(&state, staff, &bin, &form.csrf).await?;
    let year: SchoolYear = form
        .school_year
        .parse()
        .map_err(|_| ConsoleError::BadRequest)?;
    let change = form
        .key
        .parse()
        .ok()
        .map(|key| CalendarChange::RemoveBreak {
            school_year: year,
            key,
            scope: BreakScope::School(ctx.bin),
        });
    apply(&state, &ctx, year, change, "removed").await
}
