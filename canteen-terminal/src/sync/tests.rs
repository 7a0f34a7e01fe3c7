//! Tests of the sync state machine against [`super::fake_server::FakeServer`], an in-memory
//! server that keeps meals by event id the way the wallet server promises to. Not
//! end-to-end: the real server is exercised by the workspace `tests` crate.

use std::sync::Arc;

use shared::sync::Method;
use shared::time::ManualClock;
use shared::VoucherId;
use time::macros::{date, datetime};
use uuid::Uuid;

use super::fake_server::{enrolled, FakeServer, PushFault, NOW, SCHOOL};
use super::*;
use crate::decide::{Meal, Student};
use crate::store::Recorded;

struct Rig {
    dir: tempfile::TempDir,
    server: FakeServer,
    syncer: Syncer<FakeServer>,
}

fn rig(code: Option<&str>) -> Rig {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = FakeServer::default();
    let store = Store::open(&dir.path().join("t.db")).expect("store");
    let config = SyncConfig {
        server_url: "http://server".into(),
        school: SCHOOL.parse().expect("bin"),
        enroll_code: code.map(str::to_owned),
        terminal_name: Some("Касса 1".parse().expect("label")),
        batch_size: 500,
    };
    let clock = Arc::new(ManualClock::at(NOW));
    let syncer = Syncer::new(server.clone(), store, clock, config);
    Rig {
        dir,
        server,
        syncer,
    }
}

impl Rig {
    /// Records `n` meals of different students, as the decision loop would.
    fn serve(&self, n: usize) -> Vec<Uuid> {
        let store = Store::open(&self.dir.path().join("t.db")).expect("store");
        (0..n)
            .map(|i| {
                let meal = Meal {
                    student: Student {
                        voucher_id: VoucherId::new(),
                        name: format!("S{i}"),
                        class_label: "1А".into(),
                        active: true,
                        valid_until: date!(2027 - 05 - 31),
                        valid_from: time::Date::MIN,
                        entitled: None,
                        shift: None,
                        alert: None,
                    },
                    method: Method::Card,
                    service_day: date!(2026 - 09 - 01),
                    slot: "day".into(),
                    served_at: NOW,
                    pass_nonce: None,
                };
                match store
                    .record_meal(&meal, crate::store::Stamp::default())
                    .expect("record")
                {
                    Recorded::Inserted(id) => id,
                    Recorded::AlreadyAte => panic!("distinct students"),
                }
            })
            .collect()
    }

    fn enrolled_rig() -> Rig {
        let mut rig = rig(Some("ABCD-EFGH-JKMN"));
        assert!(matches!(
            rig.syncer.cycle().outcome,
            Outcome::Enrolled { .. }
        ));
        rig
    }
}

#[test]
fn enrolls_once_then_syncs() {
    let mut rig = rig(Some("ABCD-EFGH-JKMN"));
    let report = rig.syncer.cycle();
    assert!(
        matches!(report.outcome, Outcome::Enrolled { .. }),
        "{report:?}"
    );
    assert_eq!(report.outcome.next_step(), report::Next::Again);
    let state = rig.syncer.store().state().expect("state");
    assert!(state.enrolled());
    assert_eq!(state.server_url.as_deref(), Some("http://server"));
    let report = rig.syncer.cycle();
    assert!(
        matches!(report.outcome, Outcome::Ok { full: true, .. }),
        "{report:?}"
    );
    // The code was used; a later failure of the token does not enroll again.
    rig.server
        .with(|s| s.enroll = Some(Err(ServerError::Unauthorized)));
    assert!(matches!(
        rig.syncer.cycle().outcome,
        Outcome::Ok { full: false, .. }
    ));
    assert_eq!(rig.server.with(|s| s.pulls.clone()), vec![0, 1]);
}

#[test]
fn without_a_token_or_a_code_there_is_nothing_to_do() {
    let mut rig = rig(None);
    let report = rig.syncer.cycle();
    assert_eq!(report.outcome, Outcome::NotEnrolled);
    assert_eq!(report.outcome.next_step(), report::Next::Stop);
    assert_eq!(report.outcome.fatal(), None);
}

#[test]
fn a_refused_code_is_fatal_for_a_new_terminal() {
    let mut rig = rig(Some("USED"));
    rig.server.with(|s| {
        s.enroll = Some(Err(ServerError::Refused {
            status: 409,
            code: "code_used".into(),
            message: "already used".into(),
        }))
    });
    let report = rig.syncer.cycle();
    let fatal = report.outcome.fatal().expect("fatal");
    assert!(
        fatal.contains("code_used") && fatal.contains("--enroll"),
        "{fatal}"
    );
    assert!(!rig.syncer.store().state().expect("state").enrolled());
}

#[test]
fn an_enrollment_for_another_school_is_refused_and_nothing_is_saved() {
    let mut rig = rig(Some("CODE"));
    rig.server
        .with(|s| s.enroll = Some(Ok(enrolled("000000000000"))));
    let report = rig.syncer.cycle();
    assert!(matches!(report.outcome, Outcome::SchoolMismatch { .. }));
    assert!(report
        .outcome
        .fatal()
        .expect("fatal")
        .contains("000000000000"));
    assert!(!rig.syncer.store().state().expect("state").enrolled());
}

