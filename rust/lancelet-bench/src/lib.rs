//! `lancelet-bench`: measures Lancelet against Arrow IPC and Parquet on generated data.
//!
//! Every format writes and reads the same in-memory data through the same
//! [`object_store::ObjectStore`] API: `LocalFileSystem` in a temporary directory, wrapped in
//! [`lancelet::io::CountingStore`] so that request and byte counts sit beside the times. The
//! formats run interleaved (A, B, C, then again) for each repetition, and the report gives
//! medians. See [`runner::run`] and the binary's `--help`.

pub mod alloc;
pub mod data;
pub mod formats;
pub mod machine;
pub mod report;
pub mod runner;

/// The crate's error type: any error, boxed.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Counts every heap allocation of programs linking this crate (the bench and its tests).
#[global_allocator]
static GLOBAL: alloc::CountingAlloc = alloc::CountingAlloc;

pub use data::DatasetKind;
pub use formats::Format;
pub use runner::{Config, Record, Results, run};
