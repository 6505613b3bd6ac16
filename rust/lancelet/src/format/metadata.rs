//! Decoding a file's metadata (footer, offset tables, schema, column metadata) without I/O.
//!
//! [`MetadataDecoder`] is driven by the caller: it is given the bytes it has, and either
//! returns the decoded [`FileMetadata`] or names the byte ranges it still needs. Lance writers
//! put everything the decoder needs at the end of the file, so a read of the file's tail
//! usually suffices, and one more read always does for files written by Lance or Lancelet:
//!
//! ```text
//! ... pages ... | GB0 (schema) | column metadata | CMO table | GBO table | footer (40 B) |
//!                 ^ GBO[0]       ^ column_meta_start                                   EOF
//! ```

use std::ops::Range;
use std::sync::Arc;

use arrow_schema::SchemaRef;
use bytes::{Bytes, BytesMut};
use prost::Message;
use snafu::ResultExt;

use crate::error::{Error, ProtoDecodeSnafu, Result, TruncatedSnafu};
use crate::format::footer::OFFSET_TABLE_ENTRY_BYTES;
use crate::format::pb;
use crate::format::schema::{FieldIds, from_lance_fields};
use crate::format::{FileVersion, Footer};

/// A buffer in the file: an absolute position and a size in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BufferRange {
    /// Absolute offset of the first byte.
    pub position: u64,
    /// Length in bytes.
    pub size: u64,
}

impl BufferRange {
    /// The byte range `position..position + size`.
    pub fn range(&self) -> Range<u64> {
        self.position..self.position + self.size
    }
}

/// How a page is encoded: a format 2.0 encoding tree, or a 2.1/2.2 page layout.
#[derive(Clone, Debug, PartialEq)]
pub enum PageEncoding {
    /// Format 2.0: an `ArrayEncoding` tree.
    V2_0(pb::v2_0::ArrayEncoding),
    /// Formats 2.1 and 2.2: a `PageLayout`.
    Structural(pb::v2_1::PageLayout),
}

/// One page of a column.
#[derive(Clone, Debug, PartialEq)]
pub struct PageInfo {
    /// The page's buffers, in the order the encoding refers to them.
    pub buffers: Vec<BufferRange>,
    /// The number of values in the page (rows, or list items for 2.0 item columns).
    pub num_rows: u64,
    /// The top-level row of the page's first row (2.1+; 0 in 2.0 files).
    pub priority: u64,
    /// The page's encoding.
    pub encoding: PageEncoding,
}

/// One column of the file.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnInfo {
    /// The column's pages in row order.
    pub pages: Vec<PageInfo>,
    /// Column-level buffers.
    pub buffers: Vec<BufferRange>,
    /// Whether the column encoding marks a 2.0 blob column: its pages hold (position, size)
    /// descriptions of values stored elsewhere in the file.
    pub blob: bool,
}

impl ColumnInfo {
    /// Whether the column's values live outside its pages (a 2.0 blob column, or 2.1+ blob
    /// pages).
    pub fn stores_blobs(&self) -> bool {
        self.blob
            || self.pages.iter().any(|page| {
                matches!(
                    &page.encoding,
                    PageEncoding::Structural(pb::v2_1::PageLayout {
                        layout: Some(pb::v2_1::page_layout::Layout::BlobLayout(_)),
                    })
                )
            })
    }

    /// The number of values in the column (the sum of its page lengths).
    pub fn num_values(&self) -> u64 {
        self.pages.iter().map(|p| p.num_rows).sum()
    }

    /// The total size of the column's page and column buffers in bytes.
    pub fn size_bytes(&self) -> u64 {
        let pages: u64 = self
            .pages
            .iter()
            .flat_map(|p| p.buffers.iter())
            .map(|b| b.size)
            .sum();
        pages + self.buffers.iter().map(|b| b.size).sum::<u64>()
    }
}