#[test]
fn an_unreachable_server_during_enrollment_is_retried() {
    let mut rig = rig(Some("CODE"));
    rig.server
        .with(|s| s.enroll = Some(Err(ServerError::Unreachable("down".into()))));
    let report = rig.syncer.cycle();
    assert!(matches!(report.outcome, Outcome::Offline { .. }));
    assert_eq!(report.outcome.next_step(), report::Next::Backoff);
    rig.server.with(|s| s.enroll = None);
    assert!(matches!(
        rig.syncer.cycle().outcome,
        Outcome::Enrolled { .. }
    ));
}

#[test]
fn pushes_everything_in_batches_oldest_first() {
    let mut rig = Rig::enrolled_rig();
    let ids = rig.serve(1203);
    let report = rig.syncer.cycle();
    assert!(matches!(report.outcome, Outcome::Ok { .. }), "{report:?}");
    assert_eq!(report.push.pushed, 1203);
    assert_eq!(report.push.accepted, 1203);
    assert_eq!(report.unsent, 0);
    let pushes = rig.server.with(|s| s.pushes.clone());
    assert_eq!(
        pushes.iter().map(Vec::len).collect::<Vec<_>>(),
        [500, 500, 203]
    );
    assert_eq!(pushes.concat(), ids, "oldest first, each once");
}

#[test]
fn a_lost_push_is_sent_again_with_the_same_event_ids() {
    let mut rig = Rig::enrolled_rig();
    let ids = rig.serve(3);
    rig.server
        .with(|s| s.push_faults.push_back(Some(PushFault::Lost)));
    let report = rig.syncer.cycle();
    assert!(
        matches!(report.outcome, Outcome::Offline { .. }),
        "{report:?}"
    );
    assert_eq!(report.unsent, 3);
    assert_eq!(report.push.accepted, 0);

    // The server stores the batch but its answer is lost: still queued.
    rig.server
        .with(|s| s.push_faults.push_back(Some(PushFault::AnswerLost)));
    let report = rig.syncer.cycle();
    assert!(matches!(
        report.outcome,
        Outcome::ServerError {
            status: Some(502),
            ..
        }
    ));
    assert_eq!(report.unsent, 3);

    let report = rig.syncer.cycle();
    assert!(matches!(report.outcome, Outcome::Ok { .. }));
    assert_eq!(report.push.accepted, 3, "the replay gets the same verdicts");
    assert_eq!(report.unsent, 0);
    let pushes = rig.server.with(|s| s.pushes.clone());
    assert_eq!(pushes, vec![ids.clone(), ids], "same ids both times");
    assert_eq!(rig.server.with(|s| s.billed.len()), 3, "billed once each");
}

#[test]
fn a_meal_served_at_two_terminals_is_flagged_duplicate() {
    let mut rig = Rig::enrolled_rig();
    let ids = rig.serve(1);
    let event = rig.syncer.store().unsent(1).expect("unsent").remove(0);
    rig.server.with(|s| {
        s.billed
            .insert((event.voucher_id, event.service_day, event.slot.to_string()))
    });
    let report = rig.syncer.cycle();
    assert_eq!(report.push.duplicate, 1);
    assert_eq!(
        rig.syncer.store().server_verdict(ids[0]).expect("verdict"),
        Some(("duplicate".into(), None))
    );
}

#[test]
fn a_revoked_token_stops_the_sync_and_is_remembered() {
    let mut rig = Rig::enrolled_rig();
    rig.serve(2);
    rig.server.with(|s| s.revoked = true);
    let report = rig.syncer.cycle();
    assert_eq!(report.outcome, Outcome::Unauthorized);
    assert_eq!(report.outcome.next_step(), report::Next::Stop);
    assert_eq!(report.unsent, 2, "meals stay queued for a re-enrollment");
    let state = rig.syncer.store().state().expect("state");
    assert_eq!(state.revoked_at, Some(NOW));
}

#[test]
fn a_revoked_terminal_re_enrolls_with_a_new_code_and_keeps_its_meals() {
    let mut rig = Rig::enrolled_rig();
    let ids = rig.serve(2);
    rig.server.with(|s| s.revoked = true);
    assert_eq!(rig.syncer.cycle().outcome, Outcome::Unauthorized);
    rig.server.with(|s| s.revoked = false);
    rig.syncer.config.enroll_code = Some("NEW-CODE".into());
    assert!(matches!(
        rig.syncer.cycle().outcome,
        Outcome::Enrolled { .. }
    ));
    let report = rig.syncer.cycle();
    assert!(matches!(report.outcome, Outcome::Ok { .. }));
    assert_eq!(rig.server.with(|s| s.pushes.concat()), ids);
}

