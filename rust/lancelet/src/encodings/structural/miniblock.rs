//! Mini-block pages: small values compressed in independent chunks of a few KiB.
//!
//! Buffers: 0 the chunk table, 1 the chunks, 2 the dictionary (if any), then the repetition
//! index (if any). The chunk table has one word per chunk (u16 in 2.1, u32 in 2.2):
//! `(chunk bytes / 8 - 1) << 4 | log2(values)`, where a log of 0 marks the last chunk, whose
//! value count is what remains of `num_items`. A chunk is laid out as
//!
//! ```text
//! u16 number of level entries | u16 rep bytes (if rep) | u16 def bytes (if def)
//! | one size per value buffer (u16 in 2.1, u32 in 2.2) | 0xFE padding to 8
//! | rep levels, padded to 8 | def levels, padded to 8 | each value buffer, padded to 8
//! ```
//!
//! The repetition index holds two u64 per chunk: the rows that end in the chunk, and the level
//! entries after the chunk's last row start when that row continues into the next chunk.

use std::ops::Range;
use std::sync::{Arc, OnceLock};

use arrow_array::{Array, ArrayRef, GenericBinaryArray, OffsetSizeTrait, UInt32Array};
use arrow_schema::DataType;
use bytes::Bytes;

use crate::encodings::compression::DataBlock;
use crate::encodings::compression::block::text_array;
use crate::encodings::compression::decode;
use crate::encodings::compression::joiner::BlockJoiner;
use crate::encodings::structural::dictionary::dictionary_values;
use crate::encodings::structural::page::{PageContext, RowIndex, leaf_levels};
use crate::encodings::structural::repdef::LeafLevels;
use crate::error::{Error, Result};
use crate::format::pb::v2_1 as pb;
use crate::format::{BufferRange, FileVersion};

/// A mini-block page; see the module docs.
#[derive(Debug)]
pub struct MiniBlockPage {
    ctx: PageContext,
    layout: pb::MiniBlockLayout,
    chunk_table: BufferRange,
    chunks: BufferRange,
    dictionary: Option<BufferRange>,
    rep_index: Option<BufferRange>,
    meta: OnceLock<Meta>,
}

/// One chunk's place in buffer 1 and its value count.
#[derive(Clone, Copy, Debug)]
struct Chunk {
    offset: u64,
    size: u64,
    num_values: usize,
}

/// What the page keeps once loaded.
#[derive(Debug)]
struct Meta {
    chunks: Vec<Chunk>,
    /// Per chunk: the first row that starts in it, and how many start in it.
    first_row: Vec<u64>,
    starting: Vec<u64>,
    /// Per chunk: whether its last row continues into the next chunk.
    trailer: Vec<bool>,
    /// Chunks in which at least one row starts, by first row.
    with_rows: Vec<usize>,
    /// The first row of each chunk of `with_rows` (searched to find a row's chunk).
    with_rows_first: Vec<u64>,
    dictionary: Option<ArrayRef>,
}

impl MiniBlockPage {
    /// Checks the layout against the page's buffers.
    pub fn new(
        layout: &pb::MiniBlockLayout,
        buffers: &[BufferRange],
        num_rows: u64,
        leaf_type: &DataType,
        version: FileVersion,
    ) -> Result<Self> {
        let ctx = PageContext::new(&layout.layers, leaf_type, num_rows, version)?;
        match (version, layout.has_large_chunk) {
            (FileVersion::V2_2, false) => {
                return Err(Error::corrupt("2.2 mini-block pages must use large chunks"));
            }
            (FileVersion::V2_1, true) => {
                return Err(Error::corrupt(
                    "2.1 mini-block pages cannot use large chunks",
                ));
            }
            _ => {}
        }
        if layout.value_compression.is_none() {
            return Err(Error::corrupt("mini-block page has no value compression"));
        }
        if ctx.has_rep() != layout.rep_compression.is_some() {
            return Err(Error::corrupt(
                "mini-block rep levels do not match the page's layers",
            ));
        }
        let buffer = |index: usize| {
            buffers
                .get(index)
                .copied()
                .ok_or_else(|| Error::corrupt(format!("mini-block page has no buffer {index}")))
        };
        let chunk_table = buffer(0)?;
        let chunks = buffer(1)?;
        let mut next = 2;
        let dictionary = if layout.dictionary.is_some() {
            next += 1;
            Some(buffer(2)?)
        } else {
            None
        };
        let rep_index = match layout.repetition_index_depth {
            0 => None,
            1 => Some(buffer(next)?),
            depth => {
                return Err(Error::not_supported(format!(
                    "repetition index depth {depth}"
                )));
            }
        };
        if ctx.has_rep() && rep_index.is_none() {
            return Err(Error::corrupt(
                "a mini-block page with lists has no repetition index",
            ));
        }
        Ok(Self {
            ctx,
            layout: layout.clone(),
            chunk_table,
            chunks,
            dictionary,
            rep_index,
            meta: OnceLock::new(),
        })
    }

