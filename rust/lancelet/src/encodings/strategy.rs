//! The one place that decides how a 2.1/2.2 page is stored.
//!
//! For each page of a leaf column (its levels and the values its entries carry):
//!
//! 1. **All null**: no entry carries a non-null value → an all-null page (no value data).
//! 2. **Constant** (2.2): every non-null value is the same fixed-width or string value → a
//!    constant page (the value once, inline or in a small scalar buffer).
//! 3. **Layout**: values of 256 bytes or more go to a full-zip page (values stored whole, so a
//!    take reads just the rows' bytes); smaller ones to a mini-block page (compressed chunks of
//!    a few KiB). The top-level field's `lance-encoding:structural-encoding` (`miniblock` or
//!    `fullzip`) overrides this when the values allow it.
//! 4. **Compression** in mini-blocks, by the smallest result: integers and floats as flat
//!    values, bit-packed, or run-length encoded; strings through a dictionary when few values
//!    repeat, and when the page has 32 KiB or more of text, zstd over chunks of about 32 KiB
//!    (2.2) or FSST (2.1), plain otherwise. In 2.2, numbers
//!    of 32 bits or more (decimals and temporals included) go through a dictionary when at
//!    most a quarter are distinct and that saves 10%, 128/256-bit values that stay plain
//!    are zstd-compressed per chunk, and so are other integers (flat, or as runs when they
//!    repeat, like sorted keys) and dictionary indices below 256 (as bytes) when that saves
//!    10% (pylance 14.0.2 reads none of these in 2.1). The leaf field's
//!    `lance-encoding:compression` (`zstd`, `lz4`, `fsst`, `none`) adds general compression of
//!    each chunk (after a byte-stream split for floats unless `lance-encoding:bss` is `off`),
//!    forces FSST, or turns compression off. In full-zip pages values above 32 KiB (or all
//!    values when compression is asked for) are compressed one by one with zstd.

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef};
use arrow_buffer::{BooleanBuffer, BooleanBufferBuilder};
use arrow_schema::{DataType, Field};
use bytes::Bytes;

use crate::encodings::EncodedPage;
use crate::encodings::buffers::to_bytes;
use crate::encodings::compression::DataBlock;
use crate::encodings::compression::encode::{
    self, ChunkedValues, bitpacked, bitpacked_size, buffer_compression, byte_stream_split,
    encoding, flat_encoding, run_length, variable_chunks, with_general, words,
};
use crate::encodings::compression::fastlanes::Word;
use crate::encodings::compression::fsst;
use crate::encodings::compression::rle;
use crate::encodings::compression::variable;
use crate::encodings::general::{self, Scheme};
use crate::encodings::hashing::fast_map;
use crate::encodings::numbering::{FirstSeen, KeyNumbering};
use crate::encodings::structural::miniblock_encode::{self, PageDictionary};
use crate::encodings::structural::page::PageContext;
use crate::encodings::structural::{constant_encode, fullzip_encode};
use crate::error::{Error, Result};
use crate::format::FileVersion;
use crate::format::pb::v2_1 as pb;
use pb::compressive_encoding::Compression as C;

/// Values this large (bytes) or larger go to full-zip pages.
const FULL_ZIP_VALUE_BYTES: usize = 256;
/// Full-zip values larger than this are compressed one by one.
const COMPRESS_VALUE_BYTES: usize = 32 * 1024;
/// Pages with at least this much string data are tried with FSST.
const FSST_MIN_BYTES: usize = 32 * 1024;

/// A forced page layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutHint {
    /// Mini-block pages.
    MiniBlock,
    /// Full-zip pages.
    FullZip,
}

/// What field metadata asks of a leaf column's pages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeafHints {
    /// General compression of mini-block chunks (and of full-zip values).
    pub compression: Option<(Scheme, Option<i32>)>,
    /// FSST for strings whatever their size.
    pub force_fsst: bool,
    /// No compression at all (dictionaries still allowed).
    pub no_compression: bool,
    /// Never split floats into byte streams.
    pub no_byte_stream_split: bool,
    /// The layout asked for by the top-level field.
    pub layout: Option<LayoutHint>,
}

impl LeafHints {
    /// Reads the hints of a leaf field and of its top-level field.
    pub fn new(leaf: &Field, top_level: &Field) -> Result<Self> {
        let get = |field: &Field, key: &str| {
            field
                .metadata()
                .get(key)
                .map(|v| v.trim().to_ascii_lowercase())
        };
        let mut hints = LeafHints::default();
        match get(leaf, "lance-encoding:compression").as_deref() {
            None => {}
            Some("none") => hints.no_compression = true,
            Some("fsst") => hints.force_fsst = true,
            Some(name) => {
                let scheme = Scheme::from_name(name).map_err(|_| {
                    Error::invalid_argument(format!(
                        "field '{}': lance-encoding:compression is '{name}'; expected zstd, lz4, fsst or none",
                        leaf.name()
                    ))
                })?;
                let level = match get(leaf, "lance-encoding:compression-level") {
                    None => None,
                    Some(text) => Some(text.parse::<i32>().map_err(|_| {
                        Error::invalid_argument(format!(
                            "field '{}': lance-encoding:compression-level '{text}' is not an integer",
                            leaf.name()
                        ))
                    })?),
                };
                hints.compression = Some((scheme, level));
            }
        }
        hints.no_byte_stream_split = get(leaf, "lance-encoding:bss").as_deref() == Some("off");
        hints.layout = match get(top_level, "lance-encoding:structural-encoding").as_deref() {
            None => None,
            Some("miniblock") => Some(LayoutHint::MiniBlock),
            Some("fullzip") => Some(LayoutHint::FullZip),
            Some(other) => {
                return Err(Error::invalid_argument(format!(
                    "field '{}': lance-encoding:structural-encoding is '{other}'; expected miniblock or fullzip",
                    top_level.name()
                )));
            }
        };
        Ok(hints)
    }
}

