//! Tests of list planning: each row's decision from what exists, and who is dropped.

use time::macros::{date, datetime};

use super::*;
use crate::domain::audit::Actor;
use crate::domain::voucher::SchoolYearRule;
use crate::domain::{Category, Programme, Relation, Representative, School, Student};

fn iin(serial: u16) -> Iin {
    (serial..serial + 50)
        .find_map(|s| Iin::generate(date!(2016 - 03 - 04), shared::Sex::Female, s))
        .expect("issuable")
}

fn bin(last: u8) -> Bin {
    Bin::generate(&[0, 5, 0, 1, 4, 0, 0, 0, 1, 2, last]).expect("bin")
}

fn row(index: usize, student: Iin, forms_voucher: bool) -> ValidRow {
    ValidRow {
        index,
        student: Student {
            iin: student,
            full_name: "Бекова Алия".into(),
            school: bin(3),
            grade: if forms_voucher { 2 } else { 7 },
            class_label: "2А".into(),
            category: Category::Asp,
        },
        representatives: vec![(
            Representative {
                iin: iin(900),
                full_name: "Бекова Сауле".into(),
                phone: None,
            },
            Relation::Mother,
        )],
        forms_voucher,
        warnings: Vec::new(),
    }
}

fn list(rows: Vec<ValidRow>) -> ValidList {
    let period: shared::time::YearMonth = "2026-10".parse().expect("month");
    ValidList {
        id: uuid::Uuid::nil(),
        school: School {
            bin: bin(3),
            name: "Школа".into(),
        },
        programme: Programme::SchoolMeals,
        period,
        voucher_period: SchoolYearRule::default()
            .school_year_of(period.first_day())
            .expect("year"),
        received_at: datetime!(2026-10-01 04:00 UTC),
        received_by: Actor::System,
        content_hash: "h".into(),
        rows,
        rejected: Vec::new(),
    }
}

fn live(school: Bin, state: VoucherState) -> LiveVoucher {
    LiveVoucher {
        id: VoucherId::new(),
        school,
        state,
    }
}

#[test]
fn each_row_is_decided_from_what_exists() {
    let (fresh, waiting, agreed, kept, moved, claimed) =
        (iin(100), iin(200), iin(300), iin(400), iin(500), iin(600));
    let l = list(vec![
        row(0, fresh, true),
        row(1, waiting, false),
        row(2, agreed, false),
        row(3, kept, true),
        row(4, moved, true),
        row(5, claimed, true),
    ]);
    let here = live(bin(3), VoucherState::Activated);
    let there = live(bin(7), VoucherState::Activated);
    let existing = Existing {
        claimed: [claimed].into(),
        agreed: [agreed].into(),
        live: [(kept, here), (moved, there)].into(),
        linked: [(fresh, vec![iin(900), iin(950)])].into(),
        entries: Vec::new(),
    };
    let ids: Vec<VoucherId> = (0..3).map(|_| VoucherId::new()).collect();
    let mut next = ids.iter().copied();
    let p = plan(&l, &existing, || next.next().expect("id"));
    assert_eq!(
        p.outcome.rows,
        vec![
            (0, RowOutcome::VoucherFormed(ids[0])),
            (1, RowOutcome::AwaitingConsent),
            (2, RowOutcome::VoucherFormed(ids[1])),
            (3, RowOutcome::VoucherFormed(here.id)),
            (4, RowOutcome::VoucherFormed(ids[2])),
            (5, RowOutcome::Rejected(RowRejection::ClaimedByOtherSchool)),
        ]
    );
    assert_eq!(p.accepted.len(), 5, "the claimed row writes nothing");
    assert_eq!(p.unlink, vec![(fresh, iin(950))]);
    assert_eq!(
        p.revoke,
        vec![there],
        "the move revokes the other school's voucher"
    );
    let states: Vec<VoucherState> = p.form.iter().map(|f| f.state).collect();
    let carried = VoucherState::Activated;
    assert_eq!(
        states,
        vec![VoucherState::Formed, VoucherState::Formed, carried]
    );
    let actions: Vec<&str> = p.audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, vec!["form", "form", "revoke", "form", "activate"]);
    assert_eq!(
        p.entries[1].voucher, None,
        "waiting for consent forms nothing"
    );
    assert!(p.dropped.is_empty() && p.outcome.revoked.is_empty());
}

#[test]
fn students_no_longer_listed_are_dropped_and_their_voucher_revoked() {
    let (stays, left, left_waiting) = (iin(100), iin(200), iin(300));
    let l = list(vec![row(0, stays, true)]);
    let gone = live(bin(3), VoucherState::Formed);
    let existing = Existing {
        live: [(stays, live(bin(3), VoucherState::Formed))].into(),
        entries: vec![(stays, None), (left, Some(gone)), (left_waiting, None)],
        ..Existing::default()
    };
    let p = plan(&l, &existing, VoucherId::new);
    assert_eq!(p.dropped, vec![left, left_waiting]);
    assert_eq!(p.revoke, vec![gone]);
    assert_eq!(p.outcome.revoked, vec![gone.id]);
    assert_eq!(p.audit.len(), 1);
    assert_eq!(
        p.audit[0]
            .reason
            .as_deref()
            .map(|r| r.contains("no longer")),
        Some(true)
    );
    assert!(
        p.form.is_empty(),
        "the staying student keeps the voucher it has"
    );
}
