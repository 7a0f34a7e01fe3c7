use shared::VoucherId;
use time::macros::{date, datetime};
use uuid::Uuid;

use super::*;
use crate::domain::consent::Language;
use crate::domain::voucher::SchoolYear;
use crate::domain::Programme;

fn request(state: ConsentState) -> ConsentRequest {
    ConsentRequest {
        id: Uuid::from_u128(7),
        programme: Programme::SchoolMeals,
        student: "130602512342".parse().expect("iin"),
        student_name: "Сапаров Нурлан".into(),
        school: "050140001238".parse().expect("bin"),
        month: "2026-12".parse().expect("month"),
        period: SchoolYear {
            first_day: date!(2026 - 09 - 01),
            last_day: date!(2027 - 05 - 31),
        },
        representative: None,
        parent_name: None,
        phone: None,
        language: Language::Ru,
        state,
        reason: None,
        created_at: datetime!(2026-12-01 05:00 UTC),
        updated_at: datetime!(2026-12-04 05:00 UTC),
        reminded_at: None,
        finished_at: Some(datetime!(2026-12-04 05:00 UTC)),
        voucher: Some(VoucherId::new()),
    }
}

#[test]
fn an_ended_conversation_goes_back_to_nobd_once_per_ending() {
    let now = datetime!(2026-12-04 05:00 UTC);
    for state in [ConsentState::Pending, ConsentState::Reminded] {
        assert_eq!(consent_outcome(&request(state), now), None, "{state}");
    }
    let agreed = consent_outcome(&request(ConsentState::Agreed), now).expect("agreed");
    assert_eq!(
        (agreed.kind, agreed.recipient.as_str()),
        (OutboxKind::Status, NOBD)
    );
    let body: serde_json::Value = serde_json::from_str(&agreed.body).expect("json");
    assert_eq!(body["type"], "consent_outcome");
    assert_eq!(body["state"], "agreed");
    assert_eq!(body["student_iin"], "130602512342");
    assert_eq!(body["school_year"]["to"], "2027-05-31");
    assert!(body["voucher_id"].is_string());
    // The same ending, built again, is the same message.
    let again = consent_outcome(&request(ConsentState::Agreed), now).expect("agreed");
    assert_eq!(again.id, agreed.id);

    let mut ids = vec![agreed.id];
    for state in [
        ConsentState::Refused,
        ConsentState::TimedOut,
        ConsentState::NoPhone,
    ] {
        let m = consent_outcome(&request(state), now).expect("ended");
        let body: serde_json::Value = serde_json::from_str(&m.body).expect("json");
        assert_eq!(body["state"], state.as_str());
        assert!(body["voucher_id"].is_null(), "no voucher unless agreed");
        ids.push(m.id);
    }
    // Ended again later (asked again in a later month): a new status.
    let mut later = request(ConsentState::Refused);
    later.finished_at = Some(datetime!(2027-01-09 05:00 UTC));
    ids.push(consent_outcome(&later, now).expect("ended").id);
    let distinct: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "{ids:?}");
}
