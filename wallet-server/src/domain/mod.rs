//! The people and places of the service: schools, students, their representatives, and the
//! programmes vouchers belong to. Plain data with parsed identifiers; rules live in the
//! service modules (`vouchers`, and later `eligibility`, `consent`, …).

pub mod audit;
pub mod calendar;
pub mod collate;
pub mod consent;
pub mod entitlement;
pub mod feed;
pub mod feedback;
pub mod gas;
pub mod job;
pub mod list;
pub mod meal;
pub mod monthly;
pub mod monthly_records;
pub mod nobd;
pub mod ops;
pub mod outbox;
pub mod programme_dates;
pub mod quiet_hours;
pub mod report;
pub mod signals;
pub mod tabel;
pub mod terminal;
pub mod voucher;

use std::fmt;

use serde::{Deserialize, Serialize};
use shared::{Bin, Iin};

/// A voucher programme (мера поддержки). The engine is the same; the rules differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Programme {
    SchoolMeals,
    Gas,
}

/// Why a stored or received word is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what}: {value:?}")]
pub struct UnknownWord {
    pub what: &'static str,
    pub value: String,
}

/// Enums stored as words: `as_str` for the database and JSON, `FromStr` back.
macro_rules! words {
    ($ty:ident, $what:literal, { $($variant:ident => $word:literal),+ $(,)? }) => {
        impl $ty {
            /// Every word, in declaration order (e.g. to report a zero for each).
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            pub fn as_str(&self) -> &'static str {
                match self { $($ty::$variant => $word),+ }
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::domain::UnknownWord;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($word => Ok($ty::$variant),)+
                    _ => Err($crate::domain::UnknownWord { what: $what, value: s.to_string() }),
                }
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use words;

words!(Programme, "programme", { SchoolMeals => "school_meals", Gas => "gas" });

/// Why a student is entitled to free meals.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Family receives targeted social assistance (АСП).
    Asp,
    /// Family income below the subsistence minimum.
    LowIncome,
    /// Orphan or child without parental care living in a family.
    Orphan,
    /// Primary grades (2026 pilot: all of them).
    Primary,
}

words!(Category, "category", {
    Asp => "asp", LowIncome => "low_income", Orphan => "orphan", Primary => "primary",
});

/// How a representative is related to the student; also the order SMS consent asks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    Mother,
    Father,
    Guardian,
}

words!(Relation, "relation", { Mother => "mother", Father => "father", Guardian => "guardian" });

/// Orders class labels the way a school does: by grade number, then letter (`1А` < `2Б` <
/// `10А`), not as text (which would put `10А` before `1А`).
pub fn class_order(label: &str) -> (u32, String) {
    let digits: String = label.chars().take_while(char::is_ascii_digit).collect();
    let grade = digits.parse().unwrap_or(u32::MAX);
    (grade, label[digits.len()..].trim().to_lowercase())
}

/// A school (организация образования), the provider of meals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct School {
    /// 12 digits.
    #[schema(value_type = String, pattern = r"^[0-9]{12}$")]
    pub bin: Bin,
    pub name: String,
}

/// A student (учащийся).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Student {
    pub iin: Iin,
    pub full_name: String,
    pub school: Bin,
    /// 0 (pre-school class) to 11.
    pub grade: u8,
    pub class_label: String,
    pub category: Category,
}

/// A parent or other legal representative (услугополучатель), the wallet user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Representative {
    pub iin: Iin,
    pub full_name: String,
    /// E.164 without the plus, e.g. `77011234567`, when known.
    pub phone: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::class_order;

    #[test]
    fn classes_sort_by_grade_then_letter() {
        let mut classes = vec!["10А", "2Б", "1А", "2А", "11В", "подг."];
        classes.sort_by_key(|c| class_order(c));
        assert_eq!(classes, vec!["1А", "2А", "2Б", "10А", "11В", "подг."]);
    }
}

/// The role a token grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A parent or legal representative using the wallet; `sub` is their IIN.
    Parent,
    /// The school's social pedagogue; claim `school` is the BIN.
    SocialPedagogue,
    /// The school's director; claim `school` is the BIN. Approves табели.
    Director,
    /// A system integration (PEP, NOBD, SMS gateway).
    Integration,
    /// The gas provider's system (activations, discounts).
    Provider,
    /// An operator of the gas provider's office: activates vouchers for people without a
    /// smartphone.
    ProviderOperator,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Parent => "parent",
            Role::SocialPedagogue => "social_pedagogue",
            Role::Director => "director",
            Role::Integration => "integration",
            Role::Provider => "provider",
            Role::ProviderOperator => "provider_operator",
        })
    }
}