    /// The chunk table, dictionary and repetition index.
    pub fn metadata_ranges(&self) -> Vec<Range<u64>> {
        std::iter::once(self.chunk_table)
            .chain(self.dictionary)
            .chain(self.rep_index)
            .map(|b| b.range())
            .collect()
    }

    /// Whether [`load_metadata`](Self::load_metadata) has succeeded.
    pub fn metadata_loaded(&self) -> bool {
        self.meta.get().is_some()
    }

    /// Parses and keeps the metadata buffers.
    pub fn load_metadata(&self, bytes: Vec<Bytes>) -> Result<()> {
        let mut bytes = bytes.into_iter();
        let mut next = || {
            bytes
                .next()
                .ok_or_else(|| Error::internal("metadata bytes missing"))
        };
        let table = next()?;
        let dictionary = match &self.dictionary {
            Some(_) => Some(next()?),
            None => None,
        };
        let rep_index = match &self.rep_index {
            Some(_) => Some(next()?),
            None => None,
        };
        let meta = self.parse_meta(&table, dictionary, rep_index.as_ref())?;
        // A concurrent load may have won; both parsed the same bytes.
        let _ = self.meta.set(meta);
        Ok(())
    }

    fn parse_meta(
        &self,
        table: &[u8],
        dictionary: Option<Bytes>,
        rep_index: Option<&Bytes>,
    ) -> Result<Meta> {
        let word_bytes = if self.layout.has_large_chunk { 4 } else { 2 };
        if !table.len().is_multiple_of(word_bytes) {
            return Err(Error::corrupt("mini-block chunk table is not whole words"));
        }
        let num_items = usize::try_from(self.layout.num_items)
            .map_err(|_| Error::corrupt("mini-block item count too large"))?;
        let count = table.len() / word_bytes;
        let mut chunks = Vec::with_capacity(count);
        let mut offset = 0u64;
        let mut values_so_far = 0usize;
        for (index, word) in table.chunks_exact(word_bytes).enumerate() {
            let word = if word_bytes == 4 {
                u64::from(u32::from_le_bytes([word[0], word[1], word[2], word[3]]))
            } else {
                u64::from(u16::from_le_bytes([word[0], word[1]]))
            };
            let size = ((word >> 4) + 1) * 8;
            let log = word & 0xf;
            let is_last = index + 1 == count;
            let num_values = if log > 0 {
                1usize << log
            } else if is_last {
                num_items.checked_sub(values_so_far).ok_or_else(|| {
                    Error::corrupt("mini-block chunks hold more values than the page")
                })?
            } else {
                return Err(Error::corrupt(
                    "a mini-block chunk before the last has no value count",
                ));
            };
            // Chunks hold at most 4096 values (the last one what remains); any level count
            // above u16 is impossible, so larger claims are corrupt.
            if num_values > usize::from(u16::MAX) {
                return Err(Error::corrupt(format!(
                    "a mini-block chunk claims {num_values} values"
                )));
            }
            chunks.push(Chunk {
                offset,
                size,
                num_values,
            });
            offset += size;
            values_so_far += num_values;
        }
        if values_so_far != num_items {
            return Err(Error::corrupt(format!(
                "mini-block chunks hold {values_so_far} values, the page says {num_items}"
            )));
        }
        if offset > self.chunks.size {
            return Err(Error::corrupt(format!(
                "mini-block chunks need {offset} bytes but the buffer has {}",
                self.chunks.size
            )));
        }
        let (first_row, starting, trailer) = match rep_index {
            None => {
                let mut first = Vec::with_capacity(count);
                let mut row = 0u64;
                for chunk in &chunks {
                    first.push(row);
                    row += chunk.num_values as u64;
                }
                let starting = chunks.iter().map(|c| c.num_values as u64).collect();
                (first, starting, vec![false; count])
            }
            Some(index) => rows_from_rep_index(index, count)?,
        };
        let total_rows: u64 = starting.iter().sum();
        if total_rows != self.ctx.num_rows {
            return Err(Error::corrupt(format!(
                "mini-block chunks hold {total_rows} rows, the page says {}",
                self.ctx.num_rows
            )));
        }
        let with_rows: Vec<usize> = (0..count).filter(|&i| starting[i] > 0).collect();
        let with_rows_first = with_rows.iter().map(|&c| first_row[c]).collect();
        let dictionary = match (&self.layout.dictionary, dictionary) {
            (Some(encoding), Some(bytes)) => Some(self.decode_dictionary(encoding, bytes)?),
            _ => None,
        };
        Ok(Meta {
            chunks,
            first_row,
            starting,
            trailer,
            with_rows,
            with_rows_first,
            dictionary,
        })
    }

