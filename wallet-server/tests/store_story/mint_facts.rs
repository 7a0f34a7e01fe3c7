//! The mint-facts chapter of the store story: the mint's represented-voucher lookup is
//! answered from a short-lived cache, and nothing it holds outlives the change that made it
//! wrong — a representation changed by a list, a voucher revoked by a list (through the real
//! services), the voucher's last day passing on the clock; on PostgreSQL also when another
//! process (a second store on the database) makes the change.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use shared::{Bin, Iin, Sex, VoucherId};
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};
use wallet_server::domain::audit::Actor;
use wallet_server::domain::list::{
    ListRequest, Reception, RepresentativeIn, RowOutcome, SchoolIn, StudentIn,
};
use wallet_server::domain::programme_dates::ProgrammeDates;
use wallet_server::domain::voucher::SchoolYearRule;
use wallet_server::services::lists;
use wallet_server::services::mint_notes::MintNotes;
use wallet_server::services::passes::keys::SharedKeyRing;
use wallet_server::services::passes::mint::MintLimiter;
use wallet_server::services::passes::{issue, IssueError, Minting};
use wallet_server::services::vouchers::{activate, VoucherError};
use wallet_server::store::Store;

const T0: OffsetDateTime = datetime!(2026-10-05 03:00 UTC);

fn iin(born: time::Date, sex: Sex, serial: u16) -> Iin {
    (serial..serial + 100)
        .find_map(|s| Iin::generate(born, sex, s))
        .expect("an issuable serial exists")
}

fn school() -> Bin {
    Bin::generate(&[1, 4, 0, 3, 4, 0, 0, 0, 0, 1, 8]).expect("bin")
}

fn kid() -> Iin {
    iin(date!(2018 - 03 - 14), Sex::Female, 4000)
}

fn mother() -> Iin {
    iin(date!(1987 - 06 - 01), Sex::Female, 4100)
}

fn father() -> Iin {
    iin(date!(1986 - 07 - 02), Sex::Male, 4200)
}

/// The school's list: the kid with `parent`, or nobody.
fn list(parent: Option<Iin>) -> ListRequest {
    ListRequest {
        school: SchoolIn {
            bin: school().to_string(),
            name: "Школа №18".parse().expect("name"),
        },
        programme: "school_meals".into(),
        period: "2026-10".into(),
        students: parent
            .map(|p| StudentIn {
                iin: kid().expose(),
                full_name: "Ученица".parse().expect("name"),
                grade: 2,
                class_label: "2Г".parse().expect("class"),
                category: "primary".into(),
                representatives: vec![RepresentativeIn {
                    iin: p.expose(),
                    full_name: "Родитель".parse().expect("name"),
                    relation: "mother".into(),
                    phone: None,
                }],
            })
            .into_iter()
            .collect(),
    }
}

async fn send(store: &Arc<dyn Store>, parent: Option<Iin>, at: OffsetDateTime) -> Vec<RowOutcome> {
    let rule = SchoolYearRule::default();
    let reception = Reception {
        received_at: at,
        received_by: Actor::Integration("pep".into()),
        school_year: &rule,
        programme_dates: ProgrammeDates::pilot_2026(),
        content_hash: format!("mint-facts-{at}"),
    };
    let (_, outcome) = lists::accept(store.as_ref(), &list(parent), reception)
        .await
        .expect("list applied");
    outcome.rows.into_iter().map(|(_, o)| o).collect()
}

struct Mint {
    keys: SharedKeyRing,
    limiter: MintLimiter,
    notes: MintNotes,
    _dir: tempfile::TempDir,
}

impl Mint {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = SharedKeyRing::load_or_create(&dir.path().join("keys.json"), T0).expect("keys");
        Mint {
            keys,
            limiter: MintLimiter::new(1_000, Duration::minutes(10)),
            notes: MintNotes::default(),
            _dir: dir,
        }
    }

    async fn pass(
        &self,
        store: &Arc<dyn Store>,
        parent: Iin,
        id: VoucherId,
        now: OffsetDateTime,
    ) -> Result<(), IssueError> {
        let minting = Minting {
            keys: &self.keys,
            limiter: &self.limiter,
            programme: ProgrammeDates::new(date!(2026 - 09 - 01), date!(2027 - 12 - 31))
                .expect("dates"),
            notes: &self.notes,
        };
        issue(store, &minting, parent, id, now).await.map(|_| ())
    }
}

fn refused_as_gone(r: Result<(), IssueError>) -> bool {
    matches!(
        r,
        Err(IssueError::Voucher(
            VoucherError::NotFound | VoucherError::Revoked
        ))
    )
}

