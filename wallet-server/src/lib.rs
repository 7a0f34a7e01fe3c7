//! The Social Wallet backend for free school meals.
//!
//! Layers, bottom to top (arrows point down only; `tests/layers.rs` checks it): `domain`
//! (words and pure rules) → `store` (SQLite or PostgreSQL behind one trait) → `ports` (the
//! outside world) → `services` (the use cases) → `jobs` (background work) → `web` (the JSON
//! API, the school console). `config` says how, `demo` seeds a school to try it on, `app`
//! wires them together.

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
