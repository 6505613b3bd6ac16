//! Decoding format 2.0 leaf pages for any set of row ranges.
//!
//! [`PageDecoder::new`] checks the encoding tree against the page's buffers once (every
//! buffer index exists, every flat buffer is large enough for the page's values). Reading
//! rows then takes up to two rounds of I/O:
//!
//! 1. [`PageDecoder::plan`]: validity and fixed-width values of the rows, the offsets of
//!    variable-width values (plus one entry before each range), whole dictionaries;
//! 2. [`PageDecoder::plan_second`]: the bytes of variable-width values, located by the offsets
//!    read in round 1 (nothing when whole pages are read: their bytes come in round 1).
//!
//! [`PageDecoder::decode`] then builds the Arrow array of the rows, in range order, for the
//! field's data type. Arrays are validated by Arrow before they are returned, so bad bytes
//! give an error, never an invalid array.

use std::ops::Range;

use arrow_array::types::{
    Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, DictionaryArray, PrimitiveArray, UInt64Array, make_array, new_null_array,
};
use arrow_buffer::{Buffer, NullBuffer};
use arrow_data::{ArrayData, ArrayDataBuilder};
use arrow_schema::DataType;
use bytes::Bytes;

use crate::encodings::blob::Descriptions;
use crate::encodings::buffers::{Fetched, attach_nulls, concat_bits, concat_bytes, to_usize};
use crate::encodings::general::{Scheme, decompress};
use crate::error::{Error, Result};
use crate::format::BufferRange;
use crate::format::pb::v2_0 as pb;

/// A 2.0 leaf page, ready to plan reads and decode rows; see the module docs.
#[derive(Debug, Clone)]
pub struct PageDecoder {
    root: Node,
    num_rows: u64,
}

#[derive(Debug, Clone)]
enum Node {
    Flat(Flat),
    /// Values with an optional 1-bit validity bitmap (`None`: no nulls).
    Nullable {
        validity: Option<Flat>,
        values: Box<Node>,
    },
    AllNull,
    Binary(Binary),
    FixedSizeList {
        dimension: u64,
        items: Box<Node>,
    },
    Dictionary {
        indices: Flat,
        items: Box<Node>,
        num_items: u64,
    },
    /// Struct rows of fixed-width children, back to back; the bytes of each child.
    PackedStruct {
        rows: Flat,
        child_bytes: Vec<u64>,
    },
    /// Descriptions of blob values stored elsewhere in the file (see [`crate::encodings::blob`]).
    Blob {
        descriptions: Flat,
        file_size: u64,
    },
}

/// Fixed-width values in one page buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Flat {
    pub(crate) bits: u64,
    pub(crate) buffer: BufferRange,
}

#[derive(Debug, Clone, Copy)]
struct Binary {
    offsets: Flat,
    bytes: BufferRange,
    null_adjustment: u64,
    /// Set when the bytes buffer is compressed as a whole (it is then always read whole).
    compression: Option<Scheme>,
}

impl Flat {
    /// Parses a flat leaf holding `num_values` values, checking that its buffer is big enough.
    pub(crate) fn parse(flat: &pb::Flat, buffers: &[BufferRange], num_values: u64) -> Result<Flat> {
        if flat.compression.is_some() {
            let scheme = flat
                .compression
                .as_ref()
                .map(|c| c.scheme.as_str())
                .unwrap_or("");
            return Err(Error::not_supported(format!(
                "format 2.0 pages with '{scheme}'-compressed buffers"
            )));
        }
        let bits = flat.bits_per_value;
        if bits == 0 || (bits != 1 && !bits.is_multiple_of(8)) || bits > 8 * 1024 * 1024 * 1024 {
            return Err(Error::not_supported(format!(
                "format 2.0 flat buffers of {bits} bits per value"
            )));
        }
        let buffer = page_buffer(flat.buffer.as_ref(), buffers)?;
        let needed = num_values
            .checked_mul(bits)
            .map(|b| b.div_ceil(8))
            .ok_or_else(|| Error::corrupt("flat buffer size overflows"))?;
        if buffer.size < needed {
            return Err(Error::corrupt(format!(
                "flat buffer of {} bytes cannot hold {num_values} values of {bits} bits",
                buffer.size
            )));
        }
        Ok(Flat { bits, buffer })
    }

    /// The absolute bytes holding values `rows` (whole bytes for bitmaps).
    pub(crate) fn byte_range(&self, rows: &Range<u64>) -> Range<u64> {
        let start = rows.start * self.bits / 8;
        let end = (rows.end * self.bits).div_ceil(8);
        self.buffer.position + start..self.buffer.position + end
    }

    /// Decodes `bits == 1` pieces into a bitmap of the ranges' values.
    fn bitmap(
        &self,
        ranges: &[Range<u64>],
        fetched: &mut Fetched,
    ) -> Result<arrow_buffer::BooleanBuffer> {
        let mut pieces = Vec::with_capacity(ranges.len());
        for range in ranges {
            let bytes = fetched.take()?;
            let offset = (range.start % 8) as usize;
            let len = to_usize(range.end - range.start, "row count")?;
            pieces.push((bytes, offset, len));
        }
        concat_bits(pieces)
    }

