//! Writing Lance files: [`FileWriter`].
//!
//! Batches are checked against the schema, split into columns and buffered per column. When a
//! column's buffer is full its pages are encoded on blocking threads (columns in parallel) and
//! appended to the upload. [`FileWriter::finish`] writes the remaining pages, the schema
//! (global buffer 0), the column metadata, the offset tables and the footer, and only then
//! makes the object visible. Any failure, and dropping the writer unfinished, aborts the upload.

mod estimate;
mod fields_structural;
mod fields_v2_0;
mod options;
mod tasks;
mod validate;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{Schema, SchemaRef};
use bytes::Bytes;
use object_store::ObjectStore;
use object_store::path::Path;
use prost::Message;

use crate::error::{Error, Result};
use crate::format::footer::Footer;
use crate::format::pb;
use crate::format::schema::{to_lance_fields, to_lance_metadata};
use crate::format::{BufferRange, FileVersion, PageEncoding};
use crate::io::AlignedWriter;

pub use options::WriterOptions;

use fields_structural::StructuralEncoder;
use fields_v2_0::FieldsEncoder;
use tasks::{ColumnPage, PageTask};

/// What [`FileWriter::finish`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteSummary {
    /// Rows written.
    pub num_rows: u64,
    /// Size of the file in bytes.
    pub file_size: u64,
}

/// Writes one Lance file into an object store.
///
/// ```no_run
/// # async fn example(batch: arrow_array::RecordBatch) -> lancelet::Result<()> {
/// use std::sync::Arc;
/// use lancelet::{FileWriter, WriterOptions};
/// use object_store::{memory::InMemory, path::Path};
///
/// let store = Arc::new(InMemory::new());
/// let mut writer = FileWriter::try_new(store, Path::from("data.lance"), batch.schema(),
///     WriterOptions::default())?;
/// writer.write_batch(&batch).await?;
/// writer.add_schema_metadata("origin", "example");
/// let summary = writer.finish().await?;
/// println!("{} rows, {} bytes", summary.num_rows, summary.file_size);
/// # Ok(()) }
/// ```
pub struct FileWriter {
    out: AlignedWriter,
    options: WriterOptions,
    schema: Option<SchemaRef>,
    encoder: Option<Encoder>,
    /// Pages written so far, per column.
    pages: Vec<Vec<pb::file2::column_metadata::Page>>,
    /// User global buffers (indices 1, 2, ...).
    global_buffers: Vec<BufferRange>,
    schema_metadata: HashMap<String, String>,
    num_rows: u64,
    state: State,
    /// Page encodings started and not yet written, in file order, with the bytes each holds.
    encoding: VecDeque<(EncodingTask, u64)>,
    /// The bytes held by `encoding`.
    encoding_bytes: u64,
    /// The bytes pending encodings may hold beyond one per core: the data cache budget, at
    /// most [`PENDING_BYTES_PER_CORE`] per core (set with the schema).
    pending_budget: u64,
    /// One permit per core: at most this many pages are encoded at once.
    permits: Arc<tokio::sync::Semaphore>,
}

/// A spawned page encoding.
type EncodingTask =
    tokio::task::JoinHandle<std::result::Result<Result<Vec<ColumnPage>>, tokio::task::JoinError>>;

/// The column encoders of the version being written.
enum Encoder {
    V2_0(FieldsEncoder),
    Structural(StructuralEncoder),
}

impl Encoder {
    fn num_columns(&self) -> usize {
        match self {
            Encoder::V2_0(encoder) => encoder.num_columns(),
            Encoder::Structural(encoder) => encoder.num_columns(),
        }
    }

    fn append(&mut self, batch: &RecordBatch) -> Result<Vec<PageTask>> {
        match self {
            Encoder::V2_0(encoder) => encoder.append(batch),
            Encoder::Structural(encoder) => encoder.append(batch),
        }
    }

    fn finish(&mut self) -> Result<Vec<PageTask>> {
        match self {
            Encoder::V2_0(encoder) => encoder.finish(),
            Encoder::Structural(encoder) => encoder.finish(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Open,
    Finished,
    Failed(String),
}

impl std::fmt::Debug for FileWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileWriter")
            .field("path", self.out.path())
            .field("num_rows", &self.num_rows)
            .field("state", &self.state)
            .finish()
    }
}

impl FileWriter {
    /// A writer for `path` with a fixed schema. Nothing is uploaded until enough data is
    /// written; nothing is visible until [`finish`](Self::finish).
    pub fn try_new(
        store: Arc<dyn ObjectStore>,
        path: Path,
        schema: SchemaRef,
        options: WriterOptions,
    ) -> Result<Self> {
        let mut writer = Self::new_without_schema(store, path, options)?;
        writer.set_schema(schema)?;
        Ok(writer)
    }

