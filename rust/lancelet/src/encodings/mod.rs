//! Encoders and decoders of page data. Synchronous, over `Bytes` and Arrow arrays; no I/O.
//!
//! Decoders follow a plan/decode split so that the reader can batch I/O: a decoder first names
//! the byte ranges it needs (at most two rounds, the second depending on the first, as for
//! variable-width values whose byte positions are stored in an offsets buffer), and then
//! decodes from the fetched bytes.

pub mod blob;
pub mod buffers;
pub mod compression;
pub mod general;
pub(crate) mod hashing;
pub(crate) mod numbering;
pub mod strategy;
pub mod structural;
pub mod v2_0;
pub mod zstd_frames;

use bytes::Bytes;

pub use buffers::Fetched;

use crate::format::PageEncoding;

/// A page produced by an encoder, ready to be written.
#[derive(Debug, Clone)]
pub struct EncodedPage {
    /// The page's buffers, in the order its encoding refers to them.
    pub buffers: Vec<Bytes>,
    /// The number of values in the page (the page's `length`).
    pub num_rows: u64,
    /// How the page is encoded.
    pub encoding: PageEncoding,
}