    /// Reads the ranges' values as unsigned integers (for offsets and indices).
    pub(crate) fn unsigned(
        &self,
        ranges: &[Range<u64>],
        fetched: &mut Fetched,
    ) -> Result<Vec<u64>> {
        let width = (self.bits / 8) as usize;
        let mut out = Vec::new();
        for _ in ranges {
            let bytes = fetched.take()?;
            out.extend(bytes.chunks_exact(width).map(|word| match width {
                1 => u64::from(word[0]),
                2 => u64::from(u16::from_le_bytes([word[0], word[1]])),
                4 => u64::from(u32::from_le_bytes([word[0], word[1], word[2], word[3]])),
                _ => {
                    let mut full = [0u8; 8];
                    full.copy_from_slice(&word[..8]);
                    u64::from_le_bytes(full)
                }
            }));
        }
        Ok(out)
    }
}

/// Resolves a `Buffer` reference to one of the page's buffers.
pub(crate) fn page_buffer(
    buffer: Option<&pb::Buffer>,
    buffers: &[BufferRange],
) -> Result<BufferRange> {
    let buffer = buffer.ok_or_else(|| Error::corrupt("flat encoding names no buffer"))?;
    if buffer.buffer_type != pb::buffer::BufferType::Page as i32 {
        return Err(Error::not_supported(
            "format 2.0 encodings referring to column or file buffers",
        ));
    }
    buffers
        .get(buffer.buffer_index as usize)
        .copied()
        .ok_or_else(|| {
            Error::corrupt(format!(
                "encoding refers to buffer {} of a page with {} buffers",
                buffer.buffer_index,
                buffers.len()
            ))
        })
}

/// Unwraps `nullable{no_nulls{x}}` and returns the flat leaf `x` (offsets and indices).
pub(crate) fn plain_flat(
    encoding: Option<&pb::ArrayEncoding>,
    buffers: &[BufferRange],
    num_values: u64,
    what: &str,
) -> Result<Flat> {
    use pb::array_encoding::ArrayEncoding as E;
    use pb::nullable::Nullability;
    let flat = match encoding.and_then(|e| e.array_encoding.as_ref()) {
        Some(E::Flat(flat)) => flat,
        Some(E::Nullable(nullable)) => match &nullable.nullability {
            Some(Nullability::NoNulls(no_nulls)) => {
                return plain_flat(no_nulls.values.as_deref(), buffers, num_values, what);
            }
            _ => {
                return Err(Error::not_supported(format!(
                    "nullable {what} in format 2.0"
                )));
            }
        },
        _ => {
            return Err(Error::not_supported(format!(
                "{what} that are not flat in format 2.0"
            )));
        }
    };
    let flat = Flat::parse(flat, buffers, num_values)?;
    if !matches!(flat.bits, 8 | 16 | 32 | 64) {
        return Err(Error::not_supported(format!(
            "{what} of {} bits",
            flat.bits
        )));
    }
    Ok(flat)
}

