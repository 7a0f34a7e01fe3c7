//! Tests of list validation: each row rule, and list-level refusals.

use super::*;
use crate::domain::voucher::SchoolYearRule;
use time::macros::{date, datetime};

const SCHOOL: &str = "050140001238";

fn iin(born: time::Date, serial: u16) -> String {
    (serial..serial + 50)
        .find_map(|s| Iin::generate(born, shared::Sex::Female, s))
        .expect("issuable")
        .expose()
}

fn mother() -> RepresentativeIn {
    RepresentativeIn {
        iin: iin(date!(1988 - 01 - 02), 100),
        full_name: "Бекова Сауле".parse().expect("name"),
        relation: "mother".into(),
        phone: Some("+7 701 000 00 01".into()),
    }
}

fn row(grade: i64, category: &str, serial: u16) -> StudentIn {
    StudentIn {
        iin: iin(date!(2016 - 03 - 04), serial),
        full_name: "Бекова Алия".parse().expect("name"),
        grade,
        class_label: format!("{grade}А").parse().expect("class"),
        category: category.into(),
        representatives: vec![mother()],
    }
}

fn list(students: Vec<StudentIn>) -> ListRequest {
    ListRequest {
        school: SchoolIn {
            bin: SCHOOL.into(),
            name: "Школа №1".parse().expect("school"),
        },
        programme: "school_meals".into(),
        period: "2026-10".into(),
        students,
    }
}

fn validate(req: &ListRequest) -> Result<ValidList, ListError> {
    let rule = SchoolYearRule::default();
    validate_list(
        req,
        Reception {
            received_at: datetime!(2026-10-01 04:00 UTC),
            received_by: Actor::Integration("pep".into()),
            school_year: &rule,
            programme_dates: ProgrammeDates::pilot_2026(),
            content_hash: "h".into(),
        },
    )
}

fn rejection(student: StudentIn) -> RowRejection {
    let v = validate(&list(vec![student])).expect("list is fine");
    assert!(v.rows.is_empty(), "row unexpectedly valid");
    v.rejected[0].2
}

#[test]
fn primary_grades_form_vouchers_others_await_consent() {
    let v = validate(&list(vec![
        row(1, "primary", 1000),
        row(4, "asp", 1100),
        row(5, "asp", 1200),
        row(4, "primary", 1300),
        row(0, "orphan", 1400),
    ]))
    .expect("valid");
    let forms: Vec<_> = v.rows.iter().map(|r| r.forms_voucher).collect();
    assert_eq!(forms, vec![true, true, false, true, false]);
    assert_eq!(v.voucher_period.first_day, date!(2026 - 09 - 01));
    assert_eq!(v.voucher_period.last_day, date!(2027 - 05 - 31));
    assert_eq!(
        v.rows[0].representatives[0].0.phone.as_deref(),
        Some("77010000001")
    );
}

#[test]
fn each_row_rule_has_its_reason() {
    let mut bad_iin = row(2, "primary", 1000);
    bad_iin
        .iin
        .replace_range(11..12, if bad_iin.iin.ends_with('0') { "1" } else { "0" });
    assert_eq!(rejection(bad_iin), RowRejection::InvalidIin);
    assert_eq!(
        rejection(row(12, "primary", 1000)),
        RowRejection::InvalidGrade
    );
    assert_eq!(
        rejection(row(-1, "primary", 1000)),
        RowRejection::InvalidGrade
    );
    assert_eq!(
        rejection(row(3, "rich", 1000)),
        RowRejection::UnknownCategory
    );
    let mut nameless = row(3, "asp", 1000);
    nameless.full_name = "  ".parse().expect("blank");
    assert_eq!(rejection(nameless), RowRejection::MissingName);
    let mut classless = row(3, "asp", 1000);
    classless.class_label = "".parse().expect("blank");
    assert_eq!(rejection(classless), RowRejection::MissingClass);
    let mut alone = row(3, "asp", 1000);
    alone.representatives.clear();
    assert_eq!(rejection(alone), RowRejection::NoRepresentative);
    let mut aunt = row(3, "asp", 1000);
    aunt.representatives[0].relation = "aunt".into();
    assert_eq!(rejection(aunt), RowRejection::InvalidRepresentative);
    let mut self_rep = row(3, "asp", 1000);
    self_rep.representatives[0].iin = self_rep.iin.clone();
    assert_eq!(rejection(self_rep), RowRejection::InvalidRepresentative);
    let mut twice = row(3, "asp", 1000);
    twice.representatives.push(mother());
    assert_eq!(rejection(twice), RowRejection::InvalidRepresentative);
}

