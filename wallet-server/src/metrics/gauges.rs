//! Gauges computed at scrape time from an [`OpsSnapshot`]: the outbox, the jobs, the
//! terminals' last contact and the database. Each scrape replaces the previous values;
//! a part of the snapshot that could not be read is left out (an absent series, which an
//! alert on `wallet_db_up` covers), never reported as zero.
//!
//! The pool's acquire wait is a timed probe at scrape time (`OpsStore::probe_connection`):
//! one acquisition per scrape, so it shows the wait a request would see at that moment.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use time::OffsetDateTime;

use crate::domain::job::JobKind;
use crate::domain::ops::{ContactAge, JobFacts, OpsSnapshot, OutboxFacts, SchoolContact};
use crate::domain::outbox::OutboxKind;

type Seconds = Gauge<f64, AtomicU64>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SchoolLabels {
    school_bin: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AgeLabels {
    age: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

pub(super) struct StoreGauges {
    outbox_pending: Family<KindLabels, Gauge>,
    outbox_failed: Family<KindLabels, Gauge>,
    outbox_oldest_pending: Family<KindLabels, Seconds>,
    outbox_oldest_due: Family<KindLabels, Seconds>,
    jobs_due: Family<KindLabels, Gauge>,
    jobs_overdue: Family<KindLabels, Gauge>,
    jobs_failed: Family<KindLabels, Gauge>,
    school_contact: Family<SchoolLabels, Seconds>,
    terminals_by_age: Family<AgeLabels, Gauge>,
    db_up: Gauge,
    pool: Family<StateLabels, Gauge>,
    pool_max: Gauge,
    acquire_wait: Seconds,
}

fn reg<M: prometheus_client::registry::Metric + Clone>(
    registry: &mut Registry,
    name: &str,
    help: &str,
    metric: M,
) -> M {
    registry.register(name, help, metric.clone());
    metric
}

impl StoreGauges {
    pub(super) fn register(r: &mut Registry) -> Self {
        StoreGauges {
            outbox_pending: reg(r, "outbox_pending_messages", "Outbox messages waiting for delivery, by kind", Family::default()),
            outbox_failed: reg(r, "outbox_failed_messages", "Outbox messages given up after their last attempt, by kind", Family::default()),
            outbox_oldest_pending: reg(r, "outbox_oldest_pending_age_seconds", "Age of the oldest pending outbox message (since it was queued; an SMS held overnight counts), by kind; 0 when none", Family::default()),
            outbox_oldest_due: reg(r, "outbox_oldest_due_age_seconds", "How long the longest-waiting due outbox message has been due, by kind; 0 when none is due. Grows when delivery is stuck", Family::default()),
            jobs_due: reg(r, "jobs_due", "Jobs pending or running whose due time has passed, by kind", Family::default()),
            jobs_overdue: reg(r, "jobs_overdue", "Jobs still pending or running 5 minutes after their due time, by kind", Family::default()),
            jobs_failed: reg(r, "jobs_failed", "Jobs given up after their last attempt, by kind", Family::default()),
            school_contact: reg(r, "school_terminals_last_contact_age_seconds", "Per school with active terminals, seconds since any of them last synced (since enrollment when none has)", Family::default()),
            terminals_by_age: reg(r, "terminals_by_last_contact", "Active terminals by time since their last sync: under_5m, 5m_to_1h, 1h_to_1d, over_1d", Family::default()),
            db_up: reg(r, "db_up", "1 when a pooled database connection answered SELECT 1 at this scrape, else 0", Gauge::default()),
            pool: reg(r, "db_pool_connections", "Open database connections, by state (in_use, idle)", Family::default()),
            pool_max: reg(r, "db_pool_max_connections", "The database pool's maximum size", Gauge::default()),
            acquire_wait: reg(r, "db_pool_acquire_wait_seconds", "Time this scrape waited to take a connection from the pool (a timed probe)", Seconds::default()),
        }
    }

    /// Replaces every gauge's value with the snapshot's.
    pub(super) fn set(&self, s: &OpsSnapshot) {
        self.set_outbox(s.now, s.outbox.as_deref());
        self.set_jobs(s.jobs.as_deref());
        self.set_terminals(s.now, s.terminals.as_deref());
        self.db_up.set(i64::from(s.acquire_wait.is_some()));
        self.acquire_wait
            .set(s.acquire_wait.map_or(0.0, |d| d.as_secs_f64()));
        self.pool
            .get_or_create(&StateLabels { state: "in_use" })
            .set(i64::from(s.pool.in_use()));
        self.pool
            .get_or_create(&StateLabels { state: "idle" })
            .set(i64::from(s.pool.idle));
        self.pool_max.set(i64::from(s.pool.max));
    }

    fn set_outbox(&self, now: OffsetDateTime, outbox: Option<&[OutboxFacts]>) {
        self.outbox_pending.clear();
        self.outbox_failed.clear();
        self.outbox_oldest_pending.clear();
        self.outbox_oldest_due.clear();
        let Some(outbox) = outbox else { return };
        // Every known kind is reported, with zeros, so "no failure" is a value.
        for kind in OutboxKind::ALL {
            let l = kind_labels(kind.as_str());
            self.outbox_pending.get_or_create(&l).set(0);
            self.outbox_failed.get_or_create(&l).set(0);
            self.outbox_oldest_pending.get_or_create(&l).set(0.0);
            self.outbox_oldest_due.get_or_create(&l).set(0.0);
        }
        for f in outbox {
            let l = kind_labels(&f.kind);
            self.outbox_pending.get_or_create(&l).set(f.pending);
            self.outbox_failed.get_or_create(&l).set(f.failed);
            self.outbox_oldest_pending
                .get_or_create(&l)
                .set(age(now, f.oldest_pending));
            self.outbox_oldest_due
                .get_or_create(&l)
                .set(age(now, f.oldest_due));
        }
    }

    fn set_jobs(&self, jobs: Option<&[JobFacts]>) {
        let families = [&self.jobs_due, &self.jobs_overdue, &self.jobs_failed];
        for family in families {
            family.clear();
        }
        let Some(jobs) = jobs else { return };
        for kind in JobKind::ALL {
            for family in families {
                family.get_or_create(&kind_labels(kind.as_str())).set(0);
            }
        }
        for f in jobs {
            let l = kind_labels(&f.kind);
            self.jobs_due.get_or_create(&l).set(f.due);
            self.jobs_overdue.get_or_create(&l).set(f.overdue);
            self.jobs_failed.get_or_create(&l).set(f.failed);
        }
    }

    fn set_terminals(&self, now: OffsetDateTime, terminals: Option<&[SchoolContact]>) {
        self.school_contact.clear();
        self.terminals_by_age.clear();
        let Some(terminals) = terminals else { return };
        let mut by_age = [0_i64; 4];
        for school in terminals {
            let l = SchoolLabels {
                school_bin: school.school.to_string(),
            };
            self.school_contact
                .get_or_create(&l)
                .set(age(now, Some(school.last_contact)));
            for (total, n) in by_age.iter_mut().zip(school.by_age) {
                *total += n;
            }
        }
        for (bucket, n) in ContactAge::ALL.into_iter().zip(by_age) {
            let l = AgeLabels {
                age: bucket.as_str(),
            };
            self.terminals_by_age.get_or_create(&l).set(n);
        }
    }
}

/// Seconds from `t` to `now` (0 when there is no such instant, or it lies ahead).
fn age(now: OffsetDateTime, t: Option<OffsetDateTime>) -> f64 {
    t.map_or(0.0, |t| (now - t).as_seconds_f64().max(0.0))
}

fn kind_labels(kind: &str) -> KindLabels {
    KindLabels {
        kind: kind.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use time::Duration;

    use super::*;
    use crate::domain::ops::PoolFacts;

    const NOW: OffsetDateTime = datetime!(2026-12-07 07:00 UTC);

    fn encoded(registry: &Registry) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, registry).expect("encode");
        out
    }

    fn snapshot(readable: bool) -> OpsSnapshot {
        let school = SchoolContact {
            school: "050140001238".parse().expect("bin"),
            last_contact: NOW - Duration::minutes(20),
            by_age: [0, 2, 0, 1],
        };
        let outbox = OutboxFacts {
            kind: "sms".into(),
            pending: 3,
            failed: 1,
            oldest_pending: Some(NOW - Duration::hours(1)),
            oldest_due: Some(NOW - Duration::minutes(30)),
        };
        OpsSnapshot {
            now: NOW,
            pool: PoolFacts {
                size: 5,
                idle: 2,
                max: 16,
            },
            acquire_wait: readable.then_some(std::time::Duration::from_millis(250)),
            outbox: readable.then(|| vec![outbox]),
            jobs: readable.then(Vec::new),
            terminals: readable.then(|| vec![school]),
        }
    }

    #[test]
    fn a_scrape_replaces_the_last_one() {
        let mut registry = Registry::default();
        let gauges = StoreGauges::register(&mut registry);
        gauges.set(&snapshot(true));
        let text = encoded(&registry);
        for line in [
            "school_terminals_last_contact_age_seconds{school_bin=\"050140001238\"} 1200.0",
            "terminals_by_last_contact{age=\"5m_to_1h\"} 2",
            "terminals_by_last_contact{age=\"over_1d\"} 1",
            "outbox_oldest_due_age_seconds{kind=\"sms\"} 1800.0",
            "outbox_failed_messages{kind=\"sms\"} 1",
            "outbox_failed_messages{kind=\"report\"} 0",
            "jobs_overdue{kind=\"daily_report\"} 0",
            "db_up 1",
            "db_pool_connections{state=\"in_use\"} 3",
            "db_pool_acquire_wait_seconds 0.25",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }

        // The database is gone: its gauges vanish rather than read zero, and db_up says so.
        gauges.set(&snapshot(false));
        let text = encoded(&registry);
        assert!(
            !text.contains("050140001238") && !text.contains("kind="),
            "{text}"
        );
        assert!(text.lines().any(|l| l == "db_up 0"), "{text}");
    }
}
