//! The compressive encodings of formats 2.1 and 2.2 (`lance.encodings21.CompressiveEncoding`).

pub mod bitpacking;
pub mod block;
pub mod bss;
pub mod decode;
pub mod encode;
pub mod fastlanes;
pub mod fsl;
pub mod fsst;
pub mod joiner;
pub mod rle;
pub mod select;
pub mod variable;

pub use block::DataBlock;
