//! A simulated QR scanner and RDM6300 ID-card reader on pseudo-terminals.
//!
//! The canteen terminal talks to real serial devices; this crate stands in for them so the
//! terminal can be run and tested on any Linux machine: each device is a pty whose slave
//! end appears at a stable path ([`device`]), the bytes are what the real devices send
//! ([`frames`]), and a small command language ([`command`]) drives them ([`sim`]): scan a
//! text, present a card, inject noise, split or glue frames, unplug and replug.

pub mod command;
pub mod device;
pub mod frames;
pub mod sim;