    fn decode_dictionary(
        &self,
        encoding: &pb::CompressiveEncoding,
        bytes: Bytes,
    ) -> Result<ArrayRef> {
        let items = usize::try_from(self.layout.num_dictionary_items)
            .map_err(|_| Error::corrupt("dictionary too large"))?;
        let value_type = match &self.ctx.leaf_type {
            DataType::Dictionary(_, value) => value.as_ref().clone(),
            other => other.clone(),
        };
        // A dictionary expands to at most its declared items times a generous value size.
        let limit = (bytes.len() as u64).saturating_mul(1024).max(1 << 20);
        decode::block(encoding, bytes, items, limit)?.into_array(&value_type)
    }

    fn meta(&self) -> Result<&Meta> {
        self.meta
            .get()
            .ok_or_else(|| Error::internal("mini-block metadata was not loaded"))
    }

    /// The chunks holding rows `range` (first and last chunk index).
    fn chunk_span(&self, meta: &Meta, range: &Range<u64>) -> Result<(usize, usize)> {
        let find = |row: u64| -> Result<usize> {
            let at = meta.with_rows_first.partition_point(|&first| first <= row);
            let chunk = at
                .checked_sub(1)
                .and_then(|i| meta.with_rows.get(i).copied())
                .ok_or_else(|| Error::corrupt(format!("no mini-block chunk holds row {row}")))?;
            if row >= meta.first_row[chunk] + meta.starting[chunk] {
                return Err(Error::corrupt(format!(
                    "no mini-block chunk holds row {row}"
                )));
            }
            Ok(chunk)
        };
        let first = find(range.start)?;
        let last_row = range.end - 1;
        let mut last = find(last_row)?;
        // A chunk's last row may continue into the following chunks.
        if last_row + 1 == meta.first_row[last] + meta.starting[last] {
            while meta.trailer[last] {
                last += 1;
                if last >= meta.chunks.len() {
                    return Err(Error::corrupt("a row continues past the page's last chunk"));
                }
                if meta.starting[last] > 0 || !meta.trailer[last] {
                    break;
                }
            }
        }
        Ok((first, last))
    }

    /// The chunks to read for `ranges`, in order and without repeats.
    fn needed_chunks(&self, ranges: &[Range<u64>]) -> Result<Vec<usize>> {
        let meta = self.meta()?;
        let mut chunks: Vec<usize> = Vec::new();
        for range in ranges {
            let (first, last) = self.chunk_span(meta, range)?;
            for chunk in first..=last {
                if chunks.last().is_none_or(|&c| c < chunk) {
                    chunks.push(chunk);
                }
            }
        }
        Ok(chunks)
    }

    /// The byte ranges of the chunks that hold `ranges`.
    pub fn plan(&self, ranges: &[Range<u64>]) -> Result<Vec<Range<u64>>> {
        let meta = self.meta()?;
        Ok(self
            .needed_chunks(ranges)?
            .into_iter()
            .map(|c| {
                let chunk = meta.chunks[c];
                let start = self.chunks.position + chunk.offset;
                start..start + chunk.size
            })
            .collect())
    }

