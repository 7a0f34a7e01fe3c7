//! Voided meals (issue 19), following `domain::meal::void`: the meal is read within its scope
//! (the terminal that recorded it, or the school for staff — in the SQL, so another terminal's
//! or school's meal is simply not found), judged, and marked once. A counted meal voided
//! before its month's approval gets status `voided` and leaves every count; after, it is the
//! next month's adjustment (`void_kind`), read by the табель.

use shared::counter::{MealVoid, VoidResult, VoidVerdict};
use shared::time::YearMonth;
use shared::{Bin, Label};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::audit::{Actor, AuditEntry};
use crate::domain::meal::void::{kind_of, kind_word, VoidRefusal, VoidTarget};
use crate::domain::meal::{void_verdict, MealStatus};
use crate::domain::terminal::TerminalRecord;
use crate::store::{parse_stored, StoreError};

/// Which meals a void may reach.
#[derive(Clone, Copy)]
pub(in crate::store) enum Scope {
    /// The terminal's own meals (its school too, as a second wall).
    Terminal { school: Bin, id: Uuid },
    /// Any meal of the school.
    School(Bin),
}

/// A void to apply: who asks, why, and the terminal's time of it (none for staff).
pub(in crate::store) struct VoidAsk<'a> {
    pub scope: Scope,
    pub event_id: Uuid,
    pub reason: &'a Label,
    pub by: String,
    pub terminal_voided_at: Option<OffsetDateTime>,
    pub now: OffsetDateTime,
}

const TARGET_COLUMNS: &str = "served_at, service_day, status, void_kind";
const SET_VOID: &str =
    "UPDATE meals SET status = CASE WHEN status = 'accepted' THEN 'voided' ELSE status END, \
     voided_at = $1, void_reason = $2, voided_by = $3, void_kind = $4 \
     WHERE school_bin = $5 AND event_id = $6 AND void_kind IS NULL";