impl Node {
    fn parse(
        encoding: &pb::ArrayEncoding,
        buffers: &[BufferRange],
        num_values: u64,
    ) -> Result<Node> {
        use pb::array_encoding::ArrayEncoding as E;
        use pb::nullable::Nullability;
        let variant = encoding
            .array_encoding
            .as_ref()
            .ok_or_else(|| Error::corrupt("array encoding has no variant"))?;
        let missing = |what: &str| Error::corrupt(format!("{what} encoding is missing a child"));
        Ok(match variant {
            E::Flat(flat) => Node::Flat(Flat::parse(flat, buffers, num_values)?),
            E::Nullable(nullable) => match nullable.nullability.as_ref() {
                Some(Nullability::NoNulls(no_nulls)) => {
                    let values = no_nulls
                        .values
                        .as_deref()
                        .ok_or_else(|| missing("nullable"))?;
                    Node::Nullable {
                        validity: None,
                        values: Box::new(Node::parse(values, buffers, num_values)?),
                    }
                }
                Some(Nullability::SomeNulls(some)) => {
                    let validity = match some
                        .validity
                        .as_deref()
                        .and_then(|v| v.array_encoding.as_ref())
                    {
                        Some(E::Flat(flat)) => Flat::parse(flat, buffers, num_values)?,
                        _ => return Err(Error::corrupt("validity is not a flat bitmap")),
                    };
                    if validity.bits != 1 {
                        return Err(Error::corrupt(format!(
                            "validity has {} bits per value, expected 1",
                            validity.bits
                        )));
                    }
                    let values = some.values.as_deref().ok_or_else(|| missing("nullable"))?;
                    Node::Nullable {
                        validity: Some(validity),
                        values: Box::new(Node::parse(values, buffers, num_values)?),
                    }
                }
                Some(Nullability::AllNulls(_)) => Node::AllNull,
                None => return Err(Error::corrupt("nullable encoding has no variant")),
            },
            E::Binary(binary) => {
                let offsets = plain_flat(
                    binary.indices.as_deref(),
                    buffers,
                    num_values,
                    "binary offsets",
                )?;
                let (bytes, compression) = match binary
                    .bytes
                    .as_deref()
                    .and_then(|b| b.array_encoding.as_ref())
                {
                    Some(E::Flat(flat)) => {
                        if flat.bits_per_value != 8 {
                            return Err(Error::corrupt("binary bytes are not 8-bit"));
                        }
                        let compression = match &flat.compression {
                            Some(c) => Some(Scheme::from_name(&c.scheme)?),
                            None => None,
                        };
                        (page_buffer(flat.buffer.as_ref(), buffers)?, compression)
                    }
                    _ => return Err(Error::not_supported("binary bytes that are not flat")),
                };
                Node::Binary(Binary {
                    offsets,
                    bytes,
                    null_adjustment: binary.null_adjustment,
                    compression,
                })
            }
            E::FixedSizeList(list) => {
                let dimension = u64::from(list.dimension);
                let items = list
                    .items
                    .as_deref()
                    .ok_or_else(|| missing("fixed-size list"))?;
                let num_items = num_values
                    .checked_mul(dimension)
                    .ok_or_else(|| Error::corrupt("fixed-size list item count overflows"))?;
                Node::FixedSizeList {
                    dimension,
                    items: Box::new(Node::parse(items, buffers, num_items)?),
                }
            }
            E::FixedSizeBinary(fsb) => {
                let bytes = match fsb.bytes.as_deref().and_then(|b| b.array_encoding.as_ref()) {
                    Some(E::Flat(flat)) => flat,
                    _ => {
                        return Err(Error::not_supported(
                            "fixed-size binary bytes that are not flat",
                        ));
                    }
                };
                let bits = u64::from(fsb.byte_width) * 8;
                let flat = pb::Flat {
                    bits_per_value: bits,
                    buffer: bytes.buffer,
                    compression: bytes.compression.clone(),
                };
                Node::Flat(Flat::parse(&flat, buffers, num_values)?)
            }
            E::Dictionary(dictionary) => {
                let num_items = u64::from(dictionary.num_dictionary_items);
                let indices = plain_flat(
                    dictionary.indices.as_deref(),
                    buffers,
                    num_values,
                    "dictionary indices",
                )?;
                let items = dictionary
                    .items
                    .as_deref()
                    .ok_or_else(|| missing("dictionary"))?;
                Node::Dictionary {
                    indices,
                    items: Box::new(Node::parse(items, buffers, num_items)?),
                    num_items,
                }
            }
            E::PackedStruct(packed) => {
                let (rows, child_bytes) = packed_rows(packed, buffers, num_values)?;
                Node::PackedStruct { rows, child_bytes }
            }
            other => {
                return Err(Error::not_supported(format!(
                    "format 2.0 page encoding {}",
                    variant_name(other)
                )));
            }
        })
    }

    /// Round 1: the byte ranges needed for `ranges` of this node's `total` values.
    fn plan(&self, ranges: &[Range<u64>], total: u64, out: &mut Vec<Range<u64>>) {
        match self {
            Node::Flat(flat) => out.extend(ranges.iter().map(|r| flat.byte_range(r))),
            Node::Nullable { validity, values } => {
                if let Some(validity) = validity {
                    out.extend(ranges.iter().map(|r| validity.byte_range(r)));
                }
                values.plan(ranges, total, out);
            }
            Node::AllNull => {}
            Node::Binary(binary) => {
                out.extend(ranges.iter().map(|r| {
                    binary
                        .offsets
                        .byte_range(&(r.start.saturating_sub(1)..r.end))
                }));
                if binary.reads_whole_bytes(ranges, total) {
                    out.push(binary.bytes.range());
                }
            }
            Node::FixedSizeList { dimension, items } => {
                let scaled = scale(ranges, *dimension);
                items.plan(&scaled, total.saturating_mul(*dimension), out);
            }
            Node::Dictionary {
                indices,
                items,
                num_items,
            } => {
                out.extend(ranges.iter().map(|r| indices.byte_range(r)));
                items.plan(&whole(*num_items), *num_items, out);
            }
            Node::PackedStruct { rows: flat, .. }
            | Node::Blob {
                descriptions: flat, ..
            } => out.extend(ranges.iter().map(|r| flat.byte_range(r))),
        }
    }

