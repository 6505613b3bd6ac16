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
///
/// The reader reads the file it opened: the handle of [`LocalFileReader::open`] is the first
/// one kept, and a handle opened later by path must be of the same file (on Unix, the same
/// device and inode), or the read fails. A file replaced under the same path while a reader
/// is open (written anew and renamed over it, say) is never read in place of the old one.
#[derive(Debug, Clone)]
pub struct LocalFileReader {
    path: Arc<PathBuf>,
    size: u64,
    hints: IoHints,
    handles: Arc<HandlePool>,
}

/// Open handles of one file not in use by a read, and what identifies that file.
#[derive(Debug)]
struct HandlePool {
    idle: Mutex<Vec<File>>,
    identity: Option<FileIdentity>,
}

/// The device and inode of a file (`None` where the platform does not tell).
type FileIdentity = (u64, u64);

#[cfg(unix)]
fn identity_of(metadata: &std::fs::Metadata) -> Option<FileIdentity> {
    use std::os::unix::fs::MetadataExt;
    Some((metadata.dev(), metadata.ino()))
}

#[cfg(not(unix))]
fn identity_of(_metadata: &std::fs::Metadata) -> Option<FileIdentity> {
    None
}

/// Handles kept for reuse (as many as reads that usually run at once).
const MAX_IDLE_HANDLES: usize = 16;

impl HandlePool {
    /// A pool holding `file`, the handle the file was opened with.
    fn new(file: File, identity: Option<FileIdentity>) -> Self {
        Self {
            idle: Mutex::new(vec![file]),
            identity,
        }
    }

    /// An idle handle, or a new one, checked to be of the file first opened.
    fn take(&self, path: &Path) -> Result<File> {
        if let Some(file) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            return Ok(file);
        }
        let file = File::open(path).map_err(|e| io_error(path, e))?;
        let identity = file.metadata().map_err(|e| io_error(path, e))?;
        if identity_of(&identity) != self.identity {
            return Err(io_error(
                path,
                std::io::Error::other("the file was replaced since the reader opened it"),
            ));
        }
        Ok(file)
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
        let (path, file, metadata) = blocking(move || {
            let file = File::open(&path).map_err(|e| io_error(&path, e))?;
            let metadata = file.metadata().map_err(|e| io_error(&path, e))?;
            Ok((path, file, metadata))
        })
        .await?;
        Ok(Self {
            path: Arc::new(path),
            size: metadata.len(),
            hints: Self::HINTS,
            handles: Arc::new(HandlePool::new(file, identity_of(&metadata))),
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
    fn a_file_replaced_under_its_path_is_not_read_in_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.bin");
        let old: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &old).unwrap();
        runtime().block_on(async {
            let reader = LocalFileReader::open(&path).await.unwrap();
            // Another file of the same size renamed over the path.
            let other = dir.path().join("other.bin");
            std::fs::write(&other, vec![7u8; 10_000]).unwrap();
            std::fs::rename(&other, &path).unwrap();
            // The handle the reader opened with still reads the old file.
            let got = reader.read(100..200).await.unwrap();
            assert_eq!(&got[..], &old[100..200]);
            // A second handle, opened by path, finds another file and fails.
            let first = reader.handles.take(&path).unwrap();
            let error = reader.handles.take(&path).unwrap_err();
            assert!(error.to_string().contains("replaced"), "{error}");
            reader.handles.give_back(first);
            // A reader of the new file reads it.
            let fresh = LocalFileReader::open(&path).await.unwrap();
            assert_eq!(&fresh.read(0..3).await.unwrap()[..], &[7, 7, 7]);
        });
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
