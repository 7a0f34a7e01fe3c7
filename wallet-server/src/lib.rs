//! The Social Wallet backend for free school meals.
//!
//! Layers, top to bottom: `http` (routers per audience) → `auth` (who is calling) → domain
//! services (`vouchers`, …) → `store` (SQLite or PostgreSQL behind one trait). `app` wires
//! them together; `config` says how; `demo` seeds a school to try it on.

pub mod app;
pub mod audit;
pub mod auth;
pub mod config;
pub mod consent;
pub mod console;
pub mod demo;
pub mod domain;
pub mod eligibility;
pub mod enrollment;
pub mod error;
pub mod feedback;
pub mod http;
pub mod jobs;
pub mod meals;
pub mod metrics;
pub mod passes;
pub mod ports;
pub mod reports;
pub mod school_terminals;
pub mod store;
pub mod tabel;
pub mod vouchers;
