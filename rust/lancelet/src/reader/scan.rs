//! Scans: which columns and rows to read, and the stream of record batches that reads them.
//!
//! The requested rows are cut into chunks of about the same number of decoded bytes. Each
//! projected field of a chunk is read and decoded by a task of its own (each field's reads
//! merged), so the columns of a chunk decode in parallel, and a bounded number of chunks is in
//! flight, so memory stays near the readahead budget whatever the file's size. A column comes
//! back as one piece per page where it can ([`FieldReader::read_pieces`]); the chunk is cut
//! into batches where the scan's batches end, each column a slice of a piece except where a
//! batch straddles two pages, and the batches are then joined across chunks into batches of
//! exactly `batch_size` rows (the last batch may be shorter).

use std::collections::VecDeque;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions, UInt64Array};
use arrow_schema::{Field, Schema, SchemaRef};
use futures::future::BoxFuture;
use futures::future::try_join_all;
use futures::stream::{self, BoxStream};
use futures::{FutureExt, Stream, StreamExt, TryStreamExt};

use super::fields::FieldReader;
use super::projection::{self, Projection};
use super::{BlockingBatchReader, FileReader};
use crate::error::{Error, Result};

/// The rows a scan reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum RowSelection {
    /// Every row, in order.
    #[default]
    All,
    /// These ranges of rows, in the order given.
    Ranges(Vec<Range<u64>>),
    /// The rows at these indices, in the order given; repeats are allowed.
    Indices(Vec<u64>),
}

/// Default rows per batch (as in pylance).
pub const DEFAULT_BATCH_SIZE: usize = 1024;
/// Default bytes read ahead of the consumer.
pub const DEFAULT_READAHEAD_BYTES: u64 = 64 * 1024 * 1024;

/// A description of what to read; turn it into a stream with [`Scan::into_stream`].
#[derive(Debug, Clone)]
pub struct Scan {
    reader: FileReader,
    projection: Projection,
    rows: RowSelection,
    batch_size: usize,
    readahead_bytes: u64,
}

/// A chunk of work: sorted, disjoint row ranges, and the order in which to emit their rows
/// (`None`: as read).
#[derive(Debug, Clone)]
struct Chunk {
    ranges: Vec<Range<u64>>,
    reorder: Option<Arc<UInt64Array>>,
}

impl Chunk {
    /// The rows the chunk puts out (with repeats, for a take).
    fn output_rows(&self) -> u64 {
        match &self.reorder {
            Some(order) => order.len() as u64,
            None => self.ranges.iter().map(|r| r.end - r.start).sum(),
        }
    }
}

impl Scan {
    pub(super) fn new(reader: FileReader) -> Self {
        Self {
            reader,
            projection: Projection::All,
            rows: RowSelection::All,
            batch_size: DEFAULT_BATCH_SIZE,
            readahead_bytes: DEFAULT_READAHEAD_BYTES,
        }
    }

    /// Reads only the given fields.
    pub fn with_projection(mut self, projection: Projection) -> Self {
        self.projection = projection;
        self
    }

    /// Reads only the named columns (top-level names or dotted paths like `st.x`).
    pub fn with_columns<S: Into<String>>(self, names: impl IntoIterator<Item = S>) -> Self {
        self.with_projection(Projection::names(names))
    }

    /// Reads the rows of one range.
    pub fn with_row_range(self, range: Range<u64>) -> Self {
        self.with_row_ranges(std::iter::once(range).collect())
    }

    /// Reads these row ranges, in the order given.
    pub fn with_row_ranges(mut self, ranges: Vec<Range<u64>>) -> Self {
        self.rows = RowSelection::Ranges(ranges);
        self
    }

    /// Reads the rows at `indices`, in the order given (repeats allowed).
    pub fn with_take(mut self, indices: Vec<u64>) -> Self {
        self.rows = RowSelection::Indices(indices);
        self
    }

    /// Sets the rows to read.
    pub fn with_rows(mut self, rows: RowSelection) -> Self {
        self.rows = rows;
        self
    }

