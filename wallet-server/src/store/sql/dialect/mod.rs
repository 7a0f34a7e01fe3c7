//! What really differs between SQLite and PostgreSQL, once: connection and row types, how a
//! write transaction begins, and the value codecs that keep each backend's storage format
//! (SQLite: UUIDs, dates and instants as text; PostgreSQL: `uuid`, `date`, `timestamptz`).
//! Both files export the same names, so a query written once compiles against either.

pub(crate) mod postgres;
pub(crate) mod sqlite;
