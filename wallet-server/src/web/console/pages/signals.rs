//! "Сигналы": the school's signals of misuse of one day (yesterday by default, computed
//! by the nightly job), each with its evidence — times, terminals, masked ids. Read through
//! `services::signals::of_school`, whose SQL is walled by the school's BIN. Observations,
//! never verdicts; the page says so.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;
use time::Duration;

use crate::domain::signals::SignalKind;
use crate::store::StoredSignal;
use crate::web::console::error::ConsoleError;
use crate::web::console::i18n::T;
use crate::web::console::layout::{self, date, instant, Ctx, Nav};
use crate::web::console::session::Staff;
use crate::web::AppState;

#[derive(Deserialize, Default)]
pub struct DayQuery {
    #[serde(default)]
    day: Option<String>,
}

fn kind_label(kind: SignalKind) -> T {
    match kind {
        SignalKind::PassAtTwoPlaces => T::SignalPassAtTwoPlaces,
        SignalKind::PassAndCard => T::SignalPassAndCard,
        SignalKind::DenialBurst => T::SignalDenialBurst,
        SignalKind::OutsideHours => T::SignalOutsideHours,
        SignalKind::ManualShare => T::SignalManualShare,
        SignalKind::MintBurst => T::SignalMintBurst,
    }
}

fn signal(ctx: &Ctx, n: usize, stored: &StoredSignal) -> Markup {
    let s = &stored.signal;
    let heading = format!("signal-{n}");
    html! {
        section class="signal" aria-labelledby=(heading) data-kind=(s.kind.as_str()) {
            h2 id=(heading) { (ctx.t(kind_label(s.kind))) }
            p { (ctx.t(T::SignalSubject)) ": " code { (s.subject) } }
            div class="scroll" { table {
                thead { tr {
                    th scope="col" { (ctx.t(T::EvidenceTime)) }
                    th scope="col" { (ctx.t(T::Terminal)) }
                    th scope="col" { (ctx.t(T::EvidenceId)) }
                    th scope="col" { (ctx.t(T::EvidenceNote)) }
                } }
                tbody { @for e in &s.evidence { tr {
                    td { (e.at.map(instant).unwrap_or_else(|| "—".into())) }
                    td { @match &e.terminal {
                        Some(name) => (name),
                        None if e.note.ends_with(":other_school") => span class="muted" { (ctx.t(T::OtherSchool)) },
                        None => "—",
                    } }
                    td { code { (e.id.as_deref().unwrap_or("—")) } }
                    td { (e.note) }
                } } }
            } }
        }
    }
}

pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Path(bin): Path<String>,
    Query(q): Query<DayQuery>,
) -> Result<Response, ConsoleError> {
    let ctx = Ctx::load(&state, staff, &bin).await?;
    let yesterday = shared::time::service_day(state.clock.now()) - Duration::DAY;
    let day = match q.day.as_deref().filter(|d| !d.is_empty()) {
        Some(text) => shared::time::parse_date(text).map_err(|_| ConsoleError::BadRequest)?,
        None => yesterday,
    };
    let found = crate::services::signals::of_school(state.store.as_ref(), ctx.bin, day).await?;
    let title = format!("{} · {}", ctx.t(T::SignalsTitle), date(day));
    let body = html! {
        p class="muted" { (ctx.t(T::SignalsNote)) }
        form method="get" action={(ctx.base()) "/signals"} class="toolbar" {
            label { (ctx.t(T::Day)) input type="date" name="day" value=(day.to_string()) required; }
            button type="submit" { (ctx.t(T::Show)) }
        }
        @if found.is_empty() {
            p id="no-signals" { (ctx.t(T::NoSignals)) }
        }
        @for (n, s) in found.iter().enumerate() { (signal(&ctx, n, s)) }
    };
    Ok(layout::page(&ctx, Nav::Signals, &title, None, body))
}
