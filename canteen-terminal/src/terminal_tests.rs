//! Tests of the decision loop on a real database: accepted meals are on disk before the
//! verdict returns, refusals record nothing, and the warnings and corrected clock apply.

use shared::pass::{PassClaims, PassSigner};
use shared::sync::{EnrollResponse, MealSlot, RosterEntry, SchoolInfo, SyncResponse};
use shared::time::ManualClock;
use time::macros::{date, datetime};

use super::*;

const SCHOOL: &str = "990340001230";
const NOON: OffsetDateTime = datetime!(2026-09-01 07:00 UTC);
const CARD: &str = "0102ABCDEF";

struct Rig {
    dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    signer: PassSigner,
    student: RosterEntry,
}

impl Rig {
    fn new() -> Self {
        let (signer, _) = PassSigner::generate().expect("key");
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
            clock: Arc::new(ManualClock::at(NOON)),
            signer,
            student: RosterEntry {
                voucher_id: VoucherId::new(),
                student_name: "Данияр К.".into(),
                class_label: "2В".into(),
                card_uid: Some(CARD.parse().expect("uid")),
                active: true,
                valid_until: date!(2027 - 05 - 31),
                valid_from: time::Date::MIN,
                entitled: None,
                shift: None,
                alert: None,
            },
        }
    }

    fn store(&self) -> Store {
        Store::open(&self.dir.path().join("t.db")).expect("store")
    }

    /// Enrolls and applies one pull made at `pulled_at` with a clock offset.
    fn sync(&self, pulled_at: OffsetDateTime, offset_ms: i64) {
        let mut store = self.store();
        let school = SchoolInfo {
            bin: SCHOOL.parse().expect("bin"),
            name: "Школа".into(),
        };
        let enrolled = EnrollResponse {
            terminal_id: Uuid::now_v7(),
            token: "t".into(),
            school: school.clone(),
        };
        store
            .save_enrollment("http://s", &enrolled)
            .expect("enroll");
        let mut keys = shared::pass::KeySet::new();
        keys.insert(self.signer.public_key());
        let pulled = SyncResponse {
            school,
            cursor: 1,
            roster: vec![self.student.clone()],
            full: true,
            keys: keys.published(),
            slots: vec![MealSlot::whole_day()],
            server_time: pulled_at,
            progress: None,
            meals_seen: Vec::new(),
            meals_cursor: None,
        };
        store
            .apply_sync(&pulled, offset_ms, pulled_at)
            .expect("apply");
    }

    fn terminal(&self) -> Terminal {
        let settings = Settings {
            school: SCHOOL.parse().expect("bin"),
            leeway: Duration::minutes(2),
            roster_max_age: Duration::hours(24),
        };
        Terminal::new(self.store(), self.clock.clone(), settings).expect("terminal")
    }

    fn pass(&self) -> Scan {
        let claims = PassClaims {
            voucher_id: self.student.voucher_id,
            school: SCHOOL.parse().expect("bin"),
            valid_from: NOON - Duration::hours(1),
            valid_until: NOON + Duration::hours(1),
            nonce: [7; 8],
        };
        Scan::Qr(self.signer.mint(&claims).expect("mint"))
    }

    fn card(&self) -> Scan {
        Scan::Card(CARD.parse().expect("uid"))
    }
}

#[test]
fn before_the_first_sync_every_scan_is_not_ready() {
    let rig = Rig::new();
    let mut terminal = rig.terminal();
    assert!(!terminal.ready());
    for scan in [rig.card(), rig.pass()] {
        let verdict = terminal.handle_scan(&scan);
        assert_eq!(verdict.denial, Some(Denial::NotReady));
    }
    assert_eq!(terminal.store().unsent_count().expect("count"), 0);
}

#[test]
fn an_accepted_meal_is_on_disk_before_it_is_shown_and_only_once() {
    let rig = Rig::new();
    rig.sync(NOON - Duration::minutes(5), 0);
    let mut terminal = rig.terminal();
    let verdict = terminal.handle_scan(&rig.card());
    assert!(verdict.accepted(), "{verdict:?}");
    assert_eq!(verdict.today, 1);
    assert_eq!(verdict.card_uid, Some(CARD.parse().expect("uid")));
    assert_eq!(verdict.warning, None);
    let event_id = verdict.event_id.expect("event id");
    // A fresh connection (a restarted terminal) sees it.
    let unsent = rig.store().unsent(10).expect("unsent");
    assert_eq!(unsent.len(), 1);
    assert_eq!(unsent[0].event_id, event_id);
    assert_eq!(unsent[0].served_at, NOON);

    terminal.mark_shown(event_id);
    let again = terminal.handle_scan(&rig.pass());
    assert_eq!(again.denial, Some(Denial::AlreadyAte));
    assert_eq!(again.student.map(|s| s.name), Some("Данияр К.".into()));
    assert_eq!(again.event_id, None);
    assert_eq!(again.today, 1);
    assert_eq!(rig.store().unsent_count().expect("count"), 1);
}

#[test]
fn refusals_record_nothing() {
    let rig = Rig::new();
    rig.sync(NOON, 0);
    let mut terminal = rig.terminal();
    for scan in [
        Scan::Qr("garbage\u{1}\u{2}".into()),
        Scan::Qr("SW1:AAAA".into()),
        Scan::Card("FFFFFFFFFF".parse().expect("uid")),
    ] {
        let verdict = terminal.handle_scan(&scan);
        assert!(!verdict.accepted(), "{verdict:?}");
    }
    assert_eq!(terminal.store().unsent_count().expect("count"), 0);
}

#[test]
fn a_stale_roster_warns_and_a_revocation_warns_louder() {
    let rig = Rig::new();
    rig.sync(NOON - Duration::hours(25), 0);
    let mut terminal = rig.terminal();
    let verdict = terminal.handle_scan(&rig.card());
    assert!(verdict.accepted());
    assert_eq!(verdict.warning, Some(Warning::RosterStale));
    rig.store().mark_revoked(NOON).expect("revoke");
    terminal.refresh();
    assert_eq!(terminal.warning(NOON), Some(Warning::TerminalRevoked));
}

#[test]
fn the_server_offset_corrects_the_clock() {
    let rig = Rig::new();
    // The terminal's clock is 6 hours behind the server's: at its 12:00 noon it is
    // already 18:00 in Astana, and the pass (valid until 13:00) has expired.
    rig.sync(NOON, 6 * 3_600_000);
    let mut terminal = rig.terminal();
    assert_eq!(terminal.now(), NOON + Duration::hours(6));
    let verdict = terminal.handle_scan(&rig.pass());
    assert_eq!(verdict.denial, Some(Denial::ExpiredCode));
    let verdict = terminal.handle_scan(&rig.card());
    assert_eq!(verdict.at, NOON + Duration::hours(6));
    assert_eq!(verdict.service_day, date!(2026 - 09 - 01));
    // 19:00 UTC is midnight in Astana: the count starts again.
    rig.clock.advance(Duration::hours(6));
    assert_eq!(terminal.today(terminal.now()), 0);
}
