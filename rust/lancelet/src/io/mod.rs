//! I/O: ranged reads with coalescing, uploads of aligned buffers, and an I/O-counting store.
//!
//! Everything async lives here and in the reader and writer; encodings never do I/O.

pub mod coalesce;
pub mod counting;
mod range_read;
pub mod upload;
pub mod uri;

pub use coalesce::{CoalesceOptions, ReadPlan};
pub use counting::{CountingStore, IoStats};
pub use range_read::{BytesReader, IoHints, ObjectStoreReader, RangeRead};
pub use upload::{AlignedWriter, UploadOptions};
pub use uri::store_from_uri;
