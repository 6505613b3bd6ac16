//! Decoding values from a `CompressiveEncoding` tree.
//!
//! Three contexts use the tree differently:
//! - **mini-block chunks** ([`miniblock`]): a chunk's value buffers, with the chunk's value
//!   count; General compression applies to value buffer 0 only;
//! - **blocks** ([`block`]): one whole buffer (dictionaries, rep/def levels);
//! - **full-zip values** ([`FullZipValues`]): one value at a time.
//!
//! Every count and length read from a buffer is checked before it is used; decompression is
//! bounded (see [`crate::encodings::general`]).

use std::ops::Range;

use bytes::Bytes;

use crate::encodings::compression::block::DataBlock;
use crate::encodings::compression::fsst::{self, SymbolTable};
use crate::encodings::compression::joiner::BlockJoiner;
use crate::encodings::compression::{bitpacking, bss, rle, variable};
use crate::encodings::general::{self, Scheme};
use crate::error::{Error, Result};
use crate::format::pb::v2_1 as pb;
use pb::compressive_encoding::Compression as C;

/// The most bytes one compressed mini-block buffer may expand to.
const MAX_CHUNK_BYTES: u64 = 64 << 20;

fn variant(encoding: &pb::CompressiveEncoding) -> Result<&C> {
    encoding
        .compression
        .as_ref()
        .ok_or_else(|| Error::corrupt("compressive encoding has no variant"))
}

fn child<'a>(
    encoding: &'a Option<Box<pb::CompressiveEncoding>>,
    what: &str,
) -> Result<&'a pb::CompressiveEncoding> {
    encoding
        .as_deref()
        .ok_or_else(|| Error::corrupt(format!("{what} encoding is missing its child")))
}

/// A general-compression scheme from its protobuf form.
pub fn scheme(compression: Option<&pb::BufferCompression>) -> Result<Scheme> {
    let compression =
        compression.ok_or_else(|| Error::corrupt("general compression without a scheme"))?;
    match pb::CompressionScheme::try_from(compression.scheme) {
        Ok(pb::CompressionScheme::CompressionAlgorithmLz4) => Ok(Scheme::Lz4),
        Ok(pb::CompressionScheme::CompressionAlgorithmZstd) => Ok(Scheme::Zstd),
        _ => Err(Error::corrupt(format!(
            "unknown compression scheme {}",
            compression.scheme
        ))),
    }
}

fn flat_bits(encoding: &pb::CompressiveEncoding) -> Result<u64> {
    match variant(encoding)? {
        C::Flat(flat) if flat.data.is_none() => Ok(flat.bits_per_value),
        _ => Err(Error::not_supported(
            "this position requires a plain flat encoding",
        )),
    }
}

fn buffer(buffers: &[Bytes], index: usize) -> Result<Bytes> {
    buffers
        .get(index)
        .cloned()
        .ok_or_else(|| Error::corrupt(format!("chunk has no value buffer {index}")))
}

fn fixed(data: Bytes, bits: u64, num_values: usize) -> Result<DataBlock> {
    let needed = (num_values as u64)
        .checked_mul(bits)
        .map(|b| b.div_ceil(8))
        .ok_or_else(|| Error::corrupt("value size overflows"))?;
    if (data.len() as u64) < needed {
        return Err(Error::corrupt(format!(
            "{} bytes cannot hold {num_values} values of {bits} bits",
            data.len()
        )));
    }
    Ok(DataBlock::Fixed {
        data,
        bits_per_value: bits,
        num_values,
    })
}

/// The number of value buffers a chunk holds for this encoding.
pub fn miniblock_buffer_count(encoding: &pb::CompressiveEncoding) -> Result<usize> {
    Ok(match variant(encoding)? {
        C::Rle(_) => 2,
        C::General(general) => miniblock_buffer_count(child(&general.values, "general")?)?,
        C::FixedSizeList(list) => {
            miniblock_buffer_count(child(&list.values, "fixed-size list")?)?
                + usize::from(list.has_validity)
        }
        _ => 1,
    })
}