super::per_backend! {
    use sqlx::Row as _;

    /// The meal's facts for the void and its month, within the scope.
    async fn target(
        conn: &mut Conn,
        scope: Scope,
        event_id: Uuid,
    ) -> Result<Option<(VoidTarget, YearMonth)>, StoreError> {
        let row = match scope {
            Scope::Terminal { school, id } => {
                let sql = format!(
                    "SELECT {TARGET_COLUMNS} FROM meals WHERE school_bin = $1 AND event_id = $2 AND terminal_id = $3"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(school.to_string())
                    .bind(uuid(event_id))
                    .bind(uuid(id))
                    .fetch_optional(&mut *conn)
                    .await?
            }
            Scope::School(school) => {
                let sql = format!(
                    "SELECT {TARGET_COLUMNS} FROM meals WHERE school_bin = $1 AND event_id = $2"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(school.to_string())
                    .bind(uuid(event_id))
                    .fetch_optional(&mut *conn)
                    .await?
            }
        };
        row.map(|r| {
            let kind: Option<String> = r.try_get("void_kind")?;
            let target = VoidTarget {
                served_at: get_ts(&r, "served_at")?,
                status: parse_stored::<MealStatus>("meal status", r.try_get("status")?)?,
                void_kind: kind.as_deref().and_then(kind_of),
            };
            Ok((target, YearMonth::of(get_date(&r, "service_day")?)))
        })
        .transpose()
    }

    fn school_of(scope: Scope) -> Bin {
        match scope {
            Scope::Terminal { school, .. } | Scope::School(school) => school,
        }
    }

    /// Judges and applies one void inside the caller's transaction.
    pub(in crate::store) async fn apply(
        conn: &mut Conn,
        ask: &VoidAsk<'_>,
    ) -> Result<Result<VoidVerdict, VoidRefusal>, StoreError> {
        let school = school_of(ask.scope);
        let Some((meal, month)) = target(conn, ask.scope, ask.event_id).await? else {
            return Ok(Err(VoidRefusal::UnknownMeal));
        };
        let approved: Option<String> = sqlx::query_scalar(
            "SELECT month FROM tabel_approvals WHERE school_bin = $1 AND month = $2",
        )
        .bind(school.to_string())
        .bind(month.to_string())
        .fetch_optional(&mut *conn)
        .await?;
        let verdict = void_verdict(Some(&meal), ask.terminal_voided_at, approved.is_some());
        if let (Ok(v), None) = (verdict, meal.void_kind) {
            sqlx::query(SET_VOID)
                .bind(ts(ask.now))
                .bind(ask.reason.as_str())
                .bind(&ask.by)
                .bind(kind_word(v))
                .bind(school.to_string())
                .bind(uuid(ask.event_id))
                .execute(&mut *conn)
                .await?;
        }
        Ok(verdict)
    }

    /// A terminal's voids, in order, in one transaction.
    pub(in crate::store) async fn for_terminal(
        store: &Store,
        terminal: &TerminalRecord,
        voids: &[MealVoid],
        now: OffsetDateTime,
    ) -> Result<Vec<VoidResult>, StoreError> {
        let mut tx = write(store).await?;
        let out = terminal_voids_in(&mut tx, terminal, voids, now).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// A terminal's voids, in order, inside the caller's write transaction; each new one
    /// audited.
    pub(in crate::store) async fn terminal_voids_in(
        conn: &mut Conn,
        terminal: &TerminalRecord,
        voids: &[MealVoid],
        now: OffsetDateTime,
    ) -> Result<Vec<VoidResult>, StoreError> {
        let mut out = Vec::with_capacity(voids.len());
        for v in voids {
            let actor = Actor::Terminal {
                id: terminal.id,
                worker: v.worker.as_ref().map(|w| w.to_string()),
            };
            let ask = VoidAsk {
                scope: Scope::Terminal { school: terminal.school, id: terminal.id },
                event_id: v.event_id,
                reason: &v.reason,
                by: actor.to_record(),
                terminal_voided_at: Some(v.voided_at),
                now,
            };
            let was_new = target(conn, ask.scope, v.event_id)
                .await?
                .is_some_and(|(m, _)| m.void_kind.is_none());
            let verdict = apply(conn, &ask).await?;
            if let (Ok(kind), true) = (verdict, was_new) {
                insert_audit(conn, &void_audit(actor, v.event_id, kind, &v.reason, now)).await?;
            }
            out.push(result_of(v.event_id, verdict));
        }
        Ok(out)
    }

    /// Staff's void of a meal of `school`, audited.
        pub(in crate::store) async fn for_school(
            store: &Store,
            school: Bin,
            event_id: Uuid,
            reason: &Label,
            audit: &AuditEntry,
        ) -> Result<VoidVerdict, StoreError> {
            let mut tx = write(store).await?;
            let ask = VoidAsk {
                scope: Scope::School(school),
                event_id,
                reason,
                by: audit.actor.to_record(),
                terminal_voided_at: None,
                now: audit.at,
            };
            let verdict = apply(&mut tx, &ask).await?.map_err(|_| StoreError::NotFound)?;
            let entry = AuditEntry {
                to_state: kind_word(verdict).map(str::to_string),
                ..audit.clone()
            };
            insert_audit(&mut tx, &entry).await?;
            tx.commit().await?;
            Ok(verdict)
        }
}

/// The audit entry of a terminal's void.
fn void_audit(
    actor: Actor,
    event_id: Uuid,
    kind: VoidVerdict,
    reason: &Label,
    at: OffsetDateTime,
) -> AuditEntry {
    AuditEntry {
        at,
        actor,
        entity_kind: "meal",
        entity_id: event_id.to_string(),
        action: "void".into(),
        from_state: Some("accepted".into()),
        to_state: kind_word(kind).map(str::to_string),
        reason: Some(reason.to_string()),
    }
}

/// The answer the terminal sees.
fn result_of(event_id: Uuid, verdict: Result<VoidVerdict, VoidRefusal>) -> VoidResult {
    match verdict {
        Ok(status) => VoidResult {
            event_id,
            status,
            reason: None,
        },
        Err(refusal) => VoidResult {
            event_id,
            status: VoidVerdict::Rejected,
            reason: Some(refusal.as_str().into()),
        },
    }
}
