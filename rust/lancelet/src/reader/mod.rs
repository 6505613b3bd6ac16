//! Reading Lance files: [`FileReader`] opens a file from its tail and [`Scan`] streams record
//! batches of chosen columns and rows.

mod blocking;
mod fields;
mod fields_structural;
mod fields_v2_0;
mod paging;
pub mod projection;
mod scan;

use std::ops::Range;
use std::sync::Arc;

use arrow_schema::SchemaRef;
use bytes::Bytes;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore};

use crate::error::{Error, Result};
use crate::format::metadata::{DecodeStep, MetadataDecoder};
use crate::format::{FileMetadata, FileVersion};
use crate::io::{IoHints, ObjectStoreReader, RangeRead};

pub use blocking::BlockingBatchReader;
pub use projection::Projection;
pub use scan::{BatchStream, DEFAULT_BATCH_SIZE, DEFAULT_READAHEAD_BYTES, RowSelection, Scan};

use fields::FieldReader;

/// An opened Lance file. Cheap to clone and share between tasks: clones share the metadata and
/// the underlying reader.
#[derive(Debug, Clone)]
pub struct FileReader {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    io: Arc<dyn RangeRead>,
    metadata: Arc<FileMetadata>,
    /// The readers of the top-level fields, or why the file's data cannot be read.
    fields: std::result::Result<Vec<FieldReader>, String>,
}

impl FileReader {
    /// Opens the file at `path` in `store`.
    ///
    /// Costs one read of the file's tail (4 KiB on local disks and in memory, 64 KiB on remote
    /// stores), which also tells the file's size, plus at most one more read when the metadata
    /// is larger than the tail. No `head` request is made.
    pub async fn open(store: Arc<dyn ObjectStore>, path: &Path) -> Result<Self> {
        let hints = IoHints::for_store(store.as_ref());
        let options = GetOptions::new().with_range(Some(GetRange::Suffix(hints.tail_read_bytes)));
        let result = store
            .get_opts(path, options)
            .await
            .map_err(Error::from_store)?;
        let file_size = result.meta.size;
        let tail_start = result.range.start;
        let tail = result.bytes().await.map_err(Error::from_store)?;
        let io = ObjectStoreReader::with_size(store, path.clone(), file_size).with_hints(hints);
        Self::open_with_tail(Arc::new(io), tail_start, tail).await
    }

    /// Opens the file at `uri` (see [`store_from_uri`](crate::io::store_from_uri) for the
    /// schemes and `options`). Local files (a path or `file://`) are read with a
    /// [`LocalFileReader`](crate::io::LocalFileReader), which skips the zero-filling and
    /// re-assembly of large ranges that reading through an object store costs; other URIs go
    /// through their object store as in [`open`](Self::open).
    pub async fn open_uri(
        uri: &str,
        options: &std::collections::HashMap<String, String>,
    ) -> Result<Self> {
        #[cfg(feature = "fs")]
        if let Some(path) = crate::io::local_file_path(uri, options)? {
            let io = crate::io::LocalFileReader::open(path).await?;
            return Self::open_reader(Arc::new(io)).await;
        }
        let (store, path) = crate::io::store_from_uri(uri, options)?;
        Self::open(store, &path).await
    }

    /// Opens a file through any [`RangeRead`] (for example an in-memory
    /// [`BytesReader`](crate::io::BytesReader)).
    pub async fn open_reader(io: Arc<dyn RangeRead>) -> Result<Self> {
        let decoder = MetadataDecoder::new(io.size())?;
        let tail_range = decoder.tail_range(io.hints().tail_read_bytes);
        let start = tail_range.start;
        let tail = io.read(tail_range).await?;
        Self::open_with_tail(io, start, tail).await
    }

    async fn open_with_tail(io: Arc<dyn RangeRead>, tail_start: u64, tail: Bytes) -> Result<Self> {
        let mut decoder = MetadataDecoder::new(io.size())?;
        decoder.add(tail_start, tail)?;
        let metadata = loop {
            match decoder.step()? {
                DecodeStep::Done(metadata) => break metadata,
                DecodeStep::Need(ranges) => {
                    let fetched = io.read_many(&ranges).await?;
                    for (range, bytes) in ranges.iter().zip(fetched) {
                        decoder.add(range.start, bytes)?;
                    }
                }
            }
        };
        let fields = match metadata.version {
            FileVersion::V2_0 => Ok(fields_v2_0::Builder::new(&metadata)
                .build_all()?
                .into_iter()
                .map(FieldReader::V2_0)
                .collect()),
            _ => match fields_structural::build_all(&metadata) {
                Ok(readers) => Ok(readers.into_iter().map(FieldReader::Structural).collect()),
                // The metadata stays readable even when some page uses a feature we lack.
                Err(Error::NotSupported { message, .. }) => Err(message),
                Err(error) => return Err(error),
            },
        };
        Ok(Self {
            inner: Arc::new(Inner {
                io,
                metadata: Arc::new(*metadata),
                fields,
            }),
        })
    }

    /// The file's metadata: version, schema, columns, pages and global buffers.
    pub fn metadata(&self) -> &FileMetadata {
        &self.inner.metadata
    }

    /// The file's Arrow schema, with field and schema metadata.
    pub fn schema(&self) -> SchemaRef {
        self.inner.metadata.schema.clone()
    }

    /// The number of rows in the file.
    pub fn num_rows(&self) -> u64 {
        self.inner.metadata.num_rows
    }

    /// The file's format version.
    pub fn version(&self) -> FileVersion {
        self.inner.metadata.version
    }

    /// The number of global buffers, including buffer 0 (the schema).
    pub fn num_global_buffers(&self) -> usize {
        self.inner.metadata.global_buffers.len()
    }

    /// Reads global buffer `index` (1 is the first buffer added by a writer; 0 holds the
    /// schema).
    pub async fn read_global_buffer(&self, index: usize) -> Result<Bytes> {
        let buffer = self
            .inner
            .metadata
            .global_buffers
            .get(index)
            .ok_or_else(|| {
                Error::invalid_argument(format!(
                    "global buffer {index} does not exist; the file has {}",
                    self.inner.metadata.global_buffers.len()
                ))
            })?;
        self.inner.io.read(buffer.range()).await
    }

    /// Starts describing a scan: all columns and rows unless narrowed.
    pub fn scan(&self) -> Scan {
        Scan::new(self.clone())
    }

    /// Reads the rows of `range` of all columns into one stream (shorthand for a scan).
    pub fn read_range(&self, range: Range<u64>) -> Scan {
        self.scan().with_row_range(range)
    }

    /// Reads the rows at `indices` (any order, repeats allowed), shorthand for a scan.
    pub fn take(&self, indices: Vec<u64>) -> Scan {
        self.scan().with_take(indices)
    }

    fn field_readers(&self) -> Result<&[FieldReader]> {
        self.inner
            .fields
            .as_deref()
            .map_err(|message| Error::not_supported(message.clone()))
    }
}
