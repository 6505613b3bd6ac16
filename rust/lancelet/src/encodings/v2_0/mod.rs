//! Format 2.0 page encodings.
//!
//! A 2.0 page is described by an `ArrayEncoding` tree whose leaves name page buffers. The
//! trees Lance writes, and that Lancelet reads and writes, are:
//!
//! ```text
//! fixed width   nullable{no_nulls{flat(W)}}                     buffers: values
//!               nullable{some_nulls{flat(1), flat(W)}}          buffers: validity, values
//!               nullable{all_nulls}                             no buffers
//! bool          as fixed width with W = 1 (LSB-first bitmap)
//! utf8, binary  binary{nullable{no_nulls{flat(64)}}, flat(8), null_adjustment}
//!                                                                buffers: end offsets, bytes
//! fixed list    nullable{..{fixed_size_list{dim, nullable{..{flat(W)}}}}}
//! dictionary    dictionary{nullable{no_nulls{flat(K)}}, <items tree>, n}
//! list          list{nullable{no_nulls{flat(64)}}, null_offset_adjustment, num_items}
//!               (in the list's own column; the items follow in the next columns)
//! struct        struct{} (in the struct's own column, no buffers)
//! ```
//!
//! The bytes of strings and binaries may be compressed as a whole (`flat(8)` with a
//! `compression` of `zstd` or `lz4`, framed as in [`crate::encodings::general`]); Lance does
//! this when the field's metadata holds `lance-encoding:compression`.
//!
//! Offsets are stored without Arrow's leading zero: entry i is the end of value i. A null value
//! stores its end plus the adjustment (total bytes or items in the page, plus 1), so
//! `['x', 'yy', null, 'zzz']` becomes offsets `[1, 3, 10, 6]` with adjustment 7 and bytes
//! `xyyzzz`. The start of value i is `offsets[i-1] % adjustment`, so any row range can be
//! decoded from its own offsets plus one before it.

mod decode;
mod encode;
mod list;

pub use decode::PageDecoder;
pub use encode::{LeafOptions, encode_leaf_page, encode_list_page, encode_struct_page};
pub use list::{ListPageDecoder, ListRows};
