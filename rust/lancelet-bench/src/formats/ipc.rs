//! Arrow IPC files: written with arrow-ipc's `FileWriter` into memory and uploaded; read with
//! ranged gets and [`FileDecoder`], so that a take fetches only the blocks holding its rows.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_ipc::reader::{FileDecoder, read_footer_length};
use arrow_ipc::{Block, MetadataVersion};
use arrow_schema::SchemaRef;
use bytes::Bytes;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

use super::{positions_in, sorted_unique};
use crate::Result;
use crate::data::Dataset;

/// Footer metadata key listing the row count of each record batch block, comma-separated.
/// The IPC footer does not record row counts; this lets a reader find a row's block without
/// reading every block's header.
pub const BATCH_ROWS_KEY: &str = "lancelet-bench:batch-rows";
/// Bytes read from the end of the file to open it (footer and trailer).
pub const TAIL_READ_BYTES: u64 = 64 * 1024;
/// Size of upload parts, as in Lancelet's writer.
pub const PART_BYTES: usize = 8 * 1024 * 1024;
/// Largest single read of a scan (consecutive blocks are fetched together up to this size).
pub const SCAN_READ_BYTES: u64 = 64 * 1024 * 1024;
/// Size of the IPC trailer: footer length (4 bytes) and `ARROW1`.
const TRAILER_BYTES: u64 = 10;

/// Writes `data` as one IPC file (one block per batch) built in memory, then uploads it with a
/// single `put` when it fits one part, else as a multipart upload of [`PART_BYTES`] parts.
pub async fn write(store: Arc<dyn ObjectStore>, path: &Path, data: &Dataset) -> Result<()> {
    let mut buffer = Vec::new();
    {
        let mut writer = arrow_ipc::writer::FileWriter::try_new(&mut buffer, &data.schema)?;
        for batch in &data.batches {
            writer.write(batch)?;
        }
        let rows: Vec<String> = data
            .batches
            .iter()
            .map(|batch| batch.num_rows().to_string())
            .collect();
        writer.write_metadata(BATCH_ROWS_KEY, rows.join(","));
        writer.finish()?;
    }
    let bytes = Bytes::from(buffer);
    if bytes.len() <= PART_BYTES {
        store.put(path, PutPayload::from(bytes)).await?;
    } else {
        let upload = store.put_multipart(path).await?;
        let mut multipart = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        multipart.put(bytes);
        multipart.finish().await?;
    }
    Ok(())
}

/// An opened IPC file: its schema and the positions and row counts of its blocks.
#[derive(Debug)]
pub struct IpcFile {
    /// Where the file is.
    store: Arc<dyn ObjectStore>,
    /// The file's path.
    path: Path,
    /// The file's schema.
    schema: SchemaRef,
    /// The metadata version of the footer.
    version: MetadataVersion,
    /// The record batch blocks.
    blocks: Vec<Block>,
    /// First row of each block, and the total row count at the end.
    block_starts: Vec<u64>,
}

impl IpcFile {
    /// Opens the file: one suffix read of [`TAIL_READ_BYTES`], plus one more when the footer is
    /// larger.
    pub async fn open(store: Arc<dyn ObjectStore>, path: &Path) -> Result<Self> {
        let options = GetOptions {
            range: Some(GetRange::Suffix(TAIL_READ_BYTES)),
            ..GetOptions::default()
        };
        let result = store.get_opts(path, options).await?;
        let file_size = result.meta.size;
        let tail_start = result.range.start;
        let tail = result.bytes().await?;
        if (tail.len() as u64) < TRAILER_BYTES {
            return Err(format!("{path} is too short for an Arrow IPC file").into());
        }
        let mut trailer = [0u8; TRAILER_BYTES as usize];
        trailer.copy_from_slice(&tail[tail.len() - TRAILER_BYTES as usize..]);
        let footer_len = read_footer_length(trailer)? as u64;
        let footer_end = file_size - TRAILER_BYTES;
        let footer_start = footer_end
            .checked_sub(footer_len)
            .ok_or_else(|| format!("{path}: footer longer than the file"))?;
        let footer_bytes = if footer_start >= tail_start {
            tail.slice((footer_start - tail_start) as usize..(footer_end - tail_start) as usize)
        } else {
            store.get_range(path, footer_start..footer_end).await?
        };
        let footer = arrow_ipc::root_as_footer(&footer_bytes)
            .map_err(|error| format!("{path}: bad IPC footer: {error}"))?;
        let schema = Arc::new(arrow_ipc::convert::fb_to_schema(
            footer.schema().ok_or("IPC footer without schema")?,
        ));
        if footer.dictionaries().is_some_and(|d| !d.is_empty()) {
            return Err("IPC files with dictionaries are not supported by this bench".into());
        }
        let blocks: Vec<Block> = footer
            .recordBatches()
            .map(|b| b.iter().copied().collect())
            .unwrap_or_default();
        let counts = footer
            .custom_metadata()
            .into_iter()
            .flatten()
            .find(|kv| kv.key() == Some(BATCH_ROWS_KEY))
            .and_then(|kv| kv.value())
            .ok_or("IPC footer lacks the batch row counts")?;
        let mut block_starts = vec![0u64];
        for count in counts.split(',').filter(|s| !s.is_empty()) {
            let rows: u64 = count.parse()?;
            block_starts.push(block_starts[block_starts.len() - 1] + rows);
        }
        if block_starts.len() != blocks.len() + 1 {
            return Err("IPC footer: batch row counts do not match the blocks".into());
        }
        Ok(Self {
            store,
            path: path.clone(),
            schema,
            version: footer.version(),
            blocks,
            block_starts,
        })
    }

