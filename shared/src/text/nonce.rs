//! A pass's nonce as the terminal reports it with a meal: one spelling (16 lower-case hex
//! digits), so the same nonce is always the same text and nothing longer is ever stored.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::TextError;

/// Number of bytes in a pass nonce (`shared::pass::PassClaims::nonce`).
pub const PASS_NONCE_BYTES: usize = 8;

/// A pass's nonce as the terminal reports it: exactly 16 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PassNonce([u8; PASS_NONCE_BYTES]);

impl PassNonce {
    pub const fn from_bytes(bytes: [u8; PASS_NONCE_BYTES]) -> Self {
        PassNonce(bytes)
    }

    pub const fn as_bytes(&self) -> [u8; PASS_NONCE_BYTES] {
        self.0
    }
}

impl FromStr for PassNonce {
    type Err = TextError;

    /// Lower-case only: the one spelling, so the same nonce is always the same text.
    fn from_str(s: &str) -> Result<Self, TextError> {
        let bad = TextError::NotHex {
            what: "a pass nonce",
            len: PASS_NONCE_BYTES * 2,
        };
        let lower_hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
        if s.len() != PASS_NONCE_BYTES * 2 || !s.as_bytes().iter().all(lower_hex) {
            return Err(bad);
        }
        let mut bytes = [0u8; PASS_NONCE_BYTES];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad.clone())?;
        }
        Ok(PassNonce(bytes))
    }
}

impl fmt::Display for PassNonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for PassNonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PassNonce({self})")
    }
}

impl Serialize for PassNonce {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PassNonce {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Cow::<'de, str>::deserialize(deserializer)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for PassNonce {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("The scanned pass's nonce: 16 lower-case hex digits"))
            .min_length(Some(PASS_NONCE_BYTES * 2))
            .max_length(Some(PASS_NONCE_BYTES * 2))
            .pattern(Some("^[0-9a-f]{16}$"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for PassNonce {}
