//! `lancelet.FileReader` and the results of its reads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow_array::{ArrayRef, RecordBatch, RecordBatchReader, StructArray};
use arrow_schema::{ArrowError, Field, SchemaRef};
use futures::{FutureExt, StreamExt};
use lancelet::reader::{BatchStream, DEFAULT_READAHEAD_BYTES};
use lancelet::{FileReader, Projection, Scan};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCapsule};
use pyo3_arrow::ffi::{ArrayIterator, to_stream_pycapsule};
use pyo3_arrow::{PyRecordBatchReader, PySchema, PyTable};

use crate::errors::to_py_err;
use crate::metadata::PyFileMetadata;
use crate::runtime::{run, runtime};

/// Reads one Lance file (any version from 2.0 to 2.2), optionally only some columns.
#[pyclass(module = "lancelet", name = "FileReader", frozen)]
pub struct PyFileReader {
    reader: FileReader,
    columns: Option<Vec<String>>,
}

#[pymethods]
impl PyFileReader {
    /// Opens `uri` (a path, `file://`, `memory://` or `s3://`); `columns` names the fields to
    /// read (dotted names for nested fields), all when `None`.
    #[new]
    #[pyo3(signature = (uri, columns=None, *, storage_options=None))]
    fn new(
        py: Python<'_>,
        uri: &Bound<'_, PyAny>,
        columns: Option<Vec<String>>,
        storage_options: Option<HashMap<String, String>>,
    ) -> PyResult<Self> {
        let uri = crate::uri_string(uri)?;
        let options = storage_options.unwrap_or_default();
        let reader = run(
            py,
            async move { FileReader::open_uri(&uri, &options).await },
        )?;
        let this = Self { reader, columns };
        // Check the projection now, so that a bad column name fails here.
        this.scan().schema().map_err(to_py_err)?;
        Ok(this)
    }

    /// Reads every row.
    #[pyo3(signature = (*, batch_size=1024, batch_readahead=None))]
    fn read_all(
        &self,
        batch_size: usize,
        batch_readahead: Option<usize>,
    ) -> PyResult<PyReaderResults> {
        self.results(self.scan(), batch_size, batch_readahead)
    }

    /// Reads `num_rows` rows starting at row `start`.
    #[pyo3(signature = (start, num_rows, *, batch_size=1024, batch_readahead=None))]
    fn read_range(
        &self,
        start: u64,
        num_rows: u64,
        batch_size: usize,
        batch_readahead: Option<usize>,
    ) -> PyResult<PyReaderResults> {
        let end = start
            .checked_add(num_rows)
            .ok_or_else(|| PyValueError::new_err("start + num_rows overflows"))?;
        self.results(
            self.scan().with_row_range(start..end),
            batch_size,
            batch_readahead,
        )
    }

    /// Reads the rows at `indices`, in the order given (repeats allowed).
    #[pyo3(signature = (indices, *, batch_size=1024, batch_readahead=None))]
    fn take_rows(
        &self,
        indices: &Bound<'_, PyAny>,
        batch_size: usize,
        batch_readahead: Option<usize>,
    ) -> PyResult<PyReaderResults> {
        let indices = row_indices(indices)?;
        self.results(self.scan().with_take(indices), batch_size, batch_readahead)
    }

    /// The schema of what this reader returns (the chosen columns), as a pyarrow Schema.
    #[getter]
    fn schema<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let schema = self.scan().schema().map_err(to_py_err)?;
        PySchema::from(schema).into_pyarrow(py)
    }

    /// The number of rows in the file.
    fn num_rows(&self) -> u64 {
        self.reader.num_rows()
    }

    /// The file's layout: version, schema, columns, pages, encodings and buffers.
    fn metadata(&self) -> PyFileMetadata {
        PyFileMetadata::new(self.reader.metadata())
    }

    /// The contents of global buffer `index` (1 is the first one a writer added).
    fn read_global_buffer<'py>(
        &self,
        py: Python<'py>,
        index: usize,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let reader = self.reader.clone();
        let bytes = run(py, async move { reader.read_global_buffer(index).await })?;
        Ok(PyBytes::new(py, &bytes))
    }

    fn __repr__(&self) -> String {
        format!(
            "FileReader(version {}, {} rows, {} columns)",
            self.reader.version(),
            self.reader.num_rows(),
            self.reader.schema().fields().len()
        )
    }
}

impl PyFileReader {
    fn scan(&self) -> Scan {
        match &self.columns {
            Some(columns) => self
                .reader
                .scan()
                .with_projection(Projection::names(columns.clone())),
            None => self.reader.scan(),
        }
    }

    /// Starts `scan`: `batch_readahead` batches of the rows' estimated decoded size become
    /// the readahead budget; without it, the Rust default of 64 MiB. (Sixteen batches, as in
    /// pylance, were a few MiB for batches of the default 1024 rows, which cut a scan into
    /// thousands of small tasks: a full read of TPC-H lineitem SF 1 took 1.23 s with them and
    /// 0.64 s with 64 MiB.)
    fn results(
        &self,
        scan: Scan,
        batch_size: usize,
        batch_readahead: Option<usize>,
    ) -> PyResult<PyReaderResults> {
        if batch_size == 0 {
            return Err(PyValueError::new_err("batch_size must be at least 1"));
        }
        let row_bytes = scan.decoded_bytes_per_row().map_err(to_py_err)?;
        let batches = |n: usize| n.max(1) as f64 * batch_size as f64 * row_bytes;
        let readahead = match batch_readahead {
            Some(n) => batches(n),
            None => DEFAULT_READAHEAD_BYTES as f64,
        } as u64;
        let scan = scan
            .with_batch_size(batch_size)
            .with_readahead_bytes(readahead);
        let runtime = runtime()?;
        let stream = {
            let _guard = runtime.enter();
            scan.into_stream().map_err(to_py_err)?
        };
        Ok(PyReaderResults {
            stream: Mutex::new(Some(stream)),
        })
    }
}