    /// Rows per output batch (default 1024; must be at least 1).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// About how many bytes may be held ahead of the consumer (default 64 MiB): the stored
    /// bytes of the chunks being read and decoded plus their decoded values. At least one
    /// chunk (a multiple of the batch size) is always in flight. More readahead keeps more
    /// requests in flight at the cost of memory.
    pub fn with_readahead_bytes(mut self, bytes: u64) -> Self {
        self.readahead_bytes = bytes;
        self
    }

    /// The schema of the batches the scan produces.
    pub fn schema(&self) -> Result<SchemaRef> {
        Ok(self.plan_fields()?.0)
    }

    /// Estimated decoded bytes of one row of the projected fields (from the stored sizes of
    /// their columns; exact for fixed-width types). Useful to turn a number of batches into a
    /// readahead budget.
    pub fn decoded_bytes_per_row(&self) -> Result<f64> {
        let (_, fields) = self.plan_fields()?;
        Ok(decoded_bytes_per_row(&fields))
    }

    fn plan_fields(&self) -> Result<(SchemaRef, Arc<Vec<FieldReader>>)> {
        let metadata = self.reader.metadata();
        let selections =
            projection::resolve(&metadata.schema, &metadata.field_ids, &self.projection)?;
        let readers = self.reader.field_readers()?;
        let mut fields = Vec::with_capacity(selections.len());
        let mut projected = Vec::with_capacity(selections.len());
        for (index, selection) in &selections {
            let (Some(field), Some(reader)) =
                (metadata.schema.fields().get(*index), readers.get(*index))
            else {
                return Err(Error::internal("projection names a missing field"));
            };
            let reader = reader.project(selection)?;
            fields.push(Arc::new(
                Field::clone(field).with_data_type(reader.data_type()),
            ));
            projected.push(reader);
        }
        let schema = Schema::new_with_metadata(fields, metadata.schema.metadata().clone());
        Ok((Arc::new(schema), Arc::new(projected)))
    }

