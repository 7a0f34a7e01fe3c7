//! Kazakhstan's 12-digit national identifiers: `Iin` for people, `Bin` for organisations.
//!
//! Parse, don't validate: a value of these types always has the right length, digits and
//! check digit (and, for an IIN, a real birth date). Children's IINs are personal data, so
//! `Display` and `Debug` of an [`Iin`] are masked (`0412******42`); the full value is only
//! available through [`Iin::expose`] or serde (the API and the database need it).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Month};

/// Why a string is not a valid IIN or BIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("must be exactly 12 digits, got {0} characters")]
    Length(usize),
    #[error("must contain only digits 0-9 (position {0} is not a digit)")]
    NonDigit(usize),
    #[error("digit 7 must be 1-6 (century and sex), got {0}")]
    CenturySex(u8),
    #[error("digits 1-6 are not a real birth date (YYMMDD)")]
    BirthDate,
    #[error("check digit does not match")]
    CheckDigit,
}

/// First weight set of the official algorithm.
const WEIGHTS_1: [u32; 11] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
/// Second weight set, used when the first one yields 10.
const WEIGHTS_2: [u32; 11] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];

fn weighted_mod11(digits: &[u8], weights: &[u32; 11]) -> u32 {
    digits
        .iter()
        .zip(weights)
        .map(|(&d, &w)| u32::from(d) * w)
        .sum::<u32>()
        % 11
}

/// The check digit for the first 11 digits, or `None` when the official algorithm says the
/// number cannot be issued (both weight sets yield 10).
pub fn check_digit(first11: &[u8; 11]) -> Option<u8> {
    let first = weighted_mod11(first11, &WEIGHTS_1);
    let result = if first == 10 {
        weighted_mod11(first11, &WEIGHTS_2)
    } else {
        first
    };
    // A result of 10 from the second set means "not issued"; the cast is then lossless.
    (result != 10).then_some(result as u8)
}

/// Splits a string into 12 digit values, checking length and characters only.
fn digits(s: &str) -> Result<[u8; 12], IdError> {
    let chars = s.chars().count();
    if chars != 12 {
        return Err(IdError::Length(chars));
    }
    let mut out = [0u8; 12];
    for (i, b) in s.bytes().enumerate() {
        if !b.is_ascii_digit() {
            return Err(IdError::NonDigit(i + 1));
        }
        out[i] = b - b'0';
    }
    Ok(out)
}

fn verify_check_digit(d: &[u8; 12]) -> Result<(), IdError> {
    let mut first11 = [0u8; 11];
    first11.copy_from_slice(&d[..11]);
    match check_digit(&first11) {
        Some(c) if c == d[11] => Ok(()),
        _ => Err(IdError::CheckDigit),
    }
}

fn to_string(d: &[u8; 12]) -> String {
    d.iter().map(|&x| char::from(b'0' + x)).collect()
}

/// Sex as encoded in digit 7 of an IIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
}

/// Individual identification number (ИИН) of a person.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iin([u8; 12]);

impl Iin {
    /// The full 12 digits. Never log this: use `Display` (masked) instead.
    pub fn expose(&self) -> String {
        to_string(&self.0)
    }

    /// Birth date from digits 1–6 and the century from digit 7.
    pub fn birth_date(&self) -> Date {
        // Checked at parse time, so this cannot fail for a constructed `Iin`.
        birth_date_of(&self.0).unwrap_or(Date::MIN)
    }

    /// Sex from digit 7 (odd = male, even = female).
    pub fn sex(&self) -> Sex {
        if self.0[6] % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// Builds a valid IIN from a birth date, sex and a 4-digit serial, computing the check
    /// digit. `None` when the date is outside 1800–2099 or the serial cannot be issued.
    pub fn generate(birth: Date, sex: Sex, serial: u16) -> Option<Iin> {
        let century = match birth.year() {
            1800..=1899 => 1,
            1900..=1999 => 3,
            2000..=2099 => 5,
            _ => return None,
        };
        let digit7 = century + u8::from(sex == Sex::Female);
        let yy = birth.year().rem_euclid(100) as u8;
        let mm = birth.month() as u8;
        let dd = birth.day();
        if serial > 9999 {
            return None;
        }
        let s = serial;
        let first11 = [
            yy / 10,
            yy % 10,
            mm / 10,
            mm % 10,
            dd / 10,
            dd % 10,
            digit7,
            (s / 1000) as u8,
            (s / 100 % 10) as u8,
            (s / 10 % 10) as u8,
            (s % 10) as u8,
        ];
        let check = check_digit(&first11)?;
        let mut all = [0u8; 12];
        all[..11].copy_from_slice(&first11);
        all[11] = check;
        Some(Iin(all))
    }
}

fn birth_date_of(d: &[u8; 12]) -> Result<Date, IdError> {
    let century_base = match d[6] {
        1 | 2 => 1800,
        3 | 4 => 1900,
        5 | 6 => 2000,
        other => return Err(IdError::CenturySex(other)),
    };
    let year = century_base + i32::from(d[0] * 10 + d[1]);
    let month = Month::try_from(d[2] * 10 + d[3]).map_err(|_| IdError::BirthDate)?;
    let day = d[4] * 10 + d[5];
    Date::from_calendar_date(year, month, day).map_err(|_| IdError::BirthDate)
}

impl FromStr for Iin {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let d = digits(s)?;
        birth_date_of(&d)?;
        verify_check_digit(&d)?;
        Ok(Iin(d))
    }
}

impl fmt::Display for Iin {
    /// Masked: first four and last two digits only (`0412******42`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.expose();
        write!(f, "{}******{}", &s[..4], &s[10..])
    }
}

impl fmt::Debug for Iin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iin({self})")
    }
}

/// Business identification number (БИН) of an organisation, e.g. a school.
/// Not personal data, so it displays in full.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bin([u8; 12]);

impl Bin {
    pub fn as_string(&self) -> String {
        to_string(&self.0)
    }

    /// The BIN as a number (at most 12 digits, so it fits in 40 bits).
    pub fn to_u64(&self) -> u64 {
        self.0.iter().fold(0u64, |acc, &d| acc * 10 + u64::from(d))
    }

    /// The inverse of [`Bin::to_u64`], with full validation.
    pub fn from_u64(n: u64) -> Result<Bin, IdError> {
        if n >= 1_000_000_000_000 {
            return Err(IdError::Length(13));
        }
        format!("{n:012}").parse()
    }

    /// Builds a valid BIN from its first 11 digits, computing the check digit.
    pub fn generate(first11: &[u8; 11]) -> Option<Bin> {
        if first11.iter().any(|&d| d > 9) {
            return None;
        }
        let check = check_digit(first11)?;
        let mut all = [0u8; 12];
        all[..11].copy_from_slice(first11);
        all[11] = check;
        Some(Bin(all))
    }
}

impl FromStr for Bin {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let d = digits(s)?;
        verify_check_digit(&d)?;
        Ok(Bin(d))
    }
}

impl fmt::Display for Bin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_string())
    }
}

impl fmt::Debug for Bin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bin({self})")
    }
}

macro_rules! serde_as_string {
    ($ty:ty, $to_string:ident) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.$to_string())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

serde_as_string!(Iin, expose);
serde_as_string!(Bin, as_string);

#[cfg(test)]
mod tests;
