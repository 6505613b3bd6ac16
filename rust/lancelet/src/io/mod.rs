//! I/O: ranged reads with coalescing, uploads of aligned buffers, and an I/O-counting store.
//!
//! Everything async lives here and in the reader and writer; encodings never do I/O.

pub mod coalesce;
pub mod counting;
#[cfg(feature = "fs")]
mod local;
mod range_read;
pub mod upload;
pub mod uri;

pub use coalesce::{CoalesceOptions, ReadPlan};
pub use counting::{CountingStore, IoStats};
#[cfg(feature = "fs")]
pub use local::LocalFileReader;
pub use range_read::{BytesReader, IoHints, ObjectStoreReader, RangeRead};
pub use upload::{AlignedWriter, UploadOptions};
#[cfg(feature = "fs")]
pub use uri::local_file_path;
pub use uri::store_from_uri;