    /// Checks the scan and starts it. Batches arrive in row-selection order.
    ///
    /// The stream must be polled inside a Tokio runtime: chunks are read by spawned tasks.
    pub fn into_stream(self) -> Result<BatchStream> {
        if self.batch_size == 0 {
            return Err(Error::invalid_argument("batch size must be at least 1"));
        }
        let num_rows = self.reader.num_rows();
        let (schema, fields) = self.plan_fields()?;
        // Chunks are sized by their decoded bytes, so that the chunks in flight stay near the
        // readahead budget and there are several of them to spread over the cores. While a
        // chunk decodes it holds both its stored bytes and its decoded values, so the number
        // in flight counts both, except for values that are the read bytes themselves.
        let decoded_per_row = decoded_bytes_per_row(&fields);
        let stored_per_row: f64 = fields.iter().map(FieldReader::bytes_per_value).sum();
        let target_chunk_bytes = (self.readahead_bytes / 4).clamp(256 * 1024, 16 * 1024 * 1024);
        let chunk_rows = ((target_chunk_bytes as f64 / decoded_per_row) as usize)
            .max(1)
            .div_ceil(self.batch_size)
            .saturating_mul(self.batch_size);
        let cuts = page_cuts(&fields, self.batch_size);
        let working_per_row = decoded_per_row + stored_per_row - cuts.in_place_bytes_per_row;
        let chunk_working_bytes = (chunk_rows as f64 * working_per_row).max(1.0);
        let in_flight = ((self.readahead_bytes as f64 / chunk_working_bytes) as usize).clamp(1, 64);

        let chunks = match self.rows {
            RowSelection::All => {
                chunk_ranges(std::slice::from_ref(&(0..num_rows)), chunk_rows, &cuts.rows)
            }
            RowSelection::Ranges(ranges) => {
                if let Some(bad) = ranges.iter().find(|r| r.start > r.end || r.end > num_rows) {
                    return Err(Error::invalid_argument(format!(
                        "row range {bad:?} is outside the file's {num_rows} rows"
                    )));
                }
                chunk_ranges(&ranges, chunk_rows, &cuts.rows)
            }
            RowSelection::Indices(indices) => {
                if let Some(bad) = indices.iter().find(|&&i| i >= num_rows) {
                    return Err(Error::invalid_argument(format!(
                        "row index {bad} is outside the file's {num_rows} rows"
                    )));
                }
                chunk_indices(&indices, chunk_rows)
            }
        };

        // Where each chunk's rows start in the scan's output, so that a chunk can be cut
        // into batches where the scan's batches end.
        let chunks: Vec<(Chunk, u64)> = chunks
            .into_iter()
            .scan(0u64, |next, chunk| {
                let first = *next;
                *next += chunk.output_rows();
                Some((chunk, first))
            })
            .collect();
        let io = self.reader.inner.io.clone();
        let chunk_schema = schema.clone();
        let cores = crate::cores::available().unwrap_or(1);
        let batch_size = self.batch_size;
        let batches = stream::iter(chunks)
            .map(move |(chunk, first_row)| {
                // The chunk's columns are cut into batches on a worker too, so that the
                // stream's poller (a Python thread, say) is woken once per chunk, not once
                // per column.
                let task = AbortOnDrop(tokio::spawn(read_chunk(
                    &io,
                    &fields,
                    chunk_schema.clone(),
                    chunk,
                    ChunkPlace {
                        first_row,
                        batch_size,
                        cores,
                    },
                )));
                async move {
                    task.await
                        .map_err(|e| Error::internal(format!("read task failed: {e}")))?
                }
            })
            .buffered(in_flight)
            .map_ok(|batches| stream::iter(batches.into_iter().map(Ok)))
            .try_flatten();
        let rebatched = Rebatch::new(batches.boxed(), self.batch_size);
        Ok(BatchStream {
            schema,
            inner: rebatched.boxed(),
        })
    }

    /// Starts the scan and returns a blocking iterator of batches
    /// ([`arrow_array::RecordBatchReader`]). It runs its own Tokio runtime, so it must not be
    /// used from inside async code.
    pub fn into_blocking(self) -> Result<BlockingBatchReader> {
        BlockingBatchReader::new(self)
    }
}

/// Estimated decoded bytes of one row of `fields` (at least 1).
fn decoded_bytes_per_row(fields: &[FieldReader]) -> f64 {
    fields
        .iter()
        .map(FieldReader::decoded_bytes_per_value)
        .sum::<f64>()
        .max(1.0)
}

/// Rows that no stored chunk spans: a mini-block chunk holds at most 4096 values.
const INDEPENDENT_ROWS: u64 = 4096;

/// The fewest separate ranges in each part of a chunk that is decoded in parts.
const MIN_RANGES_PER_PART: usize = 16;

/// Splits the ranges of a chunk into at most `cores` consecutive parts to decode in parallel
/// (as index ranges into `ranges`). A take of rows scattered over the file decodes a stored
/// chunk per row and column, so sharing its rows between the cores shortens it even when one
/// column holds most of the work. A part ends only where the rows jump by at least
/// [`INDEPENDENT_ROWS`], so no stored chunk is read by two parts; a chunk of few ranges (a
/// scan) stays whole.
fn split_for_cores(ranges: &[Range<u64>], cores: usize) -> Vec<Range<usize>> {
    let parts = cores.min(ranges.len() / MIN_RANGES_PER_PART).max(1);
    let mut bounds = vec![0];
    for part in 1..parts {
        let target = part * ranges.len() / parts;
        let from = target.max(bounds.last().map_or(0, |&b| b + 1)).max(1);
        let split = (from..ranges.len())
            .find(|&i| ranges[i].start.saturating_sub(ranges[i - 1].end) >= INDEPENDENT_ROWS);
        match split {
            Some(i) => bounds.push(i),
            None => break,
        }
    }
    bounds.push(ranges.len());
    bounds.windows(2).map(|w| w[0]..w[1]).collect()
}