    /// A writer that takes its schema from the first batch written.
    pub fn new_without_schema(
        store: Arc<dyn ObjectStore>,
        path: Path,
        options: WriterOptions,
    ) -> Result<Self> {
        let out = AlignedWriter::new(store, path, options.upload());
        Ok(Self {
            out,
            options,
            schema: None,
            encoder: None,
            pages: Vec::new(),
            global_buffers: Vec::new(),
            schema_metadata: HashMap::new(),
            num_rows: 0,
            state: State::Open,
            encoding: VecDeque::new(),
            encoding_bytes: 0,
            pending_budget: 0,
            permits: Arc::new(tokio::sync::Semaphore::new(cores())),
        })
    }

    fn set_schema(&mut self, schema: SchemaRef) -> Result<()> {
        validate::check_schema(&schema, self.options.version())?;
        let budget = self.options.cache_bytes_per_column(schema.fields().len());
        let encoder = match self.options.version() {
            FileVersion::V2_0 => Encoder::V2_0(FieldsEncoder::new(
                &schema,
                budget,
                self.options.max_page_bytes(),
            )?),
            version => Encoder::Structural(StructuralEncoder::new(
                &schema,
                budget,
                self.options.max_page_bytes(),
                version,
            )?),
        };
        self.pages = vec![Vec::new(); encoder.num_columns()];
        self.pending_budget = budget
            .saturating_mul(encoder.num_columns() as u64)
            .min(PENDING_BYTES_PER_CORE.saturating_mul(cores() as u64));
        self.encoder = Some(encoder);
        self.schema = Some(schema);
        Ok(())
    }

    /// The schema, once known.
    pub fn schema(&self) -> Option<SchemaRef> {
        self.schema.clone()
    }

    /// Rows written so far.
    pub fn num_rows(&self) -> u64 {
        self.num_rows
    }

    fn check_open(&self) -> Result<()> {
        match &self.state {
            State::Open => Ok(()),
            State::Finished => Err(Error::invalid_argument("the writer is already finished")),
            State::Failed(reason) => Err(Error::invalid_argument(format!(
                "the writer failed earlier and was aborted: {reason}"
            ))),
        }
    }

    /// Runs `step`; if it fails for a reason other than a bad argument, aborts the upload so
    /// nothing is left behind and marks the writer failed.
    async fn guard<T>(&mut self, result: Result<T>) -> Result<T> {
        match result {
            Err(error) if !matches!(error, Error::InvalidArgument { .. }) => {
                self.state = State::Failed(error.to_string());
                self.stop_encoding();
                self.out.abort().await;
                Err(error)
            }
            other => other,
        }
    }

    /// Writes a batch. It must match the schema (names and types); non-nullable fields must
    /// have no nulls. A batch that fails these checks is rejected with
    /// [`Error::InvalidArgument`] and the writer stays usable.
    ///
    /// Columns whose buffers fill are encoded on blocking threads; this returns once at most
    /// one page per core is still being encoded (four per core while they hold no more than
    /// the data cache budget, and at most 32 MiB per core), so that the next batch (or
    /// [`finish`](Self::finish)) keeps the cores busy.
    /// A failure of such an encoding is returned by the next call.
    pub async fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        self.check_open()?;
        if self.schema.is_none() {
            self.set_schema(batch.schema())?;
        }
        let schema = self
            .schema
            .clone()
            .ok_or_else(|| Error::internal("schema missing"))?;
        validate::check_batch(&schema, batch, self.options.version())?;
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let tasks = match self.encoder.as_mut() {
            Some(encoder) => encoder.append(batch),
            None => Err(Error::internal("encoder missing")),
        };
        let result = match tasks {
            Ok(tasks) => self.write_tasks(tasks, false).await,
            Err(error) => Err(error),
        };
        self.guard(result).await?;
        self.num_rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Starts encoding `tasks` on blocking threads, at most as many pages at a time as there
    /// are cores (each holds a few copies of its page while it chooses an encoding, so this
    /// bounds the writer's memory), and writes the encoded pages in the order their tasks
    /// were started: all of them when `finishing`, otherwise until those left may stay
    /// pending ([`may_stay_pending`]).
    async fn write_tasks(&mut self, tasks: Vec<PageTask>, finishing: bool) -> Result<()> {
        for task in tasks {
            let permits = self.permits.clone();
            let PageTask { bytes, encode } = task;
            let handle = tokio::spawn(async move {
                let _permit = permits.acquire_owned().await;
                tokio::task::spawn_blocking(encode).await
            });
            self.encoding.push_back((handle, bytes));
            self.encoding_bytes += bytes;
        }
        while !self.encoding.is_empty()
            && (finishing
                || !may_stay_pending(
                    self.encoding.len(),
                    self.encoding_bytes,
                    self.pending_budget,
                ))
        {
            let Some((handle, bytes)) = self.encoding.pop_front() else {
                break;
            };
            self.encoding_bytes = self.encoding_bytes.saturating_sub(bytes);
            let pages = handle
                .await
                .and_then(|joined| joined)
                .map_err(|e| Error::internal(format!("page encoding task failed: {e}")))??;
            for page in pages {
                self.write_page(page).await?;
            }
        }
        Ok(())
    }