/// Everything known about a file once its metadata is decoded.
#[derive(Clone, Debug)]
pub struct FileMetadata {
    /// The format version.
    pub version: FileVersion,
    /// The footer as stored.
    pub footer: Footer,
    /// The size of the file in bytes.
    pub file_size: u64,
    /// The number of top-level rows.
    pub num_rows: u64,
    /// The Arrow schema, with field and schema metadata.
    pub schema: SchemaRef,
    /// The Lance field ids of each top-level field of `schema`.
    pub field_ids: Vec<FieldIds>,
    /// The columns, in column-index order.
    pub columns: Vec<ColumnInfo>,
    /// The global buffers; entry 0 holds the schema.
    pub global_buffers: Vec<BufferRange>,
}

impl FileMetadata {
    /// An estimate of the bytes of blob values per blob column: the file's bytes that no page,
    /// column or global buffer and no metadata accounts for, shared equally.
    pub fn blob_bytes_per_column(&self) -> f64 {
        let blob_columns = self
            .columns
            .iter()
            .filter(|c| c.stores_blobs())
            .count()
            .max(1);
        let listed: u64 = self
            .columns
            .iter()
            .map(ColumnInfo::size_bytes)
            .chain(self.global_buffers.iter().map(|b| b.size))
            .sum();
        let unlisted = self
            .file_size
            .saturating_sub(listed)
            .saturating_sub(self.metadata_bytes());
        unlisted as f64 / blob_columns as f64
    }

    /// Bytes taken by the schema, column metadata, offset tables and footer.
    pub fn metadata_bytes(&self) -> u64 {
        let schema_start = self
            .global_buffers
            .first()
            .map_or(self.footer.column_meta_start, |gb| gb.position)
            .min(self.footer.column_meta_start);
        self.file_size.saturating_sub(schema_start)
    }
}

/// What the decoder needs next.
#[derive(Debug)]
pub enum DecodeStep {
    /// Read these byte ranges and pass them to [`MetadataDecoder::add`].
    Need(Vec<Range<u64>>),
    /// The metadata is complete.
    Done(Box<FileMetadata>),
}

/// Decodes a file's metadata from the bytes it is given; see the module docs.
#[derive(Debug)]
pub struct MetadataDecoder {
    file_size: u64,
    /// Disjoint, sorted regions of the file held so far.
    regions: Vec<(u64, Bytes)>,
}

/// Ranges this close together are fetched as one read.
const MERGE_GAP_BYTES: u64 = 1024 * 1024;

impl MetadataDecoder {
    /// A decoder for a file of `file_size` bytes.
    ///
    /// Fails with [`Error::Truncated`] when the file cannot even hold a footer.
    pub fn new(file_size: u64) -> Result<Self> {
        if file_size < Footer::SIZE as u64 {
            return TruncatedSnafu {
                message: format!(
                    "file has {file_size} bytes, fewer than the {}-byte footer",
                    Footer::SIZE
                ),
            }
            .fail();
        }
        Ok(Self {
            file_size,
            regions: Vec::new(),
        })
    }

    /// The first read to make: the last `block_size` bytes of the file (all of it if smaller).
    pub fn tail_range(&self, block_size: u64) -> Range<u64> {
        self.file_size
            .saturating_sub(block_size.max(Footer::SIZE as u64))..self.file_size
    }

    /// Adds bytes read at `offset`. Overlapping or touching regions are merged.
    pub fn add(&mut self, offset: u64, bytes: Bytes) -> Result<()> {
        let end = offset
            .checked_add(bytes.len() as u64)
            .filter(|&end| end <= self.file_size)
            .ok_or_else(|| Error::internal("metadata bytes added past the end of the file"))?;
        let mut start = offset;
        let mut merged_end = end;
        let mut pieces = vec![(offset, bytes)];
        let mut kept = Vec::with_capacity(self.regions.len() + 1);
        for (region_start, region) in self.regions.drain(..) {
            let region_end = region_start + region.len() as u64;
            if region_end < start || region_start > merged_end {
                kept.push((region_start, region));
            } else {
                start = start.min(region_start);
                merged_end = merged_end.max(region_end);
                pieces.push((region_start, region));
            }
        }
        let combined = if pieces.len() == 1 {
            pieces.pop().map(|(_, b)| b).unwrap_or_default()
        } else {
            let len = usize::try_from(merged_end - start)
                .map_err(|_| Error::internal("metadata region too large"))?;
            let mut buf = BytesMut::zeroed(len);
            for (piece_start, piece) in &pieces {
                let at = (piece_start - start) as usize;
                buf[at..at + piece.len()].copy_from_slice(piece);
            }
            buf.freeze()
        };
        kept.push((start, combined));
        kept.sort_by_key(|(s, _)| *s);
        self.regions = kept;
        Ok(())
    }

