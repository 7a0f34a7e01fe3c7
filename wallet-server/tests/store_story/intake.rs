//! The intake chapter of the store story: a big list applied set-based, on every backend —
//! mixed outcomes (vouchers formed, rows waiting for consent, a student another school
//! claims, rejected by index with nothing of it written), a second list for the same month
//! dropping and adding students, the exact rows written (vouchers, audit, roster numbers:
//! each changed voucher once), and a list that fails midway leaving nothing behind.

use std::collections::HashSet;
use std::sync::Arc;

use shared::{Bin, Iin, Sex, VoucherId};
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};
use wallet_server::domain::list::{RowOutcome, RowRejection, ValidList};
use wallet_server::domain::voucher::VoucherState;
use wallet_server::domain::{Category, School, Student};
use wallet_server::store::Store;

use crate::wallet_core::Raw;

use crate::entitlement::lists;

/// Students of the big list: more than one multi-row statement holds for every table.
const STUDENTS: usize = 4_700;
/// Every this-many-th row waits for a parent's consent (grade 7, category `asp`).
const CONSENT_EVERY: usize = 10;
/// The row of the student another school already listed.
const CLAIMED_ROW: usize = 1_234;
const T1: OffsetDateTime = datetime!(2026-10-01 04:00 UTC);

fn school(last: u8) -> School {
    School {
        bin: Bin::generate(&[5, 1, 0, 3, 4, 0, 0, 0, 0, 2, last]).expect("bin"),
        name: format!("Школа потока {last}"),
    }
}

fn kid(at: &School, i: usize) -> Student {
    let born = date!(2015 - 01 - 01) + Duration::days((i % 365) as i64);
    let block = 2_000 + 10 * (i / 365) as u16;
    Student {
        iin: (block..block + 10)
            .find_map(|s| Iin::generate(born, Sex::Female, s))
            .expect("iin"),
        full_name: format!("Ученица {i}"),
        school: at.bin,
        grade: 3,
        class_label: "3А".into(),
        category: Category::Primary,
    }
}

/// The list of `at` naming `kids`; every [`CONSENT_EVERY`]-th row waits for consent.
fn list(at: &School, kids: &[Student], received: OffsetDateTime) -> ValidList {
    let mut list = lists::primary_list(at, "2026-10", kids, received);
    for row in list
        .rows
        .iter_mut()
        .filter(|r| r.index.is_multiple_of(CONSENT_EVERY))
    {
        row.forms_voucher = false;
        row.student.grade = 7;
        row.student.category = Category::Asp;
    }
    list
}

/// One number from `sql` (parameter `$1`) on the raw connection.
async fn number(raw: &Raw, sql: &'static str, param: &str) -> i64 {
    match raw {
        Raw::Sqlite(pool) => sqlx::query_scalar(sql).bind(param).fetch_one(pool).await,
        Raw::Postgres(pool) => sqlx::query_scalar(sql).bind(param).fetch_one(pool).await,
    }
    .expect(sql)
}

/// What a list may change at `school`, to compare before and after a failed list.
async fn snapshot(raw: &Raw, school: Bin) -> Vec<i64> {
    let bin = school.to_string();
    vec![
        number(raw, "SELECT roster_seq FROM schools WHERE bin = $1", &bin).await,
        number(raw, MARKED, &bin).await,
        number(
            raw,
            "SELECT COUNT(*) FROM vouchers WHERE school_bin = $1",
            &bin,
        )
        .await,
        number(
            raw,
            "SELECT COUNT(*) FROM vouchers WHERE school_bin = $1 AND state = 'revoked'",
            &bin,
        )
        .await,
        number(
            raw,
            "SELECT COUNT(*) FROM eligibility_entries WHERE school_bin = $1",
            &bin,
        )
        .await,
        number(
            raw,
            "SELECT COUNT(*) FROM students WHERE school_bin = $1",
            &bin,
        )
        .await,
        number(
            raw,
            "SELECT COUNT(*) FROM eligibility_lists WHERE school_bin = $1",
            &bin,
        )
        .await,
        number(
            raw,
            "SELECT COUNT(*) FROM audit_log WHERE reason LIKE '%' || $1 || '%'",
            &bin,
        )
        .await,
    ]
}

/// Changes marked for the next roster pull at `school`.
const MARKED: &str = "SELECT COUNT(*) FROM vouchers WHERE school_bin = $1 AND roster_seq = -1";