    /// Round 2: the byte ranges that depend on round-1 bytes.
    fn plan_second(
        &self,
        ranges: &[Range<u64>],
        total: u64,
        first: &mut Fetched,
        out: &mut Vec<Range<u64>>,
    ) -> Result<()> {
        match self {
            Node::Flat(_) => {
                first.take_n(ranges.len())?;
            }
            Node::Nullable { validity, values } => {
                if validity.is_some() {
                    first.take_n(ranges.len())?;
                }
                values.plan_second(ranges, total, first, out)?;
            }
            Node::AllNull => {}
            Node::Binary(binary) => {
                let located = binary.locate(ranges, first)?;
                if binary.reads_whole_bytes(ranges, total) {
                    first.take()?;
                } else {
                    out.extend(located.iter().map(|l| {
                        binary.bytes.position + l.bytes.start..binary.bytes.position + l.bytes.end
                    }));
                }
            }
            Node::FixedSizeList { dimension, items } => {
                let scaled = scale(ranges, *dimension);
                items.plan_second(&scaled, total.saturating_mul(*dimension), first, out)?;
            }
            Node::Dictionary {
                items, num_items, ..
            } => {
                first.take_n(ranges.len())?;
                items.plan_second(&whole(*num_items), *num_items, first, out)?;
            }
            Node::PackedStruct { .. } => {
                first.take_n(ranges.len())?;
            }
            Node::Blob { file_size, .. } => {
                let descriptions = blob_descriptions(ranges, first)?;
                out.extend(descriptions.ranges(*file_size)?);
            }
        }
        Ok(())
    }

    /// Decodes `ranges` into an array of `data_type`, consuming the fetched bytes in plan order.
    fn decode(
        &self,
        data_type: &DataType,
        ranges: &[Range<u64>],
        total: u64,
        first: &mut Fetched,
        second: &mut Fetched,
    ) -> Result<ArrayData> {
        let len = to_usize(ranges.iter().map(|r| r.end - r.start).sum(), "row count")?;
        match self {
            Node::Flat(flat) => decode_flat(flat, data_type, ranges, len, first),
            Node::Nullable { validity, values } => {
                let nulls = match validity {
                    Some(validity) => Some(NullBuffer::new(validity.bitmap(ranges, first)?)),
                    None => None,
                };
                let data = values.decode(data_type, ranges, total, first, second)?;
                attach_nulls(data, nulls)
            }
            Node::AllNull => Ok(new_null_array(data_type, len).to_data()),
            Node::Binary(binary) => binary.decode(data_type, ranges, total, len, first, second),
            Node::FixedSizeList { dimension, items } => {
                let DataType::FixedSizeList(item_field, size) = data_type else {
                    return Err(mismatch("a fixed-size list", data_type));
                };
                if u64::try_from(*size).ok() != Some(*dimension) {
                    return Err(Error::corrupt(format!(
                        "page stores lists of {dimension} items but the field has {size}"
                    )));
                }
                let scaled = scale(ranges, *dimension);
                let child = items.decode(
                    item_field.data_type(),
                    &scaled,
                    total.saturating_mul(*dimension),
                    first,
                    second,
                )?;
                Ok(ArrayDataBuilder::new(data_type.clone())
                    .len(len)
                    .child_data(vec![child])
                    .build()?)
            }
            Node::Dictionary {
                indices,
                items,
                num_items,
            } => {
                let keys = indices.unsigned(ranges, first)?;
                decode_dictionary(data_type, &keys, items, *num_items, first, second)
            }
            Node::PackedStruct { child_bytes, .. } => {
                decode_packed(data_type, child_bytes, ranges, len, first)
            }
            Node::Blob { .. } => {
                if data_type != &DataType::LargeBinary {
                    return Err(mismatch("blob values", data_type));
                }
                let descriptions = blob_descriptions(ranges, first)?;
                let blobs = second.take_n(descriptions.stored())?;
                Ok(descriptions.values(blobs)?.to_data())
            }
        }
    }
}

/// The blob descriptions of `ranges`, from their round-1 bytes.
fn blob_descriptions(ranges: &[Range<u64>], first: &mut Fetched) -> Result<Descriptions> {
    let bytes = concat_bytes(first.take_n(ranges.len())?);
    Descriptions::from_bytes(bytes.as_slice())
}

/// The row buffer and the bytes of each child of a packed struct encoding.
fn packed_rows(
    packed: &pb::PackedStruct,
    buffers: &[BufferRange],
    num_values: u64,
) -> Result<(Flat, Vec<u64>)> {
    let child_bytes = packed
        .inner
        .iter()
        .map(packed_child_bytes)
        .collect::<Result<Vec<u64>>>()?;
    let row_bytes = child_bytes
        .iter()
        .try_fold(0u64, |total, b| total.checked_add(*b))
        .filter(|&total| total > 0)
        .ok_or_else(|| Error::corrupt("packed struct rows have no width"))?;
    let flat = pb::Flat {
        bits_per_value: row_bytes.saturating_mul(8),
        buffer: packed.buffer,
        compression: None,
    };
    Ok((Flat::parse(&flat, buffers, num_values)?, child_bytes))
}

