//! Who is calling: verification of access tokens and one extractor per audience.
//!
//! Handlers name the caller they accept in their signature (`Parent`, `SchoolStaff`,
//! `Integration`), and the extractor refuses everyone else before the handler runs.

mod dev_idp;
mod extract;
mod jwt;
mod refusal;
mod verified;

pub use dev_idp::DevIdentityProvider;
pub use extract::{
    Integration, Parent, ProviderOperator, ProviderSystem, SchoolStaff, TerminalCaller,
};
pub use jwt::{Audience, Claims, JwtVerifier, KeySetupError};
pub use refusal::{documented_codes, refusals, RefusalLog, TokenError};

pub use crate::domain::Role;

#[cfg(test)]
mod extract_tests;
#[cfg(test)]
mod tests;
