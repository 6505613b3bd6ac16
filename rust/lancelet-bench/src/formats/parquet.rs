//! Parquet through arrow-rs: `AsyncArrowWriter` over object_store's `BufWriter`, and
//! `ParquetRecordBatchStreamBuilder` over `ParquetObjectReader`.
//!
//! parquet 59.3 deprecates `ParquetObjectWriter` (a thin wrapper of `BufWriter`, which the
//! writer now takes directly; the uploads are the same) and `ParquetObjectReader` (in favour of
//! implementing `AsyncFileReader` yourself). The reader is still the one arrow-rs ships for
//! object stores, so this module keeps using it.
#![allow(deprecated)]

use std::sync::Arc;

use arrow_array::RecordBatch;
use futures::StreamExt;
use object_store::ObjectStore;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, RowSelection, RowSelector,
};
use parquet::arrow::async_reader::{ParquetObjectReader, ParquetRecordBatchStreamBuilder};
use parquet::arrow::async_writer::AsyncArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::PageIndexPolicy;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use super::{Format, SCAN_BATCH_ROWS, positions_in, sorted_unique};
use crate::Result;
use crate::data::Dataset;

/// The ZSTD level of `parquet-zstd` and `parquet-ra`.
pub const ZSTD_LEVEL: i32 = 1;
/// Rows per data page of `parquet-ra`.
pub const RA_PAGE_ROWS: usize = 1024;
/// Bytes per data page of `parquet-ra`.
pub const RA_PAGE_BYTES: usize = 64 * 1024;

/// The Parquet settings under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// arrow-rs defaults.
    Default,
    /// Defaults with ZSTD.
    Zstd,
    /// Random-access tuned: ZSTD, small pages, page index read.
    RandomAccess,
}

impl Flavor {
    /// The flavor of a Parquet [`Format`].
    pub fn of(format: Format) -> Self {
        match format {
            Format::ParquetZstd => Flavor::Zstd,
            Format::ParquetRa => Flavor::RandomAccess,
            _ => Flavor::Default,
        }
    }

    /// The writer settings.
    fn properties(self) -> Result<WriterProperties> {
        let zstd = Compression::ZSTD(ZstdLevel::try_new(ZSTD_LEVEL)?);
        Ok(match self {
            Flavor::Default => WriterProperties::default(),
            Flavor::Zstd => WriterProperties::builder().set_compression(zstd).build(),
            Flavor::RandomAccess => WriterProperties::builder()
                .set_compression(zstd)
                .set_data_page_row_count_limit(RA_PAGE_ROWS)
                .set_data_page_size_limit(RA_PAGE_BYTES)
                .set_write_batch_size(RA_PAGE_ROWS)
                .set_statistics_enabled(EnabledStatistics::Page)
                .set_offset_index_disabled(false)
                .build(),
        })
    }

    /// The reader settings: the page index is loaded only for random access.
    fn reader_options(self) -> ArrowReaderOptions {
        let policy = match self {
            Flavor::RandomAccess => PageIndexPolicy::Required,
            Flavor::Default | Flavor::Zstd => PageIndexPolicy::Skip,
        };
        ArrowReaderOptions::new().with_page_index_policy(policy)
    }
}

/// Writes `data` as one Parquet file (uploaded by `BufWriter`: one `put` if under 10 MiB,
/// else 10 MiB multipart parts).
pub async fn write(
    store: Arc<dyn ObjectStore>,
    path: &Path,
    data: &Dataset,
    flavor: Flavor,
) -> Result<()> {
    let sink = BufWriter::new(store, path.clone());
    let mut writer =
        AsyncArrowWriter::try_new(sink, data.schema.clone(), Some(flavor.properties()?))?;
    for batch in &data.batches {
        writer.write(batch).await?;
    }
    writer.close().await?;
    Ok(())
}

/// An opened Parquet file: its reader and decoded metadata.
#[derive(Debug)]
pub struct ParquetFile {
    /// The reader (cloned for every read).
    reader: ParquetObjectReader,
    /// The metadata (and page index for [`Flavor::RandomAccess`]).
    metadata: ArrowReaderMetadata,
    /// First row of each row group, and the total row count at the end.
    row_group_starts: Vec<u64>,
}

