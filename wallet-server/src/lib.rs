//! The Social Wallet backend for free school meals.
//!
//! Layers, top to bottom: `http` (routers per audience) → `auth` (who is calling) → domain
//! services (`vouchers`, …) → `store` (SQLite or PostgreSQL behind one trait). `app` wires
//! them together; `config` says how; `demo` seeds a school to try it on.

pub mod app;
pub mod config;
pub mod demo;
pub mod domain;
pub mod jobs;
pub mod metrics;
pub mod ports;
pub mod services;
pub mod store;
pub mod web;
