//! The schema of a body of raw bytes (a QR picture, a spreadsheet, a PDF, a CSV file):
//! `type: string, format: binary`. Without it utoipa describes `Vec<u8>` as an array of
//! integers, and a client generated from the document would parse a picture as JSON.

use std::borrow::Cow;

use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::RefOr;

/// A body of raw bytes under its own media type; only ever named in `#[utoipa::path]`
/// `content(...)` lists, never built.
pub(super) struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl utoipa::ToSchema for Binary {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Binary")
    }
}
