//! A whole list decided at once: the store reads what exists for every row of the list in a
//! few set queries ([`Existing`]), this plans every write ([`Plan`]) with the per-row rules of
//! `apply` (`live_voucher_change`, `carried_activation`, `unnamed_representatives`), and the
//! store writes the plan in bulk. Pure, so a list of any size costs the same few round trips.

use std::collections::{HashMap, HashSet};

use shared::{Bin, Iin, VoucherId};

use super::{
    carried_activation, live_voucher_change, unnamed_representatives, ListOutcome, RowOutcome,
    RowRejection, ValidList, ValidRow, VoucherChange,
};
use crate::domain::audit::AuditEntry;
use crate::domain::voucher::{NewVoucher, VoucherState};

/// A live (formed or activated) voucher as read for planning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveVoucher {
    pub id: VoucherId,
    pub school: Bin,
    pub state: VoucherState,
}

/// What the database holds for a list before it is applied.
#[derive(Debug, Clone, Default)]
pub struct Existing {
    /// Listed students already on another school's list for the period.
    pub claimed: HashSet<Iin>,
    /// Listed students a parent agreed for this school year (at any school).
    pub agreed: HashSet<Iin>,
    /// Each listed student's live voucher of the school year, at whatever school.
    pub live: HashMap<Iin, LiveVoucher>,
    /// The representatives linked to each listed student today.
    pub linked: HashMap<Iin, Vec<Iin>>,
    /// This school's entries for the period, each with its live voucher at this school.
    pub entries: Vec<(Iin, Option<LiveVoucher>)>,
}

/// A voucher to insert, in the state it starts in (`activated` when carried from a move).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFormed {
    pub voucher: NewVoucher,
    pub state: VoucherState,
}

/// A row of `eligibility_entries` to write: the voucher it formed, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryWrite {
    pub student: Iin,
    pub voucher: Option<VoucherId>,
}

/// Every write a list makes, in the order the store carries them out.
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    /// What the caller is told: per valid row in input order, and the dropped revocations.
    pub outcome: ListOutcome,
    /// Rows that are taken (not claimed by another school): students, representatives.
    pub accepted: Vec<&'a ValidRow>,
    /// (student, representative) links the list no longer names.
    pub unlink: Vec<(Iin, Iin)>,
    /// Live vouchers that go (compare-and-set on their state as read): the student moved
    /// here, or left this school's list.
    pub revoke: Vec<LiveVoucher>,
    pub form: Vec<NewFormed>,
    /// Audit entries, in the order the changes happen.
    pub audit: Vec<AuditEntry>,
    pub entries: Vec<EntryWrite>,
    /// Students whose entry of this school for the period goes.
    pub dropped: Vec<Iin>,
}

/// Plans `list` against what `existing` holds; `new_id` names each voucher formed.
pub fn plan<'a>(
    list: &'a ValidList,
    existing: &Existing,
    mut new_id: impl FnMut() -> VoucherId,
) -> Plan<'a> {
    let mut plan = Plan {
        outcome: ListOutcome {
            rows: Vec::with_capacity(list.rows.len()),
            revoked: Vec::new(),
        },
        accepted: Vec::with_capacity(list.rows.len()),
        unlink: Vec::new(),
        revoke: Vec::new(),
        form: Vec::new(),
        audit: Vec::new(),
        entries: Vec::with_capacity(list.rows.len()),
        dropped: Vec::new(),
    };
    for row in &list.rows {
        let student = row.student.iin;
        if existing.claimed.contains(&student) {
            let rejected = RowOutcome::Rejected(RowRejection::ClaimedByOtherSchool);
            plan.outcome.rows.push((row.index, rejected));
            continue;
        }
        plan.accepted.push(row);
        if let Some(linked) = existing.linked.get(&student) {
            let gone = unnamed_representatives(row, linked);
            plan.unlink
                .extend(gone.into_iter().map(|rep| (student, rep)));
        }
        let voucher = if row.forms_voucher || existing.agreed.contains(&student) {
            Some(plan.voucher_for(list, row, existing.live.get(&student), &mut new_id))
        } else {
            None
        };
        plan.entries.push(EntryWrite { student, voucher });
        let outcome = voucher.map_or(RowOutcome::AwaitingConsent, RowOutcome::VoucherFormed);
        plan.outcome.rows.push((row.index, outcome));
    }
    let listed: HashSet<Iin> = plan.accepted.iter().map(|r| r.student.iin).collect();
    for (student, live) in &existing.entries {
        if listed.contains(student) {
            continue;
        }
        plan.dropped.push(*student);
        if let Some(live) = live {
            plan.revoke_live(list, *live, VoucherChange::RevokeDropped);
            plan.outcome.revoked.push(live.id);
        }
    }
    plan
}

impl Plan<'_> {
    /// The row's voucher: the live one at its school stays; one at another school is revoked
    /// (the student moved) and a new one formed, carrying its activation.
    fn voucher_for(
        &mut self,
        list: &ValidList,
        row: &ValidRow,
        live: Option<&LiveVoucher>,
        new_id: &mut impl FnMut() -> VoucherId,
    ) -> VoucherId {
        let moved = match live {
            Some(live) => match live_voucher_change(row, live.school) {
                None => return live.id,
                Some(change) => {
                    self.revoke_live(list, *live, change);
                    Some(live)
                }
            },
            None => None,
        };
        let voucher = NewVoucher {
            id: new_id(),
            programme: list.programme,
            student: row.student.iin,
            school: row.student.school,
            period: list.voucher_period,
            formed_at: list.received_at,
        };
        self.audit
            .push(VoucherChange::Form.audit(list, voucher.id, None));
        let mut state = VoucherState::Formed;
        if let Some(carried) = moved.and_then(|old| carried_activation(old.school, old.state)) {
            self.audit
                .push(carried.audit(list, voucher.id, Some(VoucherState::Formed)));
            state = carried.to();
        }
        let id = voucher.id;
        self.form.push(NewFormed { voucher, state });
        id
    }

    fn revoke_live(&mut self, list: &ValidList, live: LiveVoucher, change: VoucherChange) {
        self.audit
            .push(change.audit(list, live.id, Some(live.state)));
        self.revoke.push(live);
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
