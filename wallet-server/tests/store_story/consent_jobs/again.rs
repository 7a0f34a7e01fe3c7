//! Asking again: a parent who refused is asked again when the student is on a later month's
//! list, at most once per student and month; the same month's list sent again (or an earlier
//! month's list sent late) asks nobody; the refusal of the earlier month stays on record.

use std::sync::Arc;

use shared::time::YearMonth;
use time::macros::datetime;
use uuid::Uuid;
use wallet_server::domain::consent::{ConsentState, NewConsent};
use wallet_server::store::Store;

use super::{new_consent, transition, World};

fn month(m: &str) -> YearMonth {
    m.parse().expect("month")
}

async fn sms_count(store: &Arc<dyn Store>) -> usize {
    store.outbox(1000).await.expect("outbox").len()
}

/// `refused`: the November conversation of the second child, refused.
pub async fn asking_again(store: &Arc<dyn Store>, w: &World, refused: Uuid) {
    let b = w.kids[1];
    let before = store
        .consent_request(refused)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(
        (before.state, before.month),
        (ConsentState::Refused, month("2026-11"))
    );

    // December's list: asked again, with a start SMS and a reminder job of its own.
    let dec = datetime!(2026-12-03 05:00 UTC);
    let outbox = sms_count(store).await;
    let started = store
        .start_consents(&[new_consent(b, Some(w.mother), dec)])
        .await
        .expect("december");
    let december = started[0].request.clone();
    assert!(started[0].new, "a later month asks again");
    assert_ne!(december.id, refused);
    assert_eq!(
        (december.state, december.month, december.period),
        (ConsentState::Pending, month("2026-12"), before.period)
    );
    assert_eq!(sms_count(store).await, outbox + 1, "one start SMS");

    // The December list again, an hour later: nobody is asked twice.
    let again = store
        .start_consents(&[new_consent(
            b,
            Some(w.mother),
            dec + time::Duration::hours(1),
        )])
        .await
        .expect("again");
    assert_eq!((again[0].new, again[0].request.id), (false, december.id));
    assert_eq!(sms_count(store).await, outbox + 1);

    // Refused in December too; a November list sent late asks nobody, and December's list
    // again neither.
    let december = store
        .transition_consent(&transition(&december, ConsentState::Refused, dec))
        .await
        .expect("refuse");
    let outbox = sms_count(store).await;
    let late = NewConsent {
        month: month("2026-11"),
        ..new_consent(b, Some(w.mother), dec + time::Duration::hours(2))
    };
    let dec_again = new_consent(b, Some(w.mother), dec + time::Duration::hours(3));
    let kept = store
        .start_consents(&[late, dec_again])
        .await
        .expect("kept");
    assert!(kept.iter().all(|k| !k.new), "{kept:?}");
    assert_eq!(kept[0].request.id, december.id, "the newest answer stands");
    assert_eq!(kept[1].request.id, december.id);
    assert_eq!(sms_count(store).await, outbox);

    // January: asked again; the earlier refusals stay on record.
    let jan = store
        .start_consents(&[new_consent(
            b,
            Some(w.mother),
            datetime!(2027-01-11 05:00 UTC),
        )])
        .await
        .expect("january");
    assert!(jan[0].new);
    assert_eq!(jan[0].request.month, month("2027-01"));
    for (id, m) in [(refused, "2026-11"), (december.id, "2026-12")] {
        let r = store
            .consent_request(id)
            .await
            .expect("read")
            .expect("kept");
        assert_eq!((r.state, r.month), (ConsentState::Refused, month(m)));
    }
}
