//! Lancelet: a reader and writer for the Lance v2 columnar file format.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod error;
pub mod format;
pub mod io;

pub use error::{Error, Result};
pub use format::FileVersion;
pub mod encodings;
pub mod reader;

pub use reader::{FileReader, Projection, RowSelection, Scan};
pub mod writer;

pub use writer::{FileWriter, WriteSummary, WriterOptions};
