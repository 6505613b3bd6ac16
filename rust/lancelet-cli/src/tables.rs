//! Reading and writing whole tables in the formats the tool knows.

use std::collections::HashMap;
use std::fs::File;
use std::io::Cursor;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use bytes::Bytes;
use futures::stream::{self, BoxStream};
use futures::{StreamExt, TryStreamExt};
use lancelet::io::store_from_uri;
use lancelet::{FileReader, FileWriter, Scan, WriterOptions};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::CliResult;
use crate::dictionaries::DictionaryUnifier;

/// A file format, told by the file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Lance,
    ArrowIpc,
    Parquet,
}

impl Format {
    /// The format of `uri`, from its extension.
    pub fn of(uri: &str) -> CliResult<Format> {
        let name = uri.rsplit('/').next().unwrap_or(uri).to_ascii_lowercase();
        let extension = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
        match extension {
            "lance" => Ok(Format::Lance),
            "arrow" | "ipc" | "feather" => Ok(Format::ArrowIpc),
            "parquet" => Ok(Format::Parquet),
            _ => Err(format!(
                "cannot tell the format of '{uri}': use .lance, .arrow/.ipc/.feather or .parquet"
            )
            .into()),
        }
    }
}

/// A table being read: its schema, its batches and (when known) its row count.
pub struct Source {
    pub schema: SchemaRef,
    pub batches: BoxStream<'static, CliResult<RecordBatch>>,
    pub num_rows: Option<u64>,
}

/// Resolves a URI to a store and path, with storage options from nowhere but the environment.
pub fn resolve(uri: &str) -> CliResult<(Arc<dyn ObjectStore>, Path)> {
    Ok(store_from_uri(uri, &HashMap::new())?)
}

/// Opens a Lance file.
pub async fn open_lance(uri: &str) -> CliResult<FileReader> {
    Ok(FileReader::open_uri(uri, &HashMap::new()).await?)
}

/// Streams a scan of a Lance file.
pub fn lance_source(scan: Scan, num_rows: u64) -> CliResult<Source> {
    let stream = scan.into_stream()?;
    let schema = stream.schema();
    Ok(Source {
        schema,
        batches: stream.map_err(|e| e.into()).boxed(),
        num_rows: Some(num_rows),
    })
}

/// Local files are read directly; other URIs are fetched whole.
fn local_file(uri: &str) -> Option<std::path::PathBuf> {
    match uri.split_once("://") {
        None => Some(uri.into()),
        Some(("file", path)) => Some(path.into()),
        Some(_) => None,
    }
}

async fn fetch(uri: &str) -> CliResult<Bytes> {
    let (store, path) = resolve(uri)?;
    Ok(store.get(&path).await?.bytes().await?)
}

/// Opens an Arrow IPC file.
pub async fn ipc_source(uri: &str) -> CliResult<Source> {
    let (schema, batches): (
        SchemaRef,
        Box<dyn Iterator<Item = CliResult<RecordBatch>> + Send>,
    ) = match local_file(uri) {
        Some(path) => {
            let reader = arrow_ipc::reader::FileReader::try_new(File::open(&path)?, None)?;
            (
                reader.schema(),
                Box::new(reader.map(|b| b.map_err(|e| e.into()))),
            )
        }
        None => {
            let bytes = fetch(uri).await?;
            let reader = arrow_ipc::reader::FileReader::try_new(Cursor::new(bytes), None)?;
            (
                reader.schema(),
                Box::new(reader.map(|b| b.map_err(|e| e.into()))),
            )
        }
    };
    Ok(from_iterator(schema, batches, None))
}

/// Opens a Parquet file.
pub async fn parquet_source(uri: &str) -> CliResult<Source> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let (schema, reader, num_rows) = match local_file(uri) {
        Some(path) => {
            let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(&path)?)?;
            let rows = builder.metadata().file_metadata().num_rows();
            let schema = builder.schema().clone();
            let reader: Box<dyn Iterator<Item = _> + Send> = Box::new(builder.build()?);
            (schema, reader, rows)
        }
        None => {
            let builder = ParquetRecordBatchReaderBuilder::try_new(fetch(uri).await?)?;
            let rows = builder.metadata().file_metadata().num_rows();
            let schema = builder.schema().clone();
            let reader: Box<dyn Iterator<Item = _> + Send> = Box::new(builder.build()?);
            (schema, reader, rows)
        }
    };
    let batches = Box::new(reader.map(|b| b.map_err(|e| e.into())));
    Ok(from_iterator(schema, batches, u64::try_from(num_rows).ok()))
}