    /// Decodes the rows of `ranges` from the chunks planned.
    pub fn decode(&self, ranges: &[Range<u64>], fetched: &[Bytes]) -> Result<LeafLevels> {
        let meta = self.meta()?;
        let needed = self.needed_chunks(ranges)?;
        if needed.len() != fetched.len() {
            return Err(Error::internal("chunk reads do not match the plan"));
        }
        let mut levels = if self.ctx.has_rep() {
            self.decode_lists(meta, ranges, &needed, fetched)?
        } else {
            self.decode_rows(meta, ranges, &needed, fetched)?
        };
        if let Some(text_type) = checked_later(&self.ctx.leaf_type, meta) {
            levels.values = checked_text(&levels.values, text_type)?;
        }
        // Dictionary pages carry indices up to here: only the selected rows are looked up.
        if let Some(dictionary) = &meta.dictionary {
            let indices = levels
                .values
                .as_any()
                .downcast_ref::<UInt32Array>()
                .ok_or_else(|| Error::internal("dictionary indices are not u32"))?;
            levels.values = dictionary_values(&self.ctx.leaf_type, dictionary, indices)?;
        }
        Ok(levels)
    }

    /// Without repetition, row `i` of a chunk is its level entry `i` and its value `i`, so each
    /// chunk decodes only the rows asked of it: a take of a few rows unpacks a few values, not
    /// whole chunks, and builds one block for all of them.
    fn decode_rows(
        &self,
        meta: &Meta,
        ranges: &[Range<u64>],
        needed: &[usize],
        fetched: &[Bytes],
    ) -> Result<LeafLevels> {
        // The rows of each range within each chunk it touches, in the order asked.
        let mut piece_chunks = Vec::with_capacity(ranges.len());
        let mut piece_rows = Vec::with_capacity(ranges.len());
        for range in ranges {
            let (first, last) = self.chunk_span(meta, range)?;
            for chunk in first..=last {
                let base = meta.first_row[chunk];
                let end = range.end.min(base + meta.starting[chunk]);
                let start = range.start.max(base).min(end);
                piece_chunks.push(chunk);
                piece_rows.push((start - base) as usize..(end - base) as usize);
            }
        }
        let has_def = self.layout.def_compression.is_some();
        let mut def = Vec::new();
        let mut num_entries = 0;
        // Pages without lists hold one value per row: the rows asked for are the values.
        let expected = piece_rows.iter().map(Range::len).sum();
        let mut joiner = BlockJoiner::for_values(expected);
        let mut at = 0;
        while let Some(&chunk) = piece_chunks.get(at) {
            let mut end = at + 1;
            while piece_chunks.get(end) == Some(&chunk) {
                end += 1;
            }
            let index = needed.partition_point(|&c| c < chunk);
            let bytes = fetched
                .get(index)
                .filter(|_| needed.get(index) == Some(&chunk))
                .ok_or_else(|| Error::internal("a chunk to decode was not read"))?;
            num_entries += self.decode_chunk_rows(
                bytes.clone(),
                meta.chunks[chunk].num_values,
                &piece_rows[at..end],
                &mut def,
                &mut joiner,
            )?;
            at = end;
        }
        let values = self.values_array(meta, joiner.finish()?)?;
        leaf_levels(&self.ctx, None, has_def.then_some(def), values, num_entries)
    }

    /// With repetition, rows span level entries: the chunks of ranges that share chunks are
    /// decoded whole, once, and the rows are cut from their levels.
    fn decode_lists(
        &self,
        meta: &Meta,
        ranges: &[Range<u64>],
        needed: &[usize],
        fetched: &[Bytes],
    ) -> Result<LeafLevels> {
        let spans = ranges
            .iter()
            .map(|range| self.chunk_span(meta, range))
            .collect::<Result<Vec<_>>>()?;
        let mut parts = Vec::with_capacity(ranges.len());
        let mut group_start = 0;
        while group_start < ranges.len() {
            let (first, mut last) = spans[group_start];
            let mut group_end = group_start + 1;
            while group_end < ranges.len() && spans[group_end].0 <= last {
                last = last.max(spans[group_end].1);
                group_end += 1;
            }
            let at = needed.partition_point(|&c| c < first);
            let chunks = (first..=last).zip(fetched.get(at..).unwrap_or_default());
            let levels = self.decode_chunks(chunks, meta)?;
            let index = RowIndex::new(&levels, &self.ctx);
            let base = meta.first_row[first];
            for range in &ranges[group_start..group_end] {
                parts.push(index.select(&levels, range.start - base..range.end - base)?);
            }
            group_start = group_end;
        }
        LeafLevels::concat(parts)
    }

