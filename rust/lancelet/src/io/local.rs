//! [`LocalFileReader`]: positioned reads of a local file straight into fresh buffers.
//!
//! Reading a local file through object_store's `LocalFileSystem` zero-fills every buffer
//! before the kernel copies the file's bytes into it, and large ranges come back split into
//! pieces that must be copied together again. This reader reads each range with plain file
//! reads into a buffer that is not filled first (std's `read_to_end` reads into a vector's
//! spare capacity), one range in one buffer, so a large page costs one copy from the page
//! cache and nothing more.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};

use crate::error::{Error, Result};
use crate::io::coalesce::CoalesceOptions;
use crate::io::range_read::{IoHints, RangeRead, group_requests};

/// Reads one local file. Each batch of requests reads through a file handle of its own, so
/// concurrent batches never share a file position; handles are kept for the next batches
/// (opening the file for each cost about 1% of a scan). Batches of more than 1 MiB run on a
/// blocking thread.
#[derive(Debug, Clone)]
pub struct LocalFileReader {
    path: Arc<PathBuf>,
    size: u64,
    hints: IoHints,
    handles: Arc<HandlePool>,
}

/// Open handles of one file not in use by a read.
#[derive(Debug, Default)]
struct HandlePool {
    idle: Mutex<Vec<File>>,
}

/// Handles kept for reuse (as many as reads that usually run at once).
const MAX_IDLE_HANDLES: usize = 16;

impl HandlePool {
    /// An idle handle, or a new one.
    fn take(&self, path: &Path) -> Result<File> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        match idle {
            Some(file) => Ok(file),
            None => File::open(path).map_err(|e| io_error(path, e)),
        }
    }

    /// Keeps `file` for a later read (or closes it when enough are kept).
    fn give_back(&self, file: File) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE_HANDLES
        {
            idle.push(file);
        }
    }
}

impl LocalFileReader {
    /// The hints of local files: [`IoHints::LOCAL`], except that a range is never split
    /// (one range is one read into one buffer).
    pub const HINTS: IoHints = IoHints {
        coalesce: CoalesceOptions {
            max_gap: IoHints::LOCAL.coalesce.max_gap,
            max_request_bytes: u64::MAX,
        },
        ..IoHints::LOCAL
    };

    /// Opens `path` and learns its size.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let (path, size) = blocking(move || {
            let size = File::open(&path)
                .and_then(|file| file.metadata())
                .map_err(|e| io_error(&path, e))?
                .len();
            Ok((path, size))
        })
        .await?;
        Ok(Self {
            path: Arc::new(path),
            size,
            hints: Self::HINTS,
            handles: Arc::default(),
        })
    }

    /// Replaces the I/O hints.
    pub fn with_hints(mut self, hints: IoHints) -> Self {
        self.hints = hints;
        self
    }
}

#[async_trait]
impl RangeRead for LocalFileReader {
    fn size(&self) -> u64 {
        self.size
    }

    fn hints(&self) -> IoHints {
        self.hints
    }

    async fn read_requests(&self, requests: &[Range<u64>]) -> Result<Vec<Bytes>> {
        if let Some(bad) = requests
            .iter()
            .find(|r| r.start > r.end || r.end > self.size)
        {
            return Err(Error::corrupt(format!(
                "read of bytes {bad:?} outside the {}-byte file",
                self.size
            )));
        }
        let groups = group_requests(
            requests,
            self.hints.ranges_per_call.max(1),
            self.hints.bytes_per_call,
        );
        let groups: Vec<Vec<Bytes>> = futures::stream::iter(groups)
            .map(|group| {
                let path = self.path.clone();
                let handles = self.handles.clone();
                let bytes: u64 = group.iter().map(|range| range.end - range.start).sum();
                async move {
                    if bytes <= INLINE_READ_BYTES {
                        read_group(&path, &handles, &group)
                    } else {
                        blocking(move || read_group(&path, &handles, &group)).await
                    }
                }
            })
            .buffered(self.hints.max_concurrency.max(1))
            .try_collect()
            .await?;
        Ok(groups.into_iter().flatten().collect())
    }
}

/// Groups of reads of at most this many bytes run on the calling task's thread: handing them
/// to a blocking thread and back costs more than copying them from the page cache (a
/// one-column scan of a million dates took twice as long on two cores as on one).
const INLINE_READ_BYTES: u64 = 1 << 20;

/// Reads `ranges` (within the file's size) with one file handle, given back to `handles`
/// once they are read.
fn read_group(path: &Path, handles: &HandlePool, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
    let mut file = handles.take(path)?;
    let read: Result<Vec<Bytes>> = ranges
        .iter()
        .map(|range| {
            let len = range.end - range.start;
            // The range lies within the file (checked by the caller), so this allocation is
            // bounded by the file's size.
            let capacity = usize::try_from(len)
                .map_err(|_| Error::internal("a read larger than memory can address"))?;
            let mut buffer = Vec::with_capacity(capacity);
            file.seek(SeekFrom::Start(range.start))
                .and_then(|_| (&mut file).take(len).read_to_end(&mut buffer))
                .map_err(|e| io_error(path, e))?;
            if buffer.len() != capacity {
                return Err(Error::corrupt(format!(
                    "read {} of the {len} bytes at {}; the file may have changed while it was read",
                    buffer.len(),
                    range.start
                )));
            }
            Ok(Bytes::from(buffer))
        })
        .collect();
    if read.is_ok() {
        handles.give_back(file);
    }
    read
}

/// Runs file system work on Tokio's blocking threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::internal(format!("file read task failed: {e}")))?
}

fn io_error(path: &Path, error: std::io::Error) -> Error {
    if error.kind() == std::io::ErrorKind::NotFound {
        return crate::error::NotFoundSnafu {
            path: path.display().to_string(),
        }
        .build();
    }
    Error::from_store(object_store::Error::Generic {
        store: "LocalFile",
        source: format!("{}: {error}", path.display()).into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap()
    }

    #[test]
    fn reads_ranges_in_the_order_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.bin");
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        runtime().block_on(async {
            let reader = LocalFileReader::open(&path).await.unwrap();
            assert_eq!(reader.size(), 100_000);
            let ranges = vec![90_000..100_000, 5..6, 0..0, 10..70_000, 40_000..40_010];
            let got = reader.read_many(&ranges).await.unwrap();
            for (range, got) in ranges.iter().zip(&got) {
                assert_eq!(&got[..], &bytes[range.start as usize..range.end as usize]);
            }
            let requests = reader.read_requests(&ranges[..2]).await.unwrap();
            assert_eq!(requests[0].len(), 10_000);
            assert_eq!(requests[1][..], bytes[5..6]);
        });
    }

    #[test]
    fn reads_past_the_end_and_missing_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("small.bin");
        std::fs::write(&path, [1u8; 10]).unwrap();
        runtime().block_on(async {
            let reader = LocalFileReader::open(&path).await.unwrap();
            let error = reader
                .read_requests(std::slice::from_ref(&(5..11)))
                .await
                .unwrap_err();
            assert!(matches!(error, Error::Corrupt { .. }), "{error}");
            // The file shrank after it was opened: a short read, not a panic.
            std::fs::write(&path, [1u8; 4]).unwrap();
            let error = reader
                .read_requests(std::slice::from_ref(&(0..10)))
                .await
                .unwrap_err();
            assert!(matches!(error, Error::Corrupt { .. }), "{error}");
            let missing = LocalFileReader::open(dir.path().join("nope")).await;
            assert!(matches!(missing, Err(Error::NotFound { .. })));
        });
    }
}
