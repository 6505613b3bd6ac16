//! Appending a file to an object store: 64-byte aligned buffers, multipart uploads with several
//! parts in flight, and no visible object unless the upload completes.
//!
//! Bytes are collected until a part is full, then uploaded in the background while writing goes
//! on. A file that never fills one part is stored with a single `put` at the end. Either way the
//! object appears only when [`AlignedWriter::finish`] succeeds; [`AlignedWriter::abort`] (or
//! dropping the writer) cancels the upload.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload};
use tokio::task::JoinSet;

use crate::error::{Error, Result};
use crate::format::{BUFFER_ALIGNMENT, BufferRange, PAD_BYTE};

/// Sizes and concurrency of uploads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UploadOptions {
    part_bytes: usize,
    max_parts_in_flight: usize,
}

/// Object stores reject multipart parts smaller than this (except the last).
pub const MIN_PART_BYTES: usize = 5 * 1024 * 1024;

/// Stores accept at most this many parts per upload; part sizes double every 1000 parts so
/// that large files still fit.
const PARTS_PER_SIZE_STEP: usize = 1000;

impl Default for UploadOptions {
    fn default() -> Self {
        Self {
            part_bytes: 8 * 1024 * 1024,
            max_parts_in_flight: 4,
        }
    }
}

impl UploadOptions {
    /// Size of each multipart part (at least 5 MiB; default 8 MiB). Larger parts mean fewer
    /// requests and more memory held per part in flight.
    pub fn with_part_bytes(mut self, part_bytes: usize) -> Result<Self> {
        if part_bytes < MIN_PART_BYTES {
            return Err(Error::invalid_argument(format!(
                "upload part size {part_bytes} is below the 5 MiB minimum of object stores"
            )));
        }
        self.part_bytes = part_bytes;
        Ok(self)
    }

    /// Parts uploaded at the same time (at least 1; default 4). Memory held by the writer
    /// grows by one part per extra part in flight.
    pub fn with_max_parts_in_flight(mut self, parts: usize) -> Result<Self> {
        if parts == 0 {
            return Err(Error::invalid_argument(
                "max_parts_in_flight must be at least 1",
            ));
        }
        self.max_parts_in_flight = parts;
        Ok(self)
    }

    /// The size of each multipart part.
    pub fn part_bytes(&self) -> usize {
        self.part_bytes
    }

    /// The number of parts uploaded at the same time.
    pub fn max_parts_in_flight(&self) -> usize {
        self.max_parts_in_flight
    }
}

/// Writes a file front to back into an object store; see the module docs.
#[derive(Debug)]
pub struct AlignedWriter {
    store: Arc<dyn ObjectStore>,
    path: Path,
    options: UploadOptions,
    /// Bytes written so far (the position of the next byte).
    position: u64,
    /// Bytes not yet handed to the store.
    pending: VecDeque<Bytes>,
    pending_bytes: usize,
    upload: Option<Box<dyn MultipartUpload>>,
    parts_started: usize,
    in_flight: JoinSet<Result<()>>,
    done: bool,
}

impl AlignedWriter {
    /// A writer that will create `path` in `store`. Nothing is sent until enough bytes for a
    /// part are written, or until `finish`.
    pub fn new(store: Arc<dyn ObjectStore>, path: Path, options: UploadOptions) -> Self {
        Self {
            store,
            path,
            options,
            position: 0,
            pending: VecDeque::new(),
            pending_bytes: 0,
            upload: None,
            parts_started: 0,
            in_flight: JoinSet::new(),
            done: false,
        }
    }

    /// The number of bytes written so far.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The path being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `bytes` as they are (no alignment) and returns where they start.
    pub async fn write(&mut self, bytes: Bytes) -> Result<u64> {
        self.check_open()?;
        let start = self.position;
        self.position += bytes.len() as u64;
        if !bytes.is_empty() {
            self.pending_bytes += bytes.len();
            self.pending.push_back(bytes);
        }
        while self.pending_bytes >= self.current_part_bytes() {
            self.start_part().await?;
        }
        Ok(start)
    }