/// The bytes one packed struct child takes in a row (`nullable{no_nulls}` wrappers allowed).
fn packed_child_bytes(encoding: &pb::ArrayEncoding) -> Result<u64> {
    use pb::array_encoding::ArrayEncoding as E;
    use pb::nullable::Nullability;
    let unsupported = || Error::not_supported("packed struct children that are not fixed width");
    match encoding.array_encoding.as_ref() {
        Some(E::Flat(flat))
            if flat.bits_per_value.is_multiple_of(8) && flat.compression.is_none() =>
        {
            Ok(flat.bits_per_value / 8)
        }
        Some(E::FixedSizeBinary(fsb)) => Ok(u64::from(fsb.byte_width)),
        Some(E::FixedSizeList(list)) => {
            let items = list.items.as_deref().ok_or_else(unsupported)?;
            packed_child_bytes(items)?
                .checked_mul(u64::from(list.dimension))
                .ok_or_else(|| Error::corrupt("packed struct child too wide"))
        }
        Some(E::Nullable(nullable)) => match &nullable.nullability {
            Some(Nullability::NoNulls(no_nulls)) => {
                packed_child_bytes(no_nulls.values.as_deref().ok_or_else(unsupported)?)
            }
            _ => Err(Error::not_supported("packed struct children with nulls")),
        },
        _ => Err(unsupported()),
    }
}

/// Splits packed struct rows into one array per child.
fn decode_packed(
    data_type: &DataType,
    child_bytes: &[u64],
    ranges: &[Range<u64>],
    len: usize,
    first: &mut Fetched,
) -> Result<ArrayData> {
    let DataType::Struct(fields) = data_type else {
        return Err(mismatch("a packed struct", data_type));
    };
    if fields.len() != child_bytes.len() {
        return Err(Error::corrupt(format!(
            "packed struct rows have {} children but the field has {}",
            child_bytes.len(),
            fields.len()
        )));
    }
    let rows = concat_bytes(first.take_n(ranges.len())?);
    let widths: Vec<usize> = child_bytes
        .iter()
        .map(|&b| to_usize(b, "packed struct child width"))
        .collect::<Result<_>>()?;
    let row_bytes: usize = widths.iter().sum();
    if rows.len() != row_bytes * len {
        return Err(Error::internal("packed struct rows were read short"));
    }
    let mut children = Vec::with_capacity(fields.len());
    let mut start = 0;
    for (field, width) in fields.iter().zip(&widths) {
        let mut bytes = Vec::with_capacity(width * len);
        for row in rows.as_slice().chunks_exact(row_bytes.max(1)) {
            bytes.extend_from_slice(&row[start..start + width]);
        }
        children.push(fixed_width_data(field.data_type(), bytes, len)?);
        start += width;
    }
    Ok(ArrayDataBuilder::new(data_type.clone())
        .len(len)
        .child_data(children)
        .build()?)
}

/// An array of `len` fixed-width values of `data_type` (fixed-size lists of them too) without
/// nulls.
fn fixed_width_data(data_type: &DataType, bytes: Vec<u8>, len: usize) -> Result<ArrayData> {
    if let DataType::FixedSizeList(item, size) = data_type {
        let size = to_usize(u64::try_from(*size).unwrap_or(0), "list size")?;
        let child = fixed_width_data(item.data_type(), bytes, len * size)?;
        return Ok(ArrayDataBuilder::new(data_type.clone())
            .len(len)
            .child_data(vec![child])
            .build()?);
    }
    let width = match data_type {
        DataType::FixedSizeBinary(width) => usize::try_from(*width).ok(),
        DataType::Boolean => None,
        other => other.primitive_width(),
    }
    .ok_or_else(|| mismatch("fixed-width packed struct children", data_type))?;
    if bytes.len() != width * len {
        return Err(Error::corrupt(format!(
            "packed struct child of type {data_type} takes {} bytes per row, expected {width}",
            bytes.len() / len.max(1)
        )));
    }
    Ok(ArrayDataBuilder::new(data_type.clone())
        .len(len)
        .add_buffer(Buffer::from_vec(bytes))
        .align_buffers(true)
        .build()?)
}

fn variant_name(variant: &pb::array_encoding::ArrayEncoding) -> &'static str {
    use pb::array_encoding::ArrayEncoding as E;
    match variant {
        E::Flat(_) => "flat",
        E::Nullable(_) => "nullable",
        E::FixedSizeList(_) => "fixed_size_list",
        E::List(_) => "list (in a leaf column)",
        E::Struct(_) => "struct (in a leaf column)",
        E::Binary(_) => "binary",
        E::Dictionary(_) => "dictionary",
        E::Fsst(_) => "fsst",
        E::PackedStruct(_) => "packed_struct",
        E::Bitpacked(_) => "bitpacked",
        E::FixedSizeBinary(_) => "fixed_size_binary",
        E::BitpackedForNonNeg(_) => "bitpacked_for_non_neg",
        E::Constant(_) => "constant",
        E::InlineBitpacking(_) => "inline_bitpacking",
        E::OutOfLineBitpacking(_) => "out_of_line_bitpacking",
        E::Variable(_) => "variable",
        E::PackedStructFixedWidthMiniBlock(_) => "packed_struct_fixed_width_mini_block",
        E::Block(_) => "block",
        E::Rle(_) => "rle",
        E::GeneralMiniBlock(_) => "general_mini_block",
        E::ByteStreamSplit(_) => "byte_stream_split",
    }
}

