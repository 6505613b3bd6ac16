//! The Tokio runtime behind every call, and running futures from Python: without the GIL, and
//! stopped by Ctrl-C.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use tokio::runtime::Runtime;

use crate::errors::to_py_err;

/// How often a waiting call looks for Ctrl-C.
const SIGNAL_CHECK_INTERVAL: Duration = Duration::from_millis(50);

/// The process-wide runtime (started on first use).
pub fn runtime() -> PyResult<&'static Runtime> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("lancelet")
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the Tokio runtime: {e}")))
}

/// Runs `future` to completion with the GIL released. While it runs, pending signals are
/// handled every few milliseconds, so Ctrl-C raises `KeyboardInterrupt` (and drops the
/// future, cancelling its work).
pub fn run<F, T>(py: Python<'_>, future: F) -> PyResult<T>
where
    F: Future<Output = lancelet::Result<T>> + Send,
    T: Send,
{
    let runtime = runtime()?;
    py.detach(|| {
        runtime.block_on(async {
            let mut future = std::pin::pin!(future);
            let mut ticker = tokio::time::interval(SIGNAL_CHECK_INTERVAL);
            loop {
                tokio::select! {
                    result = &mut future => return result.map_err(to_py_err),
                    _ = ticker.tick() => Python::attach(|py| py.check_signals())?,
                }
            }
        })
    })
}
