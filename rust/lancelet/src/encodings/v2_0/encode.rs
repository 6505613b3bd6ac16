//! Encoding Arrow arrays into format 2.0 pages, as trees pylance 14 reads (see the module docs
//! of [`crate::encodings::v2_0`]).

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowDictionaryKeyType, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, DictionaryArray, OffsetSizeTrait, new_null_array};
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer};
use arrow_schema::DataType;
use bytes::Bytes;

use crate::encodings::EncodedPage;
use crate::encodings::buffers::to_bytes;
use crate::encodings::general::{Scheme, compress};
use crate::error::{Error, Result};
use crate::format::PageEncoding;
use crate::format::pb::v2_0 as pb;
use pb::array_encoding::ArrayEncoding as E;

fn encoding(variant: E) -> pb::ArrayEncoding {
    pb::ArrayEncoding {
        array_encoding: Some(variant),
    }
}

fn flat(bits: u64, buffers: &mut Vec<Bytes>, bytes: Bytes) -> pb::ArrayEncoding {
    let buffer_index = buffers.len() as u32;
    buffers.push(bytes);
    encoding(E::Flat(pb::Flat {
        bits_per_value: bits,
        buffer: Some(pb::Buffer {
            buffer_index,
            buffer_type: pb::buffer::BufferType::Page as i32,
        }),
        compression: None,
    }))
}

fn no_nulls(values: pb::ArrayEncoding) -> pb::ArrayEncoding {
    encoding(E::Nullable(Box::new(pb::Nullable {
        nullability: Some(pb::nullable::Nullability::NoNulls(Box::new(
            pb::nullable::NoNull {
                values: Some(Box::new(values)),
            },
        ))),
    })))
}

fn all_nulls() -> pb::ArrayEncoding {
    encoding(E::Nullable(Box::new(pb::Nullable {
        nullability: Some(pb::nullable::Nullability::AllNulls(
            pb::nullable::AllNull {},
        )),
    })))
}

/// The bitmap of `len` bits starting at bit `offset` of `buffer`, starting at bit 0.
fn bitmap_bytes(buffer: &Buffer, offset: usize, len: usize) -> Bytes {
    to_bytes(buffer.bit_slice(offset, len))
}

/// Wraps `values` (already encoded into `buffers`) with the array's validity. The validity
/// buffer is written first, as Lance does, so it is inserted before the values' buffers.
fn with_validity(
    nulls: Option<&NullBuffer>,
    len: usize,
    buffers: &mut Vec<Bytes>,
    encode_values: impl FnOnce(&mut Vec<Bytes>) -> Result<pb::ArrayEncoding>,
) -> Result<pb::ArrayEncoding> {
    match nulls {
        Some(nulls) if nulls.null_count() == len && len > 0 => Ok(all_nulls()),
        Some(nulls) if nulls.null_count() > 0 => {
            let bits = nulls.inner();
            let validity = flat(1, buffers, bitmap_bytes(bits.inner(), bits.offset(), len));
            let values = encode_values(buffers)?;
            Ok(encoding(E::Nullable(Box::new(pb::Nullable {
                nullability: Some(pb::nullable::Nullability::SomeNulls(Box::new(
                    pb::nullable::SomeNull {
                        validity: Some(Box::new(validity)),
                        values: Some(Box::new(values)),
                    },
                ))),
            }))))
        }
        _ => Ok(no_nulls(encode_values(buffers)?)),
    }
}

/// Field metadata key naming a general compression scheme (`zstd`, `lz4` or `none`).
pub const COMPRESSION_KEY: &str = "lance-encoding:compression";
/// Field metadata key giving the compression level.
pub const COMPRESSION_LEVEL_KEY: &str = "lance-encoding:compression-level";

/// Per-field choices for 2.0 leaf pages, from the field's `lance-encoding:*` metadata.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeafOptions {
    /// Compress the bytes of string and binary values (format 2.0 compresses nothing else).
    pub compression: Option<(Scheme, Option<i32>)>,
}