/// A roster pull numbers `school`'s marked changes: answers how many were marked. After it
/// nothing is marked, every voucher holds its own number and none is above the school's.
async fn pull_numbers(store: &dyn Store, raw: &Raw, school: Bin) -> i64 {
    let bin = school.to_string();
    let marked = number(raw, MARKED, &bin).await;
    store.roster_since(school, 0).await.expect("a roster pull");
    assert_eq!(
        number(raw, MARKED, &bin).await,
        0,
        "the pull numbered them all"
    );
    let top = number(raw, "SELECT roster_seq FROM schools WHERE bin = $1", &bin).await;
    let vouchers = number(
        raw,
        "SELECT COUNT(*) FROM vouchers WHERE school_bin = $1",
        &bin,
    )
    .await;
    let distinct = number(
        raw,
        "SELECT COUNT(DISTINCT roster_seq) FROM vouchers WHERE school_bin = $1 AND roster_seq > 0",
        &bin,
    )
    .await;
    let highest = number(
        raw,
        "SELECT MAX(roster_seq) FROM vouchers WHERE school_bin = $1",
        &bin,
    )
    .await;
    assert_eq!(distinct, vouchers, "each voucher its own roster number");
    assert_eq!(highest, top, "the school's number is its latest voucher's");
    marked
}

/// Whether the database refuses an entry that names `school` under a list of `lister`'s
/// (migration 0022's key: an entry's list and school are one).
async fn foreign_entry_refused(raw: &Raw, school: Bin, lister: Bin) -> bool {
    let sql = "INSERT INTO eligibility_entries (programme, period, student_iin, school_bin, \
               list_id, status, voucher_id, updated_at) SELECT programme, '2027-01', student_iin, \
               $1, list_id, status, voucher_id, updated_at FROM eligibility_entries \
               WHERE school_bin = $2 LIMIT 1";
    let (school, lister) = (school.to_string(), lister.to_string());
    match raw {
        Raw::Sqlite(pool) => sqlx::query(sql)
            .bind(&school)
            .bind(&lister)
            .execute(pool)
            .await
            .is_err(),
        Raw::Postgres(pool) => sqlx::query(sql)
            .bind(&school)
            .bind(&lister)
            .execute(pool)
            .await
            .is_err(),
    }
}

async fn break_entries(raw: &Raw, broken: bool) {
    let statements: &[&'static str] = match (raw, broken) {
        (Raw::Sqlite(_), true) => &[
            "CREATE TRIGGER intake_drill BEFORE INSERT ON eligibility_entries \
             BEGIN SELECT RAISE(ABORT, 'intake drill'); END",
        ],
        (Raw::Sqlite(_), false) => &["DROP TRIGGER intake_drill"],
        (Raw::Postgres(_), true) => &[
            "CREATE FUNCTION intake_drill() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'intake drill'; END $$",
            "CREATE TRIGGER intake_drill BEFORE INSERT ON eligibility_entries \
             FOR EACH ROW EXECUTE FUNCTION intake_drill()",
        ],
        (Raw::Postgres(_), false) => &[
            "DROP TRIGGER intake_drill ON eligibility_entries",
            "DROP FUNCTION intake_drill()",
        ],
    };
    for sql in statements {
        match raw {
            Raw::Sqlite(pool) => sqlx::query(*sql).execute(pool).await.map(|_| ()),
            Raw::Postgres(pool) => sqlx::query(*sql).execute(pool).await.map(|_| ()),
        }
        .expect(sql);
    }
}

fn formed(rows: &[(usize, RowOutcome)]) -> Vec<VoucherId> {
    rows.iter()
        .filter_map(|(_, r)| match r {
            RowOutcome::VoucherFormed(id) => Some(*id),
            _ => None,
        })
        .collect()
}

