//! Text from outside — names, class labels, slot names, labels, free text, pass nonces — as
//! types that can only hold clean, bounded values.
//!
//! Every string a person or a device sends us ends up somewhere we render: the табель (CSV,
//! XLSX, PDF), the console, SMS, the terminal's screen. An XLSX cell holds at most 32,767
//! characters, a CSV line break inside a name breaks the row, a NUL or ESC is never meant.
//! So the edge parses: a value of these types has no control character (Unicode category
//! Cc: NUL, TAB, CR, LF, ESC, BEL, DEL, the C1 controls; only [`FreeText`] keeps LF, so a
//! complaint may have paragraphs), no surrounding whitespace, is not blank, and has at most
//! its type's number of characters (counted as sent, before trimming, so the OpenAPI
//! `maxLength` is exactly the rule). Serde reads them through `TryFrom<String>`, so a bad
//! value fails the whole body (the wallet server answers `422 invalid_body` with the
//! reason). [`MaybeBlank`] is for the few fields where blank has its own meaning (an
//! eligibility list row without a name is rejected on its own; an empty complaint is none).

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a text is refused. Never carries the text itself (it may be megabytes of garbage).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("{what} must not be empty or only spaces")]
    Blank { what: &'static str },
    #[error("{what} has at most {max} characters, this one has {found}")]
    TooLong {
        what: &'static str,
        max: usize,
        found: usize,
    },
    #[error(
        "{what} must not contain control characters (line breaks, tabs, NUL, ESC, ...); \
         found U+{code:04X} at character {position}"
    )]
    Control {
        what: &'static str,
        code: u32,
        position: usize,
    },
    #[error("{what} is exactly {len} hex digits (0-9, a-f)")]
    NotHex { what: &'static str, len: usize },
}

/// The rule of one kind of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// What the text is, for messages: "a full name".
    pub what: &'static str,
    /// Most characters (Unicode scalar values) as sent.
    pub max_chars: usize,
    /// Whether LF (and only LF) may appear inside.
    pub line_feeds: bool,
}

impl Rule {
    /// The trimmed text, or `None` when it is blank; refused when too long or when it holds
    /// a control character.
    pub fn clean(&self, raw: &str) -> Result<Option<String>, TextError> {
        let found = raw.chars().count();
        if found > self.max_chars {
            return Err(TextError::TooLong {
                what: self.what,
                max: self.max_chars,
                found,
            });
        }
        let control = raw
            .chars()
            .enumerate()
            .find(|(_, c)| c.is_control() && !(self.line_feeds && *c == '\n'));
        if let Some((position, c)) = control {
            return Err(TextError::Control {
                what: self.what,
                code: u32::from(c),
                position,
            });
        }
        let trimmed = raw.trim();
        Ok((!trimmed.is_empty()).then(|| trimmed.to_string()))
    }

    /// The trimmed text; blank is refused.
    pub fn required(&self, raw: &str) -> Result<String, TextError> {
        self.clean(raw)?.ok_or(TextError::Blank { what: self.what })
    }

    /// The JSON Schema pattern of the rule: no control character (but LF where allowed),
    /// and, when `required`, at least one character that is not a space.
    pub fn pattern(&self, required: bool) -> String {
        let allowed = if self.line_feeds {
            r"[^\x00-\x09\x0b-\x1f\x7f-\x9f]"
        } else {
            r"[^\x00-\x1f\x7f-\x9f]"
        };
        if required {
            let visible = r"[^\s\x00-\x1f\x7f-\x9f]";
            format!("^{allowed}*{visible}{allowed}*$")
        } else {
            format!("^{allowed}*$")
        }
    }

    #[cfg(feature = "openapi")]
    fn schema(&self, required: bool) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        self.schema_of(required, false)
    }

    #[cfg(feature = "openapi")]
    fn schema_of(
        &self,
        required: bool,
        nullable: bool,
    ) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        let schema_type = if nullable {
            SchemaType::from_iter([Type::String, Type::Null])
        } else {
            SchemaType::new(Type::String)
        };
        let blank = if required {
            "not blank"
        } else {
            "may be blank (the field says what blank means)"
        };
        let lf = if self.line_feeds {
            "line feeds allowed"
        } else {
            "one line"
        };
        ObjectBuilder::new()
            .schema_type(schema_type)
            .description(Some(format!(
                "{}: at most {} characters, no control characters ({lf}), surrounding \
                 spaces trimmed, {blank}",
                self.what, self.max_chars
            )))
            .min_length(Some(usize::from(required)))
            .max_length(Some(self.max_chars))
            .pattern(Some(self.pattern(required)))
            .into()
    }
}

/// A kind of clean text: its [`Rule`].
pub trait BoundedText: TryFrom<String, Error = TextError> + AsRef<str> {
    const RULE: Rule;
}

