//! The programme chapter of the store story (gas, issue 15): norms, a month's recipients
//! (a list sent again writes nothing twice), replies as compare-and-set moves that form the
//! month's voucher, activation on a personal account — of concurrent activations of one
//! account from two pools exactly one wins — discounts, and the handover queued once.

use std::sync::Arc;

use shared::time::YearMonth;
use shared::{Iin, Sex, VoucherId};
use time::macros::{date, datetime};
use time::OffsetDateTime;
use uuid::Uuid;
use wallet_server::domain::audit::{Actor, AuditEntry};
use wallet_server::domain::consent::{ConsentState, Language};
use wallet_server::domain::gas::{Discount, Norm, Region};
use wallet_server::domain::monthly_records::{
    Activated, Activation, Handover, NewMonthlyVoucher, NewRecipient, Recipient, RecipientMove,
};
use wallet_server::domain::outbox::{OutboxKind, OutboxMessage};
use wallet_server::domain::voucher::VoucherState;
use wallet_server::domain::Programme;
use wallet_server::store::{Store, StoreError};

const T: OffsetDateTime = datetime!(2027-03-03 05:00 UTC);
/// Recipients racing in pairs for one account each.
const PAIRS: u16 = 5;

fn march() -> YearMonth {
    "2027-03".parse().expect("month")
}

fn audit(id: String, action: &str) -> AuditEntry {
    AuditEntry {
        at: T,
        actor: Actor::System,
        entity_kind: "voucher",
        entity_id: id,
        action: action.into(),
        from_state: None,
        to_state: None,
        reason: Some(format!("story: {action}")),
    }
}

fn recipient(i: u16) -> NewRecipient {
    let iin = (3000u16..3100)
        .find_map(|s| Iin::generate(date!(1979 - 01 - 01), Sex::Female, s + i * 100))
        .expect("an IIN");
    let phone = format!("770155{:05}", 20_000 + i);
    let consent_id = Uuid::now_v7();
    NewRecipient {
        recipient: Recipient {
            consent_id,
            programme: Programme::Gas,
            iin,
            month: march(),
            region: Region::Shymkent,
            full_name: format!("Получатель {i}"),
            phone: Some(phone.clone()),
            language: Language::Ru,
            state: ConsentState::Pending,
            created_at: T,
            asked_at: datetime!(2027-03-07 04:00 UTC),
            voucher: None,
        },
        sms: Some(OutboxMessage::sms(&phone, format!("start {i}"), T)),
        job: None,
        audit: audit(consent_id.to_string(), "start"),
    }
}

fn agree(r: &Recipient) -> RecipientMove {
    RecipientMove {
        consent_id: r.consent_id,
        from: ConsentState::Pending,
        to: ConsentState::Agreed,
        at: T,
        sms: None,
        job: None,
        voucher: Some(NewMonthlyVoucher {
            id: VoucherId::new(),
            valid_until: date!(2027 - 03 - 25),
        }),
        audit: vec![audit(r.consent_id.to_string(), "agree")],
    }
}

fn activation(voucher: VoucherId, account: &str) -> Activation {
    Activation {
        voucher,
        key: account.to_string(),
        at: datetime!(2027-03-10 05:00 UTC),
        audit: audit(voucher.to_string(), "activate"),
    }
}