fn from_iterator(
    schema: SchemaRef,
    batches: Box<dyn Iterator<Item = CliResult<RecordBatch>> + Send>,
    num_rows: Option<u64>,
) -> Source {
    Source {
        schema,
        batches: stream::iter(batches).boxed(),
        num_rows,
    }
}

/// Counts of what a sink wrote.
pub struct Written {
    pub num_rows: u64,
    pub bytes: u64,
}

/// How to write a Lance file.
pub struct LanceOutput {
    pub options: WriterOptions,
    pub global_buffers: Vec<Bytes>,
    pub schema_metadata: Vec<(String, String)>,
}

/// Writes a source as a Lance file.
pub async fn write_lance(
    uri: &str,
    mut source: Source,
    output: LanceOutput,
    mut progress: impl FnMut(u64),
) -> CliResult<Written> {
    let (store, path) = resolve(uri)?;
    let mut writer = FileWriter::try_new(store, path, source.schema.clone(), output.options)?;
    for buffer in output.global_buffers {
        writer.add_global_buffer(buffer).await?;
    }
    for (key, value) in output.schema_metadata {
        writer.add_schema_metadata(key, value);
    }
    while let Some(batch) = source.batches.next().await {
        let batch = match batch {
            Ok(batch) => batch,
            Err(error) => {
                writer.abort().await;
                return Err(error);
            }
        };
        writer.write_batch(&batch).await?;
        progress(batch.num_rows() as u64);
    }
    let summary = writer.finish().await?;
    Ok(Written {
        num_rows: summary.num_rows,
        bytes: summary.file_size,
    })
}

/// An IPC file writer that sends dictionary growth as delta batches.
fn ipc_writer<W: std::io::Write>(
    out: W,
    schema: &arrow_schema::Schema,
) -> CliResult<arrow_ipc::writer::FileWriter<W>> {
    let options = arrow_ipc::writer::IpcWriteOptions::default()
        .with_dictionary_handling(arrow_ipc::writer::DictionaryHandling::Delta);
    Ok(arrow_ipc::writer::FileWriter::try_new_with_options(
        out, schema, options,
    )?)
}

/// Writes all batches of `source` into `out` as an IPC file and returns the rows written.
/// Dictionary columns are rewritten onto one growing dictionary per column, as the IPC file
/// format requires.
async fn write_ipc_batches<W: std::io::Write>(
    out: W,
    source: &mut Source,
    progress: &mut impl FnMut(u64),
) -> CliResult<(W, u64)> {
    let mut writer = ipc_writer(out, &source.schema)?;
    let mut dictionaries = DictionaryUnifier::new();
    let mut num_rows = 0u64;
    while let Some(batch) = source.batches.next().await {
        let batch = dictionaries.unify(&batch?)?;
        num_rows += batch.num_rows() as u64;
        writer.write(&batch)?;
        progress(batch.num_rows() as u64);
    }
    writer.finish()?;
    Ok((writer.into_inner()?, num_rows))
}

/// Writes a source as an Arrow IPC file (schema metadata included).
pub async fn write_ipc(
    uri: &str,
    mut source: Source,
    mut progress: impl FnMut(u64),
) -> CliResult<Written> {
    match local_file(uri) {
        Some(path) => {
            // Write next to the target and rename, so a failure leaves no partial file.
            let staging = path.with_extension("arrow.partial");
            let result = async {
                let (_, num_rows) =
                    write_ipc_batches(File::create(&staging)?, &mut source, &mut progress).await?;
                std::fs::rename(&staging, &path)?;
                CliResult::Ok(num_rows)
            }
            .await;
            if result.is_err() {
                let _ = std::fs::remove_file(&staging);
            }
            Ok(Written {
                num_rows: result?,
                bytes: std::fs::metadata(&path)?.len(),
            })
        }
        None => {
            let (bytes, num_rows) =
                write_ipc_batches(Vec::new(), &mut source, &mut progress).await?;
            let size = bytes.len() as u64;
            let (store, path) = resolve(uri)?;
            store.put(&path, PutPayload::from(bytes)).await?;
            Ok(Written {
                num_rows,
                bytes: size,
            })
        }
    }
}
