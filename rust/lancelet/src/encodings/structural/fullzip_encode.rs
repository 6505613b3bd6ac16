//! Writing full-zip pages (the layout is described in [`super::fullzip`]).

use bytes::Bytes;

use crate::encodings::EncodedPage;
use crate::encodings::compression::DataBlock;
use crate::encodings::compression::encode::{buffer_compression, encoding, flat_encoding};
use crate::encodings::compression::fsl::FslValues;
use crate::encodings::general::{self, Scheme};
use crate::encodings::structural::page::PageContext;
use crate::error::{Error, Result};
use crate::format::PageEncoding;
use crate::format::pb::v2_1 as pb;
use pb::compressive_encoding::Compression as C;

fn bit_length(value: u16) -> u32 {
    16 - value.leading_zeros()
}

/// How the variable-width values of a full-zip page are compressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueCompression {
    /// Stored as they are.
    None,
    /// Each value compressed on its own with a general scheme.
    PerValue(Scheme),
    /// The values are already FSST-compressed with this serialized symbol table.
    Fsst(Vec<u8>),
}

/// Writes a full-zip page. `values` holds one value per visible entry (null ones included,
/// already zeroed or emptied); `compress` says how variable-width values are compressed.
pub fn encode(
    ctx: &PageContext,
    rep: Option<&[u16]>,
    def: Option<&[u16]>,
    num_entries: usize,
    values: &DataBlock,
    compress: ValueCompression,
) -> Result<EncodedPage> {
    let bits_rep = rep.map_or(0, |_| bit_length(ctx.codes.max_rep));
    let bits_def = def.map_or(0, |_| bit_length(ctx.codes.max_def));
    let control_bytes = match bits_rep + bits_def {
        0 => 0,
        1..=8 => 1,
        9..=16 => 2,
        _ => 4,
    };
    let (details, value_compression, value_part) = describe(values, &compress)?;
    let mut data = Vec::new();
    let mut row_starts: Vec<u64> = Vec::with_capacity(ctx.num_rows as usize + 1);
    let mut visible = 0usize;
    for entry in 0..num_entries {
        let r = rep.map_or(0, |r| r[entry]);
        let d = def.map_or(0, |d| d[entry]);
        if rep.is_none() || r == ctx.codes.max_rep {
            row_starts.push(data.len() as u64);
        }
        if control_bytes > 0 {
            let word = (u32::from(r) << bits_def) | u32::from(d);
            data.extend_from_slice(&word.to_le_bytes()[..control_bytes]);
        }
        if d > ctx.max_visible_def {
            continue;
        }
        value_part(visible, d == 0, &mut data)?;
        visible += 1;
    }
    if visible != values.num_values() {
        return Err(Error::internal("full-zip entries and values disagree"));
    }
    row_starts.push(data.len() as u64);
    let total = data.len() as u64;
    let mut buffers = vec![Bytes::from(data)];
    let variable = matches!(details, pb::full_zip_layout::Details::BitsPerOffset(_));
    if rep.is_some() || variable {
        let width = if total <= u64::from(u8::MAX) {
            1
        } else if total <= u64::from(u16::MAX) {
            2
        } else if total <= u64::from(u32::MAX) {
            4
        } else {
            8
        };
        let index: Vec<u8> = row_starts
            .iter()
            .flat_map(|o| o.to_le_bytes()[..width].to_vec())
            .collect();
        buffers.push(Bytes::from(index));
    }
    let layout = pb::FullZipLayout {
        bits_rep,
        bits_def,
        details: Some(details),
        num_items: u32::try_from(num_entries).map_err(|_| Error::internal("page too large"))?,
        num_visible_items: u32::try_from(visible).map_err(|_| Error::internal("page too large"))?,
        value_compression: Some(value_compression),
        layers: ctx.layers.iter().map(|l| l.to_proto()).collect(),
    };
    Ok(EncodedPage {
        buffers,
        num_rows: ctx.num_rows,
        encoding: PageEncoding::Structural(pb::PageLayout {
            layout: Some(pb::page_layout::Layout::FullZipLayout(layout)),
        }),
    })
}