/// `second` is another pool on the same database (another server process).
pub async fn story(store: Arc<dyn Store>, second: Arc<dyn Store>) {
    let norm = Norm {
        norm_m3: 150.0,
        benefit_tiyn_per_m3: 2_000,
    };
    let put = audit("gas:shymkent".into(), "set");
    store
        .put_norm(Programme::Gas, Region::Shymkent, norm, &put)
        .await
        .expect("norm");
    assert_eq!(
        store
            .norm(Programme::Gas, Region::Shymkent)
            .await
            .expect("read"),
        Some(norm)
    );
    assert_eq!(
        store
            .norm(Programme::Gas, Region::WestKazakhstan)
            .await
            .expect("read"),
        None
    );

    let new: Vec<NewRecipient> = (0..PAIRS * 2 + 1).map(recipient).collect();
    let added = store.add_recipients(&new).await.expect("add");
    assert!(added.iter().all(|(fresh, _)| *fresh));
    // The list sent again: nobody new, each keeps the conversation (and id) they had.
    let again: Vec<NewRecipient> = (0..PAIRS * 2 + 1).map(recipient).collect();
    let readded = store.add_recipients(&again).await.expect("again");
    assert!(readded.iter().all(|(fresh, _)| !*fresh));
    assert_eq!(readded[0].1.consent_id, added[0].1.consent_id);
    let phone = added[0].1.phone.clone().expect("phone");
    let open = store.open_recipient_for_phone(&phone).await.expect("open");
    assert_eq!(open.map(|r| r.consent_id), Some(added[0].1.consent_id));

    let mut vouchers = Vec::new();
    for (_, r) in &added {
        let done = store.move_recipient(&agree(r)).await.expect("agree");
        assert_eq!(done.state, ConsentState::Agreed);
        vouchers.push(done.voucher.expect("voucher formed"));
    }
    // A move from a state that is gone changes nothing.
    let stale = store.move_recipient(&agree(&added[0].1)).await;
    assert!(
        matches!(stale, Err(StoreError::Conflict { .. })),
        "{stale:?}"
    );
    assert_eq!(
        store.open_recipient_for_phone(&phone).await.expect("read"),
        None
    );

    // Pairs race for one account each, half on each pool: exactly one of each pair wins.
    let mut tasks = tokio::task::JoinSet::new();
    for (i, v) in vouchers.iter().take(usize::from(PAIRS * 2)).enumerate() {
        let s = if i % 2 == 0 {
            store.clone()
        } else {
            second.clone()
        };
        let a = activation(*v, &format!("77000{:05}", i / 2));
        tasks.spawn(async move { (a.key.clone(), s.activate_on_key(&a).await) });
    }
    let mut wins = std::collections::HashMap::<String, (u32, u32)>::new();
    while let Some(joined) = tasks.join_next().await {
        let (key, outcome) = joined.expect("task");
        let entry = wins.entry(key).or_default();
        match outcome.expect("activation") {
            Activated::Done(v) => {
                assert_eq!(v.state, VoucherState::Activated);
                entry.0 += 1;
            }
            Activated::KeyTaken => entry.1 += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(wins.len(), usize::from(PAIRS));
    assert!(wins.values().all(|w| *w == (1, 1)), "{wins:?}");
    assert!(store
        .key_taken(Programme::Gas, march(), "7700000000")
        .await
        .expect("taken"));
    assert!(!store
        .key_taken(Programme::Gas, "2027-04".parse().expect("m"), "7700000000")
        .await
        .expect("taken"));
    let activated = store
        .activations(Programme::Gas, march())
        .await
        .expect("list");
    assert_eq!(activated.len(), usize::from(PAIRS));

    // A discount is kept on an activated voucher only.
    let winner: VoucherId = activated[0].voucher_id.parse().expect("id");
    let d = Discount {
        volume_m3: 120.0,
        norm_m3: 150.0,
        benefit_tiyn_per_m3: 2_000,
        discount_tiyn: 240_000,
    };
    store
        .save_discount(winner, &d, T, &audit(winner.to_string(), "discount"))
        .await
        .expect("discount");
    let shown = store
        .monthly_voucher(winner)
        .await
        .expect("read")
        .expect("voucher");
    assert_eq!(shown.discount, Some(d));
    let last = vouchers[usize::from(PAIRS * 2)];
    let refused = store
        .save_discount(last, &d, T, &audit(last.to_string(), "discount"))
        .await;
    assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");

    // The handover expires what was not activated and is queued once.
    let id = OutboxMessage::derived_id("gas-activations:2027-03");
    let message = OutboxMessage::pending(id, OutboxKind::Activations, "provider", "{}".into(), T);
    let h = Handover {
        programme: Programme::Gas,
        month: march(),
        at: datetime!(2027-03-25 19:00 UTC),
        message,
        audit: audit("gas-activations:2027-03".into(), "hand_over"),
    };
    assert!(store.hand_over(&h).await.expect("hand over"));
    assert!(!second.hand_over(&h).await.expect("again"), "queued once");
    let expired = store
        .monthly_voucher(last)
        .await
        .expect("read")
        .expect("voucher");
    assert_eq!(expired.state, VoucherState::Expired);
    let mine = store
        .monthly_vouchers_of(added[0].1.iin)
        .await
        .expect("mine");
    assert_eq!(mine.len(), 1);
}
