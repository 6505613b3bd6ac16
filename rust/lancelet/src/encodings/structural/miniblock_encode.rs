//! Writing mini-block pages (the layout is described in [`super::miniblock`]).
//!
//! The values are already chunked and compressed ([`ChunkedValues`]). Levels follow the
//! values: a chunk holds the level entries up to and including the one carrying its last
//! value (entries without values that follow go to the next chunk; the last chunk takes all that
//! remain). Each chunk's levels are bit-packed on their own, with one width for the page.

use bytes::Bytes;

use crate::encodings::EncodedPage;
use crate::encodings::compression::bitpacking;
use crate::encodings::compression::encode::{ChunkedValues, encoding, flat_encoding};
use crate::encodings::structural::page::PageContext;
use crate::error::{Error, Result};
use crate::format::pb::v2_1 as pb;
use crate::format::{FileVersion, PageEncoding};
use pb::compressive_encoding::Compression as C;

/// The fill byte between the parts of a chunk.
const FILL: u8 = 0xFE;

/// A dictionary stored in the page.
#[derive(Clone, Debug)]
pub struct PageDictionary {
    /// How the dictionary buffer is encoded.
    pub encoding: pb::CompressiveEncoding,
    /// The dictionary buffer.
    pub buffer: Bytes,
    /// The number of dictionary items.
    pub num_items: u64,
}

/// Out-of-line bit-packing of u16 levels at the page's width.
struct LevelPacking {
    width: usize,
}

impl LevelPacking {
    fn for_levels(levels: &[u16]) -> Self {
        let max = levels.iter().copied().max().unwrap_or(0);
        Self {
            width: (16 - max.leading_zeros()) as usize,
        }
    }

    fn encoding(&self) -> pb::CompressiveEncoding {
        encoding(C::OutOfLineBitpacking(Box::new(pb::OutOfLineBitpacking {
            uncompressed_bits_per_value: 16,
            values: Some(Box::new(flat_encoding(self.width as u64))),
        })))
    }

    /// Packs one chunk's levels at the page's width (at least each chunk's own width).
    fn pack(&self, levels: &[u16]) -> Vec<u8> {
        bitpacking::encode_out_of_line_at(levels, self.width)
    }
}

/// Assembles a mini-block page from its levels and chunked values.
pub fn encode(
    ctx: &PageContext,
    rep: Option<&[u16]>,
    def: Option<&[u16]>,
    num_entries: usize,
    values: ChunkedValues,
    dictionary: Option<PageDictionary>,
) -> Result<EncodedPage> {
    let large = ctx.version >= FileVersion::V2_2;
    let num_values: usize = values.chunks.iter().map(|c| c.num_values).sum();
    // The entry carrying each value (without def levels, value `i` is entry `i`).
    let value_entries: Option<Vec<usize>> = def.map(|def| {
        (0..num_entries)
            .filter(|&e| def[e] <= ctx.max_visible_def)
            .collect()
    });
    let carrying = value_entries.as_ref().map_or(num_entries, Vec::len);
    if carrying != num_values {
        return Err(Error::internal(format!(
            "{carrying} entries carry values but {num_values} values were chunked"
        )));
    }
    let entry_of_value = |value: usize| match &value_entries {
        None => (value < num_entries).then_some(value),
        Some(entries) => entries.get(value).copied(),
    };
    let rep_packing = rep.map(LevelPacking::for_levels);
    let def_packing = def.map(LevelPacking::for_levels);
    let has_levels = rep.is_some() || def.is_some();

    // Room for the values and, per chunk, its header, levels and padding (a guess that
    // saves the regrowing copies of a large page).
    let value_bytes: usize = values
        .chunks
        .iter()
        .flat_map(|c| &c.buffers)
        .map(Bytes::len)
        .sum();
    let level_bytes = if has_levels { num_entries / 2 } else { 0 };
    let mut chunk_bytes: Vec<u8> =
        Vec::with_capacity(value_bytes + level_bytes + values.chunks.len() * 32);
    let mut table: Vec<u8> = Vec::with_capacity(values.chunks.len() * 4);
    let mut rep_index: Vec<u64> = Vec::new();
    let mut first_entry = 0usize;
    let mut first_value = 0usize;
    let chunk_count = values.chunks.len();
    for (index, chunk) in values.chunks.iter().enumerate() {
        let is_last = index + 1 == chunk_count;
        let last_value = first_value + chunk.num_values;
        let end_entry = if is_last {
            num_entries
        } else {
            entry_of_value(last_value.wrapping_sub(1))
                .map(|e| e + 1)
                .ok_or_else(|| Error::internal("chunk without values"))?
        };
        let entries = first_entry..end_entry;
        let num_levels = entries.len();
        if has_levels && num_levels > usize::from(u16::MAX) {
            return Err(Error::internal("a chunk holds more than 65535 levels"));
        }
        let rep_bytes = match (rep, &rep_packing) {
            (Some(rep), Some(packing)) => packing.pack(&rep[entries.clone()]),
            _ => Vec::new(),
        };
        let def_bytes = match (def, &def_packing) {
            (Some(def), Some(packing)) => packing.pack(&def[entries.clone()]),
            _ => Vec::new(),
        };
        let start = chunk_bytes.len();
        let u16_field = |value: usize, what: &str| -> Result<[u8; 2]> {
            u16::try_from(value).map(u16::to_le_bytes).map_err(|_| {
                Error::internal(format!("{what} of {value} does not fit a chunk header"))
            })
        };
        if has_levels {
            chunk_bytes.extend_from_slice(&u16_field(num_levels, "level count")?);
        } else {
            chunk_bytes.extend_from_slice(&[0, 0]);
        }
        if rep.is_some() {
            chunk_bytes.extend_from_slice(&u16_field(rep_bytes.len(), "rep size")?);
        }
        if def.is_some() {
            chunk_bytes.extend_from_slice(&u16_field(def_bytes.len(), "def size")?);
        }
        for buffer in &chunk.buffers {
            if large {
                let size = u32::try_from(buffer.len())
                    .map_err(|_| Error::internal("chunk buffer too large"))?;
                chunk_bytes.extend_from_slice(&size.to_le_bytes());
            } else {
                chunk_bytes.extend_from_slice(&u16_field(buffer.len(), "value buffer size")?);
            }
        }
        pad(&mut chunk_bytes, start);
        for part in [&rep_bytes, &def_bytes] {
            if !part.is_empty() {
                chunk_bytes.extend_from_slice(part);
                pad(&mut chunk_bytes, start);
            }
        }
        for buffer in &chunk.buffers {
            chunk_bytes.extend_from_slice(buffer);
            pad(&mut chunk_bytes, start);
        }
        let size = chunk_bytes.len() - start;
        let log = if is_last {
            0
        } else {
            chunk.num_values.trailing_zeros() as usize
        };
        if !is_last && (!chunk.num_values.is_power_of_two() || chunk.num_values < 2) {
            return Err(Error::internal(
                "a chunk before the last must hold a power of two values",
            ));
        }
        let word = (((size / 8) - 1) << 4) | log;
        if large {
            let word = u32::try_from(word).map_err(|_| Error::internal("chunk too large"))?;
            table.extend_from_slice(&word.to_le_bytes());
        } else {
            let word = u16::try_from(word)
                .ok()
                .filter(|_| size <= 32 * 1024)
                .ok_or_else(|| Error::internal("a 2.1 chunk exceeds 32 KiB"))?;
            table.extend_from_slice(&word.to_le_bytes());
        }
        if let Some(rep) = rep {
            let (ends, partial) = rep_index_entry(rep, entries.clone(), ctx.codes.max_rep);
            rep_index.push(ends);
            rep_index.push(partial);
        }
        first_entry = end_entry;
        first_value = last_value;
    }

    let mut buffers = vec![Bytes::from(table), Bytes::from(chunk_bytes)];
    let (dictionary_encoding, num_dictionary_items) = match dictionary {
        Some(d) => {
            buffers.push(d.buffer);
            (Some(d.encoding), d.num_items)
        }
        None => (None, 0),
    };
    if rep.is_some() {
        buffers.push(Bytes::from(
            rep_index
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<u8>>(),
        ));
    }
    let layout = pb::MiniBlockLayout {
        rep_compression: rep_packing.map(|p| p.encoding()),
        def_compression: def_packing.map(|p| p.encoding()),
        value_compression: Some(values.encoding),
        dictionary: dictionary_encoding,
        num_dictionary_items,
        layers: ctx.layers.iter().map(|l| l.to_proto()).collect(),
        num_buffers: values.num_buffers as u64,
        repetition_index_depth: u32::from(rep.is_some()),
        num_items: num_values as u64,
        has_large_chunk: large,
    };
    Ok(EncodedPage {
        buffers,
        num_rows: ctx.num_rows,
        encoding: PageEncoding::Structural(pb::PageLayout {
            layout: Some(pb::page_layout::Layout::MiniBlockLayout(layout)),
        }),
    })
}