    /// A decoder of this file's blocks, for the columns `projection` (all if `None`).
    fn decoder(&self, projection: Option<&[usize]>) -> FileDecoder {
        let decoder = FileDecoder::new(self.schema.clone(), self.version);
        match projection {
            Some(columns) => decoder.with_projection(columns.to_vec()),
            None => decoder,
        }
    }

    /// Decodes block `index` from `buffer`, which holds the file from byte `buffer_start`.
    fn decode(
        &self,
        decoder: &FileDecoder,
        index: usize,
        buffer: &Buffer,
        buffer_start: u64,
    ) -> Result<RecordBatch> {
        let block = &self.blocks[index];
        let start = (block_range(block).start - buffer_start) as usize;
        let data = buffer.slice_with_length(start, block_len(block) as usize);
        decoder
            .read_record_batch(block, &data)?
            .ok_or_else(|| format!("IPC block {index} holds no record batch").into())
    }

    /// Reads all blocks in order, fetching runs of adjacent blocks of up to
    /// [`SCAN_READ_BYTES`] with one request; returns the rows read.
    pub async fn scan(&self, projection: Option<&[usize]>) -> Result<u64> {
        let decoder = self.decoder(projection);
        let mut rows = 0u64;
        let mut first = 0;
        while first < self.blocks.len() {
            let start = block_range(&self.blocks[first]).start;
            let mut end = block_range(&self.blocks[first]).end;
            let mut last = first + 1;
            while last < self.blocks.len() {
                let next = block_range(&self.blocks[last]);
                if next.start != end || next.end - start > SCAN_READ_BYTES {
                    break;
                }
                end = next.end;
                last += 1;
            }
            let buffer = Buffer::from(self.store.get_range(&self.path, start..end).await?);
            for index in first..last {
                rows += self.decode(&decoder, index, &buffer, start)?.num_rows() as u64;
            }
            first = last;
        }
        Ok(rows)
    }

    /// Reads the rows at `indices` (in that order): fetches the blocks holding them with one
    /// `get_ranges` call, decodes those blocks and picks the rows.
    pub async fn take(&self, indices: &[u64]) -> Result<RecordBatch> {
        let total = self.block_starts[self.blocks.len()];
        let locate = |row: u64| -> Result<(usize, usize)> {
            if row >= total {
                return Err(format!("row {row} out of range (file has {total} rows)").into());
            }
            let block = self.block_starts.partition_point(|&s| s <= row) - 1;
            Ok((block, (row - self.block_starts[block]) as usize))
        };
        let located = indices
            .iter()
            .map(|&row| locate(row))
            .collect::<Result<Vec<_>>>()?;
        let needed = sorted_unique(
            &located
                .iter()
                .map(|&(block, _)| block as u64)
                .collect::<Vec<_>>(),
        );
        let ranges: Vec<_> = needed
            .iter()
            .map(|&block| block_range(&self.blocks[block as usize]))
            .collect();
        let fetched = self.store.get_ranges(&self.path, &ranges).await?;
        let decoder = self.decoder(None);
        let mut batches = Vec::with_capacity(needed.len());
        for ((&block, bytes), range) in needed.iter().zip(fetched).zip(&ranges) {
            batches.push(self.decode(
                &decoder,
                block as usize,
                &Buffer::from(bytes),
                range.start,
            )?);
        }
        let block_slots = positions_in(
            &needed,
            &located
                .iter()
                .map(|&(block, _)| block as u64)
                .collect::<Vec<_>>(),
        );
        let picks: Vec<(usize, usize)> = block_slots
            .into_iter()
            .zip(&located)
            .map(|(slot, &(_, row))| (slot, row))
            .collect();
        if batches.is_empty() {
            return Ok(RecordBatch::new_empty(self.schema.clone()));
        }
        let refs: Vec<&RecordBatch> = batches.iter().collect();
        Ok(arrow_select::interleave::interleave_record_batch(
            &refs, &picks,
        )?)
    }
}

/// Bytes of a block: its message (metadata) and body.
fn block_len(block: &Block) -> u64 {
    block.metaDataLength() as u64 + block.bodyLength() as u64
}

/// The byte range of a block in the file.
fn block_range(block: &Block) -> std::ops::Range<u64> {
    let start = block.offset() as u64;
    start..start + block_len(block)
}
