//! What applying a list means, decided here and carried out by the store in one
//! transaction: which voucher a row forms or revokes, which representatives lose access,
//! and what the audit log says about each change.

use shared::{Bin, Iin, VoucherId};

use super::{ValidList, ValidRow};
use crate::domain::audit::AuditEntry;
use crate::domain::voucher::VoucherState;

/// A change a list makes to a voucher, with the reason the audit log records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoucherChange {
    /// The row forms the student's voucher for the school year.
    Form,
    /// The student's live voucher at another school goes: the student has moved.
    RevokeMoved { to: Bin },
    /// The student is no longer on this school's list for the period.
    RevokeDropped,
    /// The student moved here with an activated voucher: the new one starts activated, so
    /// the new school's terminals serve the child without the parent doing anything.
    ActivateMoved { from: Bin },
}

impl VoucherChange {
    /// The state the voucher ends in.
    pub fn to(&self) -> VoucherState {
        match self {
            VoucherChange::Form => VoucherState::Formed,
            VoucherChange::ActivateMoved { .. } => VoucherState::Activated,
            VoucherChange::RevokeMoved { .. } | VoucherChange::RevokeDropped => {
                VoucherState::Revoked
            }
        }
    }

    /// The audit entry of this change to voucher `id` (now in state `from`, if it exists).
    pub fn audit(&self, list: &ValidList, id: VoucherId, from: Option<VoucherState>) -> AuditEntry {
        let (action, reason) = match self {
            VoucherChange::Form => (
                "form",
                format!("eligibility list {} of {}", list.period, list.school.bin),
            ),
            VoucherChange::RevokeMoved { to } => (
                "revoke",
                format!("student listed by school {to} for {}", list.period),
            ),
            VoucherChange::ActivateMoved { from } => (
                "activate",
                format!("activated at school {from} before the student moved"),
            ),
            VoucherChange::RevokeDropped => (
                "revoke",
                format!(
                    "no longer on the eligibility list of {} for {}",
                    list.school.bin, list.period
                ),
            ),
        };
        AuditEntry {
            at: list.received_at,
            actor: list.received_by.clone(),
            entity_kind: "voucher",
            entity_id: id.to_string(),
            action: action.into(),
            from_state: from.map(|s| s.to_string()),
            to_state: Some(self.to().to_string()),
            reason: Some(reason),
        }
    }
}

/// What a row does to the student's live voucher of the period, held at `live_school`:
/// a voucher at another school is revoked (the student moved); one at the row's school stays.
pub fn live_voucher_change(row: &ValidRow, live_school: Bin) -> Option<VoucherChange> {
    (live_school != row.student.school).then_some(VoucherChange::RevokeMoved {
        to: row.student.school,
    })
}

/// What a voucher formed for a student who moved from `from` inherits from the old
/// voucher, in state `old` before the move: its activation, if it had one.
pub fn carried_activation(from: Bin, old: VoucherState) -> Option<VoucherChange> {
    (old == VoucherState::Activated).then_some(VoucherChange::ActivateMoved { from })
}

/// The representatives linked to the student today that the row no longer names: the list
/// is the truth about who represents the child, so they lose access to its vouchers.
pub fn unnamed_representatives(row: &ValidRow, linked: &[Iin]) -> Vec<Iin> {
    linked
        .iter()
        .filter(|old| !row.representatives.iter().any(|(r, _)| r.iin == **old))
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_ends_in_its_state() {
        assert_eq!(VoucherChange::Form.to(), VoucherState::Formed);
        assert_eq!(VoucherChange::RevokeDropped.to(), VoucherState::Revoked);
        let bin: Bin = "050140001238".parse().expect("bin");
        assert_eq!(
            VoucherChange::RevokeMoved { to: bin }.to(),
            VoucherState::Revoked
        );
    }

    #[test]
    fn a_move_carries_an_activation_and_nothing_else() {
        let bin: Bin = "050140001238".parse().expect("bin");
        let carried = carried_activation(bin, VoucherState::Activated).expect("carried");
        assert_eq!(carried.to(), VoucherState::Activated);
        assert_eq!(carried_activation(bin, VoucherState::Formed), None);
    }
}