/// Encodes one page of a leaf column.
pub fn encode_page(
    ctx: &PageContext,
    rep: Option<&[u16]>,
    def: Option<&[u16]>,
    num_entries: usize,
    values: &ArrayRef,
    hints: &LeafHints,
) -> Result<EncodedPage> {
    // Which carried values are valid: def 0 (nulls anywhere above or at the leaf are not).
    let valid: Option<BooleanBuffer> = def.map(|def| {
        def.iter()
            .filter(|&&d| d <= ctx.max_visible_def)
            .map(|&d| d == 0)
            .collect()
    });
    let valid_count = valid.as_ref().map_or(values.len(), |v| v.count_set_bits());
    if valid_count == 0 || matches!(values.data_type(), DataType::Null) {
        return Ok(constant_encode::all_null(ctx, rep, def));
    }
    let constant = (ctx.version >= FileVersion::V2_2
        && !matches!(values.data_type(), DataType::Dictionary(_, _)))
    .then(|| constant_value(values, valid.as_ref()))
    .flatten()
    .and_then(|first| constant_encode::constant_bytes(&first));
    if let Some((inline, scalar)) = constant {
        return constant_encode::constant(ctx, rep, def, inline, scalar);
    }
    if let DataType::Dictionary(_, _) = values.data_type() {
        return dictionary_page(ctx, rep, def, num_entries, values, valid.as_ref(), hints);
    }
    let block = to_block(values, valid.as_ref())?;
    // Variable-width values: their offsets as integers, read once.
    let offsets = match &block {
        DataBlock::Variable {
            offsets,
            offset_bits,
            num_values,
            ..
        } => Some(read_offsets(offsets, *offset_bits, *num_values)),
        _ => None,
    };
    let width = match &offsets {
        Some(offsets) => longest_value(offsets),
        None => value_width(&block),
    };
    let wide = width >= FULL_ZIP_VALUE_BYTES;
    let use_full_zip = match hints.layout {
        Some(LayoutHint::FullZip) => full_zip_possible(&block),
        Some(LayoutHint::MiniBlock) => false,
        None => wide && full_zip_possible(&block),
    } || too_wide_for_mini_block(&block, width);
    if use_full_zip {
        return full_zip_page(ctx, rep, def, num_entries, block, width, hints);
    }
    if let (
        DataBlock::Variable {
            offset_bits, data, ..
        },
        Some(offsets),
    ) = (&block, &offsets)
    {
        if !hints.force_fsst
            && let Some((indices, items)) = auto_dictionary(data, offsets, width)
        {
            let dictionary = encode_dictionary(&items, ctx.version)?;
            let chunked = u32_index_values(&indices, ctx.version, hints)?;
            return miniblock_encode::encode(ctx, rep, def, num_entries, chunked, Some(dictionary));
        }
        if ctx.version >= FileVersion::V2_2
            && let Some(chunked) = fsst_zstd_text(data, offsets, u64::from(*offset_bits), hints)?
        {
            return miniblock_encode::encode(ctx, rep, def, num_entries, chunked, None);
        }
    }
    let mut chunked = mini_block_values(&block, hints)?;
    if ctx.version >= FileVersion::V2_2
        && values.data_type().is_primitive()
        && let DataBlock::Fixed {
            data,
            bits_per_value,
            num_values,
        } = &block
    {
        // Few distinct fixed-width values (prices, codes, enum-like numbers): a dictionary
        // of them and bit-packed indices, when that saves at least 10%.
        // The plain size bounds which dictionaries could win, unless the plain values are
        // run-length encoded (runs that bit-packed indices would not have).
        let packed_size = match chunked.encoding.compression {
            Some(C::InlineBitpacking(_)) | Some(C::Flat(_)) => Some(chunked.size()),
            _ => None,
        };
        if let Some((indices, items)) =
            auto_fixed_dictionary(data, *bits_per_value, *num_values, packed_size)
        {
            let dictionary = encode_dictionary(&items, ctx.version)?;
            let indices = u32_index_values(&indices, ctx.version, hints)?;
            let plain = chunked.size();
            if dictionary.buffer.len() + indices.size() < plain - plain / 10 {
                return miniblock_encode::encode(
                    ctx,
                    rep,
                    def,
                    num_entries,
                    indices,
                    Some(dictionary),
                );
            }
        }
        // 128- and 256-bit values (decimals) cannot be bit-packed; their high bytes are
        // mostly zero or sign, which per-chunk compression removes (where they are the same
        // throughout a chunk, with frames of Lancelet's own that decode faster than zstd's:
        // see `encode::with_zstd_wide_values`). Their chunks are 16 KiB
        // before compression instead of 4: zstd spends a fixed cost per frame (its entropy
        // tables), which 4 KiB frames pay four times as often, and the larger window
        // compresses better (TPC-H SF 1 `l_extendedprice`: 3.16 instead of 3.38 bytes per
        // value). A compressed chunk (about 3.2 KiB) stays below the 4 KiB of a plain one,
        // which is what a take reads per row.
        let may_compress = hints.compression.is_none() && !hints.no_compression;
        if *bits_per_value >= 128 && may_compress {
            let wide =
                encode::flat_chunked(data, *bits_per_value, *num_values, WIDE_ZSTD_CHUNK_BYTES)?;
            let compressed = encode::with_zstd_wide_values(wide, *bits_per_value)?;
            if matches!(compressed.encoding.compression, Some(C::General(_))) {
                chunked = compressed;
            }
        } else if may_compress
            && let Some(compressed) =
                zstd_over_flat_or_runs(&chunked, data, *bits_per_value, *num_values)?
        {
            chunked = compressed;
        }
    }
    miniblock_encode::encode(ctx, rep, def, num_entries, chunked, None)
}

/// Bytes of 128- and 256-bit values in one chunk before zstd compresses it.
const WIDE_ZSTD_CHUNK_BYTES: usize = 16 * 1024;

/// Integers compressed with zstd over their flat or run-length form, when that is at least
/// 10% smaller than `chosen` (their best encoding so far). Values left flat or run-length
/// encoded are tried as they are; bit-packed values only when at most half as many runs as
/// values (sorted keys that repeat, whose run values grow by small steps). `None` when zstd
/// does not save enough.
fn zstd_over_flat_or_runs(
    chosen: &ChunkedValues,
    data: &Bytes,
    bits: u64,
    num_values: usize,
) -> Result<Option<ChunkedValues>> {
    let target = chosen.size();
    if matches!(
        chosen.encoding.compression,
        Some(C::Flat(_)) | Some(C::Rle(_))
    ) {
        return zstd_smaller_than(chosen, bits, target, 10);
    }
    if !matches!(bits, 8 | 16 | 32 | 64) {
        return Ok(None);
    }
    let width = (bits / 8) as usize;
    if rle::count_runs(data, width) * 2 > num_values {
        return Ok(None);
    }
    zstd_smaller_than(&run_length(data, width, num_values), bits, target, 10)
}

/// Chunks sampled to judge whether zstd is worth trying on a whole page.
const ZSTD_SAMPLE_CHUNKS: usize = 8;

/// `values` with every chunk compressed by zstd, when that is at least `percent`% smaller than
/// `target` bytes (the best encoding found so far); `None` otherwise. A sample of chunks is
/// compressed first, so values that zstd cannot shrink cost little to try. Sorted keys whose
/// runs grow by small steps, and repeating patterns, are what this finds: on TPC-H
/// `l_orderkey` the run-length encoded keys go from 13.6 to 3.1 MB.
fn zstd_smaller_than(
    values: &ChunkedValues,
    bits: u64,
    target: usize,
    percent: usize,
) -> Result<Option<ChunkedValues>> {
    let saves = |size: usize| size * 100 < target * (100 - percent);
    let sample = ChunkedValues {
        encoding: values.encoding.clone(),
        num_buffers: values.num_buffers,
        chunks: values
            .chunks
            .iter()
            .take(ZSTD_SAMPLE_CHUNKS)
            .cloned()
            .collect(),
    };
    let (sample_raw, total_raw) = (sample.size(), values.size());
    if sample.chunks.len() < values.chunks.len() && sample_raw > 0 {
        let sample_compressed = with_general(sample, Scheme::Zstd, None)?.size();
        let estimate = sample_compressed as f64 * total_raw as f64 / sample_raw as f64;
        // Clearly short of the saving asked (the estimate is a few % off either way).
        if estimate >= target as f64 * (1.025 - percent as f64 / 100.0) {
            return Ok(None);
        }
    }
    let compressed = match bits {
        32 | 64 => encode::with_zstd_words(values.clone(), bits)?,
        _ => with_general(values.clone(), Scheme::Zstd, None)?,
    };
    // Small or incompressible values come back as they were.
    let is_zstd = matches!(compressed.encoding.compression, Some(C::General(_)));
    Ok((is_zstd && saves(compressed.size())).then_some(compressed))
}

/// A full-zip page: variable-width values FSST-compressed when that saves 10%, or compressed
/// one by one when they are huge or a general scheme is asked for.
fn full_zip_page(
    ctx: &PageContext,
    rep: Option<&[u16]>,
    def: Option<&[u16]>,
    num_entries: usize,
    block: DataBlock,
    width: usize,
    hints: &LeafHints,
) -> Result<EncodedPage> {
    use fullzip_encode::ValueCompression;
    let DataBlock::Variable {
        offsets,
        offset_bits,
        data,
        num_values,
    } = &block
    else {
        return fullzip_encode::encode(ctx, rep, def, num_entries, &block, ValueCompression::None);
    };
    if hints.no_compression {
        return fullzip_encode::encode(ctx, rep, def, num_entries, &block, ValueCompression::None);
    }
    if hints.compression.is_some() || width > COMPRESS_VALUE_BYTES {
        let compress = ValueCompression::PerValue(Scheme::Zstd);
        return fullzip_encode::encode(ctx, rep, def, num_entries, &block, compress);
    }
    if hints.force_fsst || data.len() >= FSST_MIN_BYTES {
        let offsets = read_offsets(offsets, *offset_bits, *num_values);
        let (compressed, table) = fsst_block(data, &offsets, *offset_bits)?;
        let compressed_bytes = match &compressed {
            DataBlock::Variable { data, .. } => data.len() + table.len(),
            _ => usize::MAX,
        };
        if hints.force_fsst || compressed_bytes * 10 < data.len() * 9 {
            let compress = ValueCompression::Fsst(table);
            return fullzip_encode::encode(ctx, rep, def, num_entries, &compressed, compress);
        }
    }
    fullzip_encode::encode(ctx, rep, def, num_entries, &block, ValueCompression::None)
}

/// The largest value in bytes (fixed width: every value).
fn value_width(block: &DataBlock) -> usize {
    match block {
        DataBlock::Fixed { bits_per_value, .. } => (*bits_per_value / 8) as usize,
        DataBlock::FixedSizeList {
            dimension, items, ..
        } => dimension * value_width(items).max(1),
        DataBlock::Variable { .. } => max_variable_length(block),
        DataBlock::Struct { children, .. } => children.iter().map(value_width).sum(),
    }
}