    /// The bytes of `range`, if held (an empty range always is).
    fn get(&self, range: &Range<u64>) -> Option<Bytes> {
        if range.is_empty() {
            return Some(Bytes::new());
        }
        self.regions.iter().find_map(|(start, bytes)| {
            let end = start + bytes.len() as u64;
            (*start <= range.start && range.end <= end)
                .then(|| bytes.slice((range.start - start) as usize..(range.end - start) as usize))
        })
    }

    /// The part of `range` that is not held yet, assuming held bytes form the file's tail.
    fn missing(&self, range: &Range<u64>) -> Option<Range<u64>> {
        if range.is_empty() || self.get(range).is_some() {
            return None;
        }
        // If a held region covers the end of the range, only its start is missing.
        for (start, bytes) in &self.regions {
            let end = start + bytes.len() as u64;
            if *start > range.start && *start < range.end && range.end <= end {
                return Some(range.start..*start);
            }
        }
        Some(range.clone())
    }

    /// Decodes as far as the held bytes allow.
    pub fn step(&self) -> Result<DecodeStep> {
        let file_size = self.file_size;
        let footer_range = file_size - Footer::SIZE as u64..file_size;
        let Some(footer_bytes) = self.get(&footer_range) else {
            return Ok(DecodeStep::Need(vec![footer_range]));
        };
        let footer_array: [u8; Footer::SIZE] = footer_bytes
            .as_ref()
            .try_into()
            .map_err(|_| Error::internal("footer slice has the wrong length"))?;
        let footer = Footer::decode(&footer_array)?;
        let version = footer.version()?;
        footer.validate(file_size)?;

        // The global buffer table sits just before the footer, so the tail read nearly always
        // holds it. It tells where the schema is; then the schema, the column metadata and the
        // column metadata table are fetched together.
        let gbo_range = footer.global_buff_offsets_start
            ..footer.global_buff_offsets_start
                + u64::from(footer.num_global_buffers) * OFFSET_TABLE_ENTRY_BYTES;
        if let Some(missing) = self.missing(&gbo_range) {
            let tables = footer.column_meta_start..footer_range.start;
            let wanted = self.missing(&tables).unwrap_or(missing);
            return Ok(DecodeStep::Need(vec![wanted]));
        }
        let global_buffers = self.read_offset_table(
            footer.global_buff_offsets_start,
            footer.num_global_buffers,
            "global buffer",
        )?;
        let schema_buffer = *global_buffers
            .first()
            .ok_or_else(|| Error::corrupt("no global buffer 0 (schema)"))?;
        let cmo_range = footer.column_meta_offsets_start
            ..footer.column_meta_offsets_start
                + u64::from(footer.num_columns) * OFFSET_TABLE_ENTRY_BYTES;
        let column_region = footer.column_meta_start..cmo_range.end;
        let mut needed: Vec<Range<u64>> = [schema_buffer.range(), column_region]
            .iter()
            .filter_map(|r| self.missing(r))
            .collect();
        if !needed.is_empty() {
            needed.sort_by_key(|r| r.start);
            return Ok(DecodeStep::Need(merge_ranges(needed)));
        }
        let column_buffers = self.read_offset_table(
            footer.column_meta_offsets_start,
            footer.num_columns,
            "column metadata",
        )?;
        // Column metadata normally lies between column_meta_start and the table; a file may
        // place it elsewhere, which costs one more read.
        let mut needed: Vec<Range<u64>> = column_buffers
            .iter()
            .map(BufferRange::range)
            .filter_map(|r| self.missing(&r))
            .collect();
        if !needed.is_empty() {
            needed.sort_by_key(|r| r.start);
            return Ok(DecodeStep::Need(merge_ranges(needed)));
        }

        let descriptor_bytes = self.held(&schema_buffer.range())?;
        let descriptor =
            pb::file::FileDescriptor::decode(descriptor_bytes).context(ProtoDecodeSnafu {
                what: "file descriptor (global buffer 0)",
            })?;
        let lance_schema = descriptor
            .schema
            .ok_or_else(|| Error::corrupt("file descriptor has no schema"))?;
        let (schema, field_ids) = from_lance_fields(&lance_schema.fields, &lance_schema.metadata)?;

        let mut columns = Vec::with_capacity(column_buffers.len());
        for (index, buffer) in column_buffers.iter().enumerate() {
            let bytes = self.held(&buffer.range())?;
            let column =
                pb::file2::ColumnMetadata::decode(bytes).with_context(|_| ProtoDecodeSnafu {
                    what: format!("metadata of column {index}"),
                })?;
            columns.push(convert_column(column, version, file_size, index)?);
        }

        Ok(DecodeStep::Done(Box::new(FileMetadata {
            version,
            footer,
            file_size,
            num_rows: descriptor.length,
            schema: Arc::new(schema),
            field_ids,
            columns,
            global_buffers,
        })))
    }

