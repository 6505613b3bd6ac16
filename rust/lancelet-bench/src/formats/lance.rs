//! Lancelet: [`lancelet::FileWriter`] and [`lancelet::FileReader`].

use std::sync::Arc;

use arrow_array::RecordBatch;
use futures::StreamExt;
use lancelet::{FileReader, FileVersion, FileWriter, WriterOptions};
use object_store::ObjectStore;
use object_store::path::Path;

use super::{Format, SCAN_BATCH_ROWS};
use crate::Result;
use crate::data::Dataset;

/// The Lance format version a [`Format`] writes.
pub fn version_of(format: Format) -> FileVersion {
    match format {
        Format::Lancelet20 => FileVersion::V2_0,
        _ => WriterOptions::default().version(),
    }
}

/// Writes `data` as one Lance file of `version`.
pub async fn write(
    store: Arc<dyn ObjectStore>,
    path: &Path,
    data: &Dataset,
    version: FileVersion,
) -> Result<()> {
    let options = WriterOptions::default().with_version(version);
    let mut writer = FileWriter::try_new(store, path.clone(), data.schema.clone(), options)?;
    for batch in &data.batches {
        writer.write_batch(batch).await?;
    }
    let summary = writer.finish().await?;
    if summary.num_rows != data.num_rows {
        return Err(format!("wrote {} rows of {}", summary.num_rows, data.num_rows).into());
    }
    Ok(())
}

/// Scans all rows of the `projection` columns (all if `None`); returns the rows read.
pub async fn scan(reader: &FileReader, projection: Option<&[usize]>) -> Result<u64> {
    let mut scan = reader.scan().with_batch_size(SCAN_BATCH_ROWS);
    if let Some(columns) = projection {
        let schema = reader.schema();
        let names: Vec<String> = columns
            .iter()
            .map(|&i| schema.field(i).name().clone())
            .collect();
        scan = scan.with_columns(names);
    }
    let mut stream = scan.into_stream()?;
    let mut rows = 0u64;
    while let Some(batch) = stream.next().await {
        rows += batch?.num_rows() as u64;
    }
    Ok(rows)
}

/// Takes the rows at `indices` of all columns.
pub async fn take(reader: &FileReader, indices: &[u64]) -> Result<Vec<RecordBatch>> {
    Ok(reader
        .take(indices.to_vec())
        .into_stream()?
        .try_collect()
        .await?)
}
