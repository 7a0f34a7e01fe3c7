//! Eligibility intake: the monthly approved list of a school, as the egov portal (PEP) hands
//! it over after the SDU check.
//!
//! Every row is checked on its own, purely, before anything is stored; a rejected row never
//! half-creates a student. Valid rows then go to the store in one transaction, which also
//! holds the rules that need the database (a student claimed by another school for the same
//! period; students dropped from a replaced list lose their voucher).

mod apply;
pub mod plan;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use shared::text::maybe_blank_schema;
use shared::time::YearMonth;
use shared::{Bin, ClassLabel, Iin, MaybeBlank, PersonName, SchoolName, VoucherId};
use time::OffsetDateTime;
use utoipa::ToSchema;

pub use apply::{carried_activation, live_voucher_change, unnamed_representatives, VoucherChange};

use crate::domain::audit::Actor;
use crate::domain::programme_dates::{check_list_month, ListMonthRefusal, ProgrammeDates};
use crate::domain::voucher::SchoolYear;
use crate::domain::{Category, Programme, Relation, Representative, School, Student};

/// A list as received (field names fixed by DESIGN.md §7.1). Rows keep their raw identifiers
/// and codes so that one bad row is reported, not the whole list refused; text that will be
/// rendered (names, class labels) is `shared::text` already — control characters or an
/// over-long value refuse the whole list (`422 invalid_body`, nothing stored), a blank one
/// rejects its row.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListRequest {
    pub school: SchoolIn,
    /// `school_meals`.
    #[schema(pattern = "^school_meals$")]
    pub programme: String,
    /// `YYYY-MM`.
    #[schema(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub period: String,
    /// At most 10,000 rows; a bad row is rejected on its own, not the whole list.
    #[schema(max_items = 10_000)]
    pub students: Vec<StudentIn>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SchoolIn {
    /// 12 digits with a valid check digit.
    #[schema(pattern = r"^[0-9]{12}$")]
    pub bin: String,
    pub name: SchoolName,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StudentIn {
    pub iin: String,
    /// Blank: the row is rejected (`missing_name`).
    #[schema(schema_with = maybe_blank_schema::<PersonName>)]
    pub full_name: MaybeBlank<PersonName>,
    pub grade: i64,
    /// Blank: the row is rejected (`missing_class`).
    #[schema(schema_with = maybe_blank_schema::<ClassLabel>)]
    pub class_label: MaybeBlank<ClassLabel>,
    /// `asp`, `low_income`, `orphan` or `primary`.
    pub category: String,
    pub representatives: Vec<RepresentativeIn>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepresentativeIn {
    pub iin: String,
    /// Blank: the row is rejected (`invalid_representative`).
    #[schema(schema_with = maybe_blank_schema::<PersonName>)]
    pub full_name: MaybeBlank<PersonName>,
    /// `mother`, `father` or `guardian`.
    pub relation: String,
    #[serde(default)]
    pub phone: Option<String>,
}

/// Why a row was rejected; the code goes back to NOBD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowRejection {
    InvalidIin,
    MissingName,
    InvalidGrade,
    UnknownCategory,
    /// Category `primary` with a grade outside 1–4: primary grades skip consent, so a
    /// mislabelled upper-grade row would form a voucher nobody agreed to.
    PrimaryOutsideGrades,
    MissingClass,
    NoRepresentative,
    InvalidRepresentative,
    DuplicateInList,
    ClaimedByOtherSchool,
}

impl RowRejection {
    pub fn code(self) -> &'static str {
        match self {
            RowRejection::InvalidIin => "invalid_iin",
            RowRejection::MissingName => "missing_name",
            RowRejection::InvalidGrade => "invalid_grade",
            RowRejection::UnknownCategory => "unknown_category",
            RowRejection::PrimaryOutsideGrades => "primary_outside_grades_1_4",
            RowRejection::MissingClass => "missing_class",
            RowRejection::NoRepresentative => "no_representative",
            RowRejection::InvalidRepresentative => "invalid_representative",
            RowRejection::DuplicateInList => "duplicate_in_list",
            RowRejection::ClaimedByOtherSchool => "claimed_by_other_school",
        }
    }
}

/// A row that passed every check that needs no database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRow {
    pub index: usize,
    pub student: Student,
    pub representatives: Vec<(Representative, Relation)>,
    /// Primary grades get a voucher at once; the others wait for SMS consent.
    pub forms_voucher: bool,
    /// Problems that do not cost the child the meal (e.g. an unusable phone number).
    pub warnings: Vec<&'static str>,
}