/// Decodes the value buffers of one mini-block chunk holding `num_values` values.
pub fn miniblock(
    encoding: &pb::CompressiveEncoding,
    buffers: &[Bytes],
    num_values: usize,
) -> Result<DataBlock> {
    match variant(encoding)? {
        C::Flat(flat) => {
            let data = match &flat.data {
                None => buffer(buffers, 0)?,
                Some(compression) => general::decompress(
                    scheme(Some(compression))?,
                    &buffer(buffers, 0)?,
                    MAX_CHUNK_BYTES,
                )?,
            };
            fixed(data, flat.bits_per_value, num_values)
        }
        C::Variable(var) => {
            if var.values.is_some() {
                return Err(Error::not_supported(
                    "compressed variable-width bytes in a mini-block",
                ));
            }
            let bits = flat_bits(child(&var.offsets, "variable")?)?;
            variable::decode_chunk(buffer(buffers, 0)?, bits, num_values)
        }
        C::InlineBitpacking(packing) => {
            if packing.values.is_some() {
                return Err(Error::not_supported("compressed inline bit-packing"));
            }
            bitpacking::decode_inline_bits(
                packing.uncompressed_bits_per_value,
                &buffer(buffers, 0)?,
                num_values,
            )
        }
        C::Rle(rle_encoding) => {
            let bits = flat_bits(child(&rle_encoding.values, "rle")?)?;
            if flat_bits(child(&rle_encoding.run_lengths, "rle")?)? != 8 {
                return Err(Error::not_supported("run lengths wider than 8 bits"));
            }
            rle::decode(&buffer(buffers, 0)?, &buffer(buffers, 1)?, bits, num_values)
        }
        C::ByteStreamSplit(split) => {
            let bits = flat_bits(child(&split.values, "byte-stream split")?)?;
            bss::decode(&buffer(buffers, 0)?, bits, num_values)
        }
        C::General(general_encoding) => {
            let scheme = scheme(general_encoding.compression.as_ref())?;
            let mut inner = buffers.to_vec();
            let first = inner
                .first_mut()
                .ok_or_else(|| Error::corrupt("general compression of a chunk without buffers"))?;
            *first = general::decompress(scheme, first, MAX_CHUNK_BYTES)?;
            miniblock(
                child(&general_encoding.values, "general")?,
                &inner,
                num_values,
            )
        }
        C::Fsst(fsst) => {
            let values = miniblock(child(&fsst.values, "fsst")?, buffers, num_values)?;
            fsst::decompress_with_table(&fsst.symbol_table, values)
        }
        C::FixedSizeList(list) => {
            let dimension = usize::try_from(list.items_per_value)
                .map_err(|_| Error::corrupt("fixed-size list dimension too large"))?;
            let items_count = num_values
                .checked_mul(dimension)
                .ok_or_else(|| Error::corrupt("fixed-size list item count overflows"))?;
            let values_encoding = child(&list.values, "fixed-size list")?;
            // With item nulls, the items' validity bitmap comes first, then the items.
            let (item_validity, item_buffers) = if list.has_validity {
                let bits = buffer(buffers, 0)?;
                if bits.len() * 8 < items_count {
                    return Err(Error::corrupt("fixed-size list item validity is short"));
                }
                let validity = arrow_buffer::BooleanBuffer::new(
                    arrow_buffer::Buffer::from(bits),
                    0,
                    items_count,
                );
                (Some(validity), buffers.get(1..).unwrap_or_default())
            } else {
                (None, buffers)
            };
            let items = miniblock(values_encoding, item_buffers, items_count)?;
            Ok(DataBlock::FixedSizeList {
                dimension,
                items: Box::new(items),
                item_validity,
                num_values,
            })
        }
        C::PackedStruct(packed) => packed_struct(
            &packed.bits_per_value,
            child(&packed.values, "packed struct")?,
            buffers,
            num_values,
        ),
        other => Err(Error::not_supported(format!(
            "compressive encoding {} in a mini-block",
            name(other)
        ))),
    }
}

