//! The SQL of signals (issue 19): refused scans and mint notes written once, a day's facts
//! of one school fetched set-based (one query for the scans of meals and denials, one for
//! the manual counts, one for mints), and the computed signals replaced per school and day.

use async_trait::async_trait;
use shared::counter::ScanDenial;
use shared::Bin;
use time::{Date, Duration, OffsetDateTime};

/// The day's scans: meals (by service day) and denials (by instant) at any terminal, each
/// with its terminal's name and school. A school sees its own terminals' scans and, of a
/// nonce shown there, the scans elsewhere (one pass at two schools).
const DAY_SCANS: &str = "WITH day_scans AS (\
     SELECT m.served_at AS at, m.terminal_id, t.name AS terminal_name, \
     t.school_bin AS terminal_school, m.voucher_id, m.pass_nonce, NULL AS card_uid, m.method, \
     m.status AS outcome, 0 AS denied \
     FROM meals m JOIN terminals t ON t.id = m.terminal_id WHERE m.service_day = $2 \
     UNION ALL \
     SELECT d.at, d.terminal_id, t.name, t.school_bin, d.voucher_id, d.pass_nonce, d.card_uid, \
     d.method, d.reason, 1 \
     FROM scan_denials d JOIN terminals t ON t.id = d.terminal_id WHERE d.at >= $3 AND d.at < $4) \
     SELECT at, terminal_id, terminal_name, terminal_school, voucher_id, pass_nonce, card_uid, \
     method, outcome, denied FROM day_scans \
     WHERE terminal_school = $1 OR pass_nonce IN (SELECT pass_nonce FROM day_scans \
     WHERE terminal_school = $1 AND pass_nonce IS NOT NULL) \
     ORDER BY at";

const SIGNAL_COLUMNS: &str =
    "SELECT day, school_bin, kind, subject, evidence, computed_at FROM signals";

