//! "Students": the school's students with voucher state, consent state (and the date of
//! the last SMS), activation date and bound card; search by name or class; bind or unbind a
//! card (through the same store operations as the API); the list as CSV.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use shared::{CardUid, Iin, VoucherId};
use time::OffsetDateTime;

use crate::domain::consent::ConsentState;
use crate::domain::terminal::CardBound;
use crate::domain::voucher::VoucherState;
use crate::domain::Category;
use crate::services::cards::{self, BindError};
use crate::services::tabel::render::safe_cell;
use crate::web::console::error::ConsoleError;
use crate::web::console::i18n::{category, consent_state, voucher_state, T};
use crate::web::console::layout::{self, date, Ctx, Flash, Nav};
use crate::web::console::session::{ConsoleForm, Staff};
use crate::web::AppState;

/// One line of the list.
struct Row {
    voucher: Option<VoucherId>,
    iin_masked: String,
    name: String,
    class: String,
    category: Category,
    state: Option<VoucherState>,
    consent: Option<(ConsentState, OffsetDateTime)>,
    activated_at: Option<OffsetDateTime>,
    card: Option<CardUid>,
    /// The student moved: to (`true`) or from (`false`) the school of this BIN.
    moved: Option<(bool, shared::Bin)>,
    /// The line staff set for the canteen (issue 19).
    alert: Option<String>,
}

/// When the last SMS of a conversation went out: the confirmation or refusal answer, the
/// reminder, or the start.
fn last_sms(c: &crate::domain::consent::ConsentRequest) -> OffsetDateTime {
    let answered = matches!(c.state, ConsentState::Agreed | ConsentState::Refused);
    let finished = c.finished_at.filter(|_| answered);
    [Some(c.created_at), c.reminded_at, finished]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(c.created_at)
}

async fn rows(state: &AppState, ctx: &Ctx) -> Result<Vec<Row>, ConsoleError> {
    let month = shared::time::month_of(state.clock.now());
    let mut consents: HashMap<Iin, (ConsentState, OffsetDateTime)> = HashMap::new();
    // Newest first: the first conversation seen of a student is the current one.
    for c in state.store.consents_of_school(ctx.bin).await? {
        consents.entry(c.student).or_insert((c.state, last_sms(&c)));
    }
    // A student's current voucher: a live one, else the latest formed.
    let mut best: HashMap<Iin, crate::domain::voucher::VoucherView> = HashMap::new();
    for v in state.store.vouchers_of_school(ctx.bin, month).await? {
        let key = |x: &crate::domain::voucher::VoucherView| {
            (!x.voucher.state.is_final(), x.voucher.formed_at)
        };
        match best.get(&v.voucher.student) {
            Some(old) if key(old) >= key(&v) => {}
            _ => {
                best.insert(v.voucher.student, v);
            }
        }
    }
    let alerts: HashMap<Iin, String> = state
        .store
        .alert_lines(ctx.bin)
        .await?
        .into_iter()
        .map(|(i, l)| (i, l.into_string()))
        .collect();
    let mut out: Vec<Row> = Vec::new();
    for v in best.values() {
        out.push(Row {
            voucher: Some(v.voucher.id),
            iin_masked: v.voucher.student.to_string(),
            name: v.student_name.clone(),
            class: v.class_label.clone(),
            category: v.category,
            state: Some(v.voucher.state),
            consent: consents.get(&v.voucher.student).copied(),
            activated_at: v.voucher.activated_at,
            card: v.card,
            moved: v
                .moved_to
                .map(|b| (true, b))
                .or(v.moved_from.map(|b| (false, b))),
            alert: alerts.get(&v.voucher.student).cloned(),
        });
    }
    // Students still waiting for (or refused) consent have no voucher yet; some of the
    // month's list may not even have a conversation yet.
    let mut waiting: Vec<Iin> = consents.keys().copied().collect();
    for iin in state
        .store
        .listed_students(ctx.bin, &month.to_string())
        .await?
    {
        if !consents.contains_key(&iin) {
            waiting.push(iin);
        }
    }
    for iin in &waiting {
        if best.contains_key(iin) {
            continue;
        }
        if let Some(s) = state.store.student_at_school(ctx.bin, *iin).await? {
            out.push(Row {
                voucher: None,
                iin_masked: iin.to_string(),
                name: s.full_name,
                class: s.class_label,
                category: s.category,
                state: None,
                consent: consents.get(iin).copied(),
                activated_at: None,
                card: None,
                moved: None,
                alert: None,
            });
        }
    }
    out.sort_by_cached_key(|r| crate::domain::collate::class_then_name(&r.class, &r.name));
    Ok(out)
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    msg: String,
}

