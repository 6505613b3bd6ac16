//! Full-zip pages: large values stored one after another, each with its levels.
//!
//! Buffer 0 holds one record per level entry: `[control word][value]`. The control word is
//! `rep << bits_def | def` in 1, 2 or 4 bytes (none when the page has no levels). Entries that
//! carry no value (null or empty lists) have only the control word. Fixed-width values always
//! take their full width (null values are zero-filled; a fixed-size list with item nulls starts
//! with its items' validity bitmap). Variable-width values are `[length as u32 or u64][bytes]`,
//! and null values have no value part.
//!
//! Buffer 1, the repetition index, exists when the page has lists or variable-width values: the
//! byte offset of each row's first record plus the total, each in 1, 2, 4 or 8 bytes (the
//! width is the buffer size divided by rows + 1). Without it, row i starts at
//! `i · (control word + value width)`.

use std::ops::Range;

use arrow_schema::DataType;
use bytes::Bytes;

use crate::encodings::compression::DataBlock;
use crate::encodings::compression::decode::FullZipValues;
use crate::encodings::compression::fsl::FslShape;
use crate::encodings::structural::page::{PageContext, leaf_levels};
use crate::encodings::structural::repdef::LeafLevels;
use crate::error::{Error, Result};
use crate::format::pb::v2_1 as pb;
use crate::format::{BufferRange, FileVersion};

/// A full-zip page; see the module docs.
#[derive(Debug)]
pub struct FullZipPage {
    ctx: PageContext,
    bits_rep: u32,
    bits_def: u32,
    control_bytes: usize,
    values: Values,
    data: BufferRange,
    rep_index: Option<BufferRange>,
}

#[derive(Debug)]
enum Values {
    /// Fixed-width values of `bytes` bytes, or (with a shape) fixed-size list records.
    Fixed {
        bytes: usize,
        lists: Option<FslShape>,
    },
    /// Variable-width values with `offset_bytes`-byte lengths.
    Variable {
        offset_bytes: usize,
        decoder: FullZipValues,
    },
    /// 2.2 packed structs with variable-width children: each row is `[row length]` then every
    /// child's value, fixed-width ones as they are and variable-width ones after their length.
    PackedRows {
        offset_bytes: usize,
        fields: Vec<PackedField>,
    },
}

/// How one child of a variable packed struct is stored in each row.
#[derive(Debug, Clone, Copy)]
enum PackedField {
    /// `bytes` bytes.
    Fixed { bytes: usize },
    /// A length of `length_bytes` bytes, then that many bytes.
    Variable { length_bytes: usize },
}

impl FullZipPage {
    /// Checks the layout against the page's buffers.
    pub fn new(
        layout: &pb::FullZipLayout,
        buffers: &[BufferRange],
        num_rows: u64,
        leaf_type: &DataType,
        version: FileVersion,
    ) -> Result<Self> {
        let ctx = PageContext::new(&layout.layers, leaf_type, num_rows, version)?;
        let (bits_rep, bits_def) = (layout.bits_rep, layout.bits_def);
        if bits_rep > 16 || bits_def > 16 {
            return Err(Error::corrupt("full-zip control words wider than 32 bits"));
        }
        let control_bytes = match bits_rep + bits_def {
            0 => 0,
            1..=8 => 1,
            9..=16 => 2,
            _ => 4,
        };
        let encoding = layout
            .value_compression
            .as_ref()
            .ok_or_else(|| Error::corrupt("full-zip page has no value compression"))?;
        let values = match layout.details {
            Some(pb::full_zip_layout::Details::BitsPerValue(bits)) => {
                if bits == 0 || !bits.is_multiple_of(8) {
                    return Err(Error::not_supported(format!(
                        "full-zip values of {bits} bits"
                    )));
                }
                let bytes = (bits / 8) as usize;
                let lists = fixed_shape(encoding)?;
                if let Some(shape) = &lists
                    && shape.record_bytes()? != bytes
                {
                    return Err(Error::corrupt(
                        "full-zip fixed-size list width does not add up",
                    ));
                }
                Values::Fixed { bytes, lists }
            }
            Some(pb::full_zip_layout::Details::BitsPerOffset(bits)) => {
                let offset_bytes = match bits {
                    32 => 4,
                    64 => 8,
                    other => {
                        return Err(Error::corrupt(format!("full-zip lengths of {other} bits")));
                    }
                };
                match packed_fields(encoding)? {
                    Some(fields) => Values::PackedRows {
                        offset_bytes,
                        fields,
                    },
                    None => Values::Variable {
                        offset_bytes,
                        decoder: FullZipValues::parse(encoding)?,
                    },
                }
            }
            None => {
                return Err(Error::corrupt(
                    "full-zip page has neither value nor offset width",
                ));
            }
        };
        let data = *buffers
            .first()
            .ok_or_else(|| Error::corrupt("full-zip page has no data buffer"))?;
        let needs_index = ctx.has_rep() || !matches!(values, Values::Fixed { .. });
        let rep_index = if needs_index {
            Some(
                *buffers
                    .get(1)
                    .ok_or_else(|| Error::corrupt("full-zip page has no repetition index"))?,
            )
        } else {
            None
        };
        if let Values::Fixed { bytes, .. } = &values
            && rep_index.is_none()
        {
            let expected = num_rows.saturating_mul((control_bytes + bytes) as u64);
            if data.size != expected {
                return Err(Error::corrupt(format!(
                    "full-zip page of {num_rows} rows should have {expected} bytes, has {}",
                    data.size
                )));
            }
        }
        Ok(Self {
            ctx,
            bits_rep,
            bits_def,
            control_bytes,
            values,
            data,
            rep_index,
        })
    }