/// Pads the chunk being written (which started at `start`) to a multiple of 8 bytes.
fn pad(bytes: &mut Vec<u8>, start: usize) {
    while !(bytes.len() - start).is_multiple_of(8) {
        bytes.push(FILL);
    }
}

/// The repetition index entry of a chunk holding `entries`: the rows that end in it, and the
/// entries after its last row start when that row continues into the next chunk.
///
/// A row ends in the chunk when its last entry is there: every row that starts in the chunk
/// except the last one; the last one too unless it continues into the next chunk; and a row
/// carried in from the previous chunk if a row starts here or nothing continues.
fn rep_index_entry(rep: &[u16], entries: std::ops::Range<usize>, max_rep: u16) -> (u64, u64) {
    let starts: Vec<usize> = entries.clone().filter(|&e| rep[e] == max_rep).collect();
    let continues = rep.get(entries.end).is_some_and(|&r| r != max_rep);
    let carried = !entries.is_empty() && rep[entries.start] != max_rep;
    let mut ends = starts.len().saturating_sub(1);
    if !starts.is_empty() && !continues {
        ends += 1;
    }
    if carried && (!starts.is_empty() || !continues) {
        ends += 1;
    }
    let partial = match (continues, starts.last()) {
        (false, _) => 0,
        (true, Some(&last)) => entries.end - last,
        (true, None) => entries.len(),
    };
    (ends as u64, partial as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rep_index_counts_rows_that_end() {
        // Rows start where rep == 1: rows of 3, 1 and 4 entries; chunks of 2, 4 and 2 entries.
        let rep = [1, 0, 0, 1, 1, 0, 0, 0];
        assert_eq!(rep_index_entry(&rep, 0..2, 1), (0, 2)); // row 0 continues
        assert_eq!(rep_index_entry(&rep, 2..6, 1), (2, 2)); // rows 0 and 1 end; row 2 continues
        assert_eq!(rep_index_entry(&rep, 6..8, 1), (1, 0)); // row 2 ends
        // A single row across chunks.
        let long = [1, 0, 0, 0, 0, 0];
        assert_eq!(rep_index_entry(&long, 0..2, 1), (0, 2));
        assert_eq!(rep_index_entry(&long, 2..4, 1), (0, 2));
        assert_eq!(rep_index_entry(&long, 4..6, 1), (1, 0));
    }
}
