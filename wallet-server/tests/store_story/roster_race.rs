//! The roster race chapter of the store story, on every backend: parents activate a school's
//! vouchers through one pool while a terminal pulls roster changes through another. Writers
//! only mark a change; the pull numbers the marked changes holding the school row. A change
//! committed while a pull runs must wait for the next pull, never be skipped: every
//! activation reaches the terminal by deltas alone, each exactly once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use shared::{Bin, Iin, Sex, VoucherId};
use time::macros::{date, datetime};
use time::OffsetDateTime;
use wallet_server::domain::voucher::VoucherState;
use wallet_server::domain::{Category, School, Student};
use wallet_server::store::{Formed, Store};

const T0: OffsetDateTime = datetime!(2026-11-03 02:30 UTC);
/// Parents activating at once: more than either pool's connections.
const KIDS: u16 = 48;

fn school() -> School {
    School {
        bin: Bin::generate(&[2, 2, 0, 3, 4, 0, 0, 0, 0, 1, 9]).expect("bin"),
        name: "Школа утренней гонки".into(),
    }
}

fn kid(n: u16) -> Student {
    Student {
        iin: (n * 20 + 100..n * 20 + 120)
            .find_map(|s| Iin::generate(date!(2015 - 12 - 21), Sex::Male, s))
            .expect("iin"),
        full_name: format!("Ученик гонки {n}"),
        school: school().bin,
        grade: 4,
        class_label: "4А".into(),
        category: Category::Primary,
    }
}

async fn formed_voucher(store: &dyn Store, student: &Student) -> VoucherId {
    store.upsert_student(student, T0).await.expect("student");
    let new = crate::new_voucher(student);
    let formed = crate::audit(new.id, "form", None, VoucherState::Formed);
    match store.form_voucher(&new, &formed).await {
        Ok(Formed::New(v)) => v.id,
        other => panic!("a new voucher: {other:?}"),
    }
}

pub async fn story(store: Arc<dyn Store>, other: Arc<dyn Store>) {
    let bin = school().bin;
    store.upsert_school(&school(), T0).await.expect("school");
    let mut vouchers = Vec::new();
    for n in 0..KIDS {
        vouchers.push(formed_voucher(store.as_ref(), &kid(n)).await);
    }
    // The terminal starts from a full roster: formed vouchers are not on it yet.
    let start = store.roster_since(bin, 0).await.expect("full roster");
    assert!(start.full && start.rows.is_empty());

    let activated = AtomicBool::new(false);
    let terminal = async {
        let (mut cursor, mut pages) = (start.cursor, 0);
        let mut seen: HashMap<VoucherId, Vec<VoucherState>> = HashMap::new();
        loop {
            let last = activated.load(Ordering::SeqCst);
            let page = store.roster_since(bin, cursor).await.expect("delta");
            assert!(!page.full, "a delta, never the whole roster again");
            assert!(page.cursor >= cursor, "cursors never go back");
            for row in page.rows {
                seen.entry(row.voucher_id).or_default().push(row.state);
            }
            (cursor, pages) = (page.cursor, pages + 1);
            if last {
                return (seen, pages);
            }
            tokio::task::yield_now().await;
        }
    };
    let parents = async {
        let mut each = tokio::task::JoinSet::new();
        for id in vouchers.clone() {
            let other = other.clone();
            each.spawn(async move {
                let from = Some(VoucherState::Formed);
                let activate = crate::audit(id, "activate", from, VoucherState::Activated);
                other
                    .transition_voucher(
                        id,
                        VoucherState::Formed,
                        VoucherState::Activated,
                        &activate,
                    )
                    .await
                    .expect("activate")
            });
        }
        while let Some(done) = each.join_next().await {
            done.expect("an activation task");
        }
        activated.store(true, Ordering::SeqCst);
    };
    let ((seen, pages), ()) = tokio::join!(terminal, parents);
    for id in &vouchers {
        assert_eq!(
            seen.get(id).map(Vec::as_slice),
            Some(&[VoucherState::Activated][..]),
            "voucher {id}: one delta row, activated (after {pages} pulls)"
        );
    }
    assert_eq!(seen.len(), vouchers.len(), "no other voucher came");
}