    fn held(&self, range: &Range<u64>) -> Result<Bytes> {
        self.get(range)
            .ok_or_else(|| Error::internal(format!("metadata range {range:?} was not read")))
    }

    fn read_offset_table(&self, start: u64, entries: u32, what: &str) -> Result<Vec<BufferRange>> {
        let len = u64::from(entries) * OFFSET_TABLE_ENTRY_BYTES;
        let bytes = self.held(&(start..start + len))?;
        let mut out = Vec::with_capacity(entries as usize);
        for (index, entry) in bytes.chunks_exact(16).enumerate() {
            let mut position = [0u8; 8];
            let mut size = [0u8; 8];
            position.copy_from_slice(&entry[..8]);
            size.copy_from_slice(&entry[8..]);
            let buffer = BufferRange {
                position: u64::from_le_bytes(position),
                size: u64::from_le_bytes(size),
            };
            check_in_file(&buffer, self.file_size, || format!("{what} {index}"))?;
            out.push(buffer);
        }
        Ok(out)
    }
}

fn merge_ranges(sorted: Vec<Range<u64>>) -> Vec<Range<u64>> {
    let mut merged: Vec<Range<u64>> = Vec::with_capacity(sorted.len());
    for range in sorted {
        match merged.last_mut() {
            Some(last) if range.start <= last.end.saturating_add(MERGE_GAP_BYTES) => {
                last.end = last.end.max(range.end);
            }
            _ => merged.push(range),
        }
    }
    merged
}

fn check_in_file(buffer: &BufferRange, file_size: u64, what: impl Fn() -> String) -> Result<()> {
    match buffer.position.checked_add(buffer.size) {
        Some(end) if end <= file_size => Ok(()),
        _ => Err(Error::corrupt(format!(
            "{} at {} with {} bytes lies outside the {file_size}-byte file",
            what(),
            buffer.position,
            buffer.size
        ))),
    }
}

fn buffers_of(
    offsets: &[u64],
    sizes: &[u64],
    file_size: u64,
    what: impl Fn() -> String,
) -> Result<Vec<BufferRange>> {
    if offsets.len() != sizes.len() {
        return Err(Error::corrupt(format!(
            "{} has {} buffer offsets but {} sizes",
            what(),
            offsets.len(),
            sizes.len()
        )));
    }
    offsets
        .iter()
        .zip(sizes)
        .enumerate()
        .map(|(i, (&position, &size))| {
            let buffer = BufferRange { position, size };
            check_in_file(&buffer, file_size, || format!("buffer {i} of {}", what()))?;
            Ok(buffer)
        })
        .collect()
}