/// Where a chunk sits in its scan: its first row's position in the output, the scan's batch
/// size, and the cores to spread scattered rows over.
#[derive(Debug, Clone, Copy)]
struct ChunkPlace {
    first_row: u64,
    batch_size: usize,
    cores: usize,
}

/// Starts reading one chunk: every projected field (and every part of a chunk of scattered
/// rows, see [`split_for_cores`]) is read and decoded by a task of its own, as pieces (one per
/// page where that is possible), so the columns of a chunk are decoded in parallel. The
/// returned future cuts them into batches that end where the scan's batches do
/// ([`cut_into_batches`]), so that only the batches that straddle a page are copied.
fn read_chunk(
    io: &Arc<dyn crate::io::RangeRead>,
    fields: &Arc<Vec<FieldReader>>,
    schema: SchemaRef,
    chunk: Chunk,
    place: ChunkPlace,
) -> BoxFuture<'static, Result<Vec<RecordBatch>>> {
    let num_rows: u64 = chunk.ranges.iter().map(|r| r.end - r.start).sum();
    let parts: Vec<Arc<Vec<Range<u64>>>> = split_for_cores(&chunk.ranges, place.cores)
        .into_iter()
        .map(|part| Arc::new(chunk.ranges[part].to_vec()))
        .collect();
    let tasks: Vec<_> = (0..fields.len())
        .map(|index| {
            let part_tasks: Vec<_> = parts
                .iter()
                .map(|ranges| {
                    let io = io.clone();
                    let fields = fields.clone();
                    let ranges = ranges.clone();
                    let task = tokio::spawn(async move {
                        match fields.get(index) {
                            Some(field) => field.read_pieces(io.as_ref(), &ranges).await,
                            None => Err(Error::internal("field index out of range")),
                        }
                    });
                    async move { flatten_join(AbortOnDrop(task).await) }
                })
                .collect();
            async move {
                let pieces = try_join_all(part_tasks).await?;
                Ok::<_, Error>(pieces.into_iter().flatten().collect::<Vec<ArrayRef>>())
            }
            .boxed()
        })
        .collect();
    async move {
        let columns: Vec<Vec<ArrayRef>> = try_join_all(tasks).await?;
        let Some(order) = &chunk.reorder else {
            return cut_into_batches(&schema, columns, num_rows as usize, place);
        };
        let columns = columns
            .iter()
            .map(|pieces| {
                let whole = join_pieces(pieces)?;
                Ok(arrow_select::take::take(
                    whole.as_ref(),
                    order.as_ref(),
                    None,
                )?)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(vec![batch_of(&schema, columns, order.len())?])
    }
    .boxed()
}

/// The pieces of a column as one array (copied only when there are several).
fn join_pieces(pieces: &[ArrayRef]) -> Result<ArrayRef> {
    match pieces {
        [piece] => Ok(piece.clone()),
        _ => {
            let pieces: Vec<&dyn arrow_array::Array> =
                pieces.iter().map(|piece| piece.as_ref()).collect();
            Ok(arrow_select::concat::concat(&pieces)?)
        }
    }
}

/// A batch of the chunk's columns.
fn batch_of(schema: &SchemaRef, columns: Vec<ArrayRef>, num_rows: usize) -> Result<RecordBatch> {
    let options = RecordBatchOptions::new().with_row_count(Some(num_rows));
    // The columns were decoded from the file: if they do not fit its own schema (nulls in
    // a non-nullable field, say), the file contradicts itself.
    RecordBatch::try_new_with_options(schema.clone(), columns, &options)
        .map_err(|e| Error::corrupt(format!("the file's data does not match its schema: {e}")))
}

/// Cuts a chunk of `num_rows` rows (each column as pieces that hold its rows end to end) into
/// batches that end where the scan's batches end: the first is cut short to reach the next
/// multiple of the batch size in the scan's output. A batch's column is a slice of one piece,
/// or, where it straddles two, a copy of just its rows.
fn cut_into_batches(
    schema: &SchemaRef,
    columns: Vec<Vec<ArrayRef>>,
    num_rows: usize,
    place: ChunkPlace,
) -> Result<Vec<RecordBatch>> {
    let batch_size = place.batch_size.max(1);
    let mut cursors: Vec<PieceCursor> = columns.into_iter().map(PieceCursor::new).collect();
    let mut batches = Vec::with_capacity(num_rows.div_ceil(batch_size) + 1);
    let mut next = (batch_size - (place.first_row % batch_size as u64) as usize) % batch_size;
    if next == 0 {
        next = batch_size;
    }
    let mut done = 0;
    while done < num_rows {
        let rows = next.min(num_rows - done);
        let columns = cursors
            .iter_mut()
            .map(|cursor| cursor.take(rows))
            .collect::<Result<Vec<_>>>()?;
        batches.push(batch_of(schema, columns, rows)?);
        done += rows;
        next = batch_size;
    }
    if cursors.iter().any(|cursor| !cursor.is_done()) {
        return Err(Error::corrupt(format!(
            "a column holds more than the {num_rows} rows read"
        )));
    }
    Ok(batches)
}

/// Takes rows off the front of a column held as pieces.
struct PieceCursor {
    pieces: Vec<ArrayRef>,
    /// The piece the next row is in, and its position there.
    piece: usize,
    offset: usize,
}

impl PieceCursor {
    fn new(pieces: Vec<ArrayRef>) -> Self {
        Self {
            pieces,
            piece: 0,
            offset: 0,
        }
    }

    /// The next `rows` rows: a slice of one piece, or a copy where they span several.
    fn take(&mut self, rows: usize) -> Result<ArrayRef> {
        let mut parts = Vec::new();
        let mut needed = rows;
        while needed > 0 {
            let Some(piece) = self.pieces.get(self.piece) else {
                return Err(Error::corrupt(format!(
                    "a column holds fewer rows than the {rows} of a batch"
                )));
            };
            let available = piece.len().saturating_sub(self.offset);
            let count = needed.min(available);
            if count > 0 {
                parts.push(piece.slice(self.offset, count));
                needed -= count;
            }
            self.offset += count;
            if self.offset >= piece.len() {
                self.piece += 1;
                self.offset = 0;
            }
        }
        join_pieces(&parts)
    }

    /// Whether every row has been taken.
    fn is_done(&self) -> bool {
        self.pieces
            .get(self.piece..)
            .is_none_or(|rest| rest.iter().all(|piece| piece.is_empty()))
    }
}

/// The result of a finished read task (a task that panicked or was cancelled is an error).
fn flatten_join<T>(joined: std::result::Result<Result<T>, tokio::task::JoinError>) -> Result<T> {
    match joined {
        Ok(result) => result,
        Err(error) => Err(Error::internal(format!("read task failed: {error}"))),
    }
}

/// Where chunks end so that none straddles a page of the field that holds most of a row's
/// bytes (vectors, say).
#[derive(Debug, Default)]
struct PageCuts {
    /// The first rows of that field's pages (after the first); empty when chunks need not
    /// follow its pages (no such field, or its pages hold less than a batch on average).
    rows: Vec<u64>,
    /// Stored bytes per row of that field when a read of rows within one of its pages becomes
    /// its values without a copy: a chunk holds those bytes once, not twice.
    in_place_bytes_per_row: f64,
}

fn page_cuts(fields: &[FieldReader], batch_size: usize) -> PageCuts {
    let total: f64 = fields.iter().map(FieldReader::bytes_per_value).sum();
    let widest = fields
        .iter()
        .max_by(|a, b| a.bytes_per_value().total_cmp(&b.bytes_per_value()));
    let Some(widest) = widest.filter(|f| f.bytes_per_value() * 2.0 >= total) else {
        return PageCuts::default();
    };
    // The pages before the last (which holds the rest) hold at least a batch on average.
    let holds_batches = |cuts: &[u64]| {
        cuts.last()
            .is_some_and(|&last| last / cuts.len() as u64 >= batch_size as u64)
    };
    match widest.page_boundaries() {
        Some(cuts) if holds_batches(cuts) => PageCuts {
            rows: cuts.to_vec(),
            in_place_bytes_per_row: if widest.decodes_in_place() {
                widest.bytes_per_value()
            } else {
                0.0
            },
        },
        _ => PageCuts::default(),
    }
}

/// Cuts ranges into chunks of at most `chunk_rows` rows, also ending a chunk at every row of
/// `cuts` (sorted). A chunk only holds ranges that are ascending and disjoint, so it can be
/// read in one pass.
fn chunk_ranges(ranges: &[Range<u64>], chunk_rows: usize, cuts: &[u64]) -> Vec<Chunk> {
    let chunk_rows = chunk_rows as u64;
    let mut chunks = Vec::new();
    let mut current: Vec<Range<u64>> = Vec::new();
    let mut current_rows = 0u64;
    for range in ranges.iter().filter(|r| r.start < r.end) {
        let mut start = range.start;
        while start < range.end {
            let fits_order = current.last().is_none_or(|last| last.end <= start);
            let next_cut = cuts.partition_point(|&cut| cut <= start);
            let at_cut = next_cut > 0 && cuts.get(next_cut - 1) == Some(&start);
            if current_rows >= chunk_rows || !fits_order || (at_cut && current_rows > 0) {
                chunks.push(Chunk {
                    ranges: std::mem::take(&mut current),
                    reorder: None,
                });
                current_rows = 0;
            }
            let mut end = range.end.min(start + (chunk_rows - current_rows));
            if let Some(&cut) = cuts.get(next_cut) {
                end = end.min(cut);
            }
            match current.last_mut() {
                Some(last) if last.end == start => last.end = end,
                _ => current.push(start..end),
            }
            current_rows += end - start;
            start = end;
        }
    }
    if !current.is_empty() {
        chunks.push(Chunk {
            ranges: current,
            reorder: None,
        });
    }
    chunks
}

/// Cuts a take into chunks of `chunk_rows` indices. Each chunk reads its distinct rows once, in
/// file order, and then puts them in the requested order.
fn chunk_indices(indices: &[u64], chunk_rows: usize) -> Vec<Chunk> {
    indices
        .chunks(chunk_rows.max(1))
        .map(|wanted| {
            let mut sorted: Vec<u64> = wanted.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            let mut ranges: Vec<Range<u64>> = Vec::new();
            for &row in &sorted {
                match ranges.last_mut() {
                    Some(last) if last.end == row => last.end = row + 1,
                    _ => ranges.push(row..row + 1),
                }
            }
            let in_order = sorted.len() == wanted.len() && sorted.as_slice() == wanted;
            let reorder = (!in_order).then(|| {
                let positions: Vec<u64> = wanted
                    .iter()
                    .map(|row| sorted.partition_point(|r| r < row) as u64)
                    .collect();
                Arc::new(UInt64Array::from(positions))
            });
            Chunk { ranges, reorder }
        })
        .collect()
}

/// Cancels a spawned task when dropped (a dropped stream stops its reads).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Future for AbortOnDrop<T> {
    type Output = std::result::Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Re-cuts a stream of batches into batches of exactly `batch_size` rows (the last may be
/// shorter). Slicing is free; only batches that straddle two input batches are copied.
struct Rebatch {
    input: BoxStream<'static, Result<RecordBatch>>,
    batch_size: usize,
    pending: VecDeque<RecordBatch>,
    pending_rows: usize,
    input_done: bool,
}

impl Rebatch {
    fn new(input: BoxStream<'static, Result<RecordBatch>>, batch_size: usize) -> Self {
        Self {
            input,
            batch_size,
            pending: VecDeque::new(),
            pending_rows: 0,
            input_done: false,
        }
    }

    /// Takes `rows` rows off the front of the pending batches.
    fn take_rows(&mut self, rows: usize) -> Result<RecordBatch> {
        let mut parts = Vec::new();
        let mut needed = rows;
        while needed > 0 {
            let Some(front) = self.pending.pop_front() else {
                break;
            };
            if front.num_rows() <= needed {
                needed -= front.num_rows();
                parts.push(front);
            } else {
                parts.push(front.slice(0, needed));
                self.pending
                    .push_front(front.slice(needed, front.num_rows() - needed));
                needed = 0;
            }
        }
        self.pending_rows -= rows - needed;
        match parts.len() {
            1 => parts.pop().ok_or_else(|| Error::internal("no batch")),
            _ => {
                let schema = parts
                    .first()
                    .map(|b| b.schema())
                    .ok_or_else(|| Error::internal("no batch"))?;
                Ok(arrow_select::concat::concat_batches(&schema, &parts)?)
            }
        }
    }
}

impl Stream for Rebatch {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if self.pending_rows >= self.batch_size {
                let size = self.batch_size;
                return Poll::Ready(Some(self.take_rows(size)));
            }
            if self.input_done {
                if self.pending_rows > 0 {
                    let rows = self.pending_rows;
                    return Poll::Ready(Some(self.take_rows(rows)));
                }
                return Poll::Ready(None);
            }
            match self.input.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(batch))) => {
                    if batch.num_rows() > 0 {
                        self.pending_rows += batch.num_rows();
                        self.pending.push_back(batch);
                    }
                }
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
                Poll::Ready(None) => self.input_done = true,
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// A stream of record batches with a known schema.
pub struct BatchStream {
    schema: SchemaRef,
    inner: BoxStream<'static, Result<RecordBatch>>,
}

impl BatchStream {
    /// The schema of every batch.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Reads the whole stream into a vector of batches.
    pub async fn try_collect(self) -> Result<Vec<RecordBatch>> {
        futures::TryStreamExt::try_collect(self).await
    }
}

impl std::fmt::Debug for BatchStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchStream")
            .field("schema", &self.schema)
            .finish()
    }
}