fn matches(row: &Row, q: &str) -> bool {
    let q = q.trim().to_lowercase();
    q.is_empty() || row.name.to_lowercase().contains(&q) || row.class.to_lowercase() == q
}

fn flash_of(msg: &str) -> Option<Flash> {
    match msg {
        "bound" => Some(Flash::Done(T::CardBound)),
        "unchanged" => Some(Flash::Done(T::CardUnchanged)),
        "unbound" => Some(Flash::Done(T::CardUnbound)),
        "no_card" => Some(Flash::Done(T::NoCardToUnbind)),
        "alert_saved" => Some(Flash::Done(T::AlertSaved)),
        "bad_alert" => Some(Flash::Problem(T::BadAlert)),
        _ => None,
    }
}

pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Path(bin): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ConsoleError> {
    let ctx = Ctx::load(&state, staff, &bin).await?;
    render(&state, &ctx, &q.q, flash_of(&q.msg), StatusCode::OK).await
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    q: &str,
    flash: Option<Flash>,
    status: StatusCode,
) -> Result<Response, ConsoleError> {
    let all = rows(state, ctx).await?;
    let shown: Vec<&Row> = all.iter().filter(|r| matches(r, q)).collect();
    let lang = ctx.lang();
    let base = ctx.base();
    let body = html! {
        form method="get" action={(base) "/students"} class="toolbar" role="search" {
            label { (ctx.t(T::Search)) input type="search" name="q" value=(q); }
            button type="submit" { (ctx.t(T::Find)) }
            a class="button secondary" href={(base) "/students.csv"} download { (ctx.t(T::ExportCsv)) }
        }
        div class="scroll" { table id="students" {
            caption { (ctx.t(T::Found)) ": " (shown.len()) " / " (all.len()) }
            thead { tr {
                th scope="col" { (ctx.t(T::Name)) }
                th scope="col" { (ctx.t(T::Class)) }
                th scope="col" { (ctx.t(T::Category)) }
                th scope="col" { (ctx.t(T::Voucher)) }
                th scope="col" { (ctx.t(T::Consent)) }
                th scope="col" { (ctx.t(T::ActivatedOn)) }
                th scope="col" { (ctx.t(T::Card)) }
                th scope="col" { (ctx.t(T::Alert)) }
            } }
            tbody { @for r in &shown { tr {
                th scope="row" { (r.name) br; small class="muted" { (r.iin_masked) } }
                td { (r.class) }
                td { (category(r.category, lang)) }
                td { (voucher_state(r.state, lang))
                    @if let Some((to, bin)) = r.moved {
                        br; small class="muted" { (ctx.t(if to { T::MovedTo } else { T::MovedFrom })) " " (bin) }
                    }
                }
                td { @match r.consent {
                    Some((s, at)) => { (consent_state(s, lang)) br; small class="muted" { (ctx.t(T::LastSms)) " " (date(at.to_offset(shared::time::ASTANA).date())) } },
                    None if r.voucher.is_none() => span class="muted" { (ctx.t(T::ConsentNotStarted)) },
                    None => span class="muted" { (ctx.t(T::NotNeeded)) },
                } }
                td { (r.activated_at.map(|a| date(a.to_offset(shared::time::ASTANA).date())).unwrap_or_default()) }
                td { @if let Some(v) = r.voucher {
                    @if let Some(card) = r.card {
                        form method="post" action={(base) "/students/unbind"} class="card-form" {
                            (ctx.csrf_field())
                            input type="hidden" name="voucher" value=(v);
                            code { (card) }
                            button type="submit" class="secondary" aria-label={(ctx.t(T::Unbind)) " " (card) ", " (r.name)} { (ctx.t(T::Unbind)) }
                        }
                    } @else {
                        form method="post" action={(base) "/students/card"} class="card-form" {
                            (ctx.csrf_field())
                            input type="hidden" name="voucher" value=(v);
                            input type="text" name="card_uid" id={"card-" (v)} maxlength="10" autocomplete="off"
                                placeholder="0102ABCDEF" aria-label={(ctx.t(T::CardUid)) ", " (r.name)};
                            button type="submit" { (ctx.t(T::Bind)) }
                        }
                    }
                } }
                td { @if let Some(v) = r.voucher {
                    form method="post" action={(base) "/students/alert"} class="card-form" {
                        (ctx.csrf_field())
                        input type="hidden" name="voucher" value=(v);
                        input type="text" name="line" maxlength="200" value=(r.alert.as_deref().unwrap_or(""))
                            aria-label={(ctx.t(T::Alert)) ", " (r.name)};
                        button type="submit" class="secondary" { (ctx.t(T::Save)) }
                    }
                } }
            } } }
        } }
    };
    let mut response = layout::page(ctx, Nav::Students, ctx.t(T::StudentsTitle), flash, body);
    *response.status_mut() = status;
    Ok(response)
}

