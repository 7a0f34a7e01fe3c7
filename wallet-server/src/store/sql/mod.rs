//! The store's SQL, written once for both backends.
//!
//! Each query module writes its functions and trait impls once inside [`per_backend!`],
//! which expands them into a `sqlite` and a `postgres` module, each compiled against its own
//! sqlx driver with the glob import of its [`dialect`]: the connection and row types, the
//! `Store` it implements, value codecs (`uuid`, `ts`, `date` to bind; `get_ts`, `get_date`,
//! `get_uuid` to read) and write transactions. The SQL text is the same string on both
//! (`$1` placeholders, which sqlx's SQLite driver binds by number too); what really differs
//! lives in the two dialect files.
//!
//! Why a macro and not a generic over `sqlx::Database`: the generic needs a higher-ranked
//! bound for every type bound and every executor use (`for<'q> Uuid: Encode<'q, DB>`, …),
//! and the two backends keep different storage formats (text UUIDs and instants on SQLite,
//! native types on PostgreSQL) that a generic cannot pick without a codec trait per value
//! anyway. Why not `sqlx::Any`: it knows neither `uuid` nor `timestamptz`, so today's
//! PostgreSQL columns would not open unchanged. The expansion costs compile time, not
//! run time: each backend's code is monomorphic, as before.

pub(crate) mod calendar;
pub(crate) mod calendar_guard;
pub(crate) mod consent;
pub(crate) mod console;
pub(crate) mod counter;
pub(crate) mod dialect;
pub(crate) mod eligibility;
pub(crate) mod eligibility_write;
pub(crate) mod entitlements;
pub(crate) mod jobs;
pub(crate) mod meal_group;
pub(crate) mod meal_push;
pub(crate) mod meal_void;
pub(crate) mod mint_windows;
pub(crate) mod monthly;
pub(crate) mod ops;
pub(crate) mod people;
pub(crate) mod records;
pub(crate) mod reports;
pub(crate) mod signals;
pub(crate) mod tabel;
pub(crate) mod terminals;
pub(crate) mod vouchers;
pub(crate) mod wallet_events;

/// Expands the items once per backend into `mod sqlite` and `mod postgres`, each with
/// `use super::*` and the glob import of its dialect. Items name the types `Store`, `Conn`,
/// `DbRow`, `Db` and call the codecs unqualified; their SQL uses `$n` placeholders.
macro_rules! per_backend {
    ($($item:item)*) => {
        pub(in crate::store) mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_imports)]
            use $crate::store::sql::dialect::sqlite::*;
            $($item)*
        }
        pub(in crate::store) mod postgres {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_imports)]
            use $crate::store::sql::dialect::postgres::*;
            $($item)*
        }
    };
}
pub(crate) use per_backend;
