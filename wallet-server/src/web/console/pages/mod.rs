//! One module per console page.

pub mod calendar;
pub mod counter;
pub mod reports;
pub mod signals;
pub mod signin;
pub mod students;
pub mod tabel;
pub mod terminals;
pub mod today;