    fn index_width(&self, index: &BufferRange) -> Result<u64> {
        let entries = self.ctx.num_rows + 1;
        if !index.size.is_multiple_of(entries) {
            return Err(Error::corrupt(
                "full-zip repetition index has a partial entry",
            ));
        }
        match index.size / entries {
            width @ (1 | 2 | 4 | 8) => Ok(width),
            other => Err(Error::corrupt(format!(
                "full-zip repetition index entries of {other} bytes"
            ))),
        }
    }

    fn is_whole(&self, ranges: &[Range<u64>]) -> bool {
        matches!(ranges, [only] if only.start == 0 && only.end == self.ctx.num_rows)
    }

    /// Round 1: the rows' bytes (fixed width without an index), or their index entries, or for
    /// whole pages both buffers.
    pub fn plan(&self, ranges: &[Range<u64>]) -> Result<Vec<Range<u64>>> {
        match (&self.rep_index, &self.values) {
            (None, Values::Fixed { bytes, .. }) => {
                let stride = (self.control_bytes + bytes) as u64;
                Ok(ranges
                    .iter()
                    .map(|r| {
                        self.data.position + r.start * stride..self.data.position + r.end * stride
                    })
                    .collect())
            }
            (Some(index), _) if self.is_whole(ranges) => Ok(vec![index.range(), self.data.range()]),
            (Some(index), _) => {
                let width = self.index_width(index)?;
                Ok(ranges
                    .iter()
                    .map(|r| index.position + r.start * width..index.position + (r.end + 1) * width)
                    .collect())
            }
            (None, _) => Err(Error::internal("variable full-zip page without an index")),
        }
    }

    /// Round 2: the rows' bytes located by their index entries.
    pub fn plan_second(&self, ranges: &[Range<u64>], first: &[Bytes]) -> Result<Vec<Range<u64>>> {
        let Some(index) = &self.rep_index else {
            return Ok(Vec::new());
        };
        if self.is_whole(ranges) {
            return Ok(Vec::new());
        }
        let width = self.index_width(index)?;
        ranges
            .iter()
            .zip(first)
            .map(|(_, entries)| {
                let offsets = read_offsets(entries, width)?;
                let (Some(&start), Some(&end)) = (offsets.first(), offsets.last()) else {
                    return Err(Error::corrupt("full-zip index entries are missing"));
                };
                if start > end || end > self.data.size {
                    return Err(Error::corrupt(
                        "full-zip index points outside the data buffer",
                    ));
                }
                Ok(self.data.position + start..self.data.position + end)
            })
            .collect()
    }

    /// Whether a read of consecutive rows becomes the values as it is (fixed-width records
    /// without rep/def control words), without a copy.
    pub fn decodes_in_place(&self) -> bool {
        self.control_bytes == 0 && matches!(self.values, Values::Fixed { .. })
    }