/// Where the values of one row range sit, from its offsets.
#[derive(Debug)]
struct Located {
    /// Byte range of the values, relative to the bytes buffer.
    bytes: Range<u64>,
    /// End of each row relative to `bytes.start`.
    ends: Vec<u64>,
    /// Whether each row is null (empty when none is).
    nulls: Vec<bool>,
}

impl Binary {
    /// Whether the whole bytes buffer is read in round 1: for whole pages, and always when it
    /// is compressed.
    fn reads_whole_bytes(&self, ranges: &[Range<u64>], total: u64) -> bool {
        self.compression.is_some() || is_whole(ranges, total)
    }

    /// Reads each range's offsets (planned in round 1) and locates its values.
    fn locate(&self, ranges: &[Range<u64>], first: &mut Fetched) -> Result<Vec<Located>> {
        let adjustment = self.null_adjustment;
        let mut located = Vec::with_capacity(ranges.len());
        for range in ranges {
            let raw = self.offsets.unsigned(std::slice::from_ref(range), first)?;
            let (before, rows) = if range.start > 0 {
                raw.split_first()
                    .map(|(b, rest)| (Some(*b), rest))
                    .ok_or_else(|| Error::corrupt("offsets buffer is short"))?
            } else {
                (None, raw.as_slice())
            };
            // With adjustment 0 no value is null (Lance always writes at least 1).
            let end_of = |raw: u64| {
                if adjustment == 0 {
                    raw
                } else {
                    raw % adjustment
                }
            };
            let start = before.map_or(0, end_of);
            let mut ends = Vec::with_capacity(rows.len());
            let mut nulls = Vec::new();
            let mut previous = start;
            for (i, &raw) in rows.iter().enumerate() {
                let end = end_of(raw);
                if end < previous {
                    return Err(Error::corrupt(format!(
                        "value offsets decrease ({previous} then {end})"
                    )));
                }
                let is_null = adjustment != 0 && raw >= adjustment;
                if is_null && nulls.is_empty() {
                    nulls.resize(i, false);
                }
                if !nulls.is_empty() || is_null {
                    nulls.push(is_null);
                }
                ends.push(end - start);
                previous = end;
            }
            // (Compressed bytes are checked against their decompressed size instead.)
            if self.compression.is_none() && previous > self.bytes.size {
                return Err(Error::corrupt(format!(
                    "value offsets reach byte {previous} of a {}-byte buffer",
                    self.bytes.size
                )));
            }
            located.push(Located {
                bytes: start..previous,
                ends,
                nulls,
            });
        }
        Ok(located)
    }

    fn decode(
        &self,
        data_type: &DataType,
        ranges: &[Range<u64>],
        total: u64,
        len: usize,
        first: &mut Fetched,
        second: &mut Fetched,
    ) -> Result<ArrayData> {
        let large = match data_type {
            DataType::Utf8 | DataType::Binary => false,
            DataType::LargeUtf8 | DataType::LargeBinary => true,
            other => return Err(mismatch("variable-width values", other)),
        };
        let located = self.locate(ranges, first)?;
        let pieces: Vec<Bytes> = if self.reads_whole_bytes(ranges, total) {
            let stored = first.take()?;
            let all = match self.compression {
                // Lance sets the adjustment to the number of bytes plus one.
                Some(scheme) => decompress(scheme, &stored, self.null_adjustment.max(1))?,
                None => stored,
            };
            located
                .iter()
                .map(|l| {
                    let (start, end) = (
                        to_usize(l.bytes.start, "offset")?,
                        to_usize(l.bytes.end, "offset")?,
                    );
                    if end > all.len() {
                        return Err(Error::corrupt(format!(
                            "value offsets reach byte {end} of a {}-byte buffer",
                            all.len()
                        )));
                    }
                    Ok(all.slice(start..end))
                })
                .collect::<Result<_>>()?
        } else {
            second.take_n(ranges.len())?
        };
        let has_nulls = located.iter().any(|l| !l.nulls.is_empty());
        let mut validity = Vec::with_capacity(if has_nulls { len } else { 0 });
        let mut offsets: Vec<u64> = Vec::with_capacity(len + 1);
        offsets.push(0);
        let mut base = 0u64;
        for (l, piece) in located.iter().zip(&pieces) {
            if piece.len() as u64 != l.bytes.end - l.bytes.start {
                return Err(Error::corrupt(
                    "value bytes are shorter than their offsets say",
                ));
            }
            offsets.extend(l.ends.iter().map(|end| base + end));
            if has_nulls {
                if l.nulls.is_empty() {
                    validity.extend(std::iter::repeat_n(true, l.ends.len()));
                } else {
                    validity.extend(l.nulls.iter().map(|n| !n));
                }
            }
            base += l.bytes.end - l.bytes.start;
        }
        let offsets_buffer = if large {
            let values: Vec<i64> = offsets
                .iter()
                .map(|&o| i64::try_from(o).map_err(|_| Error::corrupt("offset too large")))
                .collect::<Result<_>>()?;
            Buffer::from_vec(values)
        } else {
            let values: Vec<i32> = offsets
                .iter()
                .map(|&o| {
                    i32::try_from(o).map_err(|_| {
                        Error::not_supported(
                            "more than 2 GiB of values in one read of a 32-bit offset type",
                        )
                    })
                })
                .collect::<Result<_>>()?;
            Buffer::from_vec(values)
        };
        let nulls = has_nulls.then(|| NullBuffer::from(validity));
        Ok(ArrayDataBuilder::new(data_type.clone())
            .len(len)
            .add_buffer(offsets_buffer)
            .add_buffer(concat_bytes(pieces))
            .nulls(nulls)
            .build()?)
    }
}