impl LeafOptions {
    /// Reads the hints of a field. `fsst` is a 2.1+ scheme and is ignored in 2.0, as by Lance.
    pub fn from_metadata(metadata: &std::collections::HashMap<String, String>) -> Result<Self> {
        let scheme = match metadata
            .get(COMPRESSION_KEY)
            .map(|s| s.to_ascii_lowercase())
        {
            None => None,
            Some(name) if name == "none" || name == "fsst" => None,
            Some(name) => Some(Scheme::from_name(&name).map_err(|_| {
                Error::invalid_argument(format!(
                    "{COMPRESSION_KEY} is '{name}'; expected zstd, lz4, fsst or none"
                ))
            })?),
        };
        let level = match metadata.get(COMPRESSION_LEVEL_KEY) {
            None => None,
            Some(text) => Some(text.trim().parse::<i32>().map_err(|_| {
                Error::invalid_argument(format!(
                    "{COMPRESSION_LEVEL_KEY} '{text}' is not an integer"
                ))
            })?),
        };
        Ok(Self {
            compression: scheme.map(|scheme| (scheme, level)),
        })
    }
}

/// Encodes one leaf array (anything but struct, list and map) as a 2.0 page.
pub fn encode_leaf_page(array: &ArrayRef, options: LeafOptions) -> Result<EncodedPage> {
    let mut buffers = Vec::new();
    let tree = match array.data_type() {
        DataType::Utf8 | DataType::Binary => {
            encode_binary::<i32>(array.as_ref(), &mut buffers, options)?
        }
        DataType::LargeUtf8 | DataType::LargeBinary => {
            encode_binary::<i64>(array.as_ref(), &mut buffers, options)?
        }
        _ => encode_leaf(array.as_ref(), &mut buffers)?,
    };
    Ok(EncodedPage {
        buffers,
        num_rows: array.len() as u64,
        encoding: PageEncoding::V2_0(tree),
    })
}

fn encode_leaf(array: &dyn Array, buffers: &mut Vec<Bytes>) -> Result<pb::ArrayEncoding> {
    let len = array.len();
    match array.data_type() {
        DataType::Null => Ok(all_nulls()),
        DataType::Boolean => {
            let values = array.as_boolean().values();
            with_validity(array.nulls(), len, buffers, |buffers| {
                Ok(flat(
                    1,
                    buffers,
                    bitmap_bytes(values.inner(), values.offset(), len),
                ))
            })
        }
        DataType::Utf8 | DataType::Binary => {
            encode_binary::<i32>(array, buffers, LeafOptions::default())
        }
        DataType::LargeUtf8 | DataType::LargeBinary => {
            encode_binary::<i64>(array, buffers, LeafOptions::default())
        }
        DataType::FixedSizeList(_, dimension) => {
            let list = array.as_fixed_size_list();
            let dimension = usize::try_from(*dimension)
                .map_err(|_| Error::invalid_argument("negative fixed-size list size"))?;
            let items = list
                .values()
                .slice(list.offset() * dimension, len * dimension);
            with_validity(array.nulls(), len, buffers, |buffers| {
                let items = encode_leaf(items.as_ref(), buffers)?;
                Ok(encoding(E::FixedSizeList(Box::new(pb::FixedSizeList {
                    dimension: dimension as u32,
                    items: Some(Box::new(items)),
                    has_validity: false,
                }))))
            })
        }
        DataType::Struct(_) => encode_packed_struct(array, buffers),
        DataType::Dictionary(key, _) => match key.as_ref() {
            DataType::Int8 => encode_dictionary::<Int8Type>(array, buffers),
            DataType::Int16 => encode_dictionary::<Int16Type>(array, buffers),
            DataType::Int32 => encode_dictionary::<Int32Type>(array, buffers),
            DataType::Int64 => encode_dictionary::<Int64Type>(array, buffers),
            DataType::UInt8 => encode_dictionary::<UInt8Type>(array, buffers),
            DataType::UInt16 => encode_dictionary::<UInt16Type>(array, buffers),
            DataType::UInt32 => encode_dictionary::<UInt32Type>(array, buffers),
            DataType::UInt64 => encode_dictionary::<UInt64Type>(array, buffers),
            other => Err(Error::invalid_argument(format!(
                "dictionary key type {other} is not an integer"
            ))),
        },
        data_type => {
            let bits = fixed_width_bits(data_type).ok_or_else(|| {
                Error::not_supported(format!("{data_type} columns in format 2.0"))
            })?;
            let data = array.to_data();
            let width = (bits / 8) as usize;
            let values = data
                .buffers()
                .first()
                .ok_or_else(|| Error::invalid_argument("fixed-width array without a buffer"))?
                .slice_with_length(data.offset() * width, len * width);
            with_validity(array.nulls(), len, buffers, |buffers| {
                Ok(flat(bits, buffers, to_bytes(values)))
            })
        }
    }
}

