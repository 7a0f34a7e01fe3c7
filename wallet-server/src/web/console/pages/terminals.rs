//! "Terminals": create a one-time enrollment code (shown large, once, with its expiry),
//! list the school's terminals, revoke one. The same store operations as the API.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;

use crate::web::console::error::ConsoleError;
use crate::web::console::i18n::T;
use crate::web::console::layout::{self, instant, Ctx, Flash, Nav};
use crate::web::console::session::{ConsoleForm, Staff};
use crate::web::AppState;

#[derive(Deserialize, Default)]
pub struct TerminalsQuery {
    #[serde(default)]
    msg: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Path(bin): Path<String>,
    Query(q): Query<TerminalsQuery>,
) -> Result<Response, ConsoleError> {
    let ctx = Ctx::load(&state, staff, &bin).await?;
    let flash = (q.msg.as_deref() == Some("revoked")).then_some(Flash::Done(T::TerminalRevoked));
    render(&state, &ctx, None, flash).await
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    code: Option<Markup>,
    flash: Option<Flash>,
) -> Result<Response, ConsoleError> {
    let terminals = state.store.terminals_of_school(ctx.bin).await?;
    let base = ctx.base();
    let body = html! {
        @if let Some(code) = code { (code) }
        form method="post" action={(base) "/terminals"} class="toolbar" {
            (ctx.csrf_field())
            button type="submit" id="create-code" { (ctx.t(T::CreateCode)) }
        }
        @if terminals.is_empty() { p class="muted" { (ctx.t(T::NoTerminals)) } } @else {
            div class="scroll" { table id="terminals" {
                thead { tr {
                    th scope="col" { (ctx.t(T::Terminal)) }
                    th scope="col" { (ctx.t(T::Enrolled)) }
                    th scope="col" { (ctx.t(T::LastSync)) }
                    th scope="col" class="num" { (ctx.t(T::Unsent)) }
                    th scope="col" { (ctx.t(T::Status)) }
                } }
                tbody { @for t in &terminals { tr {
                    th scope="row" { (t.name) }
                    td { (instant(t.enrolled_at)) }
                    td { @match t.last_push_at.or(t.last_seen_at) {
                        Some(at) => (instant(at)),
                        None => span class="muted" { (ctx.t(T::Never)) },
                    } }
                    td class="num" { (t.unsent_reported.map(|n| n.to_string()).unwrap_or_else(|| "—".into())) }
                    td { @match t.revoked_at {
                        Some(at) => { (ctx.t(T::RevokedState)) " " (instant(at)) },
                        None => form method="post" action={(base) "/terminals/revoke"} class="card-form" {
                            (ctx.t(T::Active)) " "
                            (ctx.csrf_field())
                            input type="hidden" name="terminal" value=(t.id);
                            button type="submit" class="danger" aria-label={(ctx.t(T::Revoke)) " " (t.name)} { (ctx.t(T::Revoke)) }
                        },
                    } }
                } } }
            } }
        }
    };
    Ok(layout::page(
        ctx,
        Nav::Terminals,
        ctx.t(T::TerminalsTitle),
        flash,
        body,
    ))
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// A new one-time code, shown once on the answer page.
pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Path(bin): Path<String>,
    ConsoleForm(form): ConsoleForm<CsrfOnly>,
) -> Result<Response, ConsoleError> {
    let ctx = Ctx::load(&state, staff, &bin).await?;
    ctx.staff.check_csrf(&form.csrf)?;
    let (code, record) = crate::services::school_terminals::create_enrollment_code(
        &*state.store,
        &*state.clock,
        state.enrollment_code_ttl,
        ctx.bin,
        ctx.staff.actor(),
    )
    .await
    .map_err(|e| match e {
        crate::services::school_terminals::TerminalAdminError::Store(e) => ConsoleError::from(e),
        crate::services::school_terminals::TerminalAdminError::NoRandomness(_) => {
            ConsoleError::Internal
        }
    })?;
    let shown = html! {
        section aria-labelledby="code-title" {
            h2 id="code-title" { (ctx.t(T::CreateCode)) }
            p class="code" id="enrollment-code" { (code) }
            p { (ctx.t(T::ValidUntil)) ": " strong { (instant(record.expires_at)) } ". " (ctx.t(T::CodeHelp)) }
        }
    };
    let mut response = render(&state, &ctx, Some(shown), None).await?;
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    terminal: String,
}

pub async fn revoke(
    State(state): State<AppState>,
    staff: Staff,
    Path(bin): Path<String>,
    ConsoleForm(form): ConsoleForm<RevokeForm>,
) -> Result<Response, ConsoleError> {
    let ctx = Ctx::load(&state, staff, &bin).await?;
    ctx.staff.check_csrf(&form.csrf)?;
    let id: uuid::Uuid = form.terminal.parse().map_err(|_| ConsoleError::NotFound)?;
    crate::services::school_terminals::revoke_terminal(
        &*state.store,
        &*state.clock,
        ctx.bin,
        id,
        ctx.staff.actor(),
        "revoked by school staff in the console",
    )
    .await?;
    Ok(Redirect::to(&format!("{}/terminals?msg=revoked", ctx.base())).into_response())
}