pub async fn story(store: Arc<dyn Store>, raw: Raw) {
    let (here, there) = (school(1), school(2));
    let kids: Vec<Student> = (0..STUDENTS).map(|i| kid(&here, i)).collect();

    // The other school lists one of the students first.
    let claimed = Student {
        school: there.bin,
        ..kids[CLAIMED_ROW].clone()
    };
    let theirs = store
        .apply_eligibility_list(&lists::primary_list(
            &there,
            "2026-10",
            std::slice::from_ref(&claimed),
            T1,
        ))
        .await
        .expect("the other school's list");
    let theirs = formed(&theirs.rows);

    // The big list: every row decided, the claimed one rejected by its index.
    let first = store
        .apply_eligibility_list(&list(&here, &kids, T1))
        .await
        .expect("the big list");
    assert_eq!(first.rows.len(), STUDENTS);
    for (index, outcome) in &first.rows {
        let expected = match *index {
            CLAIMED_ROW => "claimed",
            i if i.is_multiple_of(CONSENT_EVERY) => "waits",
            _ => "formed",
        };
        let got = match outcome {
            RowOutcome::Rejected(RowRejection::ClaimedByOtherSchool) => "claimed",
            RowOutcome::AwaitingConsent => "waits",
            RowOutcome::VoucherFormed(_) => "formed",
            RowOutcome::Rejected(other) => panic!("row {index} rejected: {other:?}"),
        };
        assert_eq!(got, expected, "row {index}");
    }
    let vouchers = formed(&first.rows);
    let expected_vouchers = STUDENTS - STUDENTS.div_ceil(CONSENT_EVERY) - 1;
    assert_eq!(vouchers.len(), expected_vouchers);
    assert!(first.revoked.is_empty());
    // Nothing of the claimed row was written: the student is still the other school's.
    let student = store
        .student(claimed.iin)
        .await
        .expect("read")
        .expect("student");
    assert_eq!(student.school, there.bin);
    assert_eq!(student.full_name, claimed.full_name);
    let v = store
        .voucher(theirs[0])
        .await
        .expect("read")
        .expect("voucher");
    assert_eq!((v.school, v.state), (there.bin, VoucherState::Formed));
    let bin = here.bin.to_string();
    let entries = "SELECT COUNT(*) FROM eligibility_entries WHERE school_bin = $1";
    assert_eq!(number(&raw, entries, &bin).await, (STUDENTS - 1) as i64);
    assert!(
        foreign_entry_refused(&raw, there.bin, here.bin).await,
        "an entry names its own list's school"
    );
    let forms = "SELECT COUNT(*) FROM audit_log WHERE action = 'form' AND reason LIKE '%' || $1";
    assert_eq!(number(&raw, forms, &bin).await, expected_vouchers as i64);
    // Each voucher is marked for the terminals as it is written; the first pull numbers them.
    let marked = pull_numbers(store.as_ref(), &raw, here.bin).await;
    assert_eq!(marked, expected_vouchers as i64);
    let seq_top = "SELECT roster_seq FROM schools WHERE bin = $1";
    assert_eq!(number(&raw, seq_top, &bin).await, expected_vouchers as i64);

    // The same list sent again (as PEP does after a time-out) changes no voucher; each live
    // voucher goes out once more with the next roster pull.
    let again = store
        .apply_eligibility_list(&list(&here, &kids, T1 + Duration::minutes(5)))
        .await
        .expect("sent again");
    assert_eq!(
        formed(&again.rows),
        vouchers,
        "the same vouchers, in row order"
    );
    let marked = pull_numbers(store.as_ref(), &raw, here.bin).await;
    assert_eq!(marked, expected_vouchers as i64);
    assert_eq!(
        number(&raw, seq_top, &bin).await,
        2 * expected_vouchers as i64
    );

    // A second list for the month drops the first 300 students and adds 200.
    let second: Vec<Student> = (300..STUDENTS + 200).map(|i| kid(&here, i)).collect();
    let second_list = list(&here, &second, T1 + Duration::hours(2));
    let before = snapshot(&raw, here.bin).await;

    // It fails midway (a new list entry cannot be written): nothing of it stays.
    break_entries(&raw, true).await;
    assert!(store.apply_eligibility_list(&second_list).await.is_err());
    break_entries(&raw, false).await;
    assert_eq!(
        snapshot(&raw, here.bin).await,
        before,
        "nothing half applied"
    );

    let applied = store
        .apply_eligibility_list(&second_list)
        .await
        .expect("the second list");
    let dropped_vouchers: HashSet<VoucherId> = first.rows[..300]
        .iter()
        .filter_map(|(_, r)| match r {
            RowOutcome::VoucherFormed(id) => Some(*id),
            _ => None,
        })
        .collect();
    let revoked: HashSet<VoucherId> = applied.revoked.iter().copied().collect();
    assert_eq!(
        revoked, dropped_vouchers,
        "exactly the dropped students' vouchers"
    );
    for id in &revoked {
        let v = store.voucher(*id).await.expect("read").expect("voucher");
        assert_eq!(v.state, VoucherState::Revoked);
    }
    let kept: HashSet<VoucherId> = vouchers.iter().copied().collect();
    let now_formed = formed(&applied.rows);
    let fresh: Vec<&VoucherId> = now_formed.iter().filter(|v| !kept.contains(v)).collect();
    // Rows 4,700–4,899 are new; one in ten of them waits for consent.
    assert_eq!(fresh.len(), 200 - 200 / CONSENT_EVERY);
    assert_eq!(
        number(&raw, entries, &bin).await,
        (STUDENTS + 200 - 300 - 1) as i64,
        "the dropped entries went, the claimed student never came"
    );
    // Roster numbers: every live voucher of the list once, and each revoked one once.
    let live_now = now_formed.len() as i64;
    let marked = pull_numbers(store.as_ref(), &raw, here.bin).await;
    assert_eq!(marked, live_now + revoked.len() as i64);
    let expected_top = 2 * expected_vouchers as i64 + live_now + revoked.len() as i64;
    assert_eq!(number(&raw, seq_top, &bin).await, expected_top);
    let revokes = "SELECT COUNT(*) FROM audit_log WHERE action = 'revoke' \
                   AND reason LIKE 'no longer on the eligibility list of ' || $1 || '%'";
    assert_eq!(number(&raw, revokes, &bin).await, revoked.len() as i64);
}