#[derive(Deserialize)]
pub struct CardForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    voucher: String,
    #[serde(default)]
    card_uid: String,
}

/// The student of a voucher of this school (anything else: not found).
pub(super) async fn student_of(
    state: &AppState,
    ctx: &Ctx,
    voucher: &str,
) -> Result<Iin, ConsoleError> {
    let id: VoucherId = voucher.parse().map_err(|_| ConsoleError::NotFound)?;
    let v = state
        .store
        .voucher_at_school(ctx.bin, id)
        .await?
        .ok_or(ConsoleError::NotFound)?;
    Ok(v.student)
}

pub async fn bind(
    State(state): State<AppState>,
    staff: Staff,
    Path(bin): Path<String>,
    ConsoleForm(form): ConsoleForm<CardForm>,
) -> Result<Response, ConsoleError> {
    let ctx = Ctx::load(&state, staff, &bin).await?;
    ctx.staff.check_csrf(&form.csrf)?;
    let student = student_of(&state, &ctx, &form.voucher).await?;
    let Ok(card) = form.card_uid.trim().parse::<CardUid>() else {
        let flash = Some(Flash::Problem(T::BadCardUid));
        return render(&state, &ctx, "", flash, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let bound = cards::bind(
        state.store.as_ref(),
        ctx.bin,
        student,
        card,
        ctx.staff.actor(),
        state.clock.now(),
    )
    .await;
    let msg = match bound {
        Ok(CardBound::Bound { .. }) => "bound",
        Ok(CardBound::Unchanged) => "unchanged",
        Err(BindError::Taken) => {
            let flash = Some(Flash::Problem(T::CardTaken));
            return render(&state, &ctx, "", flash, StatusCode::CONFLICT).await;
        }
        Err(BindError::Store(e)) => return Err(e.into()),
    };
    tracing::info!(school = %ctx.bin, "console: card bound");
    Ok(Redirect::to(&format!("{}/students?msg={msg}", ctx.base())).into_response())
}

#[derive(Deserialize)]
pub struct UnbindForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    voucher: String,
}

pub async fn unbind(
    State(state): State<AppState>,
    staff: Staff,
    Path(bin): Path<String>,
    ConsoleForm(form): ConsoleForm<UnbindForm>,
) -> Result<Response, ConsoleError> {
    let ctx = Ctx::load(&state, staff, &bin).await?;
    ctx.staff.check_csrf(&form.csrf)?;
    let student = student_of(&state, &ctx, &form.voucher).await?;
    let actor = ctx.staff.actor();
    let was = cards::unbind(
        state.store.as_ref(),
        ctx.bin,
        student,
        &actor,
        state.clock.now(),
    )
    .await?;
    let msg = if was.is_some() { "unbound" } else { "no_card" };
    Ok(Redirect::to(&format!("{}/students?msg={msg}", ctx.base())).into_response())
}

/// The list as CSV (UTF-8 with BOM and `;`, as Excel in Kazakhstan opens it).
pub async fn csv(
    State(state): State<AppState>,
    staff: Staff,
    Path(bin): Path<String>,
) -> Result<Response, ConsoleError> {
    let ctx = Ctx::load(&state, staff, &bin).await?;
    let lang = ctx.lang();
    let mut out = csv::WriterBuilder::new()
        .delimiter(b';')
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    let header = [
        T::Name,
        T::Class,
        T::Category,
        T::Voucher,
        T::Consent,
        T::LastSms,
        T::ActivatedOn,
        T::Card,
    ];
    let fail = |_| ConsoleError::Internal;
    out.write_record(header.iter().map(|t| ctx.t(*t)))
        .map_err(fail)?;
    for r in rows(&state, &ctx).await? {
        let astana = |t: OffsetDateTime| date(t.to_offset(shared::time::ASTANA).date());
        out.write_record([
            safe_cell(&r.name),
            safe_cell(&r.class),
            category(r.category, lang).to_string(),
            voucher_state(r.state, lang).to_string(),
            r.consent
                .map(|(s, _)| consent_state(s, lang).to_string())
                .unwrap_or_default(),
            r.consent.map(|(_, at)| astana(at)).unwrap_or_default(),
            r.activated_at.map(astana).unwrap_or_default(),
            r.card.map(|c| c.to_string()).unwrap_or_default(),
        ])
        .map_err(fail)?;
    }
    let bytes = out.into_inner().map_err(|_| ConsoleError::Internal)?;
    let disposition = format!("attachment; filename=\"students-{}.csv\"", ctx.bin);
    Ok((
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).map_err(|_| ConsoleError::Internal)?,
            ),
        ],
        bytes,
    )
        .into_response())
}
