//! The `lancelet._lancelet` extension module behind the `lancelet` Python package.
//!
//! Arrow data crosses the boundary through the Arrow PyCapsule interface (C data and C
//! stream), so batches move between Rust and pyarrow without copies; calls release the GIL
//! while Rust works and stop on Ctrl-C.

mod errors;
mod metadata;
mod reader;
mod runtime;
mod writer;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

/// A path-like argument (str, pathlib.Path or anything with `__fspath__`) as a string.
fn uri_string(uri: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(text) = uri.extract::<String>() {
        return Ok(text);
    }
    if uri.hasattr("__fspath__")? {
        return uri.call_method0("__fspath__")?.extract();
    }
    Err(PyTypeError::new_err(
        "the URI must be a str or a path-like object",
    ))
}

#[pymodule]
fn _lancelet(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<writer::PyFileWriter>()?;
    m.add_class::<reader::PyFileReader>()?;
    m.add_class::<reader::PyReaderResults>()?;
    m.add_class::<metadata::PyFileMetadata>()?;
    m.add_class::<metadata::PyColumnMetadata>()?;
    m.add_class::<metadata::PyPageMetadata>()?;
    m.add_class::<metadata::PyBufferDescriptor>()?;
    m.add(
        "CorruptFileError",
        m.py().get_type::<errors::CorruptFileError>(),
    )?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
