//! What Lancelet's fuzz targets run, as plain functions: the cargo-fuzz targets in `fuzz/`
//! call them on generated inputs, and this crate's test replays the saved corpus through them
//! on every test run.
//!
//! Each function accepts any bytes. Typed errors are fine; a panic, an internal error, a
//! result of the wrong shape or an error of the wrong kind is a bug, reported by panicking.

use std::ops::Range;
use std::sync::{Arc, OnceLock};

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field};
use bytes::Bytes;
use lancelet::encodings::structural::page::PageReader;
use lancelet::encodings::v2_0::PageDecoder;
use lancelet::format::metadata::decode_in_memory;
use lancelet::format::pb;
use lancelet::format::{BufferRange, FileVersion, PageEncoding};
use lancelet::io::BytesReader;
use lancelet::{Error, FileReader};
use prost::Message;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start a runtime: {e}"))
    })
}

/// Errors that bad bytes may cause ([`Error::is_bad_file`]); anything else is a bug.
fn check_error(error: &Error, what: &str) {
    if !error.is_bad_file() {
        panic!("{what}: unexpected kind of error for bad bytes: {error:?}");
    }
}

/// Opens `data` as a Lance file, scans every column, takes and ranges some rows, and reads the
/// global buffers; `true` when all of it worked.
pub fn read_file(data: &[u8]) -> bool {
    let bytes = Bytes::copy_from_slice(data);
    match runtime().block_on(read_everything(bytes)) {
        Ok(()) => true,
        Err(error) => {
            check_error(&error, "read_file");
            false
        }
    }
}

async fn read_everything(bytes: Bytes) -> lancelet::Result<()> {
    let reader = FileReader::open_reader(Arc::new(BytesReader::new(bytes))).await?;
    let rows = reader.num_rows();
    let schema = reader.schema();
    let check = |batches: &[RecordBatch], expected: u64| {
        let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(
            total as u64, expected,
            "a read returned the wrong number of rows"
        );
        for batch in batches {
            assert_eq!(
                batch.schema().fields(),
                schema.fields(),
                "batch schema differs"
            );
        }
    };
    // Files claiming billions of rows are scanned only in part.
    let scanned = rows.min(100_000);
    let batches = reader
        .read_range(0..scanned)
        .with_batch_size(1000)
        .into_stream()?
        .try_collect()
        .await?;
    check(&batches, scanned);
    if rows > 0 {
        let take = vec![rows - 1, 0, rows / 2, rows / 2];
        let taken = reader
            .take(take.clone())
            .into_stream()?
            .try_collect()
            .await?;
        check(&taken, take.len() as u64);
    }
    for index in 0..reader.num_global_buffers().min(16) {
        reader.read_global_buffer(index).await?;
    }
    Ok(())
}

/// Decodes the footer and metadata of `data`, and describes every page; `true` when the
/// metadata decoded.
pub fn decode_metadata(data: &[u8]) -> bool {
    match decode_in_memory(&Bytes::copy_from_slice(data)) {
        Ok(metadata) => {
            for column in &metadata.columns {
                for page in &column.pages {
                    lancelet::format::describe::describe(page);
                }
            }
            true
        }
        Err(error) => {
            check_error(&error, "decode_metadata");
            false
        }
    }
}

/// The leaf types the page fuzzer decodes into; `decode_page`'s first byte picks one.
pub fn leaf_types() -> Vec<DataType> {
    use arrow_schema::{Field, Fields};
    let item = |t: DataType| Arc::new(Field::new("item", t, true));
    vec![
        DataType::Int32,
        DataType::Int64,
        DataType::Float64,
        DataType::Boolean,
        DataType::Utf8,
        DataType::LargeBinary,
        DataType::FixedSizeList(item(DataType::Float32), 4),
        DataType::FixedSizeList(item(DataType::Float32), 8),
        DataType::Int8,
        DataType::Int16,
        DataType::FixedSizeBinary(3),
        DataType::Dictionary(Box::new(DataType::Int16), Box::new(DataType::Utf8)),
        DataType::Struct(Fields::from(vec![
            Field::new("a", DataType::Int32, true),
            Field::new("b", DataType::Float64, true),
        ])),
    ]
}