type ValueWriter<'a> = Box<dyn Fn(usize, bool, &mut Vec<u8>) -> Result<()> + 'a>;

/// The layout details, the value encoding, and a writer of value `i` (`valid` false for
/// nulls).
fn describe<'a>(
    values: &'a DataBlock,
    compress: &ValueCompression,
) -> Result<(
    pb::full_zip_layout::Details,
    pb::CompressiveEncoding,
    ValueWriter<'a>,
)> {
    use pb::full_zip_layout::Details;
    match values {
        DataBlock::Fixed {
            data,
            bits_per_value,
            ..
        } => {
            if !bits_per_value.is_multiple_of(8) {
                return Err(Error::internal("full-zip values must be whole bytes"));
            }
            let width = (*bits_per_value / 8) as usize;
            let write: ValueWriter = Box::new(move |i, _, out| {
                let value = data
                    .get(i * width..(i + 1) * width)
                    .ok_or_else(|| Error::internal("value out of range"))?;
                out.extend_from_slice(value);
                Ok(())
            });
            Ok((
                Details::BitsPerValue(*bits_per_value as u32),
                flat_encoding(*bits_per_value),
                write,
            ))
        }
        DataBlock::FixedSizeList { .. } => {
            let lists = FslValues::new(values)?;
            let shape = lists.shape();
            let record_bits = shape.record_bytes()? * 8;
            let encoding = lists.encoding();
            let write: ValueWriter = Box::new(move |i, _, out| lists.write_record(i, out));
            Ok((
                Details::BitsPerValue(u32::try_from(record_bits).map_err(|_| {
                    Error::invalid_argument("fixed-size list values too large for a page")
                })?),
                encoding,
                write,
            ))
        }
        DataBlock::Variable {
            offsets,
            offset_bits,
            data,
            ..
        } => {
            let width = (*offset_bits / 8) as usize;
            let scheme = match compress {
                ValueCompression::PerValue(scheme) => Some(*scheme),
                _ => None,
            };
            let read = move |i: usize| -> Result<usize> {
                let word = offsets
                    .get(i * width..(i + 1) * width)
                    .ok_or_else(|| Error::internal("offset out of range"))?;
                let mut full = [0u8; 8];
                full[..width].copy_from_slice(word);
                Ok(u64::from_le_bytes(full) as usize)
            };
            let write: ValueWriter = Box::new(move |i, valid, out| {
                if !valid {
                    return Ok(());
                }
                let (start, end) = (read(i)?, read(i + 1)?);
                let raw = data
                    .get(start..end)
                    .ok_or_else(|| Error::internal("value out of range"))?;
                let stored = match scheme {
                    Some(scheme) => general::compress(scheme, Some(0), raw)?,
                    None => Bytes::copy_from_slice(raw),
                };
                out.extend_from_slice(&(stored.len() as u64).to_le_bytes()[..width]);
                out.extend_from_slice(&stored);
                Ok(())
            });
            let variable = encoding(C::Variable(Box::new(pb::Variable {
                offsets: Some(Box::new(flat_encoding(u64::from(*offset_bits)))),
                values: None,
            })));
            let value_encoding = match compress {
                ValueCompression::None => variable,
                ValueCompression::PerValue(scheme) => encoding(C::General(Box::new(pb::General {
                    compression: Some(buffer_compression(*scheme, Some(0))),
                    values: Some(Box::new(variable)),
                }))),
                ValueCompression::Fsst(table) => encoding(C::Fsst(Box::new(pb::Fsst {
                    symbol_table: table.clone(),
                    values: Some(Box::new(variable)),
                }))),
            };
            Ok((Details::BitsPerOffset(*offset_bits), value_encoding, write))
        }
        DataBlock::Struct { .. } => Err(Error::not_supported("packed structs in full-zip pages")),
    }
}