/// Writes out one named text type; `RULE` is its only difference from the others.
macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $what:literal, max = $max:expr, line_feeds = $lf:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
        #[serde(try_from = "String")]
        pub struct $name(String);

        impl BoundedText for $name {
            const RULE: Rule = Rule {
                what: $what,
                max_chars: $max,
                line_feeds: $lf,
            };
        }

        impl $name {
            /// Most characters, as sent.
            pub const MAX_CHARS: usize = $max;

            /// The text, trimmed.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = TextError;

            fn try_from(raw: String) -> Result<Self, TextError> {
                <Self as BoundedText>::RULE.required(&raw).map(Self)
            }
        }

        impl FromStr for $name {
            type Err = TextError;

            fn from_str(raw: &str) -> Result<Self, TextError> {
                <Self as BoundedText>::RULE.required(raw).map(Self)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(text: $name) -> String {
                text.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                <Self as BoundedText>::RULE.schema(true)
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

bounded_text!(
    /// A person's full name (student or representative), as on the eligibility list.
    PersonName, "a full name", max = 200, line_feeds = false
);
bounded_text!(
    /// A class label such as `3Б` or `11 А`.
    ClassLabel, "a class label", max = 16, line_feeds = false
);
bounded_text!(
    /// A school's name (official names with their department run long).
    SchoolName, "a school name", max = 500, line_feeds = false
);
bounded_text!(
    /// A meal slot's name (`day`, `breakfast`, `обед`); the terminal pushes it back with
    /// every meal.
    SlotName, "a slot name", max = 40, line_feeds = false
);
bounded_text!(
    /// A short label people give things: a terminal's name, a declared day's name.
    Label, "a label", max = 100, line_feeds = false
);
bounded_text!(
    /// A line school staff set for a student that the canteen worker must see on every scan
    /// (an allergy, a diet): shown at the counter, kept only on that school's terminals.
    AlertLine, "an alert line", max = 200, line_feeds = false
);
bounded_text!(
    /// Free text written by a person, e.g. a complaint; may have several lines (LF).
    FreeText, "a text", max = 4000, line_feeds = true
);

impl SlotName {
    /// The name of the whole-day slot schools have unless they configure their own.
    pub fn whole_day() -> SlotName {
        SlotName("day".into())
    }
}

/// A text field where blank is allowed and means "none": `T`'s rule otherwise.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct MaybeBlank<T>(Option<T>);

impl<T> MaybeBlank<T> {
    /// The text, unless it was blank.
    pub fn value(&self) -> Option<&T> {
        self.0.as_ref()
    }

    pub fn into_option(self) -> Option<T> {
        self.0
    }
}

impl<T: BoundedText> MaybeBlank<T> {
    /// Checks `raw` by `T`'s rule; blank gives none.
    pub fn parse(raw: String) -> Result<Self, TextError> {
        if T::RULE.clean(&raw)?.is_none() {
            return Ok(MaybeBlank(None));
        }
        T::try_from(raw).map(|t| MaybeBlank(Some(t)))
    }
}

impl<T: BoundedText> FromStr for MaybeBlank<T> {
    type Err = TextError;

    fn from_str(raw: &str) -> Result<Self, TextError> {
        MaybeBlank::parse(raw.to_string())
    }
}

impl<T> From<Option<T>> for MaybeBlank<T> {
    fn from(value: Option<T>) -> Self {
        MaybeBlank(value)
    }
}

impl<T: fmt::Debug> fmt::Debug for MaybeBlank<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<T: AsRef<str>> Serialize for MaybeBlank<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_ref().map_or("", AsRef::as_ref))
    }
}

impl<'de, T: BoundedText> Deserialize<'de> for MaybeBlank<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        MaybeBlank::parse(raw).map_err(serde::de::Error::custom)
    }
}

/// The JSON Schema of a [`MaybeBlank<T>`] field, for `#[schema(schema_with = ...)]` (utoipa
/// cannot derive schemas of generic field types on its own).
#[cfg(feature = "openapi")]
pub fn maybe_blank_schema<T: BoundedText>(
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    T::RULE.schema(false)
}

/// The JSON Schema of an `Option<MaybeBlank<T>>` field: also `null`.
#[cfg(feature = "openapi")]
pub fn optional_maybe_blank_schema<T: BoundedText>(
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    T::RULE.schema_of(false, true)
}

// Every kind fits an XLSX cell (32,767 characters) with room for the `'` of a defused formula.
const _: () = assert!(FreeText::MAX_CHARS < 32_767);

mod nonce;

pub use nonce::{PassNonce, PASS_NONCE_BYTES};

#[cfg(test)]
mod tests;
