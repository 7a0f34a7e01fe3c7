//! Identity of a voucher, shared because passes carry it and terminals keep rosters by it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Identifier of a voucher: a UUIDv7 made by the server when the voucher is formed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VoucherId(Uuid);

impl VoucherId {
    /// A new time-ordered id.
    pub fn new() -> Self {
        VoucherId(Uuid::now_v7())
    }

    pub fn from_uuid(uuid: Uuid) -> Self {
        VoucherId(uuid)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for VoucherId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for VoucherId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for VoucherId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VoucherId({})", self.0)
    }
}

impl FromStr for VoucherId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(VoucherId)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_time_ordered_and_round_trip() {
        let a = VoucherId::new();
        let b = VoucherId::new();
        assert_ne!(a, b);
        assert!(a < b, "UUIDv7 ids sort by creation time");
        assert_eq!(a.to_string().parse::<VoucherId>().expect("parses"), a);
        assert_eq!(a.as_uuid().get_version_num(), 7);
        let json = serde_json::to_string(&a).expect("ser");
        assert_eq!(json, format!("\"{a}\""));
        assert!("not-a-uuid".parse::<VoucherId>().is_err());
    }
}
