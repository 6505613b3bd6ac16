//! Page-encoding work handed from the column buffers to the writer.

use crate::encodings::EncodedPage;
use crate::error::Result;

/// An encoded page and where it goes.
#[derive(Debug)]
pub struct ColumnPage {
    /// The column the page belongs to.
    pub column: usize,
    /// The page.
    pub page: EncodedPage,
    /// The top-level row of the page's first row (2.1+; 0 in 2.0).
    pub priority: u64,
}

impl ColumnPage {
    /// A page of `column` starting at top-level row `priority`.
    pub fn new(column: usize, page: EncodedPage, priority: u64) -> Self {
        Self {
            column,
            page,
            priority,
        }
    }
}

/// Work that encodes buffered data into pages (of one or more columns, each column's pages in
/// row order), run off the async threads.
pub struct PageTask {
    /// About the bytes of buffered data the task holds until it has run.
    pub bytes: u64,
    /// The encoding.
    pub encode: Box<dyn FnOnce() -> Result<Vec<ColumnPage>> + Send>,
}

impl PageTask {
    /// A task holding about `bytes` of data.
    pub fn new(
        bytes: u64,
        encode: impl FnOnce() -> Result<Vec<ColumnPage>> + Send + 'static,
    ) -> Self {
        Self {
            bytes,
            encode: Box::new(encode),
        }
    }
}
