//! Who is calling: verification of access tokens and one extractor per audience.
//!
//! Handlers name the caller they accept in their signature (`Parent`, `SchoolStaff`,
//! `Integration`), and the extractor refuses everyone else before the handler runs.

mod dev_idp;
mod extract;
mod jwt;
mod verified;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use dev_idp::DevIdentityProvider;
pub use extract::{Integration, Parent, SchoolStaff, TerminalCaller};
pub use jwt::{Claims, JwtVerifier, KeySetupError, TokenError};

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
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Parent => "parent",
            Role::SocialPedagogue => "social_pedagogue",
            Role::Director => "director",
            Role::Integration => "integration",
        })
    }
}

#[cfg(test)]
mod extract_tests;
#[cfg(test)]
mod tests;
