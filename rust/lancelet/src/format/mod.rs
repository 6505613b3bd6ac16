//! The bytes of the Lance container, without I/O: the footer, format versions, the protobuf
//! messages, the Arrow schema mapping and the decoding of a file's metadata.

pub mod columns;
pub mod describe;
pub mod footer;
pub mod metadata;
pub mod pb;
pub mod schema;
pub mod version;

pub use footer::Footer;
pub use metadata::{BufferRange, ColumnInfo, FileMetadata, PageEncoding, PageInfo};
pub use version::FileVersion;

/// Every page, column and global buffer starts at a multiple of this many bytes.
pub const BUFFER_ALIGNMENT: u64 = 64;

/// The byte used to pad buffers up to [`BUFFER_ALIGNMENT`] (ASCII `H`).
pub const PAD_BYTE: u8 = 0x48;

/// The magic bytes at the very end of every Lance file.
pub const MAGIC: [u8; 4] = *b"LANC";
