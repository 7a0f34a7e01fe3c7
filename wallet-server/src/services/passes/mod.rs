//! Dynamic QR passes on the server: the persisted signing keys ([`keys`]), rendering a pass
//! text as PNG or SVG ([`render`]), and minting for activated vouchers ([`mint`]).

pub mod keys;
pub mod mint;
pub mod qr;
pub mod render;