/// The first byte of a `decode_page` input for a version and a leaf type (an index into
/// [`leaf_types`]).
pub fn page_selector(version: FileVersion, leaf: usize) -> u8 {
    let version = match version {
        FileVersion::V2_0 => 0,
        FileVersion::V2_1 => 1,
        _ => 2,
    };
    (leaf * 3 + version) as u8
}

/// Decodes one page from arbitrary parts: byte 0 picks the version (2.0, 2.1 or 2.2) and
/// the leaf type, bytes 1..3 the row count, then a u16-length-prefixed encoding message
/// (2.0 `ArrayEncoding` or 2.1+ `PageLayout`), then up to four u16-length-prefixed buffers;
/// the page reads all its rows and then two ranges. `true` when every read decoded.
pub fn decode_page(data: &[u8]) -> bool {
    let Some((&selector, rest)) = data.split_first() else {
        return false;
    };
    let version = match selector % 3 {
        0 => FileVersion::V2_0,
        1 => FileVersion::V2_1,
        _ => FileVersion::V2_2,
    };
    let types = leaf_types();
    let leaf = types[usize::from(selector / 3) % types.len()].clone();
    let Some((rows, mut rest)) = rest.split_first_chunk::<2>() else {
        return false;
    };
    let num_rows = u64::from(u16::from_le_bytes(*rows));
    let take = |rest: &mut &[u8]| -> Option<Vec<u8>> {
        let (len, tail) = rest.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_le_bytes(*len)).min(tail.len());
        let (part, tail) = tail.split_at(len);
        *rest = tail;
        Some(part.to_vec())
    };
    let Some(encoding) = take(&mut rest) else {
        return false;
    };
    // The buffers sit back to back in one in-memory "file".
    let mut file = Vec::new();
    let mut buffers = Vec::new();
    while buffers.len() < 4 {
        let Some(buffer) = take(&mut rest) else {
            break;
        };
        buffers.push(BufferRange {
            position: file.len() as u64,
            size: buffer.len() as u64,
        });
        file.extend_from_slice(&buffer);
    }
    let file = Bytes::from(file);
    let result = if version == FileVersion::V2_0 {
        decode_v2_0_page(&encoding, &buffers, num_rows, &leaf, &file)
    } else {
        decode_structural_page(&encoding, &buffers, num_rows, &leaf, version, &file)
    };
    match result {
        Ok(()) => true,
        Err(error) => {
            check_error(&error, "decode_page");
            false
        }
    }
}

fn fetch(file: &Bytes, ranges: &[Range<u64>]) -> lancelet::Result<Vec<Bytes>> {
    ranges
        .iter()
        .map(|r| {
            let (start, end) = (r.start as usize, r.end as usize);
            if start > end || end > file.len() {
                // Pages only name ranges inside their buffers, which lie inside the file.
                panic!("a page planned a read outside its buffers: {r:?}");
            }
            Ok(file.slice(start..end))
        })
        .collect()
}

/// The row ranges each page is read with: all rows, then the first and the last half.
fn row_ranges(num_rows: u64) -> Vec<Vec<Range<u64>>> {
    if num_rows == 0 {
        return Vec::new();
    }
    vec![vec![0..num_rows], vec![0..1, num_rows / 2..num_rows]]
        .into_iter()
        .map(|ranges| {
            ranges
                .into_iter()
                .filter(|r| !r.is_empty())
                .collect::<Vec<_>>()
        })
        .filter(|ranges: &Vec<Range<u64>>| {
            ranges.windows(2).all(|w| w[0].end <= w[1].start) && !ranges.is_empty()
        })
        .collect()
}