fn full_zip_possible(block: &DataBlock) -> bool {
    match block {
        DataBlock::Fixed { bits_per_value, .. } => bits_per_value.is_multiple_of(8),
        DataBlock::FixedSizeList { items, .. } => full_zip_possible(items),
        DataBlock::Variable { .. } => true,
        DataBlock::Struct { .. } => false,
    }
}

/// Values that cannot fit two to a mini-block chunk (`width`: the block's [`value_width`]).
fn too_wide_for_mini_block(block: &DataBlock, width: usize) -> bool {
    match block {
        DataBlock::Variable { .. } => width > 8 * 1024,
        _ => 2 * width > encode::MAX_CHUNK_VALUE_BYTES,
    }
}

/// The longest value of a variable-width block.
fn max_variable_length(block: &DataBlock) -> usize {
    let DataBlock::Variable {
        offsets,
        offset_bits,
        num_values,
        ..
    } = block
    else {
        return 0;
    };
    let count = num_values + 1;
    if *offset_bits == 32 {
        longest_gap(offsets.chunks_exact(4).take(count).map(|word| {
            u64::from(u32::from_le_bytes(
                <[u8; 4]>::try_from(word).unwrap_or_default(),
            ))
        }))
    } else {
        longest_gap(
            offsets
                .chunks_exact(8)
                .take(count)
                .map(|word| u64::from_le_bytes(<[u8; 8]>::try_from(word).unwrap_or_default())),
        )
    }
}

/// The longest value given its offsets (0 when they do not increase).
fn longest_value(offsets: &[u64]) -> usize {
    // A fold over pairs (rather than `max()` over windows) compiles to a vectorized loop.
    let longest = offsets
        .iter()
        .zip(offsets.iter().skip(1))
        .map(|(start, end)| end.saturating_sub(*start))
        .fold(0, u64::max);
    usize::try_from(longest).unwrap_or(usize::MAX)
}

/// The largest difference between consecutive offsets (0 when they do not increase).
fn longest_gap(mut offsets: impl Iterator<Item = u64>) -> usize {
    let Some(mut previous) = offsets.next() else {
        return 0;
    };
    let mut longest = 0;
    for offset in offsets {
        longest = longest.max(offset.saturating_sub(previous));
        previous = offset;
    }
    usize::try_from(longest).unwrap_or(usize::MAX)
}

/// The value all valid entries share, if they do (as a one-value array). Values are compared
/// byte for byte, so -0.0 and 0.0 differ and equal NaNs match.
fn constant_value(values: &ArrayRef, valid: Option<&BooleanBuffer>) -> Option<ArrayRef> {
    let is_valid = |i: usize| valid.is_none_or(|v| v.value(i)) && values.is_valid(i);
    let first = (0..values.len()).find(|&i| is_valid(i))?;
    let same = |i: usize| -> Option<bool> {
        Some(match values.data_type() {
            DataType::Boolean => {
                let bools = values.as_boolean();
                bools.value(i) == bools.value(first)
            }
            DataType::Utf8 => {
                values.as_string::<i32>().value(i) == values.as_string::<i32>().value(first)
            }
            DataType::LargeUtf8 => {
                values.as_string::<i64>().value(i) == values.as_string::<i64>().value(first)
            }
            DataType::Binary => {
                values.as_binary::<i32>().value(i) == values.as_binary::<i32>().value(first)
            }
            DataType::LargeBinary => {
                values.as_binary::<i64>().value(i) == values.as_binary::<i64>().value(first)
            }
            DataType::FixedSizeBinary(_) => {
                let fsb = values.as_fixed_size_binary();
                fsb.value(i) == fsb.value(first)
            }
            other => {
                let width = other.primitive_width()?;
                let data = values.to_data();
                let bytes = data.buffers().first()?.as_slice();
                let at = |k: usize| {
                    bytes.get((data.offset() + k) * width..(data.offset() + k + 1) * width)
                };
                at(i)? == at(first)?
            }
        })
    };
    for i in first..values.len() {
        if is_valid(i) && !same(i)? {
            return None;
        }
    }
    Some(values.slice(first, 1))
}

