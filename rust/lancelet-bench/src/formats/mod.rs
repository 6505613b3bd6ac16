//! The file formats under test, all written and read through one [`ObjectStore`].

pub mod ipc;
pub mod lance;
pub mod parquet;

use std::sync::Arc;

use arrow_array::RecordBatch;
use object_store::ObjectStore;
use object_store::path::Path;

use crate::Result;
use crate::data::Dataset;

/// Rows per batch asked of the Lancelet and Parquet scans (IPC returns its stored batches).
pub const SCAN_BATCH_ROWS: usize = 8192;

/// A file format and its settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Format {
    /// Lancelet, Lance file format 2.2 (the default), default options.
    #[value(name = "lancelet-2.2")]
    Lancelet22,
    /// Lancelet, Lance file format 2.0.
    #[value(name = "lancelet-2.0")]
    Lancelet20,
    /// Arrow IPC file, uncompressed.
    #[value(name = "ipc")]
    Ipc,
    /// Parquet with arrow-rs defaults.
    #[value(name = "parquet")]
    Parquet,
    /// Parquet with ZSTD level 1, otherwise defaults.
    #[value(name = "parquet-zstd")]
    ParquetZstd,
    /// Parquet tuned for random access: ZSTD 1, small pages, page index used when reading.
    #[value(name = "parquet-ra")]
    ParquetRa,
}

impl Format {
    /// Every format, in report order.
    pub const ALL: [Format; 6] = [
        Format::Lancelet22,
        Format::Lancelet20,
        Format::Ipc,
        Format::Parquet,
        Format::ParquetZstd,
        Format::ParquetRa,
    ];

    /// The name used in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Lancelet22 => "lancelet-2.2",
            Format::Lancelet20 => "lancelet-2.0",
            Format::Ipc => "ipc",
            Format::Parquet => "parquet",
            Format::ParquetZstd => "parquet-zstd",
            Format::ParquetRa => "parquet-ra",
        }
    }

    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Lancelet22 | Format::Lancelet20 => "lance",
            Format::Ipc => "arrow",
            Format::Parquet | Format::ParquetZstd | Format::ParquetRa => "parquet",
        }
    }

    /// A one-line description of the settings, for the report.
    pub fn describe(self) -> &'static str {
        match self {
            Format::Lancelet22 => "`lancelet::FileWriter`, `WriterOptions::default()` (format 2.2)",
            Format::Lancelet20 => {
                "`lancelet::FileWriter`, `WriterOptions::default().with_version(V2_0)`"
            }
            Format::Ipc => {
                "Arrow IPC file (arrow-ipc `FileWriter`, uncompressed, one block per source batch, \
                 batch row counts in the footer's custom metadata); reads fetch only the blocks needed"
            }
            Format::Parquet => {
                "arrow-rs `WriterProperties::default()` (uncompressed, dictionary, 1 MiB pages, \
                 1 Mi-row row groups); read without the page index"
            }
            Format::ParquetZstd => "as `parquet` with ZSTD level 1",
            Format::ParquetRa => {
                "ZSTD level 1, data pages of at most 1024 rows / 64 KiB, page statistics and \
                 offset index; read with the page index so takes fetch only the pages holding the rows"
            }
        }
    }

    /// Writes `data` to `path`.
    pub async fn write(
        self,
        store: Arc<dyn ObjectStore>,
        path: &Path,
        data: &Dataset,
    ) -> Result<()> {
        match self {
            Format::Lancelet22 | Format::Lancelet20 => {
                lance::write(store, path, data, lance::version_of(self)).await
            }
            Format::Ipc => ipc::write(store, path, data).await,
            Format::Parquet | Format::ParquetZstd | Format::ParquetRa => {
                parquet::write(store, path, data, parquet::Flavor::of(self)).await
            }
        }
    }

    /// Opens the file at `path` (reads its metadata).
    pub async fn open(self, store: Arc<dyn ObjectStore>, path: &Path) -> Result<Opened> {
        Ok(match self {
            Format::Lancelet22 | Format::Lancelet20 => {
                Opened::Lance(lancelet::FileReader::open(store, path).await?)
            }
            Format::Ipc => Opened::Ipc(ipc::IpcFile::open(store, path).await?),
            Format::Parquet | Format::ParquetZstd | Format::ParquetRa => Opened::Parquet(
                parquet::ParquetFile::open(store, path, parquet::Flavor::of(self)).await?,
            ),
        })
    }
}

/// An opened file of any format.
#[derive(Debug)]
pub enum Opened {
    /// A Lance file.
    Lance(lancelet::FileReader),
    /// An Arrow IPC file.
    Ipc(ipc::IpcFile),
    /// A Parquet file.
    Parquet(parquet::ParquetFile),
}

impl Opened {
    /// Reads every row of the columns `projection` (`None`: all columns), consuming every
    /// batch, and returns the number of rows read.
    pub async fn scan(&self, projection: Option<&[usize]>) -> Result<u64> {
        match self {
            Opened::Lance(reader) => lance::scan(reader, projection).await,
            Opened::Ipc(file) => file.scan(projection).await,
            Opened::Parquet(file) => file.scan(projection).await,
        }
    }

    /// Reads the rows at `indices` (in that order) of all columns.
    pub async fn take(&self, indices: &[u64]) -> Result<Vec<RecordBatch>> {
        match self {
            Opened::Lance(reader) => lance::take(reader, indices).await,
            Opened::Ipc(file) => Ok(vec![file.take(indices).await?]),
            Opened::Parquet(file) => Ok(vec![file.take(indices).await?]),
        }
    }
}

/// The position of each of `indices` in `sorted_unique` (which must contain them all).
pub(crate) fn positions_in(sorted_unique: &[u64], indices: &[u64]) -> Vec<usize> {
    indices
        .iter()
        .map(|row| sorted_unique.partition_point(|&r| r < *row))
        .collect()
}

/// `indices` sorted, without repeats.
pub(crate) fn sorted_unique(indices: &[u64]) -> Vec<u64> {
    let mut rows = indices.to_vec();
    rows.sort_unstable();
    rows.dedup();
    rows
}