    async fn write_page(&mut self, page: ColumnPage) -> Result<()> {
        let ColumnPage {
            column,
            page,
            priority,
        } = page;
        let mut buffer_offsets = Vec::with_capacity(page.buffers.len());
        let mut buffer_sizes = Vec::with_capacity(page.buffers.len());
        for buffer in page.buffers {
            let written = self.out.write_buffer(buffer).await?;
            buffer_offsets.push(written.position);
            buffer_sizes.push(written.size);
        }
        let encoding = direct_encoding(&page.encoding);
        let pages = self
            .pages
            .get_mut(column)
            .ok_or_else(|| Error::internal("page for an unknown column"))?;
        pages.push(pb::file2::column_metadata::Page {
            buffer_offsets,
            buffer_sizes,
            length: page.num_rows,
            encoding: Some(encoding),
            priority,
        });
        Ok(())
    }

    /// Adds a key-value pair to the schema metadata (may be called at any time before
    /// [`finish`](Self::finish); later values replace earlier ones).
    pub fn add_schema_metadata(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.schema_metadata.insert(key.into(), value.into());
    }

    /// Writes a global buffer now and returns its index: 1 for the first, then 2, 3, ...
    /// (index 0 holds the schema).
    pub async fn add_global_buffer(&mut self, bytes: Bytes) -> Result<u32> {
        self.check_open()?;
        let result = self.out.write_buffer(bytes).await;
        let written = self.guard(result).await?;
        self.global_buffers.push(written);
        u32::try_from(self.global_buffers.len())
            .map_err(|_| Error::invalid_argument("too many global buffers"))
    }

    /// Writes the remaining pages and the file's metadata, and makes the file visible.
    pub async fn finish(&mut self) -> Result<WriteSummary> {
        self.check_open()?;
        if self.schema.is_none() {
            return Err(Error::invalid_argument(
                "cannot finish a file without a schema: pass a schema or write a batch",
            ));
        }
        let result = self.finish_inner().await;
        let file_size = self.guard(result).await?;
        self.state = State::Finished;
        Ok(WriteSummary {
            num_rows: self.num_rows,
            file_size,
        })
    }

    async fn finish_inner(&mut self) -> Result<u64> {
        let tasks = match self.encoder.as_mut() {
            Some(encoder) => encoder.finish()?,
            None => Vec::new(),
        };
        self.write_tasks(tasks, true).await?;

        // Global buffer 0: the schema and row count.
        let schema = self
            .schema
            .clone()
            .ok_or_else(|| Error::internal("schema missing"))?;
        let descriptor = self.file_descriptor(&schema)?;
        self.out.pad_to_alignment().await?;
        let schema_buffer = BufferRange {
            position: self.out.position(),
            size: descriptor.len() as u64,
        };
        self.out.write(Bytes::from(descriptor)).await?;

        // Column metadata, back to back.
        let column_meta_start = self.out.position();
        let mut column_entries = Vec::with_capacity(self.pages.len());
        for pages in std::mem::take(&mut self.pages) {
            let metadata = pb::file2::ColumnMetadata {
                encoding: Some(column_encoding()),
                pages,
                buffer_offsets: Vec::new(),
                buffer_sizes: Vec::new(),
            }
            .encode_to_vec();
            let position = self.out.position();
            column_entries.push((position, metadata.len() as u64));
            self.out.write(Bytes::from(metadata)).await?;
        }

        // Offset tables and footer.
        let column_meta_offsets_start = self.out.position();
        self.out.write(offset_table(&column_entries)).await?;
        let global_buff_offsets_start = self.out.position();
        let global_entries: Vec<(u64, u64)> = std::iter::once(schema_buffer)
            .chain(self.global_buffers.iter().copied())
            .map(|b| (b.position, b.size))
            .collect();
        self.out.write(offset_table(&global_entries)).await?;
        let (major_version, minor_version) = self.options.version().footer_numbers();
        let footer = Footer {
            column_meta_start,
            column_meta_offsets_start,
            global_buff_offsets_start,
            num_global_buffers: u32::try_from(global_entries.len())
                .map_err(|_| Error::invalid_argument("too many global buffers"))?,
            num_columns: u32::try_from(column_entries.len())
                .map_err(|_| Error::invalid_argument("too many columns"))?,
            major_version,
            minor_version,
        };
        self.out
            .write(Bytes::copy_from_slice(&footer.encode()))
            .await?;
        self.out.finish().await
    }