fn decode_flat(
    flat: &Flat,
    data_type: &DataType,
    ranges: &[Range<u64>],
    len: usize,
    fetched: &mut Fetched,
) -> Result<ArrayData> {
    let expected_bits = match data_type {
        DataType::Boolean => Some(1),
        DataType::FixedSizeBinary(width) => u64::try_from(*width).ok().map(|w| w * 8),
        other => other.primitive_width().map(|w| w as u64 * 8),
    };
    if expected_bits != Some(flat.bits) {
        return Err(Error::corrupt(format!(
            "page stores {}-bit values but the field has type {data_type}",
            flat.bits
        )));
    }
    if flat.bits == 1 {
        let bits = flat.bitmap(ranges, fetched)?;
        let (buffer, offset, len) = (bits.inner().clone(), bits.offset(), bits.len());
        return Ok(ArrayDataBuilder::new(DataType::Boolean)
            .len(len)
            .offset(offset)
            .add_buffer(buffer)
            .build()?);
    }
    let pieces = fetched.take_n(ranges.len())?;
    Ok(ArrayDataBuilder::new(data_type.clone())
        .len(len)
        .add_buffer(concat_bytes(pieces))
        .align_buffers(true)
        .build()?)
}

/// Builds the rows of a dictionary page from its keys and items.
///
/// For an Arrow dictionary field the keys index the items directly and a key naming a null
/// item is a null value (Lance appends one null item for them; it is dropped again here). For
/// a plain field (Lance's automatic dictionary of low-cardinality strings) key 0 is null and
/// key k names item k-1.
fn decode_dictionary(
    data_type: &DataType,
    keys: &[u64],
    items: &Node,
    num_items: u64,
    first: &mut Fetched,
    second: &mut Fetched,
) -> Result<ArrayData> {
    let check = |key: u64| {
        if key < num_items {
            Ok(key)
        } else {
            Err(Error::corrupt(format!(
                "dictionary key {key} is out of range for {num_items} items"
            )))
        }
    };
    match data_type {
        DataType::Dictionary(key_type, value_type) => {
            let values = make_array(items.decode(
                value_type,
                &whole(num_items),
                num_items,
                first,
                second,
            )?);
            let keys: Vec<Option<u64>> = keys
                .iter()
                .map(|&k| Ok(check(k)?).map(|k| values.is_valid(k as usize).then_some(k)))
                .collect::<Result<_>>()?;
            let values = match values.len().checked_sub(1) {
                Some(last) if values.is_null(last) => values.slice(0, last),
                _ => values,
            };
            dictionary_array(key_type, &keys, values)
        }
        value_type => {
            let values = make_array(items.decode(
                value_type,
                &whole(num_items),
                num_items,
                first,
                second,
            )?);
            let indices: UInt64Array = keys
                .iter()
                .map(|&k| match k {
                    0 => Ok(None),
                    k => check(k - 1).map(Some),
                })
                .collect::<Result<_>>()?;
            Ok(arrow_select::take::take(&values, &indices, None)?.to_data())
        }
    }
}