    /// Decodes the records of the rows of `ranges`.
    pub fn decode(
        &self,
        ranges: &[Range<u64>],
        first: &[Bytes],
        second: &[Bytes],
    ) -> Result<LeafLevels> {
        let pieces: Vec<(Bytes, u64)> = match &self.rep_index {
            None => first
                .iter()
                .cloned()
                .zip(ranges.iter().map(|r| r.end - r.start))
                .collect(),
            Some(_) if self.is_whole(ranges) => {
                let data = first
                    .get(1)
                    .cloned()
                    .ok_or_else(|| Error::internal("data missing"))?;
                vec![(data, self.ctx.num_rows)]
            }
            Some(_) => second
                .iter()
                .cloned()
                .zip(ranges.iter().map(|r| r.end - r.start))
                .collect(),
        };
        // Without rep/def control words, fixed-width records are the values back to back: a
        // single read becomes the values as it is, without a copy.
        if let (
            [(data, rows)],
            0,
            Values::Fixed {
                bytes: width,
                lists,
            },
        ) = (pieces.as_slice(), self.control_bytes, &self.values)
        {
            let rows = usize::try_from(*rows)
                .map_err(|_| Error::corrupt("full-zip read has too many rows"))?;
            let block = match lists {
                None if width.checked_mul(rows) == Some(data.len()) => DataBlock::Fixed {
                    data: data.clone(),
                    bits_per_value: (*width * 8) as u64,
                    num_values: rows,
                },
                None => return Err(Error::corrupt("full-zip values do not add up")),
                Some(shape) => shape.split_records(data, rows)?,
            };
            let values = block.into_array(&self.ctx.leaf_type)?;
            return leaf_levels(&self.ctx, None, None, values, rows);
        }
        let mut records = Records::default();
        for (bytes, rows) in pieces {
            self.parse(&bytes, rows, &mut records)?;
        }
        let values = self
            .values_block(&mut records)?
            .into_array(&self.ctx.leaf_type)?;
        let rep = (self.bits_rep > 0).then_some(records.rep);
        let def = (self.bits_def > 0).then_some(records.def);
        leaf_levels(&self.ctx, rep, def, values, records.entries)
    }

    /// Parses the records of `rows` rows from `bytes`.
    fn parse(&self, bytes: &Bytes, rows: u64, records: &mut Records) -> Result<()> {
        let max_rep = self.ctx.codes.max_rep;
        let def_mask = (1u32 << self.bits_def) - 1;
        let mut at = 0usize;
        let mut rows_seen = 0u64;
        while at < bytes.len() {
            let (rep, def) = if self.control_bytes == 0 {
                (0, 0)
            } else {
                let word = bytes
                    .get(at..at + self.control_bytes)
                    .ok_or_else(|| Error::corrupt("full-zip record is cut short"))?;
                let mut full = [0u8; 4];
                full[..self.control_bytes].copy_from_slice(word);
                let word = u32::from_le_bytes(full);
                at += self.control_bytes;
                ((word >> self.bits_def) as u16, (word & def_mask) as u16)
            };
            if max_rep == 0 || rep == max_rep {
                rows_seen += 1;
            }
            records.rep.push(rep);
            records.def.push(def);
            records.entries += 1;
            if def > self.ctx.max_visible_def {
                continue;
            }
            match &self.values {
                Values::Fixed { bytes: width, .. } => {
                    let value = bytes
                        .get(at..at + width)
                        .ok_or_else(|| Error::corrupt("full-zip value is cut short"))?;
                    records.fixed.extend_from_slice(value);
                    at += width;
                }
                Values::Variable {
                    offset_bytes,
                    decoder,
                } => {
                    if def == 0 {
                        let word = bytes
                            .get(at..at + offset_bytes)
                            .ok_or_else(|| Error::corrupt("full-zip length is cut short"))?;
                        let mut full = [0u8; 8];
                        full[..*offset_bytes].copy_from_slice(word);
                        at += offset_bytes;
                        let len = usize::try_from(u64::from_le_bytes(full))
                            .map_err(|_| Error::corrupt("full-zip value too long"))?;
                        let stored = bytes
                            .get(at..at.saturating_add(len))
                            .ok_or_else(|| Error::corrupt("full-zip value is cut short"))?;
                        decoder.decode_value(stored, &mut records.variable)?;
                        at += len;
                    }
                    records.ends.push(records.variable.len() as u64);
                }
                Values::PackedRows {
                    offset_bytes,
                    fields,
                } => {
                    let row_bytes = if def == 0 {
                        let word = bytes
                            .get(at..at + offset_bytes)
                            .ok_or_else(|| Error::corrupt("full-zip row length is cut short"))?;
                        let mut full = [0u8; 8];
                        full[..*offset_bytes].copy_from_slice(word);
                        at += offset_bytes;
                        let len = usize::try_from(u64::from_le_bytes(full))
                            .map_err(|_| Error::corrupt("full-zip row too long"))?;
                        let row = bytes
                            .get(at..at.saturating_add(len))
                            .ok_or_else(|| Error::corrupt("full-zip row is cut short"))?;
                        at += len;
                        Some(row)
                    } else {
                        None
                    };
                    records.push_packed_row(fields, row_bytes)?;
                }
            }
            records.visible += 1;
        }
        if rows_seen != rows {
            return Err(Error::corrupt(format!(
                "full-zip bytes hold {rows_seen} rows, expected {rows}"
            )));
        }
        Ok(())
    }