#[test]
fn the_clock_offset_is_measured_at_each_pull() {
    let mut rig = Rig::enrolled_rig();
    rig.server
        .with(|s| s.server_ahead = time::Duration::minutes(10));
    let Outcome::Ok {
        clock_offset_ms, ..
    } = rig.syncer.cycle().outcome
    else {
        panic!("not ok")
    };
    // The manual clock stands still; only the real round trip (well under a second) blurs it.
    assert!(
        (599_000..=600_000).contains(&clock_offset_ms),
        "{clock_offset_ms}"
    );
    let state = rig.syncer.store().state().expect("state");
    assert_eq!(state.clock_offset_ms, clock_offset_ms);
    assert_eq!(
        state.last_roster_at,
        Some(NOW + time::Duration::minutes(10))
    );
}

#[test]
fn a_pull_for_another_school_is_fatal() {
    let mut rig = Rig::enrolled_rig();
    rig.server
        .with(|s| s.school = Some("000000000000".parse().expect("bin")));
    assert!(rig.syncer.cycle().outcome.fatal().is_some());
}

#[test]
fn offset_is_measured_from_the_middle_of_the_round_trip() {
    let sent = datetime!(2026-09-01 06:00 UTC);
    let server = datetime!(2026-09-01 06:00:01 UTC);
    assert_eq!(
        clock_offset_ms(sent, Duration::from_millis(400), server),
        800
    );
    assert_eq!(clock_offset_ms(sent, Duration::ZERO, sent), 0);
    assert_eq!(
        clock_offset_ms(server, Duration::ZERO, sent),
        -1000,
        "a terminal clock ahead of the server"
    );
}

#[test]
fn the_loop_reports_each_cycle_and_stops_when_revoked() {
    let rig = Rig::enrolled_rig();
    rig.serve(1);
    let (tx, rx) = mpsc::channel::<SyncReport>();
    let pace = Pace {
        interval: Duration::from_millis(20),
        backoff_min: Duration::from_millis(10),
        backoff_max: Duration::from_millis(40),
        probe: Duration::from_millis(10),
    };
    let server = rig.server.clone();
    let handle = spawn(rig.syncer, pace, tx).expect("spawn");
    let first = rx.recv_timeout(Duration::from_secs(5)).expect("report");
    assert!(matches!(first.outcome, Outcome::Ok { .. }), "{first:?}");
    assert_eq!(first.retry_in, Some(pace.interval));
    assert_eq!(first.push.accepted, 1);
    server.with(|s| s.revoked = true);
    handle.nudge();
    let last = loop {
        let report = rx.recv_timeout(Duration::from_secs(5)).expect("report");
        if !matches!(report.outcome, Outcome::Ok { .. }) {
            break report;
        }
    };
    assert_eq!(last.outcome, Outcome::Unauthorized);
    assert_eq!(last.retry_in, None);
    assert!(
        rx.recv_timeout(Duration::from_millis(200)).is_err(),
        "stopped"
    );
}

/// Voids and refused scans go with the push; a server that does not answer for voids (an
/// older version) keeps them queued without stopping the roster pull.
#[test]
fn voids_and_denials_are_pushed_and_an_older_server_does_not_stop_the_pull() {
    let mut rig = Rig::enrolled_rig();
    let ids = rig.serve(1);
    let store = rig.syncer.store();
    let reason: shared::Label = "Ошибка кассира".parse().expect("label");
    store
        .void_meal(ids[0], NOW, &reason, None)
        .expect("store")
        .expect("within five minutes");
    store
        .record_denial(&shared::counter::ScanDenial {
            event_id: Uuid::now_v7(),
            at: NOW,
            reason: "unknown_card".parse().expect("label"),
            method: shared::sync::Method::Card,
            voucher_id: None,
            pass_nonce: None,
            card_uid: Some("0A0B0C0D0E".parse().expect("uid")),
        })
        .expect("denial");
    let report = rig.syncer.cycle();
    assert!(report.outcome.is_ok(), "{report:?}");
    rig.server.with(|s| {
        assert_eq!(s.voids.len(), 1);
        assert_eq!(s.voids[0].event_id, ids[0]);
        assert_eq!(s.denials.len(), 1);
    });
    let store = rig.syncer.store();
    assert_eq!(
        store.void_verdict(ids[0]).expect("verdict"),
        Some(("voided".into(), None))
    );
    assert_eq!(store.unsent_denial_count().expect("count"), 0);
    assert_eq!(store.unsent_voids(10).expect("voids").len(), 0);

    // An older server: no answers for voids. The void stays queued, the pull happens.
    let ids = rig.serve(1);
    rig.syncer
        .store()
        .void_meal(ids[0], NOW, &reason, None)
        .expect("store")
        .expect("within five minutes");
    rig.server.with(|s| s.ignore_voids = true);
    let pulls = rig.server.with(|s| s.pulls.len());
    assert!(rig.syncer.cycle().outcome.is_ok());
    assert_eq!(rig.server.with(|s| s.pulls.len()), pulls + 1);
    assert_eq!(rig.syncer.store().unsent_voids(10).expect("voids").len(), 1);
}
