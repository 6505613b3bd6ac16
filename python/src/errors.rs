//! Lancelet's errors as Python exceptions.

use pyo3::create_exception;
use pyo3::exceptions::{
    PyFileNotFoundError, PyNotImplementedError, PyOSError, PyRuntimeError, PyValueError,
};
use pyo3::prelude::*;

create_exception!(
    lancelet,
    CorruptFileError,
    PyOSError,
    "The file is not a valid Lance file: bad magic, cut short, or contradicting itself."
);

/// Maps an error to the Python exception a caller would expect.
pub fn to_py_err(error: lancelet::Error) -> PyErr {
    use lancelet::Error as E;
    let message = error.to_string();
    match error {
        E::InvalidArgument { .. } | E::Arrow { .. } => PyValueError::new_err(message),
        E::NotFound { .. } => PyFileNotFoundError::new_err(message),
        E::NotSupported { .. } | E::UnsupportedVersion { .. } | E::LegacyFormat { .. } => {
            PyNotImplementedError::new_err(message)
        }
        E::Corrupt { .. } | E::Truncated { .. } | E::BadMagic { .. } | E::ProtoDecode { .. } => {
            CorruptFileError::new_err(message)
        }
        E::Io { .. } => PyOSError::new_err(message),
        _ => PyRuntimeError::new_err(message),
    }
}