/// The whole list, validated, ready for the store's single transaction.
#[derive(Debug, Clone)]
pub struct ValidList {
    pub id: uuid::Uuid,
    pub school: School,
    pub programme: Programme,
    pub period: YearMonth,
    pub voucher_period: SchoolYear,
    pub received_at: OffsetDateTime,
    pub received_by: Actor,
    pub content_hash: String,
    pub rows: Vec<ValidRow>,
    pub rejected: Vec<(usize, Option<Iin>, RowRejection)>,
}

/// What happened to an accepted row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    VoucherFormed(VoucherId),
    AwaitingConsent,
    Rejected(RowRejection),
}

/// What the store did with a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOutcome {
    /// Per valid row, in input order: (index, outcome).
    pub rows: Vec<(usize, RowOutcome)>,
    /// Vouchers revoked because their students are no longer on the list.
    pub revoked: Vec<VoucherId>,
}

/// Why a whole list is refused (nothing is stored).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("school.bin is not a valid BIN: {0}")]
    SchoolBin(shared::IdError),
    #[error("programme {0:?} does not take eligibility lists (expected school_meals)")]
    Programme(String),
    #[error(transparent)]
    Period(#[from] shared::time::YearMonthError),
    #[error("the period has no school year (the configured school year rule does not cover it)")]
    NoSchoolYear,
    #[error("a list holds at most {max} students, this one {got}")]
    TooLarge { max: usize, got: usize },
    #[error(
        "the list is for {period}, outside the programme's dates ({first} to {last}): \
         nothing is formed outside them"
    )]
    OutsideProgramme {
        period: YearMonth,
        first: time::Date,
        last: time::Date,
    },
    #[error(
        "the list is for {period}, more than one month ahead: lists are taken up to \
         {latest} (the month after the current one in Astana)"
    )]
    TooFarAhead {
        period: YearMonth,
        latest: YearMonth,
    },
}

impl ListError {
    /// The stable error code the API answers with.
    pub fn code(&self) -> &'static str {
        match self {
            ListError::OutsideProgramme { .. } => "outside_programme",
            ListError::TooFarAhead { .. } => "list_too_far_ahead",
            _ => "invalid_list",
        }
    }
}

/// Most students a school list may carry (the largest schools have a few thousand).
pub const MAX_ROWS: usize = 10_000;

/// The primary grades (начальные классы): a voucher without consent, and the only grades
/// category `primary` may carry.
const PRIMARY_GRADES: std::ops::RangeInclusive<i64> = 1..=4;

/// Normalises a Kazakh mobile number to `7XXXXXXXXXX`; `None` if it is not one.
pub fn normalize_phone(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    let allowed = raw
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'));
    if !allowed {
        return None;
    }
    let national = match digits.len() {
        11 if digits.starts_with('7') || digits.starts_with('8') => &digits[1..],
        10 => &digits[..],
        _ => return None,
    };
    // Mobile operators' codes are 70x, 747 and 75x–77x; 71x/72x are landlines (no SMS).
    const MOBILE: [&str; 5] = ["70", "74", "75", "76", "77"];
    MOBILE
        .iter()
        .any(|p| national.starts_with(p))
        .then(|| format!("7{national}"))
}

fn validate_representatives(
    reps: &[RepresentativeIn],
    student: &Iin,
    warnings: &mut Vec<&'static str>,
) -> Result<Vec<(Representative, Relation)>, RowRejection> {
    if reps.is_empty() {
        return Err(RowRejection::NoRepresentative);
    }
    let mut out = Vec::with_capacity(reps.len());
    let mut seen = HashSet::new();
    for r in reps {
        let iin: Iin = r
            .iin
            .parse()
            .map_err(|_| RowRejection::InvalidRepresentative)?;
        let relation: Relation = r
            .relation
            .parse()
            .map_err(|_| RowRejection::InvalidRepresentative)?;
        let Some(full_name) = r.full_name.value() else {
            return Err(RowRejection::InvalidRepresentative);
        };
        if iin == *student || !seen.insert(iin) {
            return Err(RowRejection::InvalidRepresentative);
        }
        let phone = match r.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            None => None,
            Some(raw) => {
                let normalized = normalize_phone(raw);
                if normalized.is_none() {
                    warnings.push("invalid_phone_ignored");
                }
                normalized
            }
        };
        out.push((
            Representative {
                iin,
                full_name: full_name.to_string(),
                phone,
            },
            relation,
        ));
    }
    Ok(out)
}

