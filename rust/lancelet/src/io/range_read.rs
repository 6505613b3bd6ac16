//! The [`RangeRead`] trait: positioned reads of one immutable file.

use std::fmt::Debug;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::error::{Error, Result};
use crate::io::coalesce::{self, CoalesceOptions};

/// How a store likes to be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoHints {
    /// Bytes read from the end of the file when opening it.
    pub tail_read_bytes: u64,
    /// Merge and split limits for ranged reads.
    pub coalesce: CoalesceOptions,
    /// Requests issued at once by one `read_many` call.
    pub max_concurrency: usize,
    /// Ranges handed to the store in one `get_ranges` call (1: one `get_range` each). Local
    /// files read many ranges from one open file this way.
    pub ranges_per_call: usize,
    /// A call takes no more ranges once it holds this many bytes, so that large reads are
    /// spread over concurrent calls (and, for local files, over the cores copying them).
    pub bytes_per_call: u64,
}

impl IoHints {
    /// Hints for local disks and memory: small tail read, 4 KiB merge gap, 8 calls at once of
    /// up to 32 ranges or 2 MiB each.
    pub const LOCAL: IoHints = IoHints {
        tail_read_bytes: 4 * 1024,
        coalesce: CoalesceOptions {
            max_gap: 4 * 1024,
            max_request_bytes: 16 * 1024 * 1024,
        },
        max_concurrency: 8,
        ranges_per_call: 32,
        bytes_per_call: 2 * 1024 * 1024,
    };

    /// Hints for remote object stores: 64 KiB tail read and merge gap, 32 single-range
    /// requests at once.
    pub const REMOTE: IoHints = IoHints {
        tail_read_bytes: 64 * 1024,
        coalesce: CoalesceOptions {
            max_gap: 64 * 1024,
            max_request_bytes: 16 * 1024 * 1024,
        },
        max_concurrency: 32,
        ranges_per_call: 1,
        bytes_per_call: 0,
    };

    /// The hints that suit a store, judged by its name (`LocalFileSystem`, `InMemory`, ...).
    pub fn for_store(store: &dyn ObjectStore) -> IoHints {
        let name = store.to_string();
        if name.starts_with("LocalFileSystem") || name.starts_with("InMemory") {
            IoHints::LOCAL
        } else {
            IoHints::REMOTE
        }
    }
}

/// Positioned reads of one immutable file.
///
/// Implementations only need `size`, `hints` and `read_requests`; `read` and `read_many`
/// plan coalesced requests on top of them.
#[async_trait]
pub trait RangeRead: Send + Sync + Debug {
    /// The size of the file in bytes.
    fn size(&self) -> u64;

    /// How this file likes to be read.
    fn hints(&self) -> IoHints;

    /// Issues exactly these requests (already planned), returning their bytes in order.
    async fn read_requests(&self, requests: &[Range<u64>]) -> Result<Vec<Bytes>>;

    /// Reads one range.
    async fn read(&self, range: Range<u64>) -> Result<Bytes> {
        let mut out = self.read_many(std::slice::from_ref(&range)).await?;
        out.pop()
            .ok_or_else(|| Error::internal("read_many returned no bytes"))
    }

    /// Reads many ranges with as few requests as the hints allow; results are in the order of
    /// `ranges`.
    async fn read_many(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let size = self.size();
        if let Some(bad) = ranges.iter().find(|r| r.start > r.end || r.end > size) {
            return Err(Error::corrupt(format!(
                "read of bytes {bad:?} outside the {size}-byte file"
            )));
        }
        let plan = coalesce::plan(ranges, self.hints().coalesce);
        let fetched = self.read_requests(&plan.requests).await?;
        plan.all_pieces()
            .map(|pieces| assemble(&fetched, pieces))
            .collect()
    }
}

fn assemble(fetched: &[Bytes], pieces: &[coalesce::Piece]) -> Result<Bytes> {
    let slice = |piece: &coalesce::Piece| -> Result<Bytes> {
        let bytes = fetched
            .get(piece.request)
            .ok_or_else(|| Error::internal("read plan names a missing request"))?;
        let start = usize::try_from(piece.offset).map_err(|_| Error::internal("offset"))?;
        let end = usize::try_from(piece.offset + piece.len).map_err(|_| Error::internal("len"))?;
        if end > bytes.len() {
            return Err(Error::corrupt(format!(
                "store returned {} bytes, fewer than the {end} requested",
                bytes.len()
            )));
        }
        Ok(bytes.slice(start..end))
    };
    match pieces {
        [] => Ok(Bytes::new()),
        [one] => slice(one),
        many => {
            let mut out = BytesMut::new();
            for piece in many {
                out.extend_from_slice(&slice(piece)?);
            }
            Ok(out.freeze())
        }
    }
}

/// Reads a file from any [`ObjectStore`] (local files, memory, S3, GCS, Azure, ...).
#[derive(Debug, Clone)]
pub struct ObjectStoreReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
    hints: IoHints,
}