fn convert_column(
    column: pb::file2::ColumnMetadata,
    version: FileVersion,
    file_size: u64,
    index: usize,
) -> Result<ColumnInfo> {
    let buffers = buffers_of(
        &column.buffer_offsets,
        &column.buffer_sizes,
        file_size,
        || format!("column {index}"),
    )?;
    let mut pages = Vec::with_capacity(column.pages.len());
    for (page_index, page) in column.pages.into_iter().enumerate() {
        let what = || format!("page {page_index} of column {index}");
        let buffers = buffers_of(&page.buffer_offsets, &page.buffer_sizes, file_size, what)?;
        let encoding = decode_page_encoding(page.encoding, version, &what)?;
        pages.push(PageInfo {
            buffers,
            num_rows: page.length,
            priority: page.priority,
            encoding,
        });
    }
    let blob = is_blob_column(column.encoding, &|| format!("column {index}"))?;
    Ok(ColumnInfo {
        pages,
        buffers,
        blob,
    })
}

/// Whether a column encoding is `ColumnEncoding.blob` (absent or other encodings: no).
fn is_blob_column(
    encoding: Option<pb::file2::Encoding>,
    what: &dyn Fn() -> String,
) -> Result<bool> {
    use pb::file2::encoding::Location;
    use pb::v2_0::column_encoding::ColumnEncoding as Kind;
    let Some(Location::Direct(direct)) = encoding.and_then(|e| e.location) else {
        return Ok(false);
    };
    let any = prost_types::Any::decode(direct.encoding.as_slice()).with_context(|_| {
        ProtoDecodeSnafu {
            what: format!("column encoding of {}", what()),
        }
    })?;
    if any.type_url != pb::COLUMN_ENCODING_TYPE_URL {
        return Ok(false);
    }
    let encoding = pb::v2_0::ColumnEncoding::decode(any.value.as_slice()).with_context(|_| {
        ProtoDecodeSnafu {
            what: format!("column encoding of {}", what()),
        }
    })?;
    Ok(matches!(encoding.column_encoding, Some(Kind::Blob(_))))
}

fn decode_page_encoding(
    encoding: Option<pb::file2::Encoding>,
    version: FileVersion,
    what: &dyn Fn() -> String,
) -> Result<PageEncoding> {
    use pb::file2::encoding::Location;
    let any_bytes = match encoding.and_then(|e| e.location) {
        Some(Location::Direct(direct)) => direct.encoding,
        Some(Location::Indirect(_)) => {
            return Err(Error::not_supported(format!(
                "{}: indirect (deferred) page encodings",
                what()
            )));
        }
        Some(Location::None(_)) | None => {
            return Err(Error::corrupt(format!("{} has no encoding", what())));
        }
    };
    let any =
        prost_types::Any::decode(any_bytes.as_slice()).with_context(|_| ProtoDecodeSnafu {
            what: format!("encoding of {}", what()),
        })?;
    if version.is_structural() {
        let layout = pb::v2_1::PageLayout::decode(any.value.as_slice()).with_context(|_| {
            ProtoDecodeSnafu {
                what: format!("page layout of {}", what()),
            }
        })?;
        Ok(PageEncoding::Structural(layout))
    } else {
        let tree = pb::v2_0::ArrayEncoding::decode(any.value.as_slice()).with_context(|_| {
            ProtoDecodeSnafu {
                what: format!("array encoding of {}", what()),
            }
        })?;
        Ok(PageEncoding::V2_0(tree))
    }
}

/// Decodes a whole file held in memory (used by tests and fuzzing).
pub fn decode_in_memory(file: &Bytes) -> Result<FileMetadata> {
    let mut decoder = MetadataDecoder::new(file.len() as u64)?;
    decoder.add(0, file.clone())?;
    match decoder.step()? {
        DecodeStep::Done(metadata) => Ok(*metadata),
        DecodeStep::Need(ranges) => Err(Error::internal(format!(
            "metadata decoder asked for {ranges:?} although the whole file was given"
        ))),
    }
}