/// Converts carried values to a block, zeroing the bytes of nulls (fixed width) and emptying
/// them (variable width) so they compress well and reveal nothing.
pub fn to_block(values: &ArrayRef, valid: Option<&BooleanBuffer>) -> Result<DataBlock> {
    let n = values.len();
    // Validity as one bitmap (the caller's and the array's own), so that per-value checks
    // are bit tests rather than calls through `dyn Array`.
    let row_valid = and_validity(valid.cloned(), values.nulls().map(|n| n.inner().clone()));
    let is_null = |i: usize| row_valid.as_ref().is_some_and(|v| !v.value(i));
    let any_null = row_valid.as_ref().is_some_and(|v| v.count_set_bits() < n);
    let data = values.to_data();
    match values.data_type() {
        DataType::Boolean => {
            let bools = values.as_boolean();
            let mut builder = BooleanBufferBuilder::new(n);
            for i in 0..n {
                builder.append(!is_null(i) && bools.value(i));
            }
            Ok(DataBlock::Fixed {
                data: Bytes::from(builder.finish().sliced().as_slice().to_vec()),
                bits_per_value: 1,
                num_values: n,
            })
        }
        DataType::Struct(_) => {
            // A packed struct: each child as fixed-width values (nulls zeroed by the struct's
            // validity; children themselves cannot be null).
            let structs = values.as_struct();
            let parent_valid: BooleanBuffer = (0..n).map(|i| !is_null(i)).collect();
            let children = structs
                .columns()
                .iter()
                .map(|child| {
                    if (0..n).any(|i| parent_valid.value(i) && child.is_null(i)) {
                        return Err(Error::invalid_argument(
                            "packed struct children cannot be null",
                        ));
                    }
                    to_block(child, Some(&parent_valid))
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(DataBlock::Struct {
                children,
                num_values: n,
            })
        }
        DataType::Utf8 | DataType::Binary => variable_block::<i32>(values, any_null, &is_null),
        DataType::LargeUtf8 | DataType::LargeBinary => {
            variable_block::<i64>(values, any_null, &is_null)
        }
        DataType::FixedSizeList(item, dimension) => {
            let list = values.as_fixed_size_list();
            let dimension = usize::try_from(*dimension)
                .map_err(|_| Error::invalid_argument("negative list size"))?;
            let items = list
                .values()
                .slice(list.offset() * dimension, n * dimension);
            if matches!(item.data_type(), DataType::Struct(_)) {
                return Err(Error::not_supported("fixed-size lists of structs"));
            }
            // Items of null lists count as null items.
            let rows_expanded = row_valid.as_ref().map(|rows| {
                let mut expanded = BooleanBufferBuilder::new(n * dimension);
                for row in 0..n {
                    expanded.append_n(dimension, rows.value(row));
                }
                expanded.finish()
            });
            let own = items.nulls().map(|nulls| nulls.inner().clone());
            // Whether an item of a valid list is null (then the page stores item validity).
            let any_null_item = match (&rows_expanded, &own) {
                (_, None) => false,
                (None, Some(own)) => own.count_set_bits() < n * dimension,
                (Some(rows), Some(own)) => (rows & &!own).count_set_bits() > 0,
            };
            let item_valid = and_validity(rows_expanded, own);
            let items_block = to_block(&items, item_valid.as_ref())?;
            Ok(DataBlock::FixedSizeList {
                dimension,
                items: Box::new(items_block),
                item_validity: if any_null_item { item_valid } else { None },
                num_values: n,
            })
        }
        data_type => {
            let bits =
                crate::encodings::compression::block::fixed_bits(data_type).ok_or_else(|| {
                    Error::not_supported(format!("{data_type} columns in formats 2.1 and 2.2"))
                })?;
            let width = (bits / 8) as usize;
            let buffer = data
                .buffers()
                .first()
                .ok_or_else(|| Error::invalid_argument("fixed-width array without a buffer"))?;
            let bytes = &buffer.as_slice()[data.offset() * width..(data.offset() + n) * width];
            let bytes = if any_null {
                let mut copy = bytes.to_vec();
                for i in (0..n).filter(|&i| is_null(i)) {
                    copy[i * width..(i + 1) * width].fill(0);
                }
                Bytes::from(copy)
            } else {
                // Without nulls the array's own bytes are the values: shared, not copied.
                to_bytes(buffer.slice_with_length(data.offset() * width, n * width))
            };
            Ok(DataBlock::Fixed {
                data: bytes,
                bits_per_value: bits,
                num_values: n,
            })
        }
    }
}

/// Both validities combined (`None`: everything valid).
fn and_validity(a: Option<BooleanBuffer>, b: Option<BooleanBuffer>) -> Option<BooleanBuffer> {
    match (a, b) {
        (None, None) => None,
        (Some(v), None) | (None, Some(v)) => Some(v),
        (Some(a), Some(b)) => Some(&a & &b),
    }
}

/// Variable-width values as a block (`any_null`: whether `is_null` holds for any of them).
fn variable_block<O: arrow_array::OffsetSizeTrait>(
    values: &ArrayRef,
    any_null: bool,
    is_null: &dyn Fn(usize) -> bool,
) -> Result<DataBlock> {
    let (offsets, bytes) = match values.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 => {
            let strings = values.as_string::<O>();
            (strings.offsets().clone(), strings.values().clone())
        }
        _ => {
            let binary = values.as_binary::<O>();
            (binary.offsets().clone(), binary.values().clone())
        }
    };
    let width = std::mem::size_of::<O>();
    let num_values = offsets.len().saturating_sub(1);
    // Without nulls, offsets from 0 over the whole data buffer are the block as they are
    // (Arrow offsets are non-negative, so their little-endian bytes read as unsigned).
    let first = offsets.first().map_or(0, |o| o.as_usize());
    let last = offsets.last().map_or(0, |o| o.as_usize());
    let spans_buffer = first == 0 && last == bytes.len();
    if spans_buffer && !any_null && cfg!(target_endian = "little") {
        return Ok(DataBlock::Variable {
            offsets: to_bytes(offsets.into_inner().into_inner()),
            offset_bits: (width * 8) as u32,
            data: to_bytes(bytes),
            num_values,
        });
    }
    if !any_null && first <= last && last <= bytes.len() {
        // A slice of an array without nulls: its bytes are shared, its offsets rebased.
        let mut out_offsets = Vec::with_capacity(offsets.len() * width);
        for offset in offsets.iter() {
            let rebased = offset.as_usize().saturating_sub(first);
            if width == 4 {
                out_offsets.extend_from_slice(&(rebased as u32).to_le_bytes());
            } else {
                out_offsets.extend_from_slice(&(rebased as u64).to_le_bytes());
            }
        }
        return Ok(DataBlock::Variable {
            offsets: Bytes::from(out_offsets),
            offset_bits: (width * 8) as u32,
            data: to_bytes(bytes.slice_with_length(first, last - first)),
            num_values,
        });
    }
    let mut out_offsets = Vec::with_capacity(offsets.len() * width);
    let mut out_bytes = Vec::new();
    let push = |out: &mut Vec<u8>, value: usize| {
        if width == 4 {
            out.extend_from_slice(&(value as u32).to_le_bytes());
        } else {
            out.extend_from_slice(&(value as u64).to_le_bytes());
        }
    };
    push(&mut out_offsets, 0);
    for i in 0..offsets.len().saturating_sub(1) {
        if !is_null(i) {
            out_bytes.extend_from_slice(&bytes[offsets[i].as_usize()..offsets[i + 1].as_usize()]);
        }
        push(&mut out_offsets, out_bytes.len());
    }
    Ok(DataBlock::Variable {
        offsets: Bytes::from(out_offsets),
        offset_bits: (width * 8) as u32,
        data: Bytes::from(out_bytes),
        num_values,
    })
}

/// Chooses and applies a mini-block compressor.
fn mini_block_values(block: &DataBlock, hints: &LeafHints) -> Result<ChunkedValues> {
    let general = |values: ChunkedValues| match hints.compression {
        Some((scheme, level)) => with_general(values, scheme, level),
        None => Ok(values),
    };
    match block {
        DataBlock::Fixed {
            data,
            bits_per_value,
            num_values,
        } => {
            let bits = *bits_per_value;
            if hints.compression.is_some() && !hints.no_byte_stream_split && matches!(bits, 32 | 64)
            {
                return general(byte_stream_split(data, bits, *num_values));
            }
            if hints.no_compression || !matches!(bits, 8 | 16 | 32 | 64) {
                return general(encode::flat(data, bits, *num_values)?);
            }
            general(smallest_fixed(block)?)
        }
        DataBlock::FixedSizeList { .. } => general(encode::fixed_size_list(block)?),
        DataBlock::Variable {
            offsets,
            offset_bits,
            data,
            num_values,
        } => {
            let offsets = read_offsets(offsets, *offset_bits, *num_values);
            let plain = variable_chunks(data, &offsets, u64::from(*offset_bits))?;
            if hints.no_compression {
                return Ok(plain);
            }
            if hints.force_fsst || (data.len() >= FSST_MIN_BYTES && hints.compression.is_none()) {
                let fsst = fsst_values(data, &offsets, u64::from(*offset_bits))?;
                if hints.force_fsst || fsst.size() * 10 < plain.size() * 9 {
                    return Ok(fsst);
                }
            }
            general(plain)
        }
        DataBlock::Struct {
            children,
            num_values,
        } => packed_struct(children, *num_values),
    }
}

/// Bytes of a text chunk (offsets and FSST codes) before zstd compression (2.2 text pages):
/// those of a plain variable-width chunk, so that a take, which reads a whole chunk per row,
/// reads no more than it would of FSST codes alone (Lance's choice). On TPC-H comments that
/// is 256 strings, about 2.7 KiB compressed, where pylance 14.0.2's chunks are about 3.5 KiB.
/// Larger chunks compress a little better and decompress faster, since zstd spends a few
/// microseconds per frame on its tables (`target/release/examples/text_chunk_zstd 0.3 10`,
/// 1.8 million comments: 19.03 MB in 23.5 ms with these chunks, 18.16 MB in 13.2 ms with 32
/// KiB ones), but a take reads a whole chunk per row: lineitem SF 1 `l_comment`, 100 rows,
/// 2 045 820 bytes with 32 KiB chunks, 369 648 with these, 445 108 by pylance.
const TEXT_CHUNK_BYTES: usize = encode::VARIABLE_CHUNK_BYTES;

/// The zstd level of FSST-compressed text chunks: level 2 compresses them about 20% faster than
/// the default level 3 (TPC-H comments, a page of 300 000: 12.2 against 15.1 ms) for much the
/// same size (that page: 2 114 147 against 2 124 226 bytes; all of lineitem SF 1: 143 KB or
/// 0.2% larger); level 1 is 4% larger.
const TEXT_ZSTD_LEVEL: i32 = 2;

/// In 2.2, a page of text (at least [`FSST_MIN_BYTES`]) with no compression asked for is
/// FSST-compressed, then cut into chunks of about [`TEXT_CHUNK_BYTES`] of codes, each
/// compressed with zstd, when that saves 10% over the plain strings. A take expands only the
/// rows it wants from the codes. `None` when it does not apply or does not save enough.
///
/// Each chunk's offsets and codes are separate zstd frames ([`encode::with_zstd_offsets_apart`]).
/// The offsets' literals are Huffman-coded (zstd finds no matches in 32-bit offsets: their two
/// zero bytes are too short), and the codes are stored as they are unless zstd saves 10% on
/// them: in chunks this small, FSST has already taken most of what zstd would find (3.5% more
/// in TPC-H comments), and stored codes decode with one copy.
fn fsst_zstd_text(
    data: &[u8],
    offsets: &[u64],
    bits: u64,
    hints: &LeafHints,
) -> Result<Option<ChunkedValues>> {
    if hints.compression.is_some()
        || hints.no_compression
        || hints.force_fsst
        || data.len() < FSST_MIN_BYTES
    {
        return Ok(None);
    }
    let plain_size = data.len() + offsets.len() * (bits / 8) as usize;
    let (compressed, table) = fsst_strings(data, offsets)?;
    let codes = encode::variable_chunks_of(
        &compressed.data,
        &compressed.offsets,
        bits,
        TEXT_CHUNK_BYTES,
    )?;
    let fsst = ChunkedValues {
        encoding: encoding(C::Fsst(Box::new(pb::Fsst {
            symbol_table: table,
            values: Some(Box::new(codes.encoding)),
        }))),
        num_buffers: codes.num_buffers,
        chunks: codes.chunks,
    };
    let chunked = encode::with_zstd_offsets_apart(fsst, bits, TEXT_ZSTD_LEVEL)?;
    Ok((chunked.size() * 10 < plain_size * 9).then_some(chunked))
}

/// Packed struct rows: the children's values of each row back to back, chunked as flat values.
fn packed_struct(children: &[DataBlock], num_values: usize) -> Result<ChunkedValues> {
    let mut widths = Vec::with_capacity(children.len());
    let mut columns = Vec::with_capacity(children.len());
    for child in children {
        let DataBlock::Fixed {
            data,
            bits_per_value,
            ..
        } = child
        else {
            return Err(Error::not_supported(
                "packed struct children that are not fixed-width",
            ));
        };
        if !bits_per_value.is_multiple_of(8) {
            return Err(Error::not_supported(
                "packed struct children that are not whole bytes",
            ));
        }
        widths.push(*bits_per_value);
        columns.push(data);
    }
    let row_bytes: usize = widths.iter().map(|b| (*b / 8) as usize).sum();
    let mut rows = Vec::with_capacity(row_bytes * num_values);
    for row in 0..num_values {
        for (column, bits) in columns.iter().zip(&widths) {
            let width = (*bits / 8) as usize;
            rows.extend_from_slice(&column[row * width..(row + 1) * width]);
        }
    }
    let flat = encode::flat(&Bytes::from(rows), (row_bytes * 8) as u64, num_values)?;
    Ok(ChunkedValues {
        encoding: encoding(C::PackedStruct(Box::new(pb::PackedStruct {
            bits_per_value: widths,
            values: Some(Box::new(flat.encoding)),
        }))),
        num_buffers: flat.num_buffers,
        chunks: flat.chunks,
    })
}

/// The `num_values + 1` offsets of a variable-width block as integers.
fn read_offsets(offsets: &[u8], bits: u32, num_values: usize) -> Vec<u64> {
    let count = num_values + 1;
    // The common widths get loops of fixed-size loads (a copy of a run-time width is a call).
    match bits {
        32 => {
            return offsets
                .chunks_exact(4)
                .take(count)
                .map(|w| u64::from(u32::from_le_bytes([w[0], w[1], w[2], w[3]])))
                .collect();
        }
        64 => {
            return offsets
                .chunks_exact(8)
                .take(count)
                .map(|w| u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]))
                .collect();
        }
        _ => {}
    }
    let width = (bits / 8) as usize;
    (0..=num_values)
        .map(|i| {
            let mut full = [0u8; 8];
            full[..width].copy_from_slice(&offsets[i * width..(i + 1) * width]);
            u64::from_le_bytes(full)
        })
        .collect()
}

