//! `FileReader.metadata()`: the layout of a file as plain Python objects (the attribute names
//! of pylance's `LanceFileMetadata` and friends, plus a few more).

use lancelet::format::columns::column_paths;
use lancelet::format::describe::describe;
use lancelet::format::{BufferRange, FileMetadata};
use pyo3::prelude::*;
use pyo3_arrow::PySchema;

/// Where a buffer sits in the file.
#[pyclass(module = "lancelet", name = "BufferDescriptor", frozen, get_all)]
#[derive(Clone)]
pub struct PyBufferDescriptor {
    /// Absolute offset of its first byte.
    position: u64,
    /// Its length in bytes.
    size: u64,
}

#[pymethods]
impl PyBufferDescriptor {
    fn __repr__(&self) -> String {
        format!(
            "BufferDescriptor(position={}, size={})",
            self.position, self.size
        )
    }
}

fn descriptors(buffers: &[BufferRange]) -> Vec<PyBufferDescriptor> {
    buffers
        .iter()
        .map(|b| PyBufferDescriptor {
            position: b.position,
            size: b.size,
        })
        .collect()
}

/// One page of a column.
#[pyclass(module = "lancelet", name = "PageMetadata", frozen, get_all)]
#[derive(Clone)]
pub struct PyPageMetadata {
    /// The page's buffers.
    buffers: Vec<PyBufferDescriptor>,
    /// Its encoding, described in one line (for example `mini_block(values=flat(64))`).
    encoding: String,
    /// Values in the page (rows; list items for 2.0 item columns).
    num_rows: u64,
    /// The first top-level row of the page (2.1+; 0 in 2.0).
    priority: u64,
}

#[pymethods]
impl PyPageMetadata {
    fn __repr__(&self) -> String {
        format!(
            "PageMetadata(num_rows={}, encoding={:?})",
            self.num_rows, self.encoding
        )
    }
}

/// One column of the file.
#[pyclass(module = "lancelet", name = "ColumnMetadata", frozen, get_all)]
#[derive(Clone)]
pub struct PyColumnMetadata {
    /// The dotted path of the field the column stores.
    path: String,
    /// Column-level buffers.
    column_buffers: Vec<PyBufferDescriptor>,
    /// The pages, in row order.
    pages: Vec<PyPageMetadata>,
}

#[pymethods]
impl PyColumnMetadata {
    fn __repr__(&self) -> String {
        format!(
            "ColumnMetadata(path={:?}, {} pages)",
            self.path,
            self.pages.len()
        )
    }
}

/// The layout of a Lance file.
#[pyclass(module = "lancelet", name = "FileMetadata", frozen)]
pub struct PyFileMetadata {
    /// Footer major version as stored (format 2.0 is usually stored as 0.3).
    #[pyo3(get)]
    major_version: u16,
    /// Footer minor version.
    #[pyo3(get)]
    minor_version: u16,
    /// The format version: "2.0", "2.1" or "2.2".
    #[pyo3(get)]
    version: String,
    /// Rows in the file.
    #[pyo3(get)]
    num_rows: u64,
    /// Bytes of page and column buffers.
    #[pyo3(get)]
    num_data_bytes: u64,
    /// Bytes of column metadata (including its offset table).
    #[pyo3(get)]
    num_column_metadata_bytes: u64,
    /// Bytes of global buffers (including the schema).
    #[pyo3(get)]
    num_global_buffer_bytes: u64,
    /// Size of the file.
    #[pyo3(get)]
    file_size: u64,
    /// The global buffers (0 holds the schema).
    #[pyo3(get)]
    global_buffers: Vec<PyBufferDescriptor>,
    /// The columns, in column order.
    #[pyo3(get)]
    columns: Vec<PyColumnMetadata>,
    schema: arrow_schema::SchemaRef,
}

impl PyFileMetadata {
    /// Describes `metadata`.
    pub fn new(metadata: &FileMetadata) -> Self {
        let paths = column_paths(&metadata.schema, metadata.version);
        let columns = metadata
            .columns
            .iter()
            .enumerate()
            .map(|(index, column)| PyColumnMetadata {
                path: paths.get(index).cloned().unwrap_or_default(),
                column_buffers: descriptors(&column.buffers),
                pages: column
                    .pages
                    .iter()
                    .map(|page| PyPageMetadata {
                        buffers: descriptors(&page.buffers),
                        encoding: describe(page),
                        num_rows: page.num_rows,
                        priority: page.priority,
                    })
                    .collect(),
            })
            .collect();
        let footer = &metadata.footer;
        let (major_version, minor_version) = (footer.major_version, footer.minor_version);
        let num_data_bytes = metadata.columns.iter().map(|c| c.size_bytes()).sum();
        let column_tables = footer
            .global_buff_offsets_start
            .saturating_sub(footer.column_meta_start);
        Self {
            major_version,
            minor_version,
            version: metadata.version.to_string(),
            num_rows: metadata.num_rows,
            num_data_bytes,
            num_column_metadata_bytes: column_tables,
            num_global_buffer_bytes: metadata.global_buffers.iter().map(|b| b.size).sum(),
            file_size: metadata.file_size,
            global_buffers: descriptors(&metadata.global_buffers),
            columns,
            schema: metadata.schema.clone(),
        }
    }
}

#[pymethods]
impl PyFileMetadata {
    /// The file's schema (all fields, with metadata) as a pyarrow Schema.
    #[getter]
    fn schema<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PySchema::from(self.schema.clone()).into_pyarrow(py)
    }

    fn __repr__(&self) -> String {
        format!(
            "FileMetadata(version={:?}, num_rows={}, {} columns)",
            self.version,
            self.num_rows,
            self.columns.len()
        )
    }
}
