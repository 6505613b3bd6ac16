//! `lancelet.FileWriter`.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use lancelet::io::store_from_uri;
use lancelet::{FileVersion, FileWriter, WriterOptions};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyType;
use pyo3_arrow::PySchema;
use pyo3_arrow::input::AnyRecordBatch;

use crate::errors::to_py_err;
use crate::runtime::run;

/// Writes one Lance file. Nothing is visible at the path until `close`; leaving a `with`
/// block by an exception aborts the file instead.
#[pyclass(module = "lancelet", name = "FileWriter")]
pub struct PyFileWriter {
    /// The open writer (`None` once closed or aborted); a mutex only to make the class `Sync`
    /// (methods take `&mut self`, so it is never contended).
    writer: Mutex<Option<FileWriter>>,
    /// Rows written, once closed.
    rows: Option<u64>,
    size_bytes: Option<u64>,
}

fn closed() -> PyErr {
    PyValueError::new_err("the writer is closed")
}

impl PyFileWriter {
    fn open_writer(&mut self) -> PyResult<&mut FileWriter> {
        self.slot().as_mut().ok_or_else(closed)
    }

    fn slot(&mut self) -> &mut Option<FileWriter> {
        self.writer
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[pymethods]
impl PyFileWriter {
    /// Creates a writer for `uri` (a path, `file://`, `memory://` or `s3://`).
    #[new]
    #[pyo3(signature = (
        uri, schema=None, *, version=None, data_cache_bytes=None, max_page_bytes=None,
        storage_options=None
    ))]
    fn new(
        uri: &Bound<'_, PyAny>,
        schema: Option<PySchema>,
        version: Option<&str>,
        data_cache_bytes: Option<u64>,
        max_page_bytes: Option<u64>,
        storage_options: Option<HashMap<String, String>>,
    ) -> PyResult<Self> {
        let uri = crate::uri_string(uri)?;
        let mut options = WriterOptions::default();
        if let Some(version) = version {
            options = options.with_version(version.parse::<FileVersion>().map_err(to_py_err)?);
        }
        if let Some(bytes) = data_cache_bytes {
            options = options.with_data_cache_bytes(bytes).map_err(to_py_err)?;
        }
        if let Some(bytes) = max_page_bytes {
            options = options.with_max_page_bytes(bytes).map_err(to_py_err)?;
        }
        let (store, path) =
            store_from_uri(&uri, &storage_options.unwrap_or_default()).map_err(to_py_err)?;
        let writer = match schema {
            Some(schema) => FileWriter::try_new(store, path, schema.into_inner(), options),
            None => FileWriter::new_without_schema(store, path, options),
        }
        .map_err(to_py_err)?;
        Ok(Self {
            writer: Mutex::new(Some(writer)),
            rows: None,
            size_bytes: None,
        })
    }

    /// Writes a pyarrow RecordBatch or Table, or any object with `__arrow_c_array__` or
    /// `__arrow_c_stream__`.
    fn write_batch(&mut self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        // Unaligned buffers and sliced nested arrays are made safe for import first.
        let data: AnyRecordBatch = py
            .import("lancelet._input")?
            .call_method1("normalized", (data,))?
            .extract()?;
        let reader = data.into_reader()?;
        let writer = self.open_writer()?;
        run(py, async move {
            for batch in reader {
                let batch = batch?;
                writer.write_batch(&batch).await?;
            }
            Ok(())
        })
    }

    /// Adds `key = value` to the file's schema metadata.
    fn add_schema_metadata(&mut self, key: String, value: String) -> PyResult<()> {
        self.open_writer()?.add_schema_metadata(key, value);
        Ok(())
    }

    /// Stores `data` as a global buffer and returns its index (1, 2, ...).
    fn add_global_buffer(&mut self, py: Python<'_>, data: Vec<u8>) -> PyResult<u32> {
        let writer = self.open_writer()?;
        run(py, writer.add_global_buffer(Bytes::from(data)))
    }

    /// Finishes the file and returns the number of rows written (again on later calls).
    fn close(&mut self, py: Python<'_>) -> PyResult<u64> {
        if let Some(rows) = self.rows {
            return Ok(rows);
        }
        let writer = self.open_writer()?;
        let summary = run(py, writer.finish())?;
        *self.slot() = None;
        self.rows = Some(summary.num_rows);
        self.size_bytes = Some(summary.file_size);
        Ok(summary.num_rows)
    }

    /// Abandons the file: nothing is left at the path.
    fn abort(&mut self, py: Python<'_>) -> PyResult<()> {
        if let Some(mut writer) = self.slot().take() {
            run(py, async move {
                writer.abort().await;
                Ok(())
            })?;
        }
        Ok(())
    }

    /// The size of the finished file in bytes (`None` until closed).
    #[getter]
    fn size_bytes(&self) -> Option<u64> {
        self.size_bytes
    }

    /// Whether `close` or `abort` has been called.
    #[getter]
    fn closed(&mut self) -> bool {
        self.slot().is_none()
    }

    fn __enter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    #[pyo3(signature = (exc_type=None, _exc_value=None, _traceback=None))]
    fn __exit__(
        &mut self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyType>>,
        _exc_value: Option<&Bound<'_, PyAny>>,
        _traceback: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        match exc_type {
            Some(_) => self.abort(py)?,
            None if self.slot().is_some() => {
                self.close(py)?;
            }
            None => {}
        }
        Ok(false)
    }

    fn __repr__(&mut self) -> String {
        let rows = self.rows;
        match (self.slot(), rows) {
            (Some(writer), _) => format!("FileWriter(open, {} rows written)", writer.num_rows()),
            (None, Some(rows)) => format!("FileWriter(closed, {rows} rows)"),
            (None, None) => "FileWriter(aborted)".to_string(),
        }
    }
}
