//! Lancelet: a reader and writer for the [Lance](https://lancedb.github.io/lance/) v2 columnar
//! file format, byte-compatible with the files pylance 14 writes and reads.
//!
//! A Lance file stores Arrow data column by column. Every buffer is referenced by absolute
//! offset, and everything needed to find the data sits at the end of the file:
//!
//! ```text
//! +-------------------------------------------------------------+  offset 0
//! | data buffers: pages of each column, global buffers added    |  each starts on a 64-byte
//! | by the writer; padded with 0x48 ('H') to 64-byte multiples  |  boundary
//! +-------------------------------------------------------------+
//! | global buffer 0: FileDescriptor (schema + row count)        |  protobuf lance.file
//! +-------------------------------------------------------------+  <- column_meta_start
//! | ColumnMetadata of column 0, 1, ... (pages, their buffers    |  protobuf lance.file.v2
//! | and encodings)                                              |
//! +-------------------------------------------------------------+  <- column_meta_offsets_start
//! | column metadata offset table: (u64 position, u64 size) each |
//! +-------------------------------------------------------------+  <- global_buff_offsets_start
//! | global buffer offset table: (u64 position, u64 size) each   |
//! +-------------------------------------------------------------+
//! | footer, 40 bytes: the three offsets above, u32 number of    |
//! | global buffers, u32 number of columns, u16 major, u16 minor,|
//! | "LANC"                                                      |
//! +-------------------------------------------------------------+  end of file
//! ```
//!
//! Formats 2.0 (footer version 0.3), 2.1 and 2.2 are read and written; new files are 2.2
//! unless [`WriterOptions::with_version`] says otherwise. In 2.0 every field has columns of its own;
//! from 2.1 on only leaf fields do, and lists and structs travel as repetition and definition
//! levels inside the leaves' pages.
//!
//! # Quick start
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{Int64Array, RecordBatch, StringArray};
//! use lancelet::{FileReader, FileWriter, WriterOptions};
//! use object_store::{memory::InMemory, path::Path};
//!
//! # #[tokio::main(flavor = "multi_thread")]
//! # async fn main() -> lancelet::Result<()> {
//! let batch = RecordBatch::try_from_iter([
//!     ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as _),
//!     ("name", Arc::new(StringArray::from(vec![Some("a"), None, Some("c")])) as _),
//! ])?;
//!
//! // Write: any object_store works (local files, memory, S3, ...).
//! let store = Arc::new(InMemory::new());
//! let path = Path::from("example.lance");
//! let mut writer =
//!     FileWriter::try_new(store.clone(), path.clone(), batch.schema(), WriterOptions::default())?;
//! writer.write_batch(&batch).await?;
//! writer.finish().await?;
//!
//! // Read: open costs one or two reads; scans stream record batches.
//! let reader = FileReader::open(store, &path).await?;
//! assert_eq!(reader.num_rows(), 3);
//! let rows = reader
//!     .take(vec![2, 0])
//!     .with_columns(["name"])
//!     .into_stream()?
//!     .try_collect()
//!     .await?;
//! assert_eq!(rows[0].num_rows(), 2);
//! # Ok(())
//! # }
//! ```
//!
//! # Modules
//!
//! - [`writer`]: [`FileWriter`] and [`WriterOptions`].
//! - [`reader`]: [`FileReader`], [`Scan`] (projection, row ranges, takes, batch size,
//!   readahead), the [`reader::BatchStream`] and a blocking [`reader::BlockingBatchReader`].
//! - [`mod@format`]: the container without I/O: footer, versions, protobufs, schema mapping,
//!   metadata decoding.
//! - [`encodings`]: page encoders and decoders (no I/O).
//! - [`io`]: ranged reads with coalescing, aligned multipart uploads, URIs, an I/O-counting
//!   store.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod cores;
pub mod encodings;
pub mod error;
pub mod format;
pub mod io;
pub mod reader;
pub mod writer;

pub use error::{Error, Result};
pub use format::FileVersion;
pub use reader::{FileReader, Projection, RowSelection, Scan};
pub use writer::{FileWriter, WriteSummary, WriterOptions};