fn dictionary_array(
    key_type: &DataType,
    keys: &[Option<u64>],
    values: ArrayRef,
) -> Result<ArrayData> {
    fn build<K: arrow_array::types::ArrowDictionaryKeyType>(
        keys: &[Option<u64>],
        values: ArrayRef,
    ) -> Result<ArrayData>
    where
        K::Native: TryFrom<u64>,
    {
        let keys: PrimitiveArray<K> = keys
            .iter()
            .map(|k| match k {
                Some(k) => K::Native::try_from(*k).map(Some).map_err(|_| {
                    Error::corrupt(format!("dictionary key {k} does not fit the key type"))
                }),
                None => Ok(None),
            })
            .collect::<Result<_>>()?;
        Ok(DictionaryArray::<K>::try_new(keys, values)?.into_data())
    }
    match key_type {
        DataType::Int8 => build::<Int8Type>(keys, values),
        DataType::Int16 => build::<Int16Type>(keys, values),
        DataType::Int32 => build::<Int32Type>(keys, values),
        DataType::Int64 => build::<Int64Type>(keys, values),
        DataType::UInt8 => build::<UInt8Type>(keys, values),
        DataType::UInt16 => build::<UInt16Type>(keys, values),
        DataType::UInt32 => build::<UInt32Type>(keys, values),
        DataType::UInt64 => build::<UInt64Type>(keys, values),
        other => Err(Error::corrupt(format!(
            "dictionary key type {other} is not an integer"
        ))),
    }
}

fn mismatch(stored: &str, data_type: &DataType) -> Error {
    Error::corrupt(format!(
        "page stores {stored} but the field has type {data_type}"
    ))
}

fn scale(ranges: &[Range<u64>], factor: u64) -> Vec<Range<u64>> {
    ranges
        .iter()
        .map(|r| r.start.saturating_mul(factor)..r.end.saturating_mul(factor))
        .collect()
}

fn whole(total: u64) -> Vec<Range<u64>> {
    if total == 0 {
        Vec::new()
    } else {
        std::iter::once(0..total).collect()
    }
}

fn is_whole(ranges: &[Range<u64>], total: u64) -> bool {
    matches!(ranges, [only] if only.start == 0 && only.end == total)
}

impl PageDecoder {
    /// Checks a page's encoding tree against its buffers.
    pub fn new(
        encoding: &pb::ArrayEncoding,
        buffers: &[BufferRange],
        num_rows: u64,
    ) -> Result<Self> {
        Ok(Self {
            root: Node::parse(encoding, buffers, num_rows)?,
            num_rows,
        })
    }

    /// A page of a blob column (`ColumnEncoding.blob`): descriptions stored as a packed struct
    /// of two u64, the values anywhere in a file of `file_size` bytes.
    pub fn blob(
        encoding: &pb::ArrayEncoding,
        buffers: &[BufferRange],
        num_rows: u64,
        file_size: u64,
    ) -> Result<Self> {
        use pb::array_encoding::ArrayEncoding as E;
        let Some(E::PackedStruct(packed)) = encoding.array_encoding.as_ref() else {
            return Err(Error::corrupt(
                "a blob column page is not a packed struct of descriptions",
            ));
        };
        let (descriptions, child_bytes) = packed_rows(packed, buffers, num_rows)?;
        if child_bytes != [8, 8] {
            return Err(Error::corrupt(
                "blob descriptions are not two 64-bit values",
            ));
        }
        Ok(Self {
            root: Node::Blob {
                descriptions,
                file_size,
            },
            num_rows,
        })
    }

    /// The number of rows in the page.
    pub fn num_rows(&self) -> u64 {
        self.num_rows
    }

    fn check_ranges(&self, ranges: &[Range<u64>]) -> Result<()> {
        let mut previous_end = 0;
        for range in ranges {
            if range.start >= range.end || range.start < previous_end || range.end > self.num_rows {
                return Err(Error::internal(format!(
                    "bad row ranges {ranges:?} for a page of {} rows",
                    self.num_rows
                )));
            }
            previous_end = range.end;
        }
        Ok(())
    }

    /// Round 1: the absolute byte ranges to read for `ranges` (sorted, disjoint, non-empty
    /// row ranges within the page).
    pub fn plan(&self, ranges: &[Range<u64>]) -> Result<Vec<Range<u64>>> {
        self.check_ranges(ranges)?;
        let mut out = Vec::new();
        self.root.plan(ranges, self.num_rows, &mut out);
        Ok(out)
    }

    /// Round 2: the byte ranges located by the round-1 bytes (often none).
    pub fn plan_second(&self, ranges: &[Range<u64>], first: &[Bytes]) -> Result<Vec<Range<u64>>> {
        self.check_ranges(ranges)?;
        let mut out = Vec::new();
        self.root
            .plan_second(ranges, self.num_rows, &mut Fetched::new(first), &mut out)?;
        Ok(out)
    }

    /// Decodes the rows of `ranges` as `data_type` from the bytes of both rounds.
    pub fn decode(
        &self,
        data_type: &DataType,
        ranges: &[Range<u64>],
        first: &[Bytes],
        second: &[Bytes],
    ) -> Result<ArrayRef> {
        self.check_ranges(ranges)?;
        let data = self
            .root
            .decode(
                data_type,
                ranges,
                self.num_rows,
                &mut Fetched::new(first),
                &mut Fetched::new(second),
            )
            .map_err(Error::arrow_means_corrupt)?;
        Ok(make_array(data))
    }
}