/// Flat, bit-packed or run-length encoded, whichever is smallest (flat unless another saves
/// at least 5%).
fn smallest_fixed(block: &DataBlock) -> Result<ChunkedValues> {
    let DataBlock::Fixed {
        data,
        bits_per_value,
        ..
    } = block
    else {
        return Err(Error::internal("expected fixed-width values"));
    };
    match bits_per_value {
        8 => smallest_of_words(&words::<u8>(block)?, Some(data)),
        16 => smallest_of_words(&words::<u16>(block)?, Some(data)),
        32 => smallest_of_words(&words::<u32>(block)?, Some(data)),
        _ => smallest_of_words(&words::<u64>(block)?, Some(data)),
    }
}

/// [`smallest_fixed`] of values already read as words; `data` is their little-endian bytes
/// (built from the words when `None` and needed).
fn smallest_of_words<T: Word + PartialEq>(
    values: &[T],
    data: Option<&Bytes>,
) -> Result<ChunkedValues> {
    let width = T::BITS / 8;
    let flat_size = values.len() * width;
    let packed_size = bitpacked_size(values);
    let threshold = flat_size - flat_size / 20;
    // Every change of value starts a run: when even that many runs are too large, the exact
    // count (runs are also cut at 255 values) does not matter.
    let changes = values
        .iter()
        .zip(values.iter().skip(1))
        .filter(|(a, b)| a != b)
        .count();
    // Runs are at least the changes plus one (more where runs are cut at 255 values), so the
    // exact count is needed only when that lower bound could still beat the alternatives.
    let fewest_runs_size = (changes + 1) * (width + 1);
    let runs_may_win = fewest_runs_size < threshold && fewest_runs_size < packed_size;
    if !runs_may_win && packed_size < threshold {
        return Ok(bitpacked(values));
    }
    let data = match data {
        Some(data) => data.clone(),
        None => {
            let mut bytes = Vec::with_capacity(flat_size);
            for value in values {
                value.write_le(&mut bytes);
            }
            Bytes::from(bytes)
        }
    };
    if runs_may_win {
        // The runs themselves are as cheap to find as their exact count.
        let runs = run_length(&data, width, values.len());
        // Each run (runs that cross a chunk boundary count once per chunk) is a value and a
        // one-byte length; padding of the chunks is left out.
        let run_count: usize = runs
            .chunks
            .iter()
            .filter_map(|chunk| chunk.buffers.get(1))
            .map(|lengths| lengths.len())
            .sum();
        let rle_size = run_count * (width + 1);
        if packed_size < threshold && packed_size <= rle_size {
            return Ok(bitpacked(values));
        }
        if rle_size < threshold {
            return Ok(runs);
        }
    }
    encode::flat(&data, T::BITS as u64, values.len())
}

/// FSST-compresses every string, then chunks the compressed strings.
fn fsst_values(data: &[u8], offsets: &[u64], bits: u64) -> Result<ChunkedValues> {
    let (compressed, table) = fsst_strings(data, offsets)?;
    let inner = variable_chunks(&compressed.data, &compressed.offsets, bits)?;
    Ok(ChunkedValues {
        encoding: encoding(C::Fsst(Box::new(pb::Fsst {
            symbol_table: table,
            values: Some(Box::new(inner.encoding)),
        }))),
        num_buffers: inner.num_buffers,
        chunks: inner.chunks,
    })
}

/// Strings after FSST compression: their bytes and `n + 1` offsets.
struct CompressedStrings {
    data: Vec<u8>,
    offsets: Vec<u64>,
}

/// Trains an FSST table on the strings and compresses each; returns them and the serialized
/// table.
fn fsst_strings(data: &[u8], offsets: &[u64]) -> Result<(CompressedStrings, Vec<u8>)> {
    let strings = || {
        offsets
            .windows(2)
            .map(|w| &data[w[0] as usize..w[1] as usize])
    };
    let encoder = fsst::Encoder::train(strings());
    let (compressed, new_offsets) = encoder.compress_strings(data, offsets)?;
    let table = encoder.table().serialize();
    Ok((
        CompressedStrings {
            data: compressed,
            offsets: new_offsets,
        },
        table,
    ))
}

/// FSST-compressed strings as a variable-width block with `offset_bits`-bit offsets, and the
/// serialized table.
fn fsst_block(data: &[u8], offsets: &[u64], offset_bits: u32) -> Result<(DataBlock, Vec<u8>)> {
    let (compressed, table) = fsst_strings(data, offsets)?;
    let num_values = compressed.offsets.len().saturating_sub(1);
    let offsets: Vec<u8> = if offset_bits == 32 {
        compressed
            .offsets
            .iter()
            .map(|&o| u32::try_from(o).map(u32::to_le_bytes))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| Error::internal("compressed strings grew past 4 GiB"))?
            .concat()
    } else {
        compressed
            .offsets
            .iter()
            .flat_map(|o| o.to_le_bytes())
            .collect()
    };
    Ok((
        DataBlock::Variable {
            offsets: Bytes::from(offsets),
            offset_bits,
            data: Bytes::from(compressed.data),
            num_values,
        },
        table,
    ))
}

/// A mini-block page of an Arrow dictionary column: u32 indices in the chunks, the dictionary
/// values in the page.
fn dictionary_page(
    ctx: &PageContext,
    rep: Option<&[u16]>,
    def: Option<&[u16]>,
    num_entries: usize,
    values: &ArrayRef,
    valid: Option<&BooleanBuffer>,
    hints: &LeafHints,
) -> Result<EncodedPage> {
    let dictionary = values.as_any_dictionary();
    let keys = dictionary.normalized_keys();
    let indices: Vec<u64> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let null = valid.is_some_and(|v| !v.value(i)) || values.is_null(i);
            if null { 0 } else { *key as u64 }
        })
        .collect();
    // Indices are as wide as the Arrow keys (readers check this).
    let key_bits = dictionary
        .keys()
        .data_type()
        .primitive_width()
        .map_or(32, |w| w as u64 * 8);
    let items = to_block(dictionary.values(), None)?;
    let page_dictionary = encode_dictionary(&items, ctx.version)?;
    let chunked = index_values(&indices, key_bits, hints)?;
    miniblock_encode::encode(ctx, rep, def, num_entries, chunked, Some(page_dictionary))
}

