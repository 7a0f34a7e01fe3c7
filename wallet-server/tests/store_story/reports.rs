//! The reports chapter of the store story (issue 18, item 4), on every backend: each view
//! reads in one statement, and its figures are the NOBD report's — a built day's latest
//! stored version, any other day counted now exactly as the daily report counts it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use time::macros::date;
use time::Duration;
use tracing::instrument::WithSubscriber;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;
use wallet_server::domain::report::{DailyReport, SchoolDay};
use wallet_server::services::reports;
use wallet_server::store::{DayReport, Store};

/// Counts the statements sqlx runs (one `sqlx::query` event each).
#[derive(Clone, Default)]
struct Statements(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> Layer<S> for Statements {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() == "sqlx::query" {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Runs `f` and returns its output with the number of statements it ran.
async fn counted<T>(f: impl std::future::Future<Output = T>) -> (T, usize) {
    let count = Statements::default();
    let subscriber = tracing_subscriber::registry().with(count.clone());
    let out = f.with_subscriber(subscriber).await;
    (out, count.0.load(Ordering::SeqCst))
}

/// `stored_day`: a day whose report the corrections chapter stored (versions 1 to 3) for
/// `stored_school`; the autumn before holds the other chapters' vouchers and meals, unreported.
/// `traced`: statements are seen by the caller's tracing subscriber (PostgreSQL; SQLite runs
/// them on its worker thread, out of the subscriber's scope — the SQL is the same text).
pub async fn story(
    store: Arc<dyn Store>,
    stored_day: time::Date,
    stored_school: &str,
    traced: bool,
) {
    let store = store.as_ref();
    let one = |statements: usize| !traced || statements == 1;
    let (first, last) = (date!(2026 - 08 - 20), date!(2026 - 11 - 16));
    let days = (last - first).whole_days() + 1;
    let mut compared = 0;
    for school in store.daily_facts(last).await.expect("schools") {
        let bin = school.bin.parse().expect("bin");
        let (run, statements) = counted(reports::school_days(store, bin, last, days)).await;
        let run = run.expect("school days");
        assert!(
            one(statements),
            "the console's run of days is one statement: {statements}"
        );
        assert_eq!(run.len() as i64, days);
        assert_eq!((run[0].0, run[run.len() - 1].0), (first, last));
        for (day, figures) in run {
            if store.stored_report(day).await.expect("read").is_some() {
                continue; // built (the табель chapter stores one): shown as stored, below
            }
            let live = store
                .daily_facts(day)
                .await
                .expect("facts")
                .into_iter()
                .find(|s| s.bin == school.bin)
                .expect("every school has a line");
            assert_eq!(
                figures, live,
                "{day}: counted per day as the report counts it"
            );
            compared += usize::from(live != SchoolDay::zero(school.bin.clone()));
        }
    }
    assert!(
        compared >= 5,
        "days with vouchers or meals compared: {compared}"
    );

    // A built day shows its latest stored version; a school missing from it, zeros.
    let bin = stored_school.parse().expect("bin");
    let (run, statements) = counted(reports::school_days(store, bin, stored_day, 2)).await;
    let run = run.expect("school days");
    assert!(one(statements), "{statements}");
    let Ok(DayReport::Stored(body)) = store.report_of_day(stored_day).await else {
        panic!("{stored_day} was stored");
    };
    let latest: DailyReport = serde_json::from_str(&body).expect("body");
    assert_eq!(latest.version, 3);
    let sent = latest.schools.iter().find(|s| s.bin == stored_school);
    assert_eq!(Some(&run[1].1), sent, "the stored version 3, as sent");
    let absent = shared::Bin::generate(&[9, 9, 0, 3, 4, 0, 0, 0, 0, 7, 2]).expect("bin");
    let (other, _) = counted(reports::school_days(store, absent, stored_day, 1)).await;
    assert_eq!(
        other.expect("run")[0].1,
        SchoolDay::zero(absent.to_string())
    );

    // The integration's day: one statement either way, live facts as `daily_facts` counts.
    for day in [stored_day, last, last - Duration::days(40)] {
        let (report, statements) = counted(store.report_of_day(day)).await;
        assert!(
            one(statements),
            "{day}: the day's report is one statement: {statements}"
        );
        match report.expect("report") {
            DayReport::Stored(body) => assert_eq!(day, stored_day, "{body}"),
            DayReport::Live(facts) => {
                assert_eq!(facts, store.daily_facts(day).await.expect("facts"))
            }
        }
    }
}
