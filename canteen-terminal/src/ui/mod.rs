//! How the terminal shows what happens to the canteen worker and to scripts.
//!
//! For now only [`plain`] exists: one JSON object per line on stdout. The full-screen UI
//! (`--ui tui`) lands with the terminal issue; until then the terminal falls back to plain.

pub mod plain;

pub use plain::PlainUi;