/// Indices into a dictionary as `bits`-bit values (8, 16, 32 or 64), compressed like any
/// integers.
fn index_values(indices: &[u64], bits: u64, hints: &LeafHints) -> Result<ChunkedValues> {
    let width = (bits / 8) as usize;
    let data: Vec<u8> = indices
        .iter()
        .flat_map(|i| i.to_le_bytes().into_iter().take(width))
        .collect();
    let data = Bytes::from(data);
    if hints.no_compression {
        return encode::flat(&data, bits, indices.len());
    }
    smallest_fixed(&DataBlock::Fixed {
        data,
        bits_per_value: bits,
        num_values: indices.len(),
    })
}

/// 32-bit indices into a dictionary, compressed like any integers. In 2.2, indices below 256
/// may instead be stored as bytes compressed with zstd, when that saves [`INDEX_ZSTD_SAVING`]%:
/// bit-packing spends whole bits per index, zstd's entropy coding less when the indices
/// repeat in patterns. But bit-packed indices unpack five to seven times faster, and are read
/// one by one in a take, while a zstd chunk is decompressed whole (about 13 µs per taken
/// row), so a smaller saving is not worth it. Byte indices are chunked by
/// [`INDEX_ZSTD_CHUNK_BYTES`] for zstd.
fn u32_index_values(
    indices: &[u32],
    version: FileVersion,
    hints: &LeafHints,
) -> Result<ChunkedValues> {
    if hints.no_compression {
        let data: Vec<u8> = indices.iter().flat_map(|i| i.to_le_bytes()).collect();
        return encode::flat(&Bytes::from(data), 32, indices.len());
    }
    let packed = smallest_of_words(indices, None)?;
    // All are below 256 when their bitwise or is: an or per index vectorizes with baseline
    // x86-64 instructions, where an unsigned max needs SSE4.1 (and `max()` compiles to a
    // branchy loop over references).
    let bytes_fit = !indices.is_empty() && indices.iter().fold(0, |all, &i| all | i) < 256;
    if version < FileVersion::V2_2 || hints.compression.is_some() || !bytes_fit {
        return Ok(packed);
    }
    let bytes: Vec<u8> = indices.iter().map(|&i| i as u8).collect();
    let flat = encode::flat_chunked(
        &Bytes::from(bytes),
        8,
        indices.len(),
        INDEX_ZSTD_CHUNK_BYTES,
    )?;
    Ok(zstd_smaller_than(&flat, 8, packed.size(), INDEX_ZSTD_SAVING)?.unwrap_or(packed))
}

/// The saving (in %) for which byte indices are compressed with zstd instead of bit-packed.
/// TPC-H SF 1 line numbers (1, 2, 3, ... per order) save 32% (1 603 112 bytes against
/// 2 367 844 bit-packed without a dictionary), but a one-core scan of them took 17-28 ms
/// against 3.3-4.5 ms, which at 20% they paid; nine tax rates save 12%.
const INDEX_ZSTD_SAVING: usize = 40;

/// Byte indices in one zstd chunk: 1024, the values of a bit-packed chunk, so that a take
/// reads no more per row than it would of bit-packed indices (only a zstd saving of
/// [`INDEX_ZSTD_SAVING`]% or more is kept). Chunks of 4096 compressed better (TPC-H SF 1 line numbers: 1 217 556 against
/// 1 603 112 bytes) but were about twice the 384 bytes of a 3-bit packed chunk.
const INDEX_ZSTD_CHUNK_BYTES: usize = 1024;

/// The dictionary buffer of a page: strings as a variable-width block, fixed-width values
/// flat; LZ4-compressed in 2.2 when that helps.
fn encode_dictionary(items: &DataBlock, version: FileVersion) -> Result<PageDictionary> {
    let (item_encoding, buffer) = match items {
        DataBlock::Variable {
            offsets,
            offset_bits,
            data,
            num_values,
        } => {
            let offsets = read_offsets(offsets, *offset_bits, *num_values);
            let block = variable::encode_block(data, &offsets)?;
            let encoding = encoding(C::Variable(Box::new(pb::Variable {
                offsets: Some(Box::new(flat_encoding(32))),
                values: None,
            })));
            (encoding, block)
        }
        DataBlock::Fixed {
            data,
            bits_per_value,
            ..
        } if bits_per_value.is_multiple_of(8) => (flat_encoding(*bits_per_value), data.to_vec()),
        _ => return Err(Error::not_supported("dictionaries of this value type")),
    };
    let (item_encoding, buffer) = if version >= FileVersion::V2_2 {
        let compressed = general::compress(Scheme::Lz4, None, &buffer)?;
        if compressed.len() < buffer.len() {
            let wrapped = encoding(C::General(Box::new(pb::General {
                compression: Some(buffer_compression(Scheme::Lz4, None)),
                values: Some(Box::new(item_encoding)),
            })));
            (wrapped, compressed)
        } else {
            (item_encoding, Bytes::from(buffer))
        }
    } else {
        (item_encoding, Bytes::from(buffer))
    };
    Ok(PageDictionary {
        encoding: item_encoding,
        buffer,
        num_items: items.num_values() as u64,
    })
}

/// Most distinct values an automatic dictionary of fixed-width values may hold (indices of
/// at most 16 bits).
const MAX_FIXED_DICTIONARY_ITEMS: usize = 1 << 16;

/// Values looked at before an automatic dictionary gives up on values that barely repeat.
const DICTIONARY_PROBE: usize = 4096;

/// Dictionary-encodes fixed-width values of 32 bits or more when at most a quarter of them
/// are distinct: `(indices, dictionary items)` in first-seen order. The caller compares the
/// sizes. `packed_size` (the values' bit-packed or flat size, when known) lowers the limit on
/// items to where bit-packed indices alone could not be 10% smaller than it (from 256 items
/// on: fewer are also tried as bytes under zstd), so that keys using as many distinct values
/// as their bits allow, such as TPC-H `l_suppkey`, stop the numbering after a few thousand.
fn auto_fixed_dictionary(
    data: &[u8],
    bits_per_value: u64,
    num_values: usize,
    packed_size: Option<usize>,
) -> Option<(Vec<u32>, DataBlock)> {
    if num_values < 100 || !matches!(bits_per_value, 32 | 64 | 128 | 256) {
        return None;
    }
    let width = (bits_per_value / 8) as usize;
    let mut limit = (num_values / 4).min(MAX_FIXED_DICTIONARY_ITEMS);
    if let Some(plain) = packed_size {
        // Indices of `b` bits take `n·b/8` bytes, 90% of the plain size from
        // `b = 7.2·plain/n` on; `d` items need `b` bits once `d > 2^(b-1)`.
        let futile_bits = (72 * plain).div_ceil(10 * num_values);
        if futile_bits <= 32 {
            limit = limit.min((1usize << futile_bits.saturating_sub(1)).max(255));
        }
    }
    let data = data.get(..num_values * width)?;
    // Sorted keys: as many distinct values as runs, known without numbering them.
    if distinct_if_ascending(data, width).is_some_and(|distinct| distinct > limit) {
        return None;
    }
    // Integers in a narrow range (dates, prices in cents, codes) are numbered through a table
    // indexed by value; the others through an open-addressing table keyed by integers where
    // they fit (comparing those is much cheaper than comparing slices), else a hash map.
    let (indices, items) = match index_small_range(data, width, limit) {
        Some(result) => result?,
        None => match width {
            4 | 8 => index_distinct(
                data,
                width,
                limit,
                FirstSeen::with_capacity(1024),
                |value| u64::from_le_bytes(padded(value)),
            )?,
            16 => index_distinct(
                data,
                width,
                limit,
                FirstSeen::with_capacity(1024),
                |value| u128::from_le_bytes(padded(value)),
            )?,
            _ => index_distinct(data, width, limit, fast_map(1024), |value| value)?,
        },
    };
    let block = DataBlock::Fixed {
        num_values: items.len() / width,
        data: Bytes::from(items),
        bits_per_value,
    };
    Some((indices, block))
}

/// The first `N` bytes of `value`, zero-padded.
fn padded<const N: usize>(value: &[u8]) -> [u8; N] {
    let mut word = [0u8; N];
    let n = value.len().min(N);
    word[..n].copy_from_slice(&value[..n]);
    word
}

