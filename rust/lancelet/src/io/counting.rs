//! An [`ObjectStore`] wrapper that counts requests and bytes, so that tests and benchmarks can
//! state I/O costs exactly ("opening a file takes 2 reads").

use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, UploadPart,
};

/// A snapshot of the I/O seen by a [`CountingStore`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IoStats {
    /// Read requests (ranged or whole-object gets), not counting `head`.
    pub read_requests: u64,
    /// Bytes returned by read requests.
    pub read_bytes: u64,
    /// The byte ranges of ranged reads, in the order they were issued.
    pub read_ranges: Vec<Range<u64>>,
    /// Metadata (`head`) requests.
    pub head_requests: u64,
    /// Single-request uploads (`put`).
    pub put_requests: u64,
    /// Sizes of multipart upload parts, in the order they were started.
    pub part_sizes: Vec<u64>,
    /// Multipart uploads completed.
    pub completed_uploads: u64,
    /// Multipart uploads aborted.
    pub aborted_uploads: u64,
}

/// Wraps a store and records every request made through it.
#[derive(Debug, Clone)]
pub struct CountingStore {
    inner: Arc<dyn ObjectStore>,
    stats: Arc<Mutex<IoStats>>,
}

impl CountingStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self {
            inner,
            stats: Arc::default(),
        }
    }

    /// The I/O recorded so far.
    pub fn stats(&self) -> IoStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Forgets the I/O recorded so far.
    pub fn reset(&self) {
        if let Ok(mut stats) = self.stats.lock() {
            *stats = IoStats::default();
        }
    }

    fn record(&self, update: impl FnOnce(&mut IoStats)) {
        if let Ok(mut stats) = self.stats.lock() {
            update(&mut stats);
        }
    }
}

impl fmt::Display for CountingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keep the inner store's name first so that I/O hints judged by name still apply.
        write!(f, "{}(counted)", self.inner)
    }
}

#[async_trait]
impl ObjectStore for CountingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.record(|s| s.put_requests += 1);
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(CountingUpload {
            inner,
            stats: self.stats.clone(),
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        if options.head {
            self.record(|s| s.head_requests += 1);
            return self.inner.get_opts(location, options).await;
        }
        let result = self.inner.get_opts(location, options).await?;
        let range = result.range.clone();
        self.record(|s| {
            s.read_requests += 1;
            s.read_bytes += range.end - range.start;
            s.read_ranges.push(range);
        });
        Ok(result)
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        let out = self.inner.get_ranges(location, ranges).await?;
        self.record(|s| {
            s.read_requests += ranges.len() as u64;
            s.read_bytes += ranges.iter().map(|r| r.end - r.start).sum::<u64>();
            s.read_ranges.extend(ranges.iter().cloned());
        });
        Ok(out)
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

#[derive(Debug)]
struct CountingUpload {
    inner: Box<dyn MultipartUpload>,
    stats: Arc<Mutex<IoStats>>,
}

#[async_trait]
impl MultipartUpload for CountingUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        if let Ok(mut stats) = self.stats.lock() {
            stats.part_sizes.push(data.content_length() as u64);
        }
        self.inner.put_part(data)
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let result = self.inner.complete().await?;
        if let Ok(mut stats) = self.stats.lock() {
            stats.completed_uploads += 1;
        }
        Ok(result)
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        if let Ok(mut stats) = self.stats.lock() {
            stats.aborted_uploads += 1;
        }
        self.inner.abort().await
    }
}
