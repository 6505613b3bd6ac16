//! A blocking adapter over a scan, for callers without an async runtime.

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::{ArrowError, SchemaRef};
use futures::StreamExt;

use super::{BatchStream, Scan};
use crate::error::{Error, Result};

/// Iterates the batches of a scan on a private Tokio runtime; an
/// [`arrow_array::RecordBatchReader`].
///
/// Do not use it from inside async code (a runtime cannot block inside another).
pub struct BlockingBatchReader {
    runtime: tokio::runtime::Runtime,
    stream: BatchStream,
}

impl BlockingBatchReader {
    pub(super) fn new(scan: Scan) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::internal(format!("cannot start a runtime: {e}")))?;
        let stream = {
            let _guard = runtime.enter();
            scan.into_stream()?
        };
        Ok(Self { runtime, stream })
    }
}

impl std::fmt::Debug for BlockingBatchReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingBatchReader")
            .field("schema", &self.stream.schema())
            .finish()
    }
}

impl Iterator for BlockingBatchReader {
    type Item = std::result::Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = self.runtime.block_on(self.stream.next())?;
        Some(next.map_err(|e| ArrowError::ExternalError(Box::new(e))))
    }
}

impl RecordBatchReader for BlockingBatchReader {
    fn schema(&self) -> SchemaRef {
        self.stream.schema()
    }
}