/// Row indices from a list, a range, a NumPy array or a pyarrow array of integers.
fn row_indices(indices: &Bound<'_, PyAny>) -> PyResult<Vec<u64>> {
    if let Ok(list) = indices.extract::<Vec<i64>>() {
        return list
            .into_iter()
            .map(|i| {
                u64::try_from(i)
                    .map_err(|_| PyValueError::new_err(format!("row index {i} is negative")))
            })
            .collect();
    }
    if indices.hasattr("tolist")? || indices.hasattr("to_pylist")? {
        let method = if indices.hasattr("to_pylist")? {
            "to_pylist"
        } else {
            "tolist"
        };
        return row_indices(&indices.call_method0(method)?);
    }
    Err(PyTypeError::new_err(
        "indices must be a sequence of integers (list, range, NumPy or pyarrow array)",
    ))
}

/// The batches of one read. Consumed by the first of `to_table`, `to_batches` or
/// `__arrow_c_stream__`.
#[pyclass(module = "lancelet", name = "ReaderResults", frozen)]
pub struct PyReaderResults {
    stream: Mutex<Option<BatchStream>>,
}

impl PyReaderResults {
    fn take_stream(&self) -> PyResult<BatchStream> {
        self.stream
            .lock()
            .map_err(|_| PyValueError::new_err("the results are in use by another thread"))?
            .take()
            .ok_or_else(|| PyValueError::new_err("these results were already consumed"))
    }
}

#[pymethods]
impl PyReaderResults {
    /// All batches as one pyarrow Table (the GIL is released while reading).
    ///
    /// Batches are handed to pyarrow in groups as they arrive, while later ones are still
    /// being read: handing a batch over costs a few microseconds, which would otherwise all
    /// come after the last read, with the reading threads idle. The groups' tables are joined
    /// at the end (their batches stay as they are).
    fn to_table<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let mut stream = self.take_stream()?;
        let schema = stream.schema();
        let mut tables = Vec::new();
        loop {
            let group = run(py, next_group(&mut stream))?;
            if group.is_empty() {
                break;
            }
            tables.push(PyTable::try_new(group, schema.clone())?.into_pyarrow(py)?);
            py.check_signals()?;
        }
        match tables.len() {
            0 => PyTable::try_new(Vec::new(), schema)?.into_pyarrow(py),
            1 => Ok(tables.swap_remove(0)),
            _ => py
                .import("pyarrow")?
                .call_method1("concat_tables", (tables,)),
        }
    }

    /// The batches as a pyarrow RecordBatchReader, read as they are consumed.
    fn to_batches<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let reader = BlockingStream::new(self.take_stream()?);
        PyRecordBatchReader::new(Box::new(reader)).into_pyarrow(py)
    }

    /// The Arrow PyCapsule stream interface: the batches as an Arrow C stream.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyCapsule>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let reader = BlockingStream::new(self.take_stream()?);
        let schema = reader.schema();
        // The C stream carries batches as struct arrays; the schema metadata rides on the
        // struct field.
        let arrays = reader.map(|batch| Ok(Arc::new(StructArray::from(batch?)) as ArrayRef));
        let field = Field::new_struct("", schema.fields().clone(), false)
            .with_metadata(schema.metadata().clone());
        let arrays = Box::new(ArrayIterator::new(arrays, Arc::new(field)));
        Ok(to_stream_pycapsule(py, arrays, requested_schema)?)
    }
}

/// The batches `to_table` hands to pyarrow at a time: at least the first of these (unless the
/// stream ends first), each group costing a pyarrow table, and at most the second, with a check
/// for Ctrl-C between groups (400 000 batches of one row take over a second to hand over).
const TABLE_GROUP_BATCHES: (usize, usize) = (128, 4096);

/// The next group of batches of `stream` for `to_table`: [`TABLE_GROUP_BATCHES`] of them, or
/// those left; none at the end of the stream. Each batch spends a little of the task's
/// cooperative budget, so that the task yields now and then even when every batch is ready at
/// once (small batches of a fast read): [`run`] checks for Ctrl-C only when the task yields.
async fn next_group(stream: &mut BatchStream) -> lancelet::Result<Vec<RecordBatch>> {
    let (least, most) = TABLE_GROUP_BATCHES;
    let mut group = Vec::new();
    while group.len() < most {
        let next = if group.len() < least {
            stream.next().await
        } else {
            match stream.next().now_or_never() {
                Some(next) => next,
                None => break,
            }
        };
        let Some(batch) = next else {
            break;
        };
        group.push(batch?);
        tokio::task::coop::consume_budget().await;
    }
    Ok(group)
}

/// A `RecordBatchReader` over a batch stream, blocking on the shared runtime for each batch.
struct BlockingStream {
    schema: SchemaRef,
    stream: BatchStream,
}

impl BlockingStream {
    fn new(stream: BatchStream) -> Self {
        Self {
            schema: stream.schema(),
            stream,
        }
    }
}

impl Iterator for BlockingStream {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let runtime = match runtime() {
            Ok(runtime) => runtime,
            Err(e) => return Some(Err(ArrowError::ExternalError(Box::new(e)))),
        };
        let next = runtime.block_on(self.stream.next())?;
        Some(next.map_err(|e| ArrowError::ExternalError(Box::new(e))))
    }
}

impl RecordBatchReader for BlockingStream {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}