/// A packed struct (field metadata `lance-encoding:packed`): every row's children back to
/// back in one buffer, as pylance writes them. Children must be fixed width, whole bytes, and
/// not null.
fn encode_packed_struct(array: &dyn Array, buffers: &mut Vec<Bytes>) -> Result<pb::ArrayEncoding> {
    let structs = array.as_struct();
    let len = structs.len();
    let mut inner = Vec::with_capacity(structs.num_columns());
    let mut columns = Vec::with_capacity(structs.num_columns());
    for (field, child) in structs.fields().iter().zip(structs.columns()) {
        if child.null_count() > 0 {
            return Err(Error::invalid_argument(format!(
                "packed struct child '{}' has nulls; packed children cannot be null",
                field.name()
            )));
        }
        let (bytes, width, encoding) = packed_child(child.as_ref()).ok_or_else(|| {
            Error::not_supported(format!(
                "packed struct child '{}' of type {} (only whole-byte fixed-width children)",
                field.name(),
                child.data_type()
            ))
        })?;
        inner.push(encoding);
        columns.push((bytes, width));
    }
    let row_bytes: usize = columns.iter().map(|(_, width)| width).sum();
    let mut rows = Vec::with_capacity(row_bytes * len);
    for row in 0..len {
        for (bytes, width) in &columns {
            rows.extend_from_slice(&bytes[row * width..(row + 1) * width]);
        }
    }
    let buffer_index = buffers.len() as u32;
    buffers.push(Bytes::from(rows));
    Ok(encoding(E::PackedStruct(pb::PackedStruct {
        inner,
        buffer: Some(pb::Buffer {
            buffer_index,
            buffer_type: pb::buffer::BufferType::Page as i32,
        }),
    })))
}

/// The bytes, bytes per row and encoding of one packed struct child (fixed width, or a
/// fixed-size list of fixed width); `None` for other types.
fn packed_child(array: &dyn Array) -> Option<(Bytes, usize, pb::ArrayEncoding)> {
    let len = array.len();
    match array.data_type() {
        DataType::FixedSizeList(_, dimension) => {
            let dimension = usize::try_from(*dimension).ok()?;
            let list = array.as_fixed_size_list();
            let items = list
                .values()
                .slice(list.offset() * dimension, len * dimension);
            if items.null_count() > 0 {
                return None;
            }
            let (bytes, width, items) = packed_child(items.as_ref())?;
            let list = encoding(E::FixedSizeList(Box::new(pb::FixedSizeList {
                dimension: dimension as u32,
                items: Some(Box::new(items)),
                has_validity: false,
            })));
            Some((bytes, width * dimension, no_nulls(list)))
        }
        data_type => {
            let bits = fixed_width_bits(data_type)?;
            let width = (bits / 8) as usize;
            let data = array.to_data();
            let values = data
                .buffers()
                .first()?
                .slice_with_length(data.offset() * width, len * width);
            let flat = encoding(E::Flat(pb::Flat {
                bits_per_value: bits,
                buffer: Some(pb::Buffer::default()),
                compression: None,
            }));
            Some((to_bytes(values), width, no_nulls(flat)))
        }
    }
}

/// Bits per value of a fixed-width type stored as `flat` (not bool).
pub(crate) fn fixed_width_bits(data_type: &DataType) -> Option<u64> {
    match data_type {
        DataType::FixedSizeBinary(width) => u64::try_from(*width).ok().map(|w| w * 8),
        DataType::Boolean => None,
        other => other.primitive_width().map(|w| w as u64 * 8),
    }
}

/// Writes end offsets without the leading zero, adding `len(bytes) + 1` to null entries, and
/// the value bytes.
fn encode_binary<O: OffsetSizeTrait>(
    array: &dyn Array,
    buffers: &mut Vec<Bytes>,
    options: LeafOptions,
) -> Result<pb::ArrayEncoding> {
    let (offsets, values) = match array.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 => {
            let strings = array.as_string::<O>();
            (strings.offsets().clone(), strings.values().clone())
        }
        _ => {
            let binary = array.as_binary::<O>();
            (binary.offsets().clone(), binary.values().clone())
        }
    };
    let (ends, byte_range, adjustment) = end_offsets(&offsets, array.nulls());
    let indices = no_nulls(flat(64, buffers, ends));
    let raw = values.slice_with_length(byte_range.0, byte_range.1);
    let bytes = match options.compression {
        None => flat(8, buffers, to_bytes(raw)),
        Some((scheme, level)) => {
            let compressed = compress(scheme, level, &raw)?;
            let mut tree = flat(8, buffers, compressed);
            if let Some(E::Flat(flat)) = tree.array_encoding.as_mut() {
                flat.compression = Some(pb::Compression {
                    scheme: scheme.name().to_string(),
                    level,
                });
            }
            tree
        }
    };
    Ok(encoding(E::Binary(Box::new(pb::Binary {
        indices: Some(Box::new(indices)),
        bytes: Some(Box::new(bytes)),
        null_adjustment: adjustment,
    }))))
}