    fn values_block(&self, records: &mut Records) -> Result<DataBlock> {
        let num_values = records.visible;
        match &self.values {
            Values::PackedRows { fields, .. } => {
                let children = fields
                    .iter()
                    .zip(std::mem::take(&mut records.packed))
                    .map(|(field, column)| match field {
                        PackedField::Fixed { bytes } => DataBlock::Fixed {
                            data: Bytes::from(column.data),
                            bits_per_value: (*bytes * 8) as u64,
                            num_values,
                        },
                        PackedField::Variable { .. } => {
                            let offsets: Vec<u8> = std::iter::once(0u64)
                                .chain(column.ends)
                                .flat_map(|o| o.to_le_bytes())
                                .collect();
                            DataBlock::Variable {
                                offsets: Bytes::from(offsets),
                                offset_bits: 64,
                                data: Bytes::from(column.data),
                                num_values,
                            }
                        }
                    })
                    .collect();
                Ok(DataBlock::Struct {
                    children,
                    num_values,
                })
            }
            Values::Variable { offset_bytes, .. } => {
                let mut offsets = Vec::with_capacity((num_values + 1) * offset_bytes);
                let push = |offsets: &mut Vec<u8>, value: u64| {
                    if *offset_bytes == 4 {
                        offsets.extend_from_slice(&(value as u32).to_le_bytes());
                    } else {
                        offsets.extend_from_slice(&value.to_le_bytes());
                    }
                };
                push(&mut offsets, 0);
                for &end in &records.ends {
                    if *offset_bytes == 4 && end > u64::from(u32::MAX) {
                        return Err(Error::not_supported(
                            "more than 4 GiB of values in one read",
                        ));
                    }
                    push(&mut offsets, end);
                }
                Ok(DataBlock::Variable {
                    offsets: Bytes::from(offsets),
                    offset_bits: (*offset_bytes * 8) as u32,
                    data: Bytes::from(std::mem::take(&mut records.variable)),
                    num_values,
                })
            }
            Values::Fixed { bytes, lists } => {
                let data = std::mem::take(&mut records.fixed);
                match lists {
                    None => Ok(DataBlock::Fixed {
                        data: Bytes::from(data),
                        bits_per_value: (*bytes * 8) as u64,
                        num_values,
                    }),
                    Some(shape) => shape.split_records(&Bytes::from(data), num_values),
                }
            }
        }
    }
}

/// Records parsed so far.
#[derive(Default)]
struct Records {
    rep: Vec<u16>,
    def: Vec<u16>,
    entries: usize,
    visible: usize,
    fixed: Vec<u8>,
    variable: Vec<u8>,
    ends: Vec<u64>,
    /// One column per child of a variable packed struct.
    packed: Vec<PackedColumn>,
}

/// The values of one packed-struct child gathered from the rows.
#[derive(Default)]
struct PackedColumn {
    data: Vec<u8>,
    ends: Vec<u64>,
}