/// The values of `ranges` (in order) of one mini-block chunk holding `num_values` values.
/// Bit-packed values are unpacked one by one and FSST strings are selected before they are
/// decompressed; other encodings decode the chunk and cut the ranges out of it.
pub fn miniblock_rows(
    encoding: &pb::CompressiveEncoding,
    buffers: &[Bytes],
    num_values: usize,
    ranges: &[Range<usize>],
) -> Result<DataBlock> {
    if let [only] = ranges
        && *only == (0..num_values)
    {
        return miniblock(encoding, buffers, num_values);
    }
    match variant(encoding)? {
        C::InlineBitpacking(packing) if packing.values.is_none() => bitpacking::select_inline_bits(
            packing.uncompressed_bits_per_value,
            &buffer(buffers, 0)?,
            num_values,
            ranges,
        ),
        C::General(general_encoding) => {
            let scheme = scheme(general_encoding.compression.as_ref())?;
            let mut inner = buffers.to_vec();
            let first = inner
                .first_mut()
                .ok_or_else(|| Error::corrupt("general compression of a chunk without buffers"))?;
            *first = general::decompress(scheme, first, MAX_CHUNK_BYTES)?;
            miniblock_rows(
                child(&general_encoding.values, "general")?,
                &inner,
                num_values,
                ranges,
            )
        }
        C::Rle(rle_encoding) => {
            let bits = flat_bits(child(&rle_encoding.values, "rle")?)?;
            if flat_bits(child(&rle_encoding.run_lengths, "rle")?)? != 8 {
                return Err(Error::not_supported("run lengths wider than 8 bits"));
            }
            let (values, lengths) = (buffer(buffers, 0)?, buffer(buffers, 1)?);
            rle::select(&values, &lengths, bits, num_values, ranges)
        }
        C::Fsst(fsst) => {
            let values = miniblock_rows(child(&fsst.values, "fsst")?, buffers, num_values, ranges)?;
            fsst::decompress_with_table(&fsst.symbol_table, values)
        }
        _ => miniblock(encoding, buffers, num_values)?.select(ranges),
    }
}

/// [`miniblock_rows`], with the values added to `joiner`: a whole chunk of bit-packed values
/// or FSST strings (under general compression or not) is decoded straight into the joined
/// values; anything else is decoded into a block and pushed.
pub fn miniblock_rows_into(
    encoding: &pb::CompressiveEncoding,
    buffers: &[Bytes],
    num_values: usize,
    ranges: &[Range<usize>],
    joiner: &mut BlockJoiner,
) -> Result<()> {
    let whole = matches!(ranges, [only] if *only == (0..num_values));
    if whole {
        match variant(encoding)? {
            C::InlineBitpacking(packing) if packing.values.is_none() => {
                return joiner.push_inline_bits(
                    packing.uncompressed_bits_per_value,
                    &buffer(buffers, 0)?,
                    num_values,
                );
            }
            C::General(general_encoding) => {
                let scheme = scheme(general_encoding.compression.as_ref())?;
                let values = child(&general_encoding.values, "general")?;
                if let C::Flat(flat) = variant(values)?
                    && flat.data.is_none()
                    && joiner.push_decompressed_in_place(
                        scheme,
                        &buffer(buffers, 0)?,
                        flat.bits_per_value,
                        num_values,
                        MAX_CHUNK_BYTES,
                    )?
                {
                    return Ok(());
                }
                let mut inner = buffers.to_vec();
                let first = inner.first_mut().ok_or_else(|| {
                    Error::corrupt("general compression of a chunk without buffers")
                })?;
                *first = general::decompress(scheme, first, MAX_CHUNK_BYTES)?;
                return miniblock_rows_into(values, &inner, num_values, ranges, joiner);
            }
            C::Rle(rle_encoding) => {
                let bits = flat_bits(child(&rle_encoding.values, "rle")?)?;
                if flat_bits(child(&rle_encoding.run_lengths, "rle")?)? != 8 {
                    return Err(Error::not_supported("run lengths wider than 8 bits"));
                }
                let (values, lengths) = (buffer(buffers, 0)?, buffer(buffers, 1)?);
                return joiner.push_runs(&values, &lengths, bits, num_values);
            }
            C::Fsst(fsst) => {
                let codes = miniblock(child(&fsst.values, "fsst")?, buffers, num_values)?;
                check_count(&codes, num_values)?;
                return joiner.push_fsst(&fsst.symbol_table, codes);
            }
            _ => {}
        }
    }
    let values = miniblock_rows(encoding, buffers, num_values, ranges)?;
    check_count(&values, ranges.iter().map(Range::len).sum())?;
    joiner.push(values)
}