/// The number of distinct `width`-byte values when they never descend (compared as unsigned
/// integers), as sorted keys do: then equal values sit together and there are as many as
/// runs. `None` at the first descent, or for other widths.
fn distinct_if_ascending(data: &[u8], width: usize) -> Option<usize> {
    match width {
        4 => ascending_runs(data.as_chunks::<4>().0, u32::from_le_bytes),
        8 => ascending_runs(data.as_chunks::<8>().0, u64::from_le_bytes),
        16 => ascending_runs(data.as_chunks::<16>().0, u128::from_le_bytes),
        _ => None,
    }
}

/// The runs of equal values of a never descending sequence (read by `read`); `None` once a
/// block of 1024 values has a descent. (Counting per block keeps the loop branch-free.)
fn ascending_runs<const W: usize, T: Ord>(
    values: &[[u8; W]],
    read: impl Fn([u8; W]) -> T,
) -> Option<usize> {
    let mut changes = 0usize;
    for start in (0..values.len().saturating_sub(1)).step_by(1024) {
        let block = values.get(start..(start + 1025).min(values.len()))?;
        let mut descents = 0usize;
        for pair in block.windows(2) {
            let (a, b) = (read(pair[0]), read(pair[1]));
            descents += usize::from(b < a);
            changes += usize::from(b != a);
        }
        if descents > 0 {
            return None;
        }
    }
    Some(changes + usize::from(!values.is_empty()))
}

/// Numbers distinct integers through a table with one slot per value between the smallest
/// and the largest, when that range is narrow: `None` when it is not (or the values are not
/// integers that fit an i64), `Some(None)` past `limit` distinct values.
#[allow(clippy::type_complexity)]
fn index_small_range(
    data: &[u8],
    width: usize,
    limit: usize,
) -> Option<Option<(Vec<u32>, Vec<u8>)>> {
    match width {
        4 => index_small_range_of::<4>(data, limit, |b| Some(i64::from(i32::from_le_bytes(b)))),
        8 => index_small_range_of::<8>(data, limit, |b| Some(i64::from_le_bytes(b))),
        16 => {
            index_small_range_of::<16>(data, limit, |b| i64::try_from(i128::from_le_bytes(b)).ok())
        }
        _ => None,
    }
}

/// [`index_small_range`] of `W`-byte values, read as integers by `integer`.
///
/// One pass: the table covers a window of integers that widens (at least doubling) when a
/// value falls outside it, and the pass stops as soon as the values seen span too wide a
/// range (so values spread wide, like random prices or keys, stop it early).
#[allow(clippy::type_complexity)]
fn index_small_range_of<const W: usize>(
    data: &[u8],
    limit: usize,
    integer: impl Fn([u8; W]) -> Option<i64>,
) -> Option<Option<(Vec<u32>, Vec<u8>)>> {
    let values = data.as_chunks::<W>().0;
    let widest = i128::try_from(values.len().max(MAX_FIXED_DICTIONARY_ITEMS)).ok()?;
    let first = i128::from(integer(*values.first()?)?);
    let (mut min, mut max) = (first, first);
    // Slot `value - base`: 0 when not seen yet, otherwise the value's index + 1.
    let mut base = first - 512;
    let mut slots = vec![0u32; 1024];
    let mut items = Vec::new();
    let mut indices = Vec::with_capacity(values.len());
    let mut distinct = 0u32;
    for block in values.chunks(1024) {
        for value in block {
            let integer = i128::from(integer(*value)?);
            min = min.min(integer);
            max = max.max(integer);
            let mut offset = integer - base;
            if offset < 0 || offset >= slots.len() as i128 {
                if max - min >= widest {
                    return None;
                }
                (base, slots) = widen(base, slots, integer)?;
                offset = integer - base;
            }
            let slot = slots.get_mut(usize::try_from(offset).ok()?)?;
            if *slot == 0 {
                distinct += 1;
                if distinct as usize > limit {
                    return Some(None);
                }
                *slot = distinct;
                items.extend_from_slice(value);
            }
            indices.push(*slot - 1);
        }
        if max - min >= widest {
            return None;
        }
    }
    Some(Some((indices, items)))
}

/// The slots of integers `base..base + slots.len()` widened to take `value` (outside them):
/// to at least twice as many, on `value`'s side, keeping those filled so far.
fn widen(base: i128, slots: Vec<u32>, value: i128) -> Option<(i128, Vec<u32>)> {
    let len = slots.len() as i128;
    let (new_base, new_len) = if value < base {
        let new_len = (base + len - value).max(2 * len);
        (base + len - new_len, new_len)
    } else {
        (base, (value - base + 1).max(2 * len))
    };
    let mut widened = vec![0u32; usize::try_from(new_len).ok()?];
    let at = usize::try_from(base - new_base).ok()?;
    widened
        .get_mut(at..at + slots.len())?
        .copy_from_slice(&slots);
    Some((new_base, widened))
}

/// Numbers the distinct `width`-byte values of `data` in first-seen order, keyed by `key`
/// through `numbering`: `(index of each value, the distinct values back to back)`, or `None`
/// past `limit` of them (or when more than half of the first [`DICTIONARY_PROBE`] values are
/// distinct).
fn index_distinct<'a, K>(
    data: &'a [u8],
    width: usize,
    limit: usize,
    mut numbering: impl KeyNumbering<K>,
    key: impl Fn(&'a [u8]) -> K,
) -> Option<(Vec<u32>, Vec<u8>)> {
    let mut items: Vec<u8> = Vec::new();
    let mut indices = Vec::with_capacity(data.len() / width);
    for value in data.chunks_exact(width) {
        let (index, new) = numbering.number(key(value));
        if new {
            if numbering.len() > limit {
                return None;
            }
            items.extend_from_slice(value);
        }
        indices.push(index);
        if indices.len() == DICTIONARY_PROBE && numbering.len() > DICTIONARY_PROBE / 2 {
            return None;
        }
    }
    Some((indices, items))
}

/// Most distinct values an automatic dictionary may hold.
const MAX_DICTIONARY_ITEMS: usize = 100_000;

/// Strings of at most this many bytes are keyed by three words in [`short_key`].
const SHORT_KEY_BYTES: usize = 23;

/// Numbers the distinct strings of `data` in first-seen order, keyed by `key` (given the
/// string and where it starts) through `numbering`: `(index of each string, the distinct
/// strings)`, or `None` past `limit` of them or when more than three quarters of the first
/// [`DICTIONARY_PROBE`] are distinct (free text, identifiers).
fn index_strings<'a, K>(
    data: &'a [u8],
    offsets: &[u64],
    limit: usize,
    mut numbering: impl KeyNumbering<K>,
    key: impl Fn(&'a [u8], usize) -> K,
) -> Option<(Vec<u32>, Vec<&'a [u8]>)> {
    let n = offsets.len().saturating_sub(1);
    let mut items: Vec<&[u8]> = Vec::new();
    let mut indices = Vec::with_capacity(n);
    for window in offsets.windows(2) {
        let (start, end) = (window[0] as usize, window[1] as usize);
        let value = data.get(start..end)?;
        let (index, new) = numbering.number(key(value, start));
        if new {
            if items.len() == limit {
                return None;
            }
            items.push(value);
        }
        indices.push(index);
        if indices.len() == DICTIONARY_PROBE && items.len() * 4 > DICTIONARY_PROBE * 3 {
            return None;
        }
    }
    Some((indices, items))
}

/// [`index_strings`] for values of at most one byte (flags such as `Y`/`N`): numbered through
/// a table of the 256 bytes and the empty value instead of hashing.
fn index_single_bytes<'a>(
    data: &'a [u8],
    offsets: &[u64],
    limit: usize,
) -> Option<(Vec<u32>, Vec<&'a [u8]>)> {
    // Slot 256 is the empty value's; a slot holds its value's index + 1 once seen.
    let mut slots = [0u32; 257];
    let mut items: Vec<&[u8]> = Vec::new();
    let mut indices = Vec::with_capacity(offsets.len().saturating_sub(1));
    for window in offsets.windows(2) {
        let value = data.get(window[0] as usize..window[1] as usize)?;
        let slot = &mut slots[value.first().map_or(256, |&byte| usize::from(byte))];
        if *slot == 0 {
            if items.len() == limit {
                return None;
            }
            items.push(value);
            *slot = items.len() as u32;
        }
        indices.push(*slot - 1);
    }
    Some((indices, items))
}