impl Records {
    /// Splits one packed row (`None` for a null row) into its children.
    fn push_packed_row(&mut self, fields: &[PackedField], row: Option<&[u8]>) -> Result<()> {
        if self.packed.len() < fields.len() {
            self.packed.resize_with(fields.len(), PackedColumn::default);
        }
        let mut at = 0usize;
        for (field, column) in fields.iter().zip(self.packed.iter_mut()) {
            match (field, row) {
                (PackedField::Fixed { bytes }, Some(row)) => {
                    let value = row
                        .get(at..at + bytes)
                        .ok_or_else(|| Error::corrupt("packed row is shorter than its fields"))?;
                    column.data.extend_from_slice(value);
                    at += bytes;
                }
                (PackedField::Fixed { bytes }, None) => {
                    column.data.extend(std::iter::repeat_n(0, *bytes))
                }
                (PackedField::Variable { length_bytes }, Some(row)) => {
                    let word = row
                        .get(at..at + length_bytes)
                        .ok_or_else(|| Error::corrupt("packed row is shorter than its fields"))?;
                    let mut full = [0u8; 8];
                    full[..*length_bytes].copy_from_slice(word);
                    at += length_bytes;
                    let len = usize::try_from(u64::from_le_bytes(full))
                        .map_err(|_| Error::corrupt("packed value too long"))?;
                    let value = row
                        .get(at..at.saturating_add(len))
                        .ok_or_else(|| Error::corrupt("packed row is shorter than its fields"))?;
                    column.data.extend_from_slice(value);
                    at += len;
                    column.ends.push(column.data.len() as u64);
                }
                (PackedField::Variable { .. }, None) => column.ends.push(column.data.len() as u64),
            }
        }
        if let Some(row) = row
            && at != row.len()
        {
            return Err(Error::corrupt("packed row is longer than its fields"));
        }
        Ok(())
    }
}

/// The children of a 2.2 variable packed struct encoding (`None` for other encodings).
fn packed_fields(encoding: &pb::CompressiveEncoding) -> Result<Option<Vec<PackedField>>> {
    use pb::compressive_encoding::Compression as C;
    use pb::variable_packed_struct::field_encoding::Layout;
    let Some(C::VariablePackedStruct(packed)) = encoding.compression.as_ref() else {
        return Ok(None);
    };
    let fields = packed
        .fields
        .iter()
        .map(|field| {
            let plain = match field.value.as_ref().and_then(|v| v.compression.as_ref()) {
                Some(C::Flat(flat)) => flat.data.is_none(),
                Some(C::Variable(variable)) => variable.values.is_none(),
                _ => false,
            };
            if !plain {
                return Err(Error::not_supported(
                    "compressed children of variable packed structs",
                ));
            }
            match field.layout {
                Some(Layout::BitsPerValue(bits)) if bits.is_multiple_of(8) && bits > 0 => {
                    Ok(PackedField::Fixed {
                        bytes: (bits / 8) as usize,
                    })
                }
                Some(Layout::BitsPerLength(32)) => Ok(PackedField::Variable { length_bytes: 4 }),
                Some(Layout::BitsPerLength(64)) => Ok(PackedField::Variable { length_bytes: 8 }),
                _ => Err(Error::corrupt(
                    "variable packed struct child has no valid layout",
                )),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(fields))
}

/// The list shape of a fixed-width full-zip encoding (`None` for plain values).
fn fixed_shape(encoding: &pb::CompressiveEncoding) -> Result<Option<FslShape>> {
    use pb::compressive_encoding::Compression as C;
    match encoding.compression.as_ref() {
        Some(C::Flat(flat)) if flat.data.is_none() => Ok(None),
        Some(C::FixedSizeList(_)) => FslShape::parse(encoding),
        _ => Err(Error::not_supported(
            "this fixed-width encoding in a full-zip page",
        )),
    }
}

fn read_offsets(bytes: &[u8], width: u64) -> Result<Vec<u64>> {
    let width = width as usize;
    if !bytes.len().is_multiple_of(width) {
        return Err(Error::corrupt("full-zip index entries are cut short"));
    }
    Ok(bytes
        .chunks_exact(width)
        .map(|word| {
            let mut full = [0u8; 8];
            full[..width].copy_from_slice(word);
            u64::from_le_bytes(full)
        })
        .collect())
}