    fn file_descriptor(&self, schema: &Schema) -> Result<Vec<u8>> {
        let mut metadata = schema.metadata().clone();
        metadata.extend(self.schema_metadata.clone());
        Ok(pb::file::FileDescriptor {
            schema: Some(pb::file::Schema {
                fields: to_lance_fields(schema)?,
                metadata: to_lance_metadata(&metadata),
            }),
            length: self.num_rows,
        }
        .encode_to_vec())
    }

    /// Stops writing and removes everything uploaded so far. The writer cannot be used
    /// afterwards.
    pub async fn abort(&mut self) {
        if self.state != State::Finished {
            self.state = State::Failed("aborted by the caller".to_string());
            self.stop_encoding();
            self.out.abort().await;
        }
    }

    /// Drops the page encodings not yet written (those not started never start).
    fn stop_encoding(&mut self) {
        for (handle, _) in self.encoding.drain(..) {
            handle.abort();
        }
        self.encoding_bytes = 0;
    }
}

/// The cores pages are encoded on.
fn cores() -> usize {
    crate::cores::available().unwrap_or(2)
}

/// Bytes of buffered data per core that page encodings still pending when `write_batch`
/// returns may hold, beyond one encoding per core.
const PENDING_BYTES_PER_CORE: u64 = 32 * 1024 * 1024;

/// Whether `write_batch` may return with `count` page encodings holding `bytes` still
/// pending: one per core always (so that the next call finds the cores busy), and up to four
/// per core while they hold at most `budget` bytes (the writer's data cache budget, at most
/// [`PENDING_BYTES_PER_CORE`] per core), so that a core that finishes first finds the next
/// page waiting (pending pages are written in the order they were flushed, so finished ones
/// wait behind a slow one). With pages of a few MiB this keeps both cores busier through a
/// TPC-H lineitem write: 0.957 of the time with up to two per core, 0.951 of that with four,
/// no better with eight.
fn may_stay_pending(count: usize, bytes: u64, budget: u64) -> bool {
    let cores = cores();
    count <= cores || (count <= 4 * cores && bytes <= budget)
}

/// Wraps a message in `google.protobuf.Any` inside a direct `Encoding`.
fn direct(type_url: &str, value: Vec<u8>) -> pb::file2::Encoding {
    let any = prost_types::Any {
        type_url: type_url.to_string(),
        value,
    };
    pb::file2::Encoding {
        location: Some(pb::file2::encoding::Location::Direct(
            pb::file2::DirectEncoding {
                encoding: any.encode_to_vec(),
            },
        )),
    }
}

fn direct_encoding(encoding: &PageEncoding) -> pb::file2::Encoding {
    match encoding {
        PageEncoding::V2_0(tree) => direct(pb::ARRAY_ENCODING_TYPE_URL, tree.encode_to_vec()),
        PageEncoding::Structural(layout) => {
            direct(pb::PAGE_LAYOUT_TYPE_URL, layout.encode_to_vec())
        }
    }
}

fn column_encoding() -> pb::file2::Encoding {
    let values = pb::v2_0::ColumnEncoding {
        column_encoding: Some(pb::v2_0::column_encoding::ColumnEncoding::Values(())),
    };
    direct(pb::COLUMN_ENCODING_TYPE_URL, values.encode_to_vec())
}

fn offset_table(entries: &[(u64, u64)]) -> Bytes {
    let mut out = Vec::with_capacity(entries.len() * 16);
    for (position, size) in entries {
        out.extend_from_slice(&position.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
    }
    Bytes::from(out)
}