    /// Decodes consecutive chunks (index and bytes) and joins their levels and values; each
    /// chunk is joined as soon as it is decoded.
    fn decode_chunks<'a>(
        &self,
        chunks: impl Iterator<Item = (usize, &'a Bytes)>,
        meta: &Meta,
    ) -> Result<LeafLevels> {
        let has_rep = self.ctx.has_rep();
        let has_def = self.layout.def_compression.is_some();
        let chunks: Vec<(usize, &Bytes)> = chunks.collect();
        let expected_values = chunks.iter().map(|&(c, _)| meta.chunks[c].num_values).sum();
        let mut rep = Vec::new();
        let mut def = Vec::new();
        let mut num_entries = 0;
        let mut joiner = BlockJoiner::new(expected_values);
        for (c, bytes) in chunks {
            let chunk = self.decode_chunk(bytes.clone(), meta.chunks[c].num_values)?;
            if has_rep {
                rep.extend_from_slice(&chunk.rep);
            }
            if has_def {
                def.extend_from_slice(&chunk.def);
            }
            num_entries += chunk.num_entries;
            joiner.push(chunk.values)?;
        }
        let rep = has_rep.then_some(rep);
        let def = has_def.then_some(def);
        let values = self.values_array(meta, joiner.finish()?)?;
        leaf_levels(&self.ctx, rep, def, values, num_entries)
    }

    /// The decoded values as an array of the leaf type (of dictionary indices on dictionary
    /// pages, looked up once the rows are selected; of unchecked text when checked later).
    fn values_array(&self, meta: &Meta, values: DataBlock) -> Result<ArrayRef> {
        match &meta.dictionary {
            None => match checked_later(&self.ctx.leaf_type, meta) {
                Some(_) => values.into_array(&unchecked_type(&self.ctx.leaf_type)),
                None => values.into_array(&self.ctx.leaf_type),
            },
            Some(_) => Ok(Arc::new(values.to_indices()?)),
        }
    }

    /// Splits a chunk into its levels and value buffers.
    fn chunk_parts(&self, chunk: &Bytes) -> Result<ChunkParts> {
        let num_buffers = usize::try_from(self.layout.num_buffers)
            .ok()
            .filter(|&n| n <= 64)
            .ok_or_else(|| Error::corrupt("mini-block page has too many value buffers"))?;
        let has_rep = self.layout.rep_compression.is_some();
        let has_def = self.layout.def_compression.is_some();
        let mut reader = ChunkReader {
            bytes: chunk,
            at: 0,
        };
        let num_levels = usize::from(reader.u16()?);
        let rep_size = if has_rep {
            usize::from(reader.u16()?)
        } else {
            0
        };
        let def_size = if has_def {
            usize::from(reader.u16()?)
        } else {
            0
        };
        // The buffer sizes are read where they stand in the header once the levels are
        // found (a vector of sizes and one of buffers per chunk were two allocations per
        // chunk decoded).
        let size_width = if self.layout.has_large_chunk { 4 } else { 2 };
        let sizes = reader.borrow(num_buffers * size_width)?;
        reader.align();
        let rep = reader.take(rep_size)?;
        reader.align();
        let def = reader.take(def_size)?;
        reader.align();
        let mut values = ValueBuffers::new(num_buffers);
        for size in sizes.chunks_exact(size_width) {
            let size = match *size {
                [a, b] => usize::from(u16::from_le_bytes([a, b])),
                [a, b, c, d] => u32::from_le_bytes([a, b, c, d]) as usize,
                _ => return Err(Error::internal("a chunk buffer size of another width")),
            };
            values.push(reader.take(size)?);
            reader.align();
        }
        Ok(ChunkParts {
            num_levels,
            rep,
            def,
            values,
        })
    }

    fn value_encoding(&self) -> Result<&pb::CompressiveEncoding> {
        self.layout
            .value_compression
            .as_ref()
            .ok_or_else(|| Error::corrupt("mini-block page has no value compression"))
    }