impl ParquetFile {
    /// Opens the file: reads and decodes the footer (and the page index if the flavor uses
    /// it).
    pub async fn open(store: Arc<dyn ObjectStore>, path: &Path, flavor: Flavor) -> Result<Self> {
        let mut reader = ParquetObjectReader::new(store, path.clone());
        let metadata =
            ArrowReaderMetadata::load_async(&mut reader, flavor.reader_options()).await?;
        let mut row_group_starts = vec![0u64];
        for group in metadata.metadata().row_groups() {
            let last = row_group_starts[row_group_starts.len() - 1];
            row_group_starts.push(last + group.num_rows() as u64);
        }
        Ok(Self {
            reader,
            metadata,
            row_group_starts,
        })
    }

    /// A stream builder over this file.
    fn builder(&self) -> ParquetRecordBatchStreamBuilder<ParquetObjectReader> {
        ParquetRecordBatchStreamBuilder::new_with_metadata(
            self.reader.clone(),
            self.metadata.clone(),
        )
    }

    /// Reads every row of the `projection` columns (all if `None`); returns the rows read.
    pub async fn scan(&self, projection: Option<&[usize]>) -> Result<u64> {
        let mut builder = self.builder().with_batch_size(SCAN_BATCH_ROWS);
        if let Some(columns) = projection {
            let mask = ProjectionMask::roots(builder.parquet_schema(), columns.iter().copied());
            builder = builder.with_projection(mask);
        }
        let mut stream = builder.build()?;
        let mut rows = 0u64;
        while let Some(batch) = stream.next().await {
            rows += batch?.num_rows() as u64;
        }
        Ok(rows)
    }

    /// Reads the rows at `indices` (in that order): only the row groups holding them, with a
    /// [`RowSelection`] of the sorted rows, then puts the rows in the requested order.
    pub async fn take(&self, indices: &[u64]) -> Result<RecordBatch> {
        let rows = sorted_unique(indices);
        let total = self.row_group_starts[self.row_group_starts.len() - 1];
        if let Some(&last) = rows.last()
            && last >= total
        {
            return Err(format!("row {last} out of range (file has {total} rows)").into());
        }
        let mut groups = Vec::new();
        let mut selectors = Vec::new();
        let mut next = 0;
        while next < rows.len() {
            let group = self.row_group_starts.partition_point(|&s| s <= rows[next]) - 1;
            let group_start = self.row_group_starts[group];
            let group_end = self.row_group_starts[group + 1];
            let mut position = group_start;
            while next < rows.len() && rows[next] < group_end {
                let run_start = rows[next];
                let mut run_end = run_start + 1;
                next += 1;
                while next < rows.len() && rows[next] == run_end {
                    run_end += 1;
                    next += 1;
                }
                if run_start > position {
                    selectors.push(RowSelector::skip((run_start - position) as usize));
                }
                selectors.push(RowSelector::select((run_end - run_start) as usize));
                position = run_end;
            }
            if group_end > position {
                selectors.push(RowSelector::skip((group_end - position) as usize));
            }
            groups.push(group);
        }
        let stream = self
            .builder()
            .with_row_groups(groups)
            .with_row_selection(RowSelection::from(selectors))
            .with_batch_size(rows.len().max(1))
            .build()?;
        let batches: Vec<RecordBatch> = futures::TryStreamExt::try_collect(stream).await?;
        let read: usize = batches.iter().map(RecordBatch::num_rows).sum();
        if read != rows.len() {
            return Err(format!("parquet take read {read} rows, wanted {}", rows.len()).into());
        }
        if batches.is_empty() {
            return Ok(RecordBatch::new_empty(self.metadata.schema().clone()));
        }
        // Where each sorted row landed: (batch, row in batch).
        let mut landed = Vec::with_capacity(rows.len());
        for (batch_index, batch) in batches.iter().enumerate() {
            landed.extend((0..batch.num_rows()).map(|row| (batch_index, row)));
        }
        let picks: Vec<(usize, usize)> = positions_in(&rows, indices)
            .into_iter()
            .map(|slot| landed[slot])
            .collect();
        let refs: Vec<&RecordBatch> = batches.iter().collect();
        Ok(arrow_select::interleave::interleave_record_batch(
            &refs, &picks,
        )?)
    }
}
