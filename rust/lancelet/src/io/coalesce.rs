//! Planning ranged reads: merging nearby byte ranges into fewer requests.
//!
//! [`plan`] is a pure function. Given the ranges a decoder wants (in any order, possibly
//! overlapping) it returns the requests to issue and, for every wanted range, where its bytes
//! sit inside those requests. Two ranges are merged when the gap between them is at most
//! `max_gap` bytes and the merged request stays within `max_request_bytes`; a single range
//! longer than `max_request_bytes` is split into several requests.

use std::ops::Range;

/// Limits for merging and splitting reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoalesceOptions {
    /// Ranges separated by at most this many bytes are read as one request.
    pub max_gap: u64,
    /// No request is longer than this (at least 1).
    pub max_request_bytes: u64,
}

/// One piece of a wanted range: `len` bytes starting `offset` bytes into request `request`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    /// Index into [`ReadPlan::requests`].
    pub request: usize,
    /// Offset of the piece inside that request's bytes.
    pub offset: u64,
    /// Length of the piece.
    pub len: u64,
}

/// The requests to issue for a set of wanted ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadPlan {
    /// The byte ranges to request, sorted and disjoint.
    pub requests: Vec<Range<u64>>,
    /// The pieces of all wanted ranges, each range's together ([`ReadPlan::pieces_of`]).
    pieces: Vec<Piece>,
    /// For each wanted range (in the order given), where its pieces are in `pieces`.
    spans: Vec<Range<usize>>,
}

impl ReadPlan {
    /// The pieces that make up wanted range `index`, in order: usually one; several when the
    /// range spans requests of a split range; none for an empty range (or an index beyond
    /// the wanted ranges).
    pub fn pieces_of(&self, index: usize) -> &[Piece] {
        self.spans
            .get(index)
            .and_then(|span| self.pieces.get(span.clone()))
            .unwrap_or_default()
    }

    /// The pieces of every wanted range, in the order the ranges were given.
    pub fn all_pieces(&self) -> impl Iterator<Item = &[Piece]> {
        (0..self.spans.len()).map(|index| self.pieces_of(index))
    }
}

/// Plans the requests that cover `wanted`; see the module docs.
///
/// Wanted ranges are visited by start. Requests stay sorted and disjoint: the part of a range
/// already inside earlier requests is taken from them, and the rest either extends the last
/// request (when the gap is small and the request stays within the size limit) or starts new
/// requests.
pub fn plan(wanted: &[Range<u64>], options: CoalesceOptions) -> ReadPlan {
    let max_request = options.max_request_bytes.max(1);
    let mut order: Vec<usize> = (0..wanted.len())
        .filter(|&i| wanted[i].start < wanted[i].end)
        .collect();
    order.sort_by_key(|&i| (wanted[i].start, wanted[i].end));

    let mut requests: Vec<Range<u64>> = Vec::new();
    // Each range's pieces go into one vector, together (a vector per range was an allocation
    // per mini-block chunk read).
    let mut pieces: Vec<Piece> = Vec::with_capacity(wanted.len());
    let mut spans = vec![0..0; wanted.len()];
    for index in order {
        let range = &wanted[index];
        let first = pieces.len();
        let out = Pieces {
            all: &mut pieces,
            first,
        };
        plan_range(range, options, max_request, &mut requests, out);
        spans[index] = first..pieces.len();
    }
    ReadPlan {
        requests,
        pieces,
        spans,
    }
}

/// The pieces of the range being planned: those of `all` from `first` on.
struct Pieces<'a> {
    all: &'a mut Vec<Piece>,
    first: usize,
}

impl Pieces<'_> {
    /// Appends a piece, joining it to the range's previous one when they are adjacent in one
    /// request.
    fn push(&mut self, request: usize, offset: u64, len: u64) {
        if self.all.len() > self.first
            && let Some(last) = self.all.last_mut()
            && last.request == request
            && last.offset + last.len == offset
        {
            last.len += len;
            return;
        }
        self.all.push(Piece {
            request,
            offset,
            len,
        });
    }
}

