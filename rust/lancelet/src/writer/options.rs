//! Options of the [`FileWriter`](super::FileWriter).

use crate::error::{Error, Result};
use crate::format::FileVersion;
use crate::io::UploadOptions;

/// Default bytes buffered per column before a page is written (as in Lance).
pub const DEFAULT_CACHE_BYTES_PER_COLUMN: u64 = 8 * 1024 * 1024;
/// Default upper bound of a page's size (as in Lance).
pub const DEFAULT_MAX_PAGE_BYTES: u64 = 32 * 1024 * 1024;

/// How a file is written. Build with `Default` and the `with_*` setters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriterOptions {
    version: FileVersion,
    data_cache_bytes: Option<u64>,
    max_page_bytes: u64,
    upload: UploadOptions,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            version: FileVersion::STABLE,
            data_cache_bytes: None,
            max_page_bytes: DEFAULT_MAX_PAGE_BYTES,
            upload: UploadOptions::default(),
        }
    }
}

impl WriterOptions {
    /// The format version to write (default: 2.2, the stable version, as in pylance 14).
    pub fn with_version(mut self, version: FileVersion) -> Self {
        self.version = version;
        self
    }

    /// Total bytes buffered before pages are written, shared equally by the top-level fields
    /// (default: 8 MiB per column). Larger buffers make larger pages (fewer, bigger reads) and
    /// cost that much memory.
    pub fn with_data_cache_bytes(mut self, bytes: u64) -> Result<Self> {
        if bytes == 0 {
            return Err(Error::invalid_argument(
                "data_cache_bytes must be at least 1",
            ));
        }
        self.data_cache_bytes = Some(bytes);
        Ok(self)
    }

    /// The largest page written (default 32 MiB). Larger buffered data is split into several
    /// pages (by row; a single row larger than this still makes one page).
    pub fn with_max_page_bytes(mut self, bytes: u64) -> Result<Self> {
        if bytes == 0 {
            return Err(Error::invalid_argument("max_page_bytes must be at least 1"));
        }
        self.max_page_bytes = bytes;
        Ok(self)
    }

    /// Multipart upload part size and parallelism.
    pub fn with_upload(mut self, upload: UploadOptions) -> Self {
        self.upload = upload;
        self
    }

    /// The format version to write.
    pub fn version(&self) -> FileVersion {
        self.version
    }

    /// The buffer budget of one column, given the number of top-level fields.
    pub fn cache_bytes_per_column(&self, num_top_level_fields: usize) -> u64 {
        match self.data_cache_bytes {
            Some(total) => (total / num_top_level_fields.max(1) as u64).max(1),
            None => DEFAULT_CACHE_BYTES_PER_COLUMN,
        }
    }

    /// The largest page written.
    pub fn max_page_bytes(&self) -> u64 {
        self.max_page_bytes
    }

    /// The upload options.
    pub fn upload(&self) -> UploadOptions {
        self.upload
    }
}