/// Waits until the store's cache answers (PostgreSQL: its listener listens).
async fn until_live(stats: &impl Fn() -> (u64, bool)) {
    let waited = Instant::now();
    while !stats().1 {
        assert!(
            waited.elapsed() < StdDuration::from_secs(5),
            "the listener listens"
        );
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
}

/// `stats`: lookups the store answered from memory, and whether its cache answers now.
pub async fn story(store: Arc<dyn Store>, stats: impl Fn() -> (u64, bool)) {
    let hits = || stats().0;
    let mint = Mint::new();
    let rows = send(&store, Some(mother()), T0).await;
    let [RowOutcome::VoucherFormed(id)] = rows[..] else {
        panic!("one voucher formed: {rows:?}")
    };
    activate(store.as_ref(), mother(), id, T0)
        .await
        .expect("activate");

    // Minted twice: the second lookup is answered from memory.
    mint.pass(&store, mother(), id, T0)
        .await
        .expect("first pass");
    until_live(&stats).await;
    mint.pass(&store, mother(), id, T0).await.expect("fills");
    let before = hits();
    mint.pass(&store, mother(), id, T0)
        .await
        .expect("second pass");
    assert!(
        hits() > before,
        "the second mint was answered from the cache"
    );
    // Another parent is not the mother's cache entry.
    assert!(refused_as_gone(mint.pass(&store, father(), id, T0).await));

    // The voucher's last day passes on the clock: refused though nothing was written.
    let last_day = datetime!(2027-05-31 10:00 UTC);
    mint.pass(&store, mother(), id, last_day)
        .await
        .expect("last day");
    mint.pass(&store, mother(), id, last_day)
        .await
        .expect("cached");
    let next_day = datetime!(2027-06-01 01:00 UTC);
    assert!(matches!(
        mint.pass(&store, mother(), id, next_day).await,
        Err(IssueError::Voucher(VoucherError::Expired))
    ));

    // A list names the father instead: the mother is refused at once, the father served.
    mint.pass(&store, mother(), id, T0)
        .await
        .expect("cached again");
    send(&store, Some(father()), T0 + Duration::minutes(1)).await;
    assert!(refused_as_gone(mint.pass(&store, mother(), id, T0).await));
    mint.pass(&store, father(), id, T0)
        .await
        .expect("the father's pass");

    // A list drops the kid: the voucher is revoked and refused at once.
    mint.pass(&store, father(), id, T0).await.expect("cached");
    send(&store, None, T0 + Duration::minutes(2)).await;
    assert!(refused_as_gone(mint.pass(&store, father(), id, T0).await));
    mint_notes_are_stored(&store, &mint).await;
}

/// The first mints of the day waited in memory; a flush stores them.
async fn mint_notes_are_stored(store: &Arc<dyn Store>, mint: &Mint) {
    mint.notes.flush(store.as_ref()).await;
    let day = shared::time::service_day(T0);
    let facts = store.signal_facts(school(), day, day).await.expect("facts");
    let parents: std::collections::BTreeSet<_> = facts.mints.iter().map(|m| &m.parent).collect();
    assert_eq!(
        parents.len(),
        2,
        "mother and father noted once each: {facts:?}"
    );
}

/// PostgreSQL: B's cache forgets what A changes, within a second (migration 0018's NOTIFY).
pub async fn across_processes(
    a: Arc<dyn Store>,
    b: Arc<dyn Store>,
    b_stats: impl Fn() -> (u64, bool),
) {
    let mint = Mint::new();
    let t = T0 + Duration::hours(1);
    let rows = send(&a, Some(mother()), t).await;
    let id = match rows[..] {
        [RowOutcome::VoucherFormed(id)] => id,
        _ => panic!("one voucher formed: {rows:?}"),
    };
    activate(a.as_ref(), mother(), id, t)
        .await
        .expect("activate");
    // B's first lookup starts its listener; wait until it listens, then B caches.
    mint.pass(&b, mother(), id, t).await.expect("through B");
    until_live(&b_stats).await;
    mint.pass(&b, mother(), id, t).await.expect("B fills");
    let before = b_stats().0;
    mint.pass(&b, mother(), id, t).await.expect("B from memory");
    assert!(b_stats().0 > before, "B answered from its cache");

    // A drops the kid; B refuses within a second.
    send(&a, None, t + Duration::minutes(1)).await;
    let revoked = Instant::now();
    loop {
        if refused_as_gone(mint.pass(&b, mother(), id, t).await) {
            break;
        }
        assert!(
            revoked.elapsed() < StdDuration::from_secs(1),
            "B still mints a second after A revoked"
        );
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
}