    /// Appends `bytes` followed by padding up to the next 64-byte boundary, and returns the
    /// buffer's position and (unpadded) size. The position is always 64-byte aligned, because
    /// every buffer written this way ends aligned.
    pub async fn write_buffer(&mut self, bytes: Bytes) -> Result<BufferRange> {
        self.pad_to_alignment().await?;
        let size = bytes.len() as u64;
        let position = self.write(bytes).await?;
        self.pad_to_alignment().await?;
        Ok(BufferRange { position, size })
    }

    /// Writes pad bytes (0x48) until the position is a multiple of 64.
    pub async fn pad_to_alignment(&mut self) -> Result<()> {
        let rem = self.position % BUFFER_ALIGNMENT;
        if rem != 0 {
            let pad = (BUFFER_ALIGNMENT - rem) as usize;
            self.write(Bytes::from(vec![PAD_BYTE; pad])).await?;
        }
        Ok(())
    }

    fn check_open(&self) -> Result<()> {
        if self.done {
            Err(Error::invalid_argument(
                "the file has already been finished or aborted",
            ))
        } else {
            Ok(())
        }
    }

    fn current_part_bytes(&self) -> usize {
        let doublings = (self.parts_started / PARTS_PER_SIZE_STEP).min(16) as u32;
        self.options.part_bytes.saturating_mul(1 << doublings)
    }

    /// Takes exactly `len` pending bytes (or all of them if fewer) as a payload.
    fn take_pending(&mut self, len: usize) -> PutPayload {
        let mut taken = Vec::new();
        let mut remaining = len;
        while remaining > 0 {
            let Some(first) = self.pending.pop_front() else {
                break;
            };
            if first.len() <= remaining {
                remaining -= first.len();
                taken.push(first);
            } else {
                taken.push(first.slice(..remaining));
                self.pending.push_front(first.slice(remaining..));
                remaining = 0;
            }
        }
        self.pending_bytes -= len - remaining;
        PutPayload::from_iter(taken)
    }

    async fn start_part(&mut self) -> Result<()> {
        let part_bytes = self.current_part_bytes();
        let payload = self.take_pending(part_bytes);
        self.send_part(payload).await
    }

    async fn send_part(&mut self, payload: PutPayload) -> Result<()> {
        while self.in_flight.len() >= self.options.max_parts_in_flight {
            self.wait_for_one_part().await?;
        }
        if self.upload.is_none() {
            let upload = self
                .store
                .put_multipart(&self.path)
                .await
                .map_err(Error::from_store)?;
            self.upload = Some(upload);
        }
        let upload = self
            .upload
            .as_mut()
            .ok_or_else(|| Error::internal("multipart upload missing"))?;
        let part = upload.put_part(payload);
        self.parts_started += 1;
        self.in_flight
            .spawn(async move { part.await.map_err(Error::from_store) });
        Ok(())
    }

    async fn wait_for_one_part(&mut self) -> Result<()> {
        match self.in_flight.join_next().await {
            Some(Ok(result)) => result,
            Some(Err(join_error)) => Err(Error::internal(format!(
                "part upload task failed: {join_error}"
            ))),
            None => Ok(()),
        }
    }

    /// Uploads what is left and makes the object visible. Returns the file size.
    ///
    /// On failure the upload is aborted and nothing is left behind.
    pub async fn finish(&mut self) -> Result<u64> {
        self.check_open()?;
        match self.finish_inner().await {
            Ok(()) => {
                self.done = true;
                Ok(self.position)
            }
            Err(error) => {
                self.abort().await;
                Err(error)
            }
        }
    }

    async fn finish_inner(&mut self) -> Result<()> {
        if self.upload.is_none() {
            // Small file: one request, atomic on every store.
            let payload = self.take_pending(self.pending_bytes);
            self.store
                .put(&self.path, payload)
                .await
                .map_err(Error::from_store)?;
            return Ok(());
        }
        if self.pending_bytes > 0 {
            let payload = self.take_pending(self.pending_bytes);
            self.send_part(payload).await?;
        }
        while !self.in_flight.is_empty() {
            self.wait_for_one_part().await?;
        }
        let upload = self
            .upload
            .as_mut()
            .ok_or_else(|| Error::internal("multipart upload missing"))?;
        upload.complete().await.map_err(Error::from_store)?;
        self.upload = None;
        Ok(())
    }

