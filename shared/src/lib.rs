//! The vocabulary the wallet server and the canteen terminal both speak.
//!
//! Anything the two sides must agree on lives here and only here: identifiers of people
//! and schools ([`id`]), card UIDs ([`card`]), voucher ids ([`voucher`]), the signed
//! dynamic QR pass ([`pass`]), the terminal sync messages ([`sync`], with the counter's voids, denials and progress in
//! [`counter`]), clean bounded text from
//! outside ([`text`]) and the rules of time ([`time`]). With the `http` feature, [`http`]
//! builds every outbound HTTP(S) client of both binaries (one TLS stack: rustls on ring). Neither binary depends on the other; both depend on this crate.

pub mod card;
pub mod counter;
#[cfg(feature = "http")]
pub mod http;
pub mod id;
pub mod pass;
pub mod private_file;
pub mod sync;
pub mod systemd;
pub mod text;
pub mod time;
pub mod voucher;

pub use card::CardUid;
pub use id::{Bin, IdError, Iin, Sex};
pub use text::{
    AlertLine, ClassLabel, FreeText, Label, MaybeBlank, PassNonce, PersonName, SchoolName,
    SlotName, TextError,
};
pub use voucher::VoucherId;