/// Lance 2.0 end offsets of Arrow offsets: `(u64 LE bytes, (first, count) of the values
/// referenced, null adjustment)`.
fn end_offsets<O: OffsetSizeTrait>(
    offsets: &OffsetBuffer<O>,
    nulls: Option<&NullBuffer>,
) -> (Bytes, (usize, usize), u64) {
    let first = offsets.first().map_or(0, |o| o.as_usize());
    let last = offsets.last().map_or(0, |o| o.as_usize());
    let adjustment = (last - first) as u64 + 1;
    let mut ends = Vec::with_capacity((offsets.len().saturating_sub(1)) * 8);
    for (i, end) in offsets.iter().skip(1).enumerate() {
        let mut end = (end.as_usize() - first) as u64;
        if nulls.is_some_and(|n| n.is_null(i)) {
            end += adjustment;
        }
        ends.extend_from_slice(&end.to_le_bytes());
    }
    (Bytes::from(ends), (first, last - first), adjustment)
}

/// Writes keys as stored and the dictionary values as items. Null keys point at one null item
/// appended to the values, as Lance does.
fn encode_dictionary<K: ArrowDictionaryKeyType>(
    array: &dyn Array,
    buffers: &mut Vec<Bytes>,
) -> Result<pb::ArrayEncoding> {
    let dictionary: &DictionaryArray<K> = array.as_dictionary();
    let keys = dictionary.keys();
    let mut items = dictionary.values().clone();
    let bits = (std::mem::size_of::<K::Native>() * 8) as u64;
    let key_bytes = if keys.null_count() > 0 {
        let null_key = K::Native::from_usize(items.len()).ok_or_else(|| {
            Error::invalid_argument("dictionary is too large to add a null entry for its key type")
        })?;
        let null_item = new_null_array(items.data_type(), 1);
        items = arrow_select::concat::concat(&[items.as_ref(), null_item.as_ref()])?;
        let filled: Vec<K::Native> = keys.iter().map(|k| k.unwrap_or(null_key)).collect();
        to_bytes(Buffer::from_vec(filled))
    } else {
        to_bytes(keys.values().inner().clone())
    };
    let indices = no_nulls(flat(bits, buffers, key_bytes));
    let items_tree = encode_leaf(items.as_ref(), buffers)?;
    Ok(encoding(E::Dictionary(Box::new(pb::Dictionary {
        indices: Some(Box::new(indices)),
        items: Some(Box::new(items_tree)),
        num_dictionary_items: u32::try_from(items.len())
            .map_err(|_| Error::invalid_argument("dictionary has more than 2^32 values"))?,
    }))))
}

use arrow_buffer::ArrowNativeType as _;

/// Encodes the offsets page of a list column for `len` lists described by Arrow `offsets`
/// and `nulls`. Returns the page and the range of items it refers to.
pub fn encode_list_page<O: OffsetSizeTrait>(
    offsets: &OffsetBuffer<O>,
    nulls: Option<&NullBuffer>,
) -> (EncodedPage, std::ops::Range<usize>) {
    let (ends, (first, count), adjustment) = end_offsets(offsets, nulls);
    let num_rows = offsets.len().saturating_sub(1) as u64;
    let mut buffers = Vec::with_capacity(1);
    let offsets_tree = no_nulls(flat(64, &mut buffers, ends));
    let tree = encoding(E::List(Box::new(pb::List {
        offsets: Some(Box::new(offsets_tree)),
        null_offset_adjustment: adjustment,
        num_items: count as u64,
    })));
    (
        EncodedPage {
            buffers,
            num_rows,
            encoding: PageEncoding::V2_0(tree),
        },
        first..first + count,
    )
}

/// The page of a struct column: no buffers, just a row count.
pub fn encode_struct_page(num_rows: u64) -> EncodedPage {
    EncodedPage {
        buffers: Vec::new(),
        num_rows,
        encoding: PageEncoding::V2_0(encoding(E::Struct(pb::SimpleStruct {}))),
    }
}