#[test]
fn primary_means_grades_one_to_four() {
    for grade in [0, 5, 9, 11] {
        assert_eq!(
            rejection(row(grade, "primary", 1000)),
            RowRejection::PrimaryOutsideGrades,
            "grade {grade}"
        );
    }
    assert_eq!(
        RowRejection::PrimaryOutsideGrades.code(),
        "primary_outside_grades_1_4"
    );
    // Out-of-range grades keep their own reason; upper grades of other categories wait
    // for consent.
    assert_eq!(
        rejection(row(12, "primary", 1000)),
        RowRejection::InvalidGrade
    );
    let v = validate(&list(vec![
        row(1, "primary", 1000),
        row(4, "primary", 1100),
        row(9, "asp", 1200),
    ]))
    .expect("valid");
    let forms: Vec<_> = v.rows.iter().map(|r| r.forms_voucher).collect();
    assert_eq!(forms, vec![true, true, false]);
}

#[test]
fn a_duplicate_student_is_rejected_after_its_first_row() {
    let v = validate(&list(vec![
        row(2, "primary", 1000),
        row(3, "primary", 1000),
    ]))
    .expect("ok");
    assert_eq!(v.rows.len(), 1);
    assert_eq!(v.rows[0].index, 0);
    assert_eq!(v.rejected.len(), 1);
    assert_eq!(
        (v.rejected[0].0, v.rejected[0].2),
        (1, RowRejection::DuplicateInList)
    );
}

#[test]
fn an_unusable_phone_is_a_warning_not_a_rejection() {
    let mut r = row(2, "primary", 1000);
    r.representatives[0].phone = Some("call me".into());
    let v = validate(&list(vec![r])).expect("ok");
    assert_eq!(v.rows[0].representatives[0].0.phone, None);
    assert_eq!(v.rows[0].warnings, vec!["invalid_phone_ignored"]);
}

#[test]
fn list_level_problems_refuse_the_whole_list() {
    let mut l = list(vec![row(2, "primary", 1000)]);
    l.school.bin = "123".into();
    assert!(matches!(validate(&l), Err(ListError::SchoolBin(_))));
    let mut l = list(vec![]);
    l.programme = "gas".into();
    assert!(matches!(validate(&l), Err(ListError::Programme(_))));
    let mut l = list(vec![]);
    l.period = "2026-13".into();
    assert!(matches!(validate(&l), Err(ListError::Period(_))));
}

#[test]
fn rendered_text_is_checked_when_the_list_is_read() {
    let json = serde_json::to_value(list(vec![row(2, "primary", 1000)])).expect("json");
    let read = |path: &[&str], value: &str| {
        let mut v = json.clone();
        let mut at = &mut v;
        for key in path {
            at = match key.parse::<usize>() {
                Ok(i) => &mut at[i],
                Err(_) => &mut at[*key],
            };
        }
        *at = value.into();
        serde_json::from_value::<ListRequest>(v)
    };
    let name = ["students", "0", "full_name"];
    let class = ["students", "0", "class_label"];
    let parent = ["students", "0", "representatives", "0", "full_name"];
    for path in [&name[..], &class, &parent, &["school", "name"]] {
        for bad in ["Ан\0на", "Ан\rна", "Ан\nна", "\u{1b}[31m", "a\u{7}"] {
            assert!(read(path, bad).is_err(), "{path:?} {bad:?}");
        }
        let err = read(path, &"я".repeat(600)).unwrap_err().to_string();
        assert!(err.contains("at most"), "{err}");
    }
    assert!(read(&["school", "name"], " ").is_err());
    // A blank name or class still costs only its row.
    let l = read(&name, "  ").expect("blank name is read");
    assert_eq!(rejection(l.students[0].clone()), RowRejection::MissingName);
}

#[test]
fn a_month_outside_the_programme_or_past_next_month_is_refused() {
    // Received 1 October 2026 (Astana); the pilot runs 21 February 2026 – 20 February 2027.
    let mut l = list(vec![row(2, "primary", 1000)]);
    l.period = "2026-01".into();
    let err = validate(&l).unwrap_err();
    assert_eq!(err.code(), "outside_programme");
    assert!(err.to_string().contains("2026-02-21"), "{err}");
    l.period = "2026-12".into();
    let err = validate(&l).unwrap_err();
    assert_eq!(
        err,
        ListError::TooFarAhead {
            period: "2026-12".parse().expect("month"),
            latest: "2026-11".parse().expect("month"),
        }
    );
    assert_eq!(err.code(), "list_too_far_ahead");
    l.period = "2026-11".into();
    assert_eq!(validate(&l).expect("next month is taken").rows.len(), 1);
    l.period = "2026-02".into();
    assert!(validate(&l).is_ok(), "the pilot's first month is taken");
}

#[test]
fn phones_normalise_to_the_international_form() {
    assert_eq!(
        normalize_phone("+7 (701) 123-45-67").as_deref(),
        Some("77011234567")
    );
    assert_eq!(
        normalize_phone("87011234567").as_deref(),
        Some("77011234567")
    );
    assert_eq!(
        normalize_phone("7011234567").as_deref(),
        Some("77011234567")
    );
    assert_eq!(
        normalize_phone("77011234567").as_deref(),
        Some("77011234567")
    );
    assert_eq!(
        normalize_phone("+7 727 123 45 67"),
        None,
        "a landline gets no SMS"
    );
    assert_eq!(normalize_phone("12345"), None);
    assert_eq!(normalize_phone("7701123456x"), None);
}