/// Plans one wanted range: the part already inside earlier requests is taken from them, and
/// the rest either extends the last request or starts new ones.
fn plan_range(
    range: &Range<u64>,
    options: CoalesceOptions,
    max_request: u64,
    requests: &mut Vec<Range<u64>>,
    mut out: Pieces<'_>,
) {
    let mut start = range.start;
    // 1. Bytes already covered by earlier requests.
    while start < range.end {
        let Some(request) = covering(requests, start) else {
            break;
        };
        let end = range.end.min(requests[request].end);
        out.push(request, start - requests[request].start, end - start);
        start = end;
    }
    if start >= range.end {
        return;
    }
    // 2. Extend the last request if close enough and still within the limit.
    if let Some(last) = requests.last_mut() {
        let close = start <= last.end.saturating_add(options.max_gap);
        if close && range.end - last.start <= max_request {
            last.end = range.end;
            let request = requests.len() - 1;
            let offset = start - requests[request].start;
            out.push(request, offset, range.end - start);
            return;
        }
    }
    // 3. New requests, split at the size limit.
    while start < range.end {
        let end = range.end.min(start.saturating_add(max_request));
        requests.push(start..end);
        out.push(requests.len() - 1, 0, end - start);
        start = end;
    }
}

/// The request containing byte `at`, if any (requests are sorted and disjoint).
fn covering(requests: &[Range<u64>], at: u64) -> Option<usize> {
    let after = requests.partition_point(|r| r.start <= at);
    let candidate = after.checked_sub(1)?;
    (at < requests[candidate].end).then_some(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const OPTIONS: CoalesceOptions = CoalesceOptions {
        max_gap: 4096,
        max_request_bytes: 16 * 1024 * 1024,
    };

    #[test]
    fn merges_close_ranges_and_keeps_far_ones_apart() {
        let wanted = [0..10, 20..30, 10_000..10_010, 5..8];
        let plan = plan(&wanted, OPTIONS);
        assert_eq!(plan.requests, vec![0..30, 10_000..10_010]);
        assert_eq!(
            plan.pieces_of(3),
            [Piece {
                request: 0,
                offset: 5,
                len: 3
            }]
        );
        assert_eq!(
            plan.pieces_of(2),
            [Piece {
                request: 1,
                offset: 0,
                len: 10
            }]
        );
    }

    #[test]
    fn splits_long_ranges() {
        let options = CoalesceOptions {
            max_gap: 0,
            max_request_bytes: 10,
        };
        let plan = plan(std::slice::from_ref(&(0..25)), options);
        assert_eq!(plan.requests, vec![0..10, 10..20, 20..25]);
        assert_eq!(plan.pieces_of(0).len(), 3);
    }

    fn file_bytes(len: u64) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    proptest! {
        #[test]
        fn plans_reproduce_direct_reads(
            ranges in prop::collection::vec((0u64..5000, 0u64..700), 0..40),
            max_gap in 0u64..600,
            max_request_bytes in 1u64..3000,
        ) {
            let wanted: Vec<Range<u64>> = ranges.iter().map(|&(s, l)| s..s + l).collect();
            let options = CoalesceOptions { max_gap, max_request_bytes };
            let plan = plan(&wanted, options);
            let file = file_bytes(6000);

            // No request above the maximum, and requests are sorted.
            for request in &plan.requests {
                prop_assert!(request.end - request.start <= max_request_bytes);
                prop_assert!(request.start < request.end);
            }
            for pair in plan.requests.windows(2) {
                prop_assert!(pair[0].end <= pair[1].start, "requests overlap");
                // Requests are only separate when merging was not allowed.
                let gap_too_wide = pair[1].start > pair[0].end + max_gap;
                let too_long = pair[1].end - pair[0].start > max_request_bytes;
                prop_assert!(gap_too_wide || too_long);
            }
            // Reassembling each wanted range from the requests gives the direct read.
            let fetched: Vec<&[u8]> = plan
                .requests
                .iter()
                .map(|r| &file[r.start as usize..r.end as usize])
                .collect();
            for (range, pieces) in wanted.iter().zip(plan.all_pieces()) {
                let mut bytes = Vec::new();
                for piece in pieces {
                    let request = fetched[piece.request];
                    bytes.extend_from_slice(
                        &request[piece.offset as usize..(piece.offset + piece.len) as usize],
                    );
                }
                prop_assert_eq!(&bytes[..], &file[range.start as usize..range.end as usize]);
            }
        }
    }
}