/// A string of at most [`SHORT_KEY_BYTES`] bytes (`value`, at `at` in `data`) as three words:
/// its bytes, zero-padded, with its length in the last byte. Comparing and hashing these is
/// much cheaper than comparing slices. Where 24 bytes from `at` are in `data`, the words are
/// read from there and masked to the string's length.
fn short_key(data: &[u8], value: &[u8], at: usize) -> [u64; 3] {
    let len = value.len();
    let mut bytes = [0u8; 24];
    match data.get(at..at + 24) {
        Some(window) => bytes.copy_from_slice(window),
        None => bytes[..len.min(24)].copy_from_slice(&value[..len.min(24)]),
    }
    let mut words = [0u64; 3];
    for (index, word) in words.iter_mut().enumerate() {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(&bytes[index * 8..index * 8 + 8]);
        let kept = len.saturating_sub(index * 8).min(8);
        let mask = if kept == 8 {
            u64::MAX
        } else {
            (1u64 << (8 * kept)) - 1
        };
        *word = u64::from_le_bytes(raw) & mask;
    }
    words[2] |= (len as u64) << 56;
    words
}

/// A string of at most 7 bytes (`value`, at `at` in `data`) as one word: its bytes,
/// zero-padded, with its length in the last byte (flags, codes and modes hash and compare as
/// one integer).
fn tiny_key(data: &[u8], value: &[u8], at: usize) -> u64 {
    let len = value.len().min(7);
    let mut bytes = [0u8; 8];
    match data.get(at..at + 8) {
        Some(window) => bytes.copy_from_slice(window),
        None => bytes[..len].copy_from_slice(&value[..len]),
    }
    let mask = (1u64 << (8 * len)) - 1;
    (u64::from_le_bytes(bytes) & mask) | (len as u64) << 56
}

/// Dictionary-encodes variable-width values (the longest `longest` bytes) when that is at
/// most half their plain size: `(indices, dictionary items)` in first-seen order. Gives up
/// early when more than three quarters of the first [`DICTIONARY_PROBE`] values are distinct.
fn auto_dictionary(data: &[u8], offsets: &[u64], longest: usize) -> Option<(Vec<u32>, DataBlock)> {
    let n = offsets.len().saturating_sub(1);
    if n < 100 {
        return None;
    }
    let limit = (n / 2).min(MAX_DICTIONARY_ITEMS);
    let (indices, items) = if longest <= 1 {
        index_single_bytes(data, offsets, limit)?
    } else if longest < 8 {
        let numbering = FirstSeen::with_capacity(256);
        index_strings(data, offsets, limit, numbering, |value, at| {
            tiny_key(data, value, at)
        })?
    } else if longest <= SHORT_KEY_BYTES {
        let numbering = FirstSeen::with_capacity(256);
        index_strings(data, offsets, limit, numbering, |value, at| {
            short_key(data, value, at)
        })?
    } else {
        index_strings(data, offsets, limit, fast_map(1024), |value, _| value)?
    };
    let item_bytes: usize = items.iter().map(|i| i.len()).sum();
    let index_bits = (usize::BITS - items.len().saturating_sub(1).leading_zeros()).max(1) as usize;
    let dictionary_size = item_bytes + 4 * (items.len() + 1) + n * index_bits / 8;
    let plain_size = data.len() + 4 * (n + 1);
    if dictionary_size * 2 > plain_size {
        return None;
    }
    let mut item_offsets = Vec::with_capacity((items.len() + 1) * 4);
    let mut item_data = Vec::with_capacity(item_bytes);
    item_offsets.extend_from_slice(&0u32.to_le_bytes());
    for item in &items {
        item_data.extend_from_slice(item);
        item_offsets.extend_from_slice(&(item_data.len() as u32).to_le_bytes());
    }
    let block = DataBlock::Variable {
        offsets: Bytes::from(item_offsets),
        offset_bits: 32,
        data: Bytes::from(item_data),
        num_values: items.len(),
    };
    Some((indices, block))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dictionary-encodes `values` and checks that every index leads back to its value.
    fn round_trip(values: &[&[u8]]) -> usize {
        let mut data = Vec::new();
        let mut offsets = vec![0u64];
        for value in values {
            data.extend_from_slice(value);
            offsets.push(data.len() as u64);
        }
        let (indices, items) =
            auto_dictionary(&data, &offsets, longest_value(&offsets)).expect("a dictionary");
        let DataBlock::Variable {
            offsets: item_offsets,
            data: item_data,
            num_values,
            ..
        } = items
        else {
            panic!("string items expected");
        };
        let item_offsets = read_offsets(&item_offsets, 32, num_values);
        for (value, index) in values.iter().zip(&indices) {
            let index = *index as usize;
            let item = &item_data[item_offsets[index] as usize..item_offsets[index + 1] as usize];
            assert_eq!(item, *value);
        }
        num_values
    }

    #[test]
    fn the_range_table_numbers_like_the_hash_map_while_it_widens() {
        // 1001 distinct values over a span of 3000 (wider than the table's first window),
        // reached in a scattered order, so that the window widens down and up.
        let values: Vec<i64> = (0..5000i64)
            .map(|i| ((i * 7919 + 500) % 1001 - 500) * 3)
            .collect();
        let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let read = |b: [u8; 8]| Some(i64::from_le_bytes(b));
        let by_range = index_small_range_of::<8>(&data, 5000, read).flatten();
        let by_hash = index_distinct(&data, 8, 5000, fast_map(16), |v: &[u8]| v.to_vec());
        assert!(by_range.is_some());
        assert!(by_range == by_hash, "the two numberings differ");
        // Past the limit of distinct values: no dictionary.
        assert_eq!(index_small_range_of::<8>(&data, 10, read), Some(None));
        // A span of a million in 5000 values is too wide for a table.
        let wide: Vec<u8> = [0i64, 1_000_000]
            .iter()
            .cycle()
            .take(5000)
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(index_small_range_of::<8>(&wide, 5000, read), None);
    }

    #[test]
    fn ascending_values_count_their_runs() {
        let bytes =
            |values: &[u64]| -> Vec<u8> { values.iter().flat_map(|v| v.to_le_bytes()).collect() };
        assert_eq!(
            distinct_if_ascending(&bytes(&[1, 1, 2, 5, 5, 5, 9]), 8),
            Some(4)
        );
        assert_eq!(distinct_if_ascending(&bytes(&[1, 2, 1]), 8), None);
        assert_eq!(distinct_if_ascending(&bytes(&[]), 8), Some(0));
        let words: Vec<u8> = [3u32, 3, 4].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(distinct_if_ascending(&words, 4), Some(2));
        assert_eq!(distinct_if_ascending(&words, 2), None);
    }

    #[test]
    fn short_strings_that_differ_in_length_or_trailing_zeros_stay_distinct() {
        let kinds: [&[u8]; 6] = [
            b"",
            b"a",
            b"a\0",
            b"a\0\0",
            b"twenty-three bytes long",
            b"b",
        ];
        let values: Vec<&[u8]> = (0..600).map(|i| kinds[(i * 7) % kinds.len()]).collect();
        assert_eq!(round_trip(&values), kinds.len());
    }

    #[test]
    fn tiny_strings_that_differ_in_length_or_trailing_zeros_stay_distinct() {
        let kinds: [&[u8]; 6] = [b"", b"A", b"A\0", b"A\0\0", b"REG AIR", b"N"];
        let values: Vec<&[u8]> = (0..600).map(|i| kinds[(i * 5) % kinds.len()]).collect();
        assert_eq!(round_trip(&values), kinds.len());
    }

    #[test]
    fn single_bytes_and_the_empty_value_are_numbered_apart() {
        let kinds: [&[u8]; 5] = [b"", b"\0", b"Y", b"N", b"\xff"];
        let values: Vec<&[u8]> = (0..500).map(|i| kinds[(i * 3) % kinds.len()]).collect();
        assert_eq!(round_trip(&values), kinds.len());
        // More distinct values than half the rows: no dictionary.
        let bytes: Vec<[u8; 1]> = (0..=255u8).map(|b| [b]).collect();
        let values: Vec<&[u8]> = bytes.iter().map(|b| b.as_slice()).collect();
        let mut data = Vec::new();
        let mut offsets = vec![0u64];
        for value in &values {
            data.extend_from_slice(value);
            offsets.push(data.len() as u64);
        }
        assert!(auto_dictionary(&data, &offsets, 1).is_none());
    }

    #[test]
    fn long_strings_are_keyed_by_their_bytes() {
        let kinds: [&[u8]; 3] = [
            b"twenty-four bytes long..",
            b"twenty-four bytes long.!",
            b"x",
        ];
        let values: Vec<&[u8]> = (0..300).map(|i| kinds[i % kinds.len()]).collect();
        assert_eq!(round_trip(&values), kinds.len());
    }
}