impl ObjectStoreReader {
    /// Opens `path`, asking the store for its size.
    pub async fn open(store: Arc<dyn ObjectStore>, path: Path) -> Result<Self> {
        let meta = store.head(&path).await.map_err(Error::from_store)?;
        Ok(Self::with_size(store, path, meta.size))
    }

    /// A reader for `path` whose size is already known (saves a request).
    pub fn with_size(store: Arc<dyn ObjectStore>, path: Path, size: u64) -> Self {
        let hints = IoHints::for_store(store.as_ref());
        Self {
            store,
            path,
            size,
            hints,
        }
    }

    /// Replaces the I/O hints.
    pub fn with_hints(mut self, hints: IoHints) -> Self {
        self.hints = hints;
        self
    }
}

#[async_trait]
impl RangeRead for ObjectStoreReader {
    fn size(&self) -> u64 {
        self.size
    }

    fn hints(&self) -> IoHints {
        self.hints
    }

    async fn read_requests(&self, requests: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let concurrency = self.hints.max_concurrency.max(1);
        let per_call = self.hints.ranges_per_call.max(1);
        let groups = group_requests(requests, per_call, self.hints.bytes_per_call);
        let groups: Vec<Vec<Bytes>> = futures::stream::iter(groups)
            .map(|group| {
                let store = self.store.clone();
                let path = self.path.clone();
                async move {
                    let bytes = match group.as_slice() {
                        [range] => vec![
                            store
                                .get_range(&path, range.clone())
                                .await
                                .map_err(Error::from_store)?,
                        ],
                        _ => store
                            .get_ranges(&path, &group)
                            .await
                            .map_err(Error::from_store)?,
                    };
                    if bytes.len() != group.len()
                        || bytes
                            .iter()
                            .zip(&group)
                            .any(|(b, r)| b.len() as u64 != r.end - r.start)
                    {
                        return Err(Error::corrupt(
                            "the store returned fewer bytes than asked for; the file may have \
                             changed while it was read",
                        ));
                    }
                    Ok(bytes)
                }
            })
            .buffered(concurrency)
            .try_collect()
            .await?;
        Ok(groups.into_iter().flatten().collect())
    }
}

/// Cuts requests into calls of at most `per_call` ranges, a call taking no more ranges once
/// it holds `bytes_per_call` bytes.
pub(crate) fn group_requests(
    requests: &[Range<u64>],
    per_call: usize,
    bytes_per_call: u64,
) -> Vec<Vec<Range<u64>>> {
    let mut groups: Vec<Vec<Range<u64>>> = Vec::new();
    let mut current: Vec<Range<u64>> = Vec::new();
    let mut current_bytes = 0u64;
    for range in requests {
        if !current.is_empty() && (current.len() >= per_call || current_bytes >= bytes_per_call) {
            groups.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
        current_bytes += range.end - range.start;
        current.push(range.clone());
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

/// Reads a file held in memory.
#[derive(Debug, Clone)]
pub struct BytesReader {
    bytes: Bytes,
    hints: IoHints,
}

impl BytesReader {
    /// A reader over `bytes`.
    pub fn new(bytes: Bytes) -> Self {
        Self {
            bytes,
            hints: IoHints::LOCAL,
        }
    }
}

#[async_trait]
impl RangeRead for BytesReader {
    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn hints(&self) -> IoHints {
        self.hints
    }

    async fn read_requests(&self, requests: &[Range<u64>]) -> Result<Vec<Bytes>> {
        requests
            .iter()
            .map(|r| {
                let start = usize::try_from(r.start).map_err(|_| Error::internal("offset"))?;
                let end = usize::try_from(r.end).map_err(|_| Error::internal("offset"))?;
                if start > end || end > self.bytes.len() {
                    return Err(Error::corrupt(format!(
                        "read of bytes {r:?} outside the file"
                    )));
                }
                Ok(self.bytes.slice(start..end))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(groups: &[Vec<Range<u64>>]) -> Vec<usize> {
        groups.iter().map(Vec::len).collect()
    }

    #[test]
    fn calls_hold_at_most_the_ranges_per_call() {
        let requests: Vec<Range<u64>> = (0..5).map(|i| i * 10..i * 10 + 1).collect();
        assert_eq!(sizes(&group_requests(&requests, 2, u64::MAX)), [2, 2, 1]);
        assert_eq!(sizes(&group_requests(&requests, 1, u64::MAX)), [1; 5]);
    }

    #[test]
    fn large_ranges_go_to_calls_of_their_own() {
        let requests = vec![0..100, 100..101, 200..400, 400..401, 500..501];
        // A call closes once it holds 100 bytes: the big ranges end their calls.
        assert_eq!(sizes(&group_requests(&requests, 32, 100)), [1, 2, 2]);
        let flat: Vec<Range<u64>> = group_requests(&requests, 32, 100).concat();
        assert_eq!(flat, requests);
    }
}
