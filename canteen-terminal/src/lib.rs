//! The offline canteen terminal (DESIGN §2 canteen-terminal).
//!
//! Scans arrive from two serial devices ([`scanner`]); each is decided by a pure function
//! ([`decide`], with the words in [`reason`]) against the local database ([`store`]); an
//! accepted meal is committed durably before it is shown ([`terminal`], [`ui`]); a background
//! thread pushes meals and pulls the roster when the server is reachable ([`sync`]).
//! [`app::run`] wires the pieces for the binary; [`cli`] and [`config`] read the settings.

pub mod app;
pub mod cli;
pub mod config;
pub mod decide;
pub mod desk;
pub mod reason;
pub mod scanner;
pub mod store;
pub mod sync;
pub mod terminal;
pub mod ui;

pub use app::run;