/// Checks one row without the database.
pub fn validate_row(index: usize, row: &StudentIn, school: Bin) -> Result<ValidRow, RowRejection> {
    let iin: Iin = row.iin.parse().map_err(|_| RowRejection::InvalidIin)?;
    let full_name = row.full_name.value().ok_or(RowRejection::MissingName)?;
    let grade = u8::try_from(row.grade)
        .ok()
        .filter(|g| *g <= 11)
        .ok_or(RowRejection::InvalidGrade)?;
    let category: Category = row
        .category
        .parse()
        .map_err(|_| RowRejection::UnknownCategory)?;
    let primary_grade = PRIMARY_GRADES.contains(&row.grade);
    if category == Category::Primary && !primary_grade {
        return Err(RowRejection::PrimaryOutsideGrades);
    }
    let class_label = row.class_label.value().ok_or(RowRejection::MissingClass)?;
    let mut warnings = Vec::new();
    let representatives = validate_representatives(&row.representatives, &iin, &mut warnings)?;
    Ok(ValidRow {
        index,
        student: Student {
            iin,
            full_name: full_name.to_string(),
            school,
            grade,
            class_label: class_label.to_string(),
            category,
        },
        representatives,
        forms_voucher: primary_grade,
        warnings,
    })
}

/// Context of a list's reception.
pub struct Reception<'a> {
    pub received_at: OffsetDateTime,
    pub received_by: Actor,
    pub school_year: &'a crate::domain::voucher::SchoolYearRule,
    /// The programme's dates: a list for a month outside them is refused.
    pub programme_dates: ProgrammeDates,
    /// Hash of the request body, to recognise a list sent twice.
    pub content_hash: String,
}

/// The month must be in the programme and at most the month after the current one (Astana).
fn check_period(period: YearMonth, ctx: &Reception<'_>) -> Result<(), ListError> {
    let dates = &ctx.programme_dates;
    let current = shared::time::month_of(ctx.received_at);
    check_list_month(dates, period, current).map_err(|refusal| match refusal {
        ListMonthRefusal::OutsideProgramme => ListError::OutsideProgramme {
            period,
            first: dates.first_day(),
            last: dates.last_day(),
        },
        ListMonthRefusal::TooFarAhead { latest } => ListError::TooFarAhead { period, latest },
    })
}

/// Validates a whole list: list-level problems refuse it; row-level ones reject the row.
pub fn validate_list(req: &ListRequest, ctx: Reception<'_>) -> Result<ValidList, ListError> {
    let bin: Bin = req.school.bin.parse().map_err(ListError::SchoolBin)?;
    let programme = match req.programme.parse::<Programme>() {
        Ok(Programme::SchoolMeals) => Programme::SchoolMeals,
        _ => return Err(ListError::Programme(req.programme.clone())),
    };
    let period: YearMonth = req.period.parse()?;
    check_period(period, &ctx)?;
    if req.students.len() > MAX_ROWS {
        return Err(ListError::TooLarge {
            max: MAX_ROWS,
            got: req.students.len(),
        });
    }
    // The voucher runs for the school year the listed month falls in.
    let voucher_period = ctx
        .school_year
        .school_year_of(period.first_day())
        .ok_or(ListError::NoSchoolYear)?;
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    let mut seen = HashSet::new();
    for (index, row) in req.students.iter().enumerate() {
        let iin = row.iin.parse::<Iin>().ok();
        match validate_row(index, row, bin) {
            Ok(valid) if !seen.insert(valid.student.iin) => {
                rejected.push((index, iin, RowRejection::DuplicateInList))
            }
            Ok(valid) => rows.push(valid),
            Err(reason) => rejected.push((index, iin, reason)),
        }
    }
    Ok(ValidList {
        id: uuid::Uuid::now_v7(),
        school: School {
            bin,
            name: req.school.name.to_string(),
        },
        programme,
        period,
        voucher_period,
        received_at: ctx.received_at,
        received_by: ctx.received_by,
        content_hash: ctx.content_hash,
        rows,
        rejected,
    })
}

#[cfg(test)]
mod tests;