impl Stream for BatchStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(starts: impl IntoIterator<Item = u64>) -> Vec<Range<u64>> {
        starts.into_iter().map(|s| s..s + 1).collect()
    }

    #[test]
    fn scattered_rows_are_split_between_cores_at_wide_gaps() {
        // 64 rows 10 000 apart: two parts of 32 on two cores, four of 16 on eight.
        let scattered = rows((0..64).map(|i| i * 10_000));
        assert_eq!(split_for_cores(&scattered, 2), vec![0..32, 32..64]);
        assert_eq!(
            split_for_cores(&scattered, 8),
            vec![0..16, 16..32, 32..48, 48..64]
        );
        // Rows close together may share stored chunks: no split where the gap is narrow.
        let mut clustered = rows(0..40);
        clustered.extend(rows((0..24).map(|i| 1_000_000 + i * 10_000)));
        assert_eq!(split_for_cores(&clustered, 2), vec![0..40, 40..64]);
        assert_eq!(split_for_cores(&rows(0..64), 2), vec![0..64]);
        // Few ranges (a scan) or one core: one part.
        assert_eq!(split_for_cores(&scattered[..20], 2), vec![0..20]);
        assert_eq!(split_for_cores(&scattered, 1), vec![0..64]);
        assert_eq!(split_for_cores(&[], 2), vec![0..0]);
    }

    #[test]
    fn chunks_are_cut_where_the_scans_batches_end_copying_only_across_pieces() {
        use arrow_array::{Array, Int32Array};
        let schema = Arc::new(Schema::new(vec![Field::new(
            "v",
            arrow_schema::DataType::Int32,
            false,
        )]));
        // One column of 25 rows in two pieces (two pages), rows 10.. of the scan's output.
        let first: ArrayRef = Arc::new(Int32Array::from_iter_values(0..9));
        let second: ArrayRef = Arc::new(Int32Array::from_iter_values(9..25));
        let place = ChunkPlace {
            first_row: 10,
            batch_size: 4,
            cores: 1,
        };
        let batches = cut_into_batches(
            &schema,
            vec![vec![first.clone(), second.clone()]],
            25,
            place,
        )
        .unwrap();
        // The scan's batches end at rows 12, 16, 20, ... of its output.
        let sizes: Vec<usize> = batches.iter().map(RecordBatch::num_rows).collect();
        assert_eq!(sizes, vec![2, 4, 4, 4, 4, 4, 3]);
        let values: Vec<i32> = batches
            .iter()
            .flat_map(|b| {
                let column = b.column(0).as_any().downcast_ref::<Int32Array>().unwrap();
                column.values().to_vec()
            })
            .collect();
        assert_eq!(values, (0..25).collect::<Vec<_>>());
        // Batches inside a piece share its memory; the one across the pieces (rows 6..9 and
        // 9..10 of the chunk) is a copy.
        let shares = |batch: &RecordBatch, piece: &ArrayRef| {
            let start = piece.to_data().buffers()[0].as_ptr() as usize;
            let end = start + piece.len() * 4;
            let at = batch.column(0).to_data().buffers()[0].as_ptr() as usize
                + batch.column(0).offset() * 4;
            (start..end).contains(&at)
        };
        assert!(shares(&batches[0], &first) && shares(&batches[1], &first));
        assert!(!shares(&batches[2], &first) && !shares(&batches[2], &second));
        assert!(batches[3..].iter().all(|b| shares(b, &second)));
        // A column short of the chunk's rows, or longer, means a corrupt file.
        let short = cut_into_batches(&schema, vec![vec![first.clone()]], 25, place);
        assert!(matches!(short, Err(Error::Corrupt { .. })));
        let long = cut_into_batches(&schema, vec![vec![first, second]], 20, place);
        assert!(matches!(long, Err(Error::Corrupt { .. })));
    }

    #[test]
    fn ranges_are_cut_into_ordered_chunks() {
        let chunks = chunk_ranges(&[0..10, 10..25, 5..7], 8, &[]);
        let ranges: Vec<_> = chunks.iter().map(|c| c.ranges.clone()).collect();
        assert_eq!(
            ranges,
            vec![
                vec![0..8],
                vec![8..16],
                vec![16..24],
                vec![24..25],
                vec![5..7]
            ]
        );
    }

    #[test]
    fn chunks_end_at_cuts() {
        let ranges = |chunks: Vec<Chunk>| -> Vec<Vec<Range<u64>>> {
            chunks.into_iter().map(|c| c.ranges).collect()
        };
        // Pages begin at rows 10 and 20: chunks of 6 rows restart at each.
        let chunks = chunk_ranges(std::slice::from_ref(&(0..25)), 6, &[10, 20]);
        assert_eq!(
            ranges(chunks),
            vec![
                vec![0..6],
                vec![6..10],
                vec![10..16],
                vec![16..20],
                vec![20..25]
            ]
        );
        // Ranges on both sides of a cut go to different chunks; a range starting at a cut
        // closes the chunk before it.
        let chunks = chunk_ranges(&[2..4, 8..12, 20..22, 23..24], 100, &[10, 20]);
        assert_eq!(
            ranges(chunks),
            vec![vec![2..4, 8..10], vec![10..12], vec![20..22, 23..24]]
        );
    }

    #[test]
    fn takes_read_each_row_once_and_reorder() {
        let chunks = chunk_indices(&[7, 3, 3, 4, 9], 10);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].ranges, vec![3..5, 7..8, 9..10]);
        let order: Vec<u64> = chunks[0].reorder.as_ref().unwrap().values().to_vec();
        // sorted distinct rows are [3, 4, 7, 9]
        assert_eq!(order, vec![2, 0, 0, 1, 3]);
        let in_order = chunk_indices(&[1, 2, 5], 10);
        assert!(in_order[0].reorder.is_none());
    }
}