super::per_backend! {
    use crate::domain::signals::{Evidence, ManualCount, Mint, Outcome, Scan, Signal};
    use crate::domain::terminal::TerminalRecord;
    use crate::store::{parse_stored, MintNote, SignalFacts, SignalStore, StoreError, StoredSignal};
    use sqlx::Row;

    /// The Astana day `day` as instants, `[start, end)`.
    fn bounds(day: Date) -> (OffsetDateTime, OffsetDateTime) {
        let start = shared::time::start_of_service_day(day);
        (start, start + Duration::DAY)
    }

    fn scan(row: &DbRow) -> Result<Scan, StoreError> {
        let outcome: String = row.try_get("outcome")?;
        let denied: i32 = row.try_get("denied")?;
        let voucher: Option<StoredUuid> = row.try_get("voucher_id")?;
        Ok(Scan {
            at: get_ts(row, "at")?,
            terminal: get_uuid(row, "terminal_id")?,
            terminal_name: row.try_get("terminal_name")?,
            terminal_school: parse_stored("school", &row.try_get::<String, _>("terminal_school")?)?,
            voucher: voucher.map(parse_uuid).transpose()?,
            nonce: row.try_get("pass_nonce")?,
            card: row.try_get("card_uid")?,
            method: row.try_get("method")?,
            outcome: if denied == 0 { Outcome::Meal(outcome) } else { Outcome::Denied(outcome) },
        })
    }

    fn stored_signal(row: &DbRow) -> Result<StoredSignal, StoreError> {
        let evidence: String = row.try_get("evidence")?;
        let evidence: Vec<Evidence> = serde_json::from_str(&evidence)
            .map_err(|_| StoreError::Corrupt("stored signal evidence".into()))?;
        Ok(StoredSignal {
            signal: Signal {
                school: parse_stored("school", &row.try_get::<String, _>("school_bin")?)?,
                day: get_date(row, "day")?,
                kind: parse_stored("signal kind", &row.try_get::<String, _>("kind")?)?,
                subject: row.try_get("subject")?,
                evidence,
            },
            computed_at: get_ts(row, "computed_at")?,
        })
    }

    async fn manual_counts(
        store: &Store,
        school: Bin,
        from: Date,
        day: Date,
    ) -> Result<(ManualCount, Vec<ManualCount>), StoreError> {
        let rows = sqlx::query(
            "SELECT service_day, SUM(CASE WHEN method = 'manual' THEN 1 ELSE 0 END) AS manual, \
             COUNT(*) AS total FROM meals WHERE school_bin = $1 AND status = 'accepted' \
             AND service_day >= $2 AND service_day <= $3 \
             GROUP BY service_day ORDER BY service_day DESC",
        )
        .bind(school.to_string())
        .bind(date(from))
        .bind(date(day))
        .fetch_all(&store.pool)
        .await?;
        let mut today = ManualCount::default();
        let mut before = Vec::new();
        for row in rows {
            let count = |col: &str| -> Result<u32, StoreError> {
                let n: i64 = row.try_get(col)?;
                u32::try_from(n).map_err(|_| StoreError::Corrupt("meal count".into()))
            };
            let c = ManualCount { manual: count("manual")?, total: count("total")? };
            if get_date(&row, "service_day")? == day {
                today = c;
            } else {
                before.push(c);
            }
        }
        Ok((today, before))
    }

    async fn mints(store: &Store, school: Bin, day: Date) -> Result<Vec<Mint>, StoreError> {
        let rows = sqlx::query(
            "SELECT parent_key, voucher_id, first_at FROM pass_mints \
             WHERE school_bin = $1 AND day = $2 ORDER BY first_at",
        )
        .bind(school.to_string())
        .bind(date(day))
        .fetch_all(&store.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Mint {
                    parent: row.try_get("parent_key")?,
                    voucher: get_uuid(row, "voucher_id")?,
                    first_at: get_ts(row, "first_at")?,
                })
            })
            .collect()
    }

    /// A terminal's refused scans, each once, inside the caller's write transaction; how
    /// many were new.
    pub(in crate::store) async fn denials_in(
        conn: &mut Conn,
        terminal: &TerminalRecord,
        denials: &[ScanDenial],
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let mut new = 0;
        for d in denials {
            new += sqlx::query(
                "INSERT INTO scan_denials (terminal_id, event_id, school_bin, at, reason, \
                 method, voucher_id, pass_nonce, card_uid, received_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (terminal_id, event_id) DO NOTHING",
            )
            .bind(uuid(terminal.id))
            .bind(uuid(d.event_id))
            .bind(terminal.school.to_string())
            .bind(ts(d.at))
            .bind(d.reason.as_str())
            .bind(d.method.as_str())
            .bind(d.voucher_id.map(|v| uuid(v.as_uuid())))
            .bind(d.pass_nonce.as_ref().map(|n| n.to_string()))
            .bind(d.card_uid.as_ref().map(|c| c.to_string()))
            .bind(ts(now))
            .execute(&mut *conn)
            .await?
            .rows_affected();
        }
        Ok(new)
    }

    #[async_trait]
    impl SignalStore for Store {
        async fn record_denials(
            &self,
            terminal: &TerminalRecord,
            denials: &[ScanDenial],
            now: OffsetDateTime,
        ) -> Result<u64, StoreError> {
            if denials.is_empty() {
                return Ok(0);
            }
            let mut tx = write(self).await?;
            let new = denials_in(&mut tx, terminal, denials, now).await?;
            tx.commit().await?;
            Ok(new)
        }

        async fn record_mints(&self, notes: &[MintNote]) -> Result<(), StoreError> {
            if notes.is_empty() {
                return Ok(());
            }
            let mut tx = write(self).await?;
            let mut q = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO pass_mints (day, parent_key, voucher_id, school_bin, first_at) ",
            );
            Bulk::new()
                .column(notes.iter().map(|n| date(shared::time::service_day(n.at))))
                .column(notes.iter().map(|n| n.parent_key.clone()))
                .column(notes.iter().map(|n| uuid(n.voucher.as_uuid())))
                .column(notes.iter().map(|n| n.school.to_string()))
                .column(notes.iter().map(|n| ts(n.at)))
                .push_rows(&mut q);
            q.push(" ON CONFLICT (day, parent_key, voucher_id) DO NOTHING");
            q.build().execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        }

        async fn forget_mints(&self, before: Date) -> Result<u64, StoreError> {
            Ok(sqlx::query("DELETE FROM pass_mints WHERE day < $1")
                .bind(date(before))
                .execute(&self.pool)
                .await?
                .rows_affected())
        }

        async fn signal_schools(&self, day: Date) -> Result<Vec<Bin>, StoreError> {
            let (start, end) = bounds(day);
            let rows: Vec<String> = sqlx::query_scalar(
                "SELECT school_bin FROM meals WHERE service_day = $1 \
                 UNION SELECT school_bin FROM scan_denials WHERE at >= $2 AND at < $3 \
                 UNION SELECT school_bin FROM pass_mints WHERE day = $1 \
                 UNION SELECT school_bin FROM signals WHERE day = $1",
            )
            .bind(date(day))
            .bind(ts(start))
            .bind(ts(end))
            .fetch_all(&self.pool)
            .await?;
            let mut schools = rows
                .iter()
                .map(|s| parse_stored("school", s))
                .collect::<Result<Vec<Bin>, _>>()?;
            schools.sort_by_key(|b| b.to_string());
            Ok(schools)
        }

        async fn signal_facts(
            &self,
            school: Bin,
            day: Date,
            trailing_from: Date,
        ) -> Result<SignalFacts, StoreError> {
            let (start, end) = bounds(day);
            let scans = sqlx::query(DAY_SCANS)
                .bind(school.to_string())
                .bind(date(day))
                .bind(ts(start))
                .bind(ts(end))
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(scan)
                .collect::<Result<Vec<_>, _>>()?;
            let (manual_today, manual_before) = manual_counts(self, school, trailing_from, day).await?;
            Ok(SignalFacts {
                scans,
                manual_today,
                manual_before,
                mints: mints(self, school, day).await?,
            })
        }

        async fn replace_signals(
            &self,
            school: Bin,
            day: Date,
            signals: &[Signal],
            now: OffsetDateTime,
        ) -> Result<(), StoreError> {
            let mut tx = write(self).await?;
            sqlx::query("DELETE FROM signals WHERE school_bin = $1 AND day = $2")
                .bind(school.to_string())
                .bind(date(day))
                .execute(&mut *tx)
                .await?;
            for s in signals.iter().filter(|s| s.school == school && s.day == day) {
                let evidence = serde_json::to_string(&s.evidence)
                    .map_err(|_| StoreError::Corrupt("signal evidence".into()))?;
                sqlx::query(
                    "INSERT INTO signals (day, school_bin, kind, subject, evidence, computed_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (day, school_bin, kind, subject) DO NOTHING",
                )
                .bind(date(day))
                .bind(school.to_string())
                .bind(s.kind.as_str())
                .bind(&s.subject)
                .bind(evidence)
                .bind(ts(now))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        }

        async fn school_signals(
            &self,
            school: Bin,
            day: Date,
        ) -> Result<Vec<StoredSignal>, StoreError> {
            let sql = format!(
                "{SIGNAL_COLUMNS} WHERE school_bin = $1 AND day = $2 ORDER BY kind, subject"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(school.to_string())
                .bind(date(day))
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(stored_signal)
                .collect()
        }

        async fn day_signals(&self, day: Date) -> Result<Vec<StoredSignal>, StoreError> {
            let sql = format!("{SIGNAL_COLUMNS} WHERE day = $1 ORDER BY school_bin, kind, subject");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(date(day))
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(stored_signal)
                .collect()
        }

        async fn wallet_events(
            &self,
            rep: shared::Iin,
            after: &crate::domain::feed::FeedCursor,
            limit: u32,
        ) -> Result<Vec<crate::domain::feed::FeedEvent>, StoreError> {
            wallet_events::read(self, rep, after, limit).await
        }
    }
}
