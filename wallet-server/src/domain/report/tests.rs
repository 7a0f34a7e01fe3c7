use time::macros::date;

use super::*;

fn school(bin: &str, formed: i64, served: i64, duplicates: i64, fed: i64) -> SchoolDay {
    SchoolDay {
        bin: bin.into(),
        vouchers_formed: formed,
        vouchers_activated: 0,
        vouchers_revoked: 0,
        meals_served: served,
        duplicates,
        students_fed: fed,
    }
}

/// The meal figures of lines, as a correction's counts give them.
fn meals(lines: &[SchoolDay]) -> Vec<SchoolMeals> {
    lines.iter().map(SchoolMeals::of).collect()
}

#[test]
fn late_meals_make_the_next_version_with_its_reason() {
    let day = date!(2026 - 12 - 07);
    let v1 = DailyReport::first(
        day,
        vec![school("A", 2, 10, 0, 10), school("B", 0, 5, 1, 5)],
    );
    // Nothing changed (a replayed push): no correction.
    assert_eq!(correction(&v1, &meals(&v1.schools)), None);
    // A's terminal syncs two late meals; a voucher figure moved meanwhile and is not resent;
    // a school with nothing that day adds nothing.
    let now = vec![
        school("A", 7, 12, 1, 11),
        school("B", 0, 5, 1, 5),
        school("C", 0, 0, 0, 0),
    ];
    let v2 = correction(&v1, &meals(&now)).expect("a correction");
    assert_eq!((v2.date, v2.version), (day, 2));
    assert_eq!(v2.schools[0], school("A", 2, 12, 1, 11));
    assert_eq!(v2.schools[1], v1.schools[1]);
    assert_eq!(v2.schools.len(), 2);
    let reason = v2.reason.as_deref().expect("reason");
    assert!(reason.starts_with("late_meals: "), "{reason}");
    assert!(
        reason.contains("after version 1 at 1 school(s)"),
        "{reason}"
    );
    assert!(reason.contains("meals served 10 → 12"), "{reason}");
    // A school first seen with late meals joins the next version.
    let v3 = correction(&v2, &meals(&[school("C", 3, 1, 0, 1)])).expect("a correction");
    assert_eq!(v3.version, 3);
    assert_eq!(v3.schools.last(), Some(&school("C", 0, 1, 0, 1)));
    // One message id per day and version.
    assert_ne!(v2.message_id(), v3.message_id());
    assert_eq!(
        v2.message_id(),
        correction(&v1, &meals(&now)).expect("again").message_id()
    );
    assert_ne!(
        v2.message_id(),
        DailyReport {
            date: date!(2026 - 12 - 08),
            ..v2.clone()
        }
        .message_id()
    );
}

#[test]
fn a_stored_report_without_a_version_reads_as_version_one() {
    let old = r#"{"date":"2026-12-07","schools":[]}"#;
    let r: DailyReport = serde_json::from_str(old).expect("parse");
    assert_eq!((r.version, r.reason.as_deref()), (1, None));
    let json = serde_json::to_value(&r).expect("json");
    assert_eq!(json["version"], 1);
    assert!(json.get("reason").is_none());
}
