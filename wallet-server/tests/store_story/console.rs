//! The console chapter of the store story: staff sessions (expiry, sign-out, purge of old
//! ones), each staff member's language, card unbinding (only at the student's school, with
//! an audit entry), and a school's meals of a day — on every backend.

use std::sync::Arc;

use shared::{Bin, CardUid, Iin, Sex};
use time::macros::{date, datetime};
use time::Duration;
use wallet_server::domain::audit::Actor;
use wallet_server::domain::consent::Language;
use wallet_server::domain::terminal::CardBinding;
use wallet_server::domain::Role;
use wallet_server::domain::{Category, School, Student};
use wallet_server::store::{ConsoleSession, Store, StoreError};

pub async fn story(store: Arc<dyn Store>) {
    let at = datetime!(2026-11-02 04:00 UTC);
    let school = School {
        bin: Bin::generate(&[4, 1, 0, 3, 4, 0, 0, 0, 0, 8, 8]).expect("bin"),
        name: "Школа консоли".into(),
    };
    let other = Bin::generate(&[4, 1, 0, 3, 4, 0, 0, 0, 0, 9, 9]).expect("bin");
    store.upsert_school(&school, at).await.expect("school");
    let kid = Student {
        iin: (100u16..200)
            .find_map(|s| Iin::generate(date!(2017 - 05 - 06), Sex::Female, s))
            .expect("iin"),
        full_name: "Серикова Амина".into(),
        school: school.bin,
        grade: 3,
        class_label: "3Б".into(),
        category: Category::Primary,
    };
    store.upsert_student(&kid, at).await.expect("student");

    // Sessions: found until they expire, gone after sign-out.
    let session = |hash: &str, created: time::OffsetDateTime| ConsoleSession {
        id_hash: hash.into(),
        subject: "teacher-1".into(),
        // The name from the identity provider's claims is kept with the session.
        name: Some("Нұрланова Сәуле".into()),
        role: Role::SocialPedagogue,
        school: school.bin,
        csrf_token: "csrf".into(),
        created_at: created,
        expires_at: created + Duration::hours(8),
    };
    let first = session("h1", at);
    store.create_console_session(&first).await.expect("session");
    let found = store
        .console_session("h1", at + Duration::hours(7))
        .await
        .expect("read");
    assert_eq!(found.as_ref(), Some(&first));
    assert_eq!(
        store
            .console_session("h1", at + Duration::hours(8))
            .await
            .expect("read"),
        None
    );
    assert_eq!(store.console_session("nope", at).await.expect("read"), None);
    // A new session purges the expired one (it would not be found anyway).
    store
        .create_console_session(&session("h2", at + Duration::hours(9)))
        .await
        .expect("session");
    assert_eq!(store.console_session("h1", at).await.expect("read"), None);
    store.delete_console_session("h2").await.expect("sign-out");
    store
        .delete_console_session("h2")
        .await
        .expect("twice is harmless");
    assert_eq!(
        store
            .console_session("h2", at + Duration::hours(9))
            .await
            .expect("read"),
        None
    );

    // Language: none until chosen, then the last choice.
    assert_eq!(store.staff_language("teacher-1").await.expect("read"), None);
    store
        .set_staff_language("teacher-1", Language::Kk, at)
        .await
        .expect("set");
    store
        .set_staff_language("teacher-1", Language::Ru, at)
        .await
        .expect("set");
    store
        .set_staff_language("teacher-2", Language::Kk, at)
        .await
        .expect("set");
    assert_eq!(
        store.staff_language("teacher-1").await.expect("read"),
        Some(Language::Ru)
    );
    assert_eq!(
        store.staff_language("teacher-2").await.expect("read"),
        Some(Language::Kk)
    );

    // Unbinding: nothing bound yet; then the bound card; never from another school.
    let actor = Actor::Staff {
        sub: "teacher-1".into(),
        school: school.bin,
    };
    assert_eq!(
        store
            .unbind_card(school.bin, kid.iin, &actor, at)
            .await
            .expect("unbind"),
        None
    );
    let card: CardUid = "0A0B0C0D0E".parse().expect("card");
    store
        .bind_card(&CardBinding {
            school: school.bin,
            student: kid.iin,
            card,
            by: actor.clone(),
            at,
        })
        .await
        .expect("bind");
    assert!(matches!(
        store.unbind_card(other, kid.iin, &actor, at).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store
            .unbind_card(school.bin, kid.iin, &actor, at)
            .await
            .expect("unbind"),
        Some(card)
    );
    let trail = store
        .audit_trail("card", &card.to_string())
        .await
        .expect("audit");
    assert_eq!(
        trail.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["bind", "unbind"]
    );
    // The card is free again: it binds to the same student anew.
    store
        .bind_card(&CardBinding {
            school: school.bin,
            student: kid.iin,
            card,
            by: actor,
            at,
        })
        .await
        .expect("bind again");

    // No meals and no list for this school yet.
    assert!(store
        .meals_of_school_day(school.bin, date!(2026 - 11 - 02))
        .await
        .expect("meals")
        .is_empty());
    assert!(store
        .listed_students(school.bin, "2026-11")
        .await
        .expect("listed")
        .is_empty());
    assert!(store
        .consents_of_school(school.bin)
        .await
        .expect("consents")
        .is_empty());
}