    /// Decodes all of a chunk holding `num_values` values.
    fn decode_chunk(&self, chunk: Bytes, num_values: usize) -> Result<DecodedChunk> {
        let value_encoding = self.value_encoding()?;
        let parts = self.chunk_parts(&chunk)?;
        let has_rep = self.layout.rep_compression.is_some();
        let has_def = self.layout.def_compression.is_some();
        let num_levels = parts.num_levels;
        let num_entries = if has_rep || has_def {
            num_levels
        } else {
            num_values
        };
        let rep = if has_rep {
            decode::levels(self.layout.rep_compression.as_ref(), parts.rep, num_levels)?
        } else {
            Vec::new()
        };
        let def = if has_def {
            decode::levels(self.layout.def_compression.as_ref(), parts.def, num_levels)?
        } else {
            Vec::new()
        };
        let values = decode::miniblock(value_encoding, &parts.values, num_values)?;
        if values.num_values() != num_values {
            return Err(Error::corrupt(
                "a chunk decoded to the wrong number of values",
            ));
        }
        Ok(DecodedChunk {
            rep,
            def,
            values,
            num_entries,
        })
    }

    /// Decodes `rows` of a chunk holding `num_values` values, on a page without repetition
    /// (rows, level entries and values are one to one): their definition levels go to `def`
    /// (when the page has them) and their values to `joiner`. Returns the number of rows.
    fn decode_chunk_rows(
        &self,
        chunk: Bytes,
        num_values: usize,
        rows: &[Range<usize>],
        def: &mut Vec<u16>,
        joiner: &mut BlockJoiner,
    ) -> Result<usize> {
        let value_encoding = self.value_encoding()?;
        let parts = self.chunk_parts(&chunk)?;
        if self.layout.def_compression.is_some() {
            if parts.num_levels != num_values {
                return Err(Error::corrupt(format!(
                    "a chunk without lists has {} levels for {num_values} values",
                    parts.num_levels
                )));
            }
            let all = decode::levels(
                self.layout.def_compression.as_ref(),
                parts.def,
                parts.num_levels,
            )?;
            for range in rows {
                def.extend_from_slice(
                    all.get(range.clone()).ok_or_else(|| {
                        Error::corrupt("a chunk holds fewer levels than its rows")
                    })?,
                );
            }
        }
        decode::miniblock_rows_into(value_encoding, &parts.values, num_values, rows, joiner)?;
        Ok(rows.iter().map(Range::len).sum())
    }
}

/// A chunk's levels and value buffers, not yet decoded.
struct ChunkParts {
    num_levels: usize,
    rep: Bytes,
    def: Bytes,
    values: ValueBuffers,
}

/// The value buffers of one chunk: up to [`INLINE_BUFFERS`] kept inline (most encodings have
/// one or two), more in a vector.
enum ValueBuffers {
    Inline {
        buffers: [Bytes; INLINE_BUFFERS],
        len: usize,
    },
    Heap(Vec<Bytes>),
}

/// Value buffers of a chunk kept without an allocation.
const INLINE_BUFFERS: usize = 4;

impl ValueBuffers {
    /// Room for `count` buffers.
    fn new(count: usize) -> Self {
        if count <= INLINE_BUFFERS {
            ValueBuffers::Inline {
                buffers: Default::default(),
                len: 0,
            }
        } else {
            ValueBuffers::Heap(Vec::with_capacity(count))
        }
    }

    /// Adds a buffer (inline ones spill into a vector when full).
    fn push(&mut self, buffer: Bytes) {
        match self {
            ValueBuffers::Inline { buffers, len } => match buffers.get_mut(*len) {
                Some(slot) => {
                    *slot = buffer;
                    *len += 1;
                }
                None => {
                    let mut all: Vec<Bytes> = std::mem::take(buffers).into();
                    all.push(buffer);
                    *self = ValueBuffers::Heap(all);
                }
            },
            ValueBuffers::Heap(all) => all.push(buffer),
        }
    }
}

impl std::ops::Deref for ValueBuffers {
    type Target = [Bytes];

    fn deref(&self) -> &[Bytes] {
        match self {
            ValueBuffers::Inline { buffers, len } => buffers.get(..*len).unwrap_or_default(),
            ValueBuffers::Heap(all) => all,
        }
    }
}

/// One decoded chunk.
struct DecodedChunk {
    rep: Vec<u16>,
    def: Vec<u16>,
    values: DataBlock,
    num_entries: usize,
}

