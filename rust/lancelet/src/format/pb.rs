//! Rust types generated from the protobuf definitions in `protos/`.
#![allow(missing_docs, clippy::all, clippy::pedantic)]

/// `lance.file`: the schema messages (FileDescriptor, Schema, Field).
pub mod file {
    include!(concat!(env!("OUT_DIR"), "/lance.file.rs"));
}

/// `lance.file.v2`: the container messages (ColumnMetadata, pages, encodings).
pub mod file2 {
    include!(concat!(env!("OUT_DIR"), "/lance.file.v2.rs"));
}

/// `lance.encodings`: the page encodings of format 2.0.
pub mod v2_0 {
    include!(concat!(env!("OUT_DIR"), "/lance.encodings.rs"));
}

/// `lance.encodings21`: the page layouts and compressive encodings of formats 2.1 and 2.2.
pub mod v2_1 {
    include!(concat!(env!("OUT_DIR"), "/lance.encodings21.rs"));
}

/// Type URL of a format 2.0 page encoding inside `google.protobuf.Any`.
pub const ARRAY_ENCODING_TYPE_URL: &str = "/lance.encodings.ArrayEncoding";
/// Type URL of a format 2.1/2.2 page layout inside `google.protobuf.Any`.
pub const PAGE_LAYOUT_TYPE_URL: &str = "/lance.encodings21.PageLayout";
/// Type URL of the column-level encoding inside `google.protobuf.Any`.
pub const COLUMN_ENCODING_TYPE_URL: &str = "/lance.encodings.ColumnEncoding";