fn decode_v2_0_page(
    encoding: &[u8],
    buffers: &[BufferRange],
    num_rows: u64,
    leaf: &DataType,
    file: &Bytes,
) -> lancelet::Result<()> {
    let encoding = pb::v2_0::ArrayEncoding::decode(encoding)
        .map_err(|_| Error::corrupt("not an ArrayEncoding"))?;
    let page = PageDecoder::new(&encoding, buffers, num_rows)?;
    for ranges in row_ranges(num_rows) {
        let first = fetch(file, &page.plan(&ranges)?)?;
        let second = fetch(file, &page.plan_second(&ranges, &first)?)?;
        let array = page.decode(leaf, &ranges, &first, &second)?;
        let expected: u64 = ranges.iter().map(|r| r.end - r.start).sum();
        assert_eq!(
            array.len() as u64,
            expected,
            "a 2.0 page decoded the wrong row count"
        );
    }
    Ok(())
}

fn decode_structural_page(
    encoding: &[u8],
    buffers: &[BufferRange],
    num_rows: u64,
    leaf: &DataType,
    version: FileVersion,
    file: &Bytes,
) -> lancelet::Result<()> {
    let layout =
        pb::v2_1::PageLayout::decode(encoding).map_err(|_| Error::corrupt("not a PageLayout"))?;
    let page = PageReader::new(&layout, buffers, num_rows, leaf, version, file.len() as u64)?;
    page.load_metadata(fetch(file, &page.metadata_ranges())?)?;
    for ranges in row_ranges(num_rows) {
        let first = fetch(file, &page.plan(&ranges)?)?;
        let second = fetch(file, &page.plan_second(&ranges, &first)?)?;
        page.decode(&ranges, &first, &second)?;
    }
    Ok(())
}

/// Every page of `file` whose column type the page fuzzer knows, in `decode_page`'s input
/// format (see [`decode_page`]). Panics when `file` is not a valid Lance file.
pub fn page_inputs(file: &[u8]) -> Vec<Vec<u8>> {
    let metadata =
        decode_in_memory(&Bytes::copy_from_slice(file)).unwrap_or_else(|e| panic!("{e}"));
    let types = leaf_types();
    let mut leaves = Vec::new();
    collect_leaves(
        &metadata
            .schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect::<Vec<_>>(),
        metadata.version,
        &mut leaves,
    );
    let mut inputs = Vec::new();
    for (column, leaf) in metadata.columns.iter().zip(leaves) {
        let Some(index) = types.iter().position(|t| t == &leaf) else {
            continue;
        };
        let selector = page_selector(metadata.version, index);
        for page in &column.pages {
            let encoding = match &page.encoding {
                PageEncoding::V2_0(tree) => tree.encode_to_vec(),
                PageEncoding::Structural(layout) => layout.encode_to_vec(),
            };
            if encoding.len() > usize::from(u16::MAX) || page.num_rows > u64::from(u16::MAX) {
                continue;
            }
            let mut input = vec![selector];
            input.extend_from_slice(&(page.num_rows as u16).to_le_bytes());
            input.extend_from_slice(&(encoding.len() as u16).to_le_bytes());
            input.extend_from_slice(&encoding);
            for buffer in page.buffers.iter().take(4) {
                let bytes =
                    &file[buffer.position as usize..(buffer.position + buffer.size) as usize];
                let bytes = &bytes[..bytes.len().min(usize::from(u16::MAX))];
                input.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
                input.extend_from_slice(bytes);
            }
            inputs.push(input);
        }
    }
    inputs
}

/// The data type stored in each column, in column order.
fn collect_leaves(fields: &[Field], version: FileVersion, out: &mut Vec<arrow_schema::DataType>) {
    use arrow_schema::DataType as T;
    for field in fields {
        let packed = field
            .metadata()
            .get("lance-encoding:packed")
            .is_some_and(|v| v == "true");
        match field.data_type() {
            T::Struct(children) if !packed && !children.is_empty() => {
                if !version.is_structural() {
                    out.push(field.data_type().clone());
                }
                collect_leaves(
                    &children
                        .iter()
                        .map(|f| f.as_ref().clone())
                        .collect::<Vec<_>>(),
                    version,
                    out,
                );
            }
            T::List(item) | T::LargeList(item) | T::Map(item, _) => {
                if !version.is_structural() {
                    out.push(field.data_type().clone());
                }
                collect_leaves(std::slice::from_ref(item.as_ref()), version, out);
            }
            other => out.push(other.clone()),
        }
    }
}