/// Reads the fields of a chunk with bounds checks.
struct ChunkReader<'a> {
    bytes: &'a Bytes,
    at: usize,
}

impl<'a> ChunkReader<'a> {
    fn take(&mut self, len: usize) -> Result<Bytes> {
        let end = self.end_of(len)?;
        let out = self.bytes.slice(self.at..end);
        self.at = end;
        Ok(out)
    }

    /// The next `len` bytes, borrowed (no reference count is taken).
    fn borrow(&mut self, len: usize) -> Result<&'a [u8]> {
        let end = self.end_of(len)?;
        let bytes: &'a Bytes = self.bytes;
        let out = bytes.get(self.at..end).unwrap_or_default();
        self.at = end;
        Ok(out)
    }

    fn end_of(&self, len: usize) -> Result<usize> {
        self.at
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| Error::corrupt("mini-block chunk is shorter than its header says"))
    }

    fn u16(&mut self) -> Result<u16> {
        let b = self.borrow(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn align(&mut self) {
        self.at = self.at.next_multiple_of(8);
    }
}

/// Turns the repetition index into per-chunk row bookkeeping: the first row starting in each
/// chunk, the rows starting in it, and whether its last row continues.
fn rows_from_rep_index(index: &[u8], count: usize) -> Result<(Vec<u64>, Vec<u64>, Vec<bool>)> {
    if index.len() != count * 16 {
        return Err(Error::corrupt(format!(
            "repetition index has {} bytes for {count} chunks",
            index.len()
        )));
    }
    let mut first_row = Vec::with_capacity(count);
    let mut starting = Vec::with_capacity(count);
    let mut trailer = Vec::with_capacity(count);
    let mut row = 0u64;
    let mut previous_trailer = false;
    for entry in index.chunks_exact(16) {
        let mut word = [0u8; 8];
        word.copy_from_slice(&entry[..8]);
        let ends = u64::from_le_bytes(word);
        word.copy_from_slice(&entry[8..]);
        let partial = u64::from_le_bytes(word);
        let has_trailer = partial > 0;
        // Rows that start here: those that end here, plus one that continues, minus the one
        // carried in from the previous chunk.
        let starts = (ends + u64::from(has_trailer))
            .checked_sub(u64::from(previous_trailer))
            .ok_or_else(|| Error::corrupt("repetition index is inconsistent"))?;
        first_row.push(row);
        starting.push(starts);
        trailer.push(has_trailer);
        row = row
            .checked_add(starts)
            .ok_or_else(|| Error::corrupt("repetition index overflows"))?;
        previous_trailer = has_trailer;
    }
    if previous_trailer {
        return Err(Error::corrupt(
            "the page's last row continues past its last chunk",
        ));
    }
    Ok((first_row, starting, trailer))
}

/// The text type of a page whose values are decoded as binary and checked as UTF-8 only once
/// the rows are selected (a take keeps a few values of each chunk it decodes).
fn checked_later<'a>(leaf_type: &'a DataType, meta: &Meta) -> Option<&'a DataType> {
    let text = matches!(leaf_type, DataType::Utf8 | DataType::LargeUtf8);
    (text && meta.dictionary.is_none()).then_some(leaf_type)
}

/// The binary type that stands in for a text type while chunks are decoded.
fn unchecked_type(text_type: &DataType) -> DataType {
    match text_type {
        DataType::LargeUtf8 => DataType::LargeBinary,
        _ => DataType::Binary,
    }
}

/// Binary values as `text_type`, after checking that they are UTF-8 (the bytes as a whole,
/// and each offset as a character boundary: the offsets themselves are valid already).
fn checked_text(values: &ArrayRef, text_type: &DataType) -> Result<ArrayRef> {
    fn text<O: OffsetSizeTrait>(values: &ArrayRef) -> Result<ArrayRef> {
        let binary = values
            .as_any()
            .downcast_ref::<GenericBinaryArray<O>>()
            .ok_or_else(|| Error::internal("text values were not decoded as binary"))?;
        let text = text_array(
            binary.offsets().clone(),
            binary.values().clone(),
            binary.nulls().cloned(),
        )?;
        Ok(Arc::new(text))
    }
    match text_type {
        DataType::LargeUtf8 => text::<i64>(values),
        _ => text::<i32>(values),
    }
}
