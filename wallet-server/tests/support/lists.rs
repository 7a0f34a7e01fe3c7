//! A school's monthly list of primary-grade students, built as validation would (no SMS
//! step), for tests that need vouchers formed the one way production forms them: through a
//! list, which also writes the month's entitlement.

use time::OffsetDateTime;
use wallet_server::domain::audit::Actor;
use wallet_server::domain::list::{ValidList, ValidRow};
use wallet_server::domain::voucher::SchoolYearRule;
use wallet_server::domain::{Programme, Relation, Representative, School, Student};

/// The mother every student of these lists has: whose wallet shows the meals.
pub fn parent() -> Representative {
    Representative {
        iin: (1..100)
            .find_map(|s| {
                shared::Iin::generate(time::macros::date!(1990 - 03 - 04), shared::Sex::Female, s)
            })
            .expect("iin"),
        full_name: "Тестова Мать".into(),
        phone: None,
    }
}

/// The list of `school` for `period` (`YYYY-MM`) naming `students`, received at `at`.
pub fn primary_list(
    school: &School,
    period: &str,
    students: &[Student],
    at: OffsetDateTime,
) -> ValidList {
    let period: shared::time::YearMonth = period.parse().expect("period");
    ValidList {
        id: uuid::Uuid::now_v7(),
        school: school.clone(),
        programme: Programme::SchoolMeals,
        period,
        voucher_period: SchoolYearRule::default()
            .school_year_of(period.first_day())
            .expect("school year"),
        received_at: at,
        received_by: Actor::System,
        content_hash: format!("test-list-{period}-{}", uuid::Uuid::now_v7()),
        rows: students
            .iter()
            .enumerate()
            .map(|(index, student)| ValidRow {
                index,
                student: student.clone(),
                representatives: vec![(parent(), Relation::Mother)],
                forms_voucher: true,
                warnings: Vec::new(),
            })
            .collect(),
        rejected: Vec::new(),
    }
}