fn check_count(block: &DataBlock, expected: usize) -> Result<()> {
    if block.num_values() != expected {
        return Err(Error::corrupt(
            "a chunk decoded to the wrong number of values",
        ));
    }
    Ok(())
}

/// Splits row-major packed struct values into one block per child.
fn packed_struct(
    bits_per_value: &[u64],
    values: &pb::CompressiveEncoding,
    buffers: &[Bytes],
    num_values: usize,
) -> Result<DataBlock> {
    if bits_per_value
        .iter()
        .any(|b| !b.is_multiple_of(8) || *b == 0)
    {
        return Err(Error::not_supported(
            "packed struct children that are not whole bytes",
        ));
    }
    let total: u64 = bits_per_value.iter().sum();
    let DataBlock::Fixed {
        data,
        bits_per_value: stored,
        ..
    } = miniblock(values, buffers, num_values)?
    else {
        return Err(Error::corrupt("packed struct values are not fixed-width"));
    };
    if stored != total {
        return Err(Error::corrupt(format!(
            "packed struct rows have {stored} bits, children need {total}"
        )));
    }
    let row = (total / 8) as usize;
    let mut children = Vec::with_capacity(bits_per_value.len());
    let mut at = 0usize;
    for &bits in bits_per_value {
        let width = (bits / 8) as usize;
        let mut column = Vec::with_capacity(width * num_values);
        for record in data.chunks_exact(row).take(num_values) {
            column.extend_from_slice(&record[at..at + width]);
        }
        children.push(DataBlock::Fixed {
            data: Bytes::from(column),
            bits_per_value: bits,
            num_values,
        });
        at += width;
    }
    Ok(DataBlock::Struct {
        children,
        num_values,
    })
}

/// Decodes a whole buffer holding `num_values` values (dictionaries, rep/def levels),
/// expanding to at most `limit` bytes.
pub fn block(
    encoding: &pb::CompressiveEncoding,
    buffer: Bytes,
    num_values: usize,
    limit: u64,
) -> Result<DataBlock> {
    match variant(encoding)? {
        C::Flat(flat) => {
            let data = match &flat.data {
                None => buffer,
                Some(compression) => {
                    general::decompress(scheme(Some(compression))?, &buffer, limit)?
                }
            };
            fixed(data, flat.bits_per_value, num_values)
        }
        C::Variable(var) => {
            let data = match &var.values {
                None => buffer,
                Some(compression) => {
                    general::decompress(scheme(Some(compression))?, &buffer, limit)?
                }
            };
            variable::decode_block(data, num_values)
        }
        C::InlineBitpacking(packing) => {
            bitpacking::decode_inline_bits(packing.uncompressed_bits_per_value, &buffer, num_values)
        }
        C::OutOfLineBitpacking(packing) => {
            let width = flat_bits(child(&packing.values, "out-of-line bit-packing")?)?;
            bitpacking::decode_out_of_line_bits(
                packing.uncompressed_bits_per_value,
                &buffer,
                width,
                num_values,
            )
        }
        C::Rle(rle_encoding) => {
            let bits = flat_bits(child(&rle_encoding.values, "rle")?)?;
            rle::decode_block(&buffer, bits, num_values)
        }
        C::General(general_encoding) => {
            let scheme = scheme(general_encoding.compression.as_ref())?;
            let data = general::decompress(scheme, &buffer, limit)?;
            block(
                child(&general_encoding.values, "general")?,
                data,
                num_values,
                limit,
            )
        }
        other => Err(Error::not_supported(format!(
            "compressive encoding {} in a block",
            name(other)
        ))),
    }
}

/// Decodes rep or def levels: `None` means raw u16 values.
pub fn levels(
    encoding: Option<&pb::CompressiveEncoding>,
    buffer: Bytes,
    num_values: usize,
) -> Result<Vec<u16>> {
    let decoded = match encoding {
        None => fixed(buffer, 16, num_values)?,
        Some(encoding) => block(encoding, buffer, num_values, (num_values as u64) * 2)?,
    };
    let levels = decoded.to_u16s()?;
    if levels.len() != num_values {
        return Err(Error::corrupt(format!(
            "decoded {} levels, expected {num_values}",
            levels.len()
        )));
    }
    Ok(levels)
}