    /// Cancels the upload: parts in flight are stopped and the multipart upload is aborted, so
    /// no object and no staged parts remain. Errors while aborting are ignored (there is
    /// nothing more to undo).
    pub async fn abort(&mut self) {
        self.done = true;
        self.in_flight.abort_all();
        while self.in_flight.join_next().await.is_some() {}
        self.pending.clear();
        self.pending_bytes = 0;
        if let Some(mut upload) = self.upload.take() {
            let _ = upload.abort().await;
        }
    }
}

impl Drop for AlignedWriter {
    fn drop(&mut self) {
        // A writer dropped mid-upload must not leave staged parts behind. Abort in the
        // background when a runtime is available; otherwise the store's own cleanup applies.
        if let Some(mut upload) = self.upload.take() {
            self.in_flight.abort_all();
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let _ = upload.abort().await;
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::CountingStore;
    use object_store::memory::InMemory;

    #[tokio::test]
    async fn small_files_use_one_put_and_buffers_are_aligned() {
        let store = Arc::new(CountingStore::new(Arc::new(InMemory::new())));
        let mut writer =
            AlignedWriter::new(store.clone(), Path::from("a"), UploadOptions::default());
        let first = writer
            .write_buffer(Bytes::from_static(b"abc"))
            .await
            .unwrap();
        let second = writer
            .write_buffer(Bytes::from_static(b"de"))
            .await
            .unwrap();
        assert_eq!((first.position, first.size), (0, 3));
        assert_eq!((second.position, second.size), (64, 2));
        assert_eq!(writer.finish().await.unwrap(), 128);
        let stats = store.stats();
        assert_eq!(stats.put_requests, 1);
        assert!(stats.part_sizes.is_empty());
        let bytes = store
            .get(&Path::from("a"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&bytes[..5], b"abcHH");
        assert_eq!(bytes[127], PAD_BYTE);
    }

    #[tokio::test]
    async fn large_files_upload_equal_parts() {
        let store = Arc::new(CountingStore::new(Arc::new(InMemory::new())));
        let options = UploadOptions::default()
            .with_part_bytes(MIN_PART_BYTES)
            .unwrap();
        let mut writer = AlignedWriter::new(store.clone(), Path::from("big"), options);
        for _ in 0..12 {
            writer
                .write(Bytes::from(vec![7u8; 1024 * 1024]))
                .await
                .unwrap();
        }
        assert!(
            store.get(&Path::from("big")).await.is_err(),
            "visible before finish"
        );
        assert_eq!(writer.finish().await.unwrap(), 12 * 1024 * 1024);
        let stats = store.stats();
        let mib = 1024 * 1024;
        assert_eq!(stats.part_sizes, vec![5 * mib, 5 * mib, 2 * mib]);
        assert_eq!(stats.completed_uploads, 1);
        let meta = store.head(&Path::from("big")).await.unwrap();
        assert_eq!(meta.size, 12 * 1024 * 1024);
    }

    #[tokio::test]
    async fn abort_leaves_nothing() {
        let store = Arc::new(CountingStore::new(Arc::new(InMemory::new())));
        let options = UploadOptions::default()
            .with_part_bytes(MIN_PART_BYTES)
            .unwrap();
        let mut writer = AlignedWriter::new(store.clone(), Path::from("gone"), options);
        writer
            .write(Bytes::from(vec![1u8; 6 * 1024 * 1024]))
            .await
            .unwrap();
        writer.abort().await;
        assert!(store.head(&Path::from("gone")).await.is_err());
        assert_eq!(store.stats().aborted_uploads, 1);
        assert!(matches!(
            writer.write(Bytes::from_static(b"x")).await,
            Err(Error::InvalidArgument { .. })
        ));
    }
}
