//! School ID card identifiers.
//!
//! The canteen's card reader is a 125 kHz EM4100 reader (the common RDM6300 module): every
//! card carries 5 bytes — a version byte and a 4-byte tag id — and the reader sends them as
//! 10 ASCII hex digits. The server binds a card to a student by that id and the terminal
//! looks it up, so both sides must spell it the same way: exactly 10 hex digits, upper case.
//! [`CardUid`] is that spelling as a type: a value of it is always well formed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Number of bytes in an EM4100 card id (version byte + 4-byte tag id).
pub const CARD_UID_BYTES: usize = 5;

/// Number of hex digits in the written form of a card id.
pub const CARD_UID_DIGITS: usize = CARD_UID_BYTES * 2;

/// A 125 kHz EM4100 card id, written as exactly 10 upper-case hex digits (`0102ABCDEF`).
///
/// Parsing accepts upper or lower case and normalizes to upper case.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CardUid([u8; CARD_UID_BYTES]);

/// Why a text is not a card id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardUidError {
    /// The text does not have exactly 10 characters.
    #[error("a card UID has exactly 10 hex digits, this one has {found} characters")]
    Length {
        /// Number of characters found.
        found: usize,
    },
    /// A character is not a hex digit.
    #[error("a card UID has only hex digits (0-9, A-F), found {found:?} at position {position}")]
    NotHex {
        /// Zero-based position of the offending character.
        position: usize,
        /// The offending character.
        found: char,
    },
}

impl CardUid {
    /// The card id made of these 5 bytes (version byte first).
    pub const fn from_bytes(bytes: [u8; CARD_UID_BYTES]) -> Self {
        Self(bytes)
    }

    /// The 5 bytes of the card id (version byte first).
    pub const fn as_bytes(&self) -> [u8; CARD_UID_BYTES] {
        self.0
    }

    /// The checksum an RDM6300 reader sends after the id: the XOR of the 5 bytes.
    pub fn rdm6300_checksum(&self) -> u8 {
        self.0.iter().fold(0, |acc, b| acc ^ b)
    }
}

/// Value of one ASCII hex digit, either case.
fn hex_value(c: char) -> Option<u8> {
    c.to_digit(16).and_then(|d| u8::try_from(d).ok())
}

impl FromStr for CardUid {
    type Err = CardUidError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let found = s.chars().count();
        if found != CARD_UID_DIGITS {
            return Err(CardUidError::Length { found });
        }
        let mut bytes = [0u8; CARD_UID_BYTES];
        for (position, c) in s.chars().enumerate() {
            let value = hex_value(c).ok_or(CardUidError::NotHex { position, found: c })?;
            bytes[position / 2] |= value << if position % 2 == 0 { 4 } else { 0 };
        }
        Ok(Self(bytes))
    }
}

impl fmt::Display for CardUid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for CardUid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardUid({self})")
    }
}

impl Serialize for CardUid {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CardUid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = CardUid;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a card UID of 10 hex digits")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<CardUid, E> {
                v.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_upper_and_lower_case_to_the_same_value() {
        let upper: CardUid = "0102ABCDEF".parse().expect("upper case");
        let lower: CardUid = "0102abcdef".parse().expect("lower case");
        assert_eq!(upper, lower);
        assert_eq!(upper.as_bytes(), [0x01, 0x02, 0xAB, 0xCD, 0xEF]);
        assert_eq!(lower.to_string(), "0102ABCDEF");
    }

    #[test]
    fn rejects_wrong_length() {
        for (text, found) in [("", 0), ("0102ABCDE", 9), ("0102ABCDEF0", 11)] {
            assert_eq!(
                text.parse::<CardUid>(),
                Err(CardUidError::Length { found }),
                "{text:?}"
            );
        }
    }

    #[test]
    fn counts_characters_not_bytes() {
        // 10 characters but 11 bytes: a length error would be wrong, a hex error is right.
        let err = "0102ABCDEé".parse::<CardUid>().expect_err("not hex");
        assert_eq!(
            err,
            CardUidError::NotHex {
                position: 9,
                found: 'é'
            }
        );
    }

    #[test]
    fn rejects_non_hex_and_says_where() {
        let err = "0102ABCDEG".parse::<CardUid>().expect_err("G is not hex");
        assert_eq!(
            err,
            CardUidError::NotHex {
                position: 9,
                found: 'G'
            }
        );
        let message = err.to_string();
        assert!(
            message.contains("'G'") && message.contains("position 9"),
            "{message}"
        );
        assert!(" 102ABCDEF".parse::<CardUid>().is_err());
        assert!("+102ABCDEF".parse::<CardUid>().is_err());
    }

    #[test]
    fn length_error_message_says_what_is_wrong() {
        let err = "ABC".parse::<CardUid>().expect_err("too short");
        assert_eq!(
            err.to_string(),
            "a card UID has exactly 10 hex digits, this one has 3 characters"
        );
    }

    #[test]
    fn checksum_is_xor_of_the_five_bytes() {
        // The example frame from the RDM6300 datasheet: 62 E3 08 6C ED, checksum 08.
        let uid: CardUid = "62E3086CED".parse().expect("valid");
        assert_eq!(uid.rdm6300_checksum(), 0x08);
        assert_eq!(CardUid::from_bytes([0; 5]).rdm6300_checksum(), 0);
        assert_eq!(
            CardUid::from_bytes([0xFF, 0, 0, 0, 0x0F]).rdm6300_checksum(),
            0xF0
        );
    }

    #[test]
    fn serde_uses_the_string_form() {
        let uid: CardUid = "0102abcdef".parse().expect("valid");
        let json = serde_json::to_string(&uid).expect("serialize");
        assert_eq!(json, "\"0102ABCDEF\"");
        let back: CardUid = serde_json::from_str("\"0102abcdef\"").expect("deserialize");
        assert_eq!(back, uid);
        let err = serde_json::from_str::<CardUid>("\"0102\"").expect_err("too short");
        assert!(err.to_string().contains("exactly 10 hex digits"), "{err}");
        assert!(serde_json::from_str::<CardUid>("12").is_err());
    }

    #[test]
    fn debug_shows_the_written_form() {
        let uid = CardUid::from_bytes([0xDE, 0xAD, 0xBE, 0xEF, 0x01]);
        assert_eq!(format!("{uid:?}"), "CardUid(DEADBEEF01)");
    }

    proptest! {
        #[test]
        fn bytes_text_bytes_round_trip(bytes in any::<[u8; 5]>()) {
            let uid = CardUid::from_bytes(bytes);
            let text = uid.to_string();
            prop_assert_eq!(text.len(), CARD_UID_DIGITS);
            prop_assert!(text.chars().all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c)));
            prop_assert_eq!(text.parse::<CardUid>(), Ok(uid));
            prop_assert_eq!(text.to_ascii_lowercase().parse::<CardUid>(), Ok(uid));
            prop_assert_eq!(uid.as_bytes(), bytes);
        }

        #[test]
        fn parse_never_panics_and_accepts_only_ten_hex_digits(text in "\\PC{0,14}") {
            let ok = text.chars().count() == 10 && text.chars().all(|c| c.is_ascii_hexdigit());
            prop_assert_eq!(text.parse::<CardUid>().is_ok(), ok);
        }
    }
}