/// How each value of a full-zip page is stored.
#[derive(Clone, Debug)]
pub enum FullZipValues {
    /// Fixed-width values of `bits` bits (possibly fixed-size lists of them).
    Fixed {
        /// Bits per value.
        bits: u64,
        /// Items per value when the values are fixed-size lists.
        dimension: Option<usize>,
    },
    /// Variable-width values, each possibly compressed on its own.
    Variable {
        /// Per-value FSST table.
        fsst: Option<SymbolTable>,
        /// Per-value general compression.
        general: Option<Scheme>,
    },
}

impl FullZipValues {
    /// Interprets a full-zip page's value compression.
    pub fn parse(encoding: &pb::CompressiveEncoding) -> Result<Self> {
        match variant(encoding)? {
            C::Flat(flat) if flat.data.is_none() => Ok(FullZipValues::Fixed {
                bits: flat.bits_per_value,
                dimension: None,
            }),
            C::FixedSizeList(list) if !list.has_validity => {
                let bits = flat_bits(child(&list.values, "fixed-size list")?)?;
                let dimension = usize::try_from(list.items_per_value)
                    .map_err(|_| Error::corrupt("fixed-size list dimension too large"))?;
                Ok(FullZipValues::Fixed {
                    bits,
                    dimension: Some(dimension),
                })
            }
            C::Variable(var) if var.values.is_none() => Ok(FullZipValues::Variable {
                fsst: None,
                general: None,
            }),
            C::Fsst(fsst) => {
                let table = SymbolTable::parse(&fsst.symbol_table)?;
                match Self::parse(child(&fsst.values, "fsst")?)? {
                    FullZipValues::Variable {
                        fsst: None,
                        general,
                    } => Ok(FullZipValues::Variable {
                        fsst: Some(table),
                        general,
                    }),
                    _ => Err(Error::not_supported(
                        "this FSST arrangement in a full-zip page",
                    )),
                }
            }
            C::General(general_encoding) => {
                let scheme = scheme(general_encoding.compression.as_ref())?;
                match Self::parse(child(&general_encoding.values, "general")?)? {
                    FullZipValues::Variable {
                        fsst,
                        general: None,
                    } => Ok(FullZipValues::Variable {
                        fsst,
                        general: Some(scheme),
                    }),
                    _ => Err(Error::not_supported(
                        "general compression of fixed-width full-zip values",
                    )),
                }
            }
            other => Err(Error::not_supported(format!(
                "compressive encoding {} in a full-zip page",
                name(other)
            ))),
        }
    }

    /// Decodes one stored variable-width value.
    pub fn decode_value(&self, stored: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let FullZipValues::Variable { fsst, general } = self else {
            return Err(Error::internal("not variable-width"));
        };
        let decompressed;
        let bytes = match general {
            Some(scheme) => {
                decompressed = general::decompress(*scheme, stored, MAX_CHUNK_BYTES * 16)?;
                decompressed.as_ref()
            }
            None => stored,
        };
        match fsst {
            Some(table) => table.decompress_into(bytes, out),
            None => {
                out.extend_from_slice(bytes);
                Ok(())
            }
        }
    }
}

fn name(variant: &C) -> &'static str {
    match variant {
        C::Flat(_) => "flat",
        C::Variable(_) => "variable",
        C::Constant(_) => "constant",
        C::OutOfLineBitpacking(_) => "out_of_line_bitpacking",
        C::InlineBitpacking(_) => "inline_bitpacking",
        C::Fsst(_) => "fsst",
        C::Dictionary(_) => "dictionary",
        C::Rle(_) => "rle",
        C::ByteStreamSplit(_) => "byte_stream_split",
        C::General(_) => "general",
        C::FixedSizeList(_) => "fixed_size_list",
        C::PackedStruct(_) => "packed_struct",
        C::VariablePackedStruct(_) => "variable_packed_struct",
    }
}
