//! Files of formats 2.1 and 2.2 written by Lancelet read back equal to their source: every
//! type, null structs, maps, many pages, encoding hints, ranges, takes and projections.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, UInt64Array};
use arrow_schema::{DataType, Field, Fields};
use common::*;
use lancelet::format::describe::describe;
use lancelet::{FileVersion, WriterOptions};

const VERSIONS: [FileVersion; 2] = [FileVersion::V2_1, FileVersion::V2_2];

fn item(data_type: DataType) -> Arc<Field> {
    Arc::new(Field::new("item", data_type, true))
}

/// Every 2.0 type plus what only 2.1+ can store.
fn fields(version: FileVersion) -> Vec<Field> {
    let mut fields = all_v2_0_fields();
    let point = Fields::from(vec![
        Field::new("x", DataType::Int32, true),
        Field::new("y", DataType::Utf8, true),
    ]);
    fields.push(Field::new(
        "nullable_struct",
        DataType::Struct(point.clone()),
        true,
    ));
    fields.push(Field::new(
        "list_of_nullable_structs",
        DataType::List(Arc::new(Field::new(
            "item",
            DataType::Struct(point.clone()),
            true,
        ))),
        true,
    ));
    fields.push(Field::new(
        "list_struct_list",
        DataType::List(item(DataType::Struct(Fields::from(vec![Field::new(
            "l",
            DataType::List(item(DataType::Int64)),
            true,
        )])))),
        true,
    ));
    fields.push(Field::new(
        "fsl_of_fsl",
        DataType::FixedSizeList(item(DataType::FixedSizeList(item(DataType::Int16), 3)), 2),
        true,
    ));
    fields.push(Field::new(
        "wide_fsl_of_fsl",
        DataType::FixedSizeList(
            item(DataType::FixedSizeList(item(DataType::Float64), 64)),
            4,
        ),
        true,
    ));
    if version >= FileVersion::V2_2 {
        fields.push(Field::new_map(
            "map",
            "entries",
            Field::new("key", DataType::Utf8, false),
            Field::new("value", DataType::Int32, true),
            false,
            true,
        ));
    }
    fields
}

fn batches(schema: &Arc<arrow_schema::Schema>, lens: &[usize], seed: u64) -> Vec<RecordBatch> {
    let mut random = Random(seed);
    lens.iter()
        .map(|&len| {
            let columns: Vec<ArrayRef> = schema
                .fields()
                .iter()
                .map(|f| {
                    array_with_null_structs(
                        f.data_type(),
                        len,
                        if f.is_nullable() { 5 } else { 0 },
                        &mut random,
                    )
                })
                .collect();
            RecordBatch::try_new(schema.clone(), columns).unwrap()
        })
        .collect()
}

fn options(version: FileVersion) -> WriterOptions {
    WriterOptions::default().with_version(version)
}

#[tokio::test]
async fn every_type_round_trips() {
    for version in VERSIONS {
        let schema = schema_of(fields(version));
        let source = batches(&schema, &[700, 1, 0, 1299], 1);
        let expected = concat(&schema, &source);
        for options in [
            options(version),
            options(version).with_data_cache_bytes(60 * 4096).unwrap(),
        ] {
            let store = write(&schema, &source, options).await;
            let reader = open(&store).await;
            assert_eq!(reader.version(), version);
            assert_eq!(reader.schema().as_ref(), schema.as_ref());
            let read = reader
                .scan()
                .with_batch_size(257)
                .into_stream()
                .unwrap()
                .try_collect()
                .await
                .unwrap();
            assert_same(&expected, &concat(&schema, &read));

            for range in [0..1, 1999..2000, 650..1410] {
                let read = reader
                    .read_range(range.clone())
                    .into_stream()
                    .unwrap()
                    .try_collect()
                    .await
                    .unwrap();
                let want = expected.slice(range.start as usize, (range.end - range.start) as usize);
                assert_same(&want, &concat(&schema, &read));
            }
            let indices = vec![1999, 0, 700, 700, 3, 1234];
            let read = reader
                .take(indices.clone())
                .into_stream()
                .unwrap()
                .try_collect()
                .await
                .unwrap();
            let want =
                arrow_select::take::take_record_batch(&expected, &UInt64Array::from(indices))
                    .unwrap();
            assert_same(&want, &concat(&schema, &read));
        }
    }
}

#[tokio::test]
async fn versions_are_written_as_asked() {
    for (version, footer) in [
        (FileVersion::V2_1, [2u8, 0, 1, 0]),
        (FileVersion::V2_2, [2, 0, 2, 0]),
    ] {
        let schema = schema_of(vec![Field::new("a", DataType::Int32, true)]);
        let store = write(&schema, &batches(&schema, &[10], 2), options(version)).await;
        let bytes = {
            use object_store::ObjectStoreExt;
            store
                .get(&object_store::path::Path::from("test.lance"))
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
        };
        assert_eq!(&bytes[bytes.len() - 8..bytes.len() - 4], &footer);
        let reader = open(&store).await;
        for column in &reader.metadata().columns {
            for (index, page) in column.pages.iter().enumerate() {
                let first_row: u64 = column.pages[..index].iter().map(|p| p.num_rows).sum();
                assert_eq!(page.priority, first_row, "priority is the page's first row");
            }
        }
    }
}

#[tokio::test]
async fn empty_files_have_no_pages() {
    for version in VERSIONS {
        let schema = schema_of(fields(version));
        let store = write(&schema, &[], options(version)).await;
        let reader = open(&store).await;
        assert_eq!(reader.num_rows(), 0);
        assert!(reader.metadata().columns.iter().all(|c| c.pages.is_empty()));
        assert!(
            reader
                .scan()
                .into_stream()
                .unwrap()
                .try_collect()
                .await
                .unwrap()
                .is_empty()
        );
    }
}

fn with_hint(field: Field, key: &str, value: &str) -> Field {
    let mut metadata = field.metadata().clone();
    metadata.insert(key.to_string(), value.to_string());
    field.with_metadata(metadata)
}

/// Values that general compression shrinks (with a few nulls).
fn compressible(data_type: &DataType, len: usize) -> ArrayRef {
    let valid = |i: usize| !i.is_multiple_of(97);
    match data_type {
        DataType::Float64 => Arc::new(arrow_array::Float64Array::from_iter(
            (0..len).map(|i| valid(i).then(|| (i % 100) as f64 / 8.0)),
        )),
        DataType::Float32 => Arc::new(arrow_array::Float32Array::from_iter(
            (0..len).map(|i| valid(i).then(|| (i % 100) as f32 / 8.0)),
        )),
        DataType::Int64 => Arc::new(arrow_array::Int64Array::from_iter(
            (0..len).map(|i| valid(i).then_some((i % 1000) as i64)),
        )),
        DataType::Int32 => Arc::new(arrow_array::Int32Array::from_iter(
            (0..len).map(|i| valid(i).then_some(i as i32)),
        )),
        _ => Arc::new(arrow_array::StringArray::from_iter((0..len).map(|i| {
            valid(i).then(|| format!("value-{i}-{}", "abc".repeat(i % 5)))
        }))),
    }
}

#[tokio::test]
async fn hints_choose_encodings_and_data_survives() {
    let cases: Vec<(Field, &str)> = vec![
        (
            with_hint(
                Field::new("f", DataType::Float64, true),
                "lance-encoding:compression",
                "zstd",
            ),
            "general(zstd, byte_stream_split",
        ),
        (
            with_hint(
                Field::new("f", DataType::Float32, true),
                "lance-encoding:compression",
                "lz4",
            ),
            "general(lz4, byte_stream_split",
        ),
        (
            with_hint(
                with_hint(
                    Field::new("i", DataType::Int64, true),
                    "lance-encoding:compression",
                    "zstd",
                ),
                "lance-encoding:bss",
                "off",
            ),
            "general(zstd",
        ),
        (
            with_hint(
                Field::new("s", DataType::Utf8, true),
                "lance-encoding:compression",
                "fsst",
            ),
            "fsst(",
        ),
        (
            with_hint(
                Field::new("s", DataType::Utf8, true),
                "lance-encoding:compression",
                "none",
            ),
            "variable(flat(32))",
        ),
        (
            with_hint(
                Field::new("s", DataType::Utf8, true),
                "lance-encoding:structural-encoding",
                "fullzip",
            ),
            "full_zip",
        ),
        (
            with_hint(
                Field::new("i", DataType::Int32, true),
                "lance-encoding:structural-encoding",
                "fullzip",
            ),
            "full_zip",
        ),
    ];
    for version in VERSIONS {
        for (field, expected_encoding) in &cases {
            let schema = schema_of(vec![field.clone()]);
            let source: Vec<RecordBatch> = [12_000usize, 8000]
                .iter()
                .map(|&len| {
                    RecordBatch::try_new(schema.clone(), vec![compressible(field.data_type(), len)])
                        .unwrap()
                })
                .collect();
            let store = write(&schema, &source, options(version)).await;
            let reader = open(&store).await;
            let described: Vec<String> = reader.metadata().columns[0]
                .pages
                .iter()
                .map(describe)
                .collect();
            assert!(
                described.iter().all(|d| d.contains(expected_encoding)),
                "{version} {field:?}: {described:?}"
            );
            let read = reader
                .scan()
                .into_stream()
                .unwrap()
                .try_collect()
                .await
                .unwrap();
            let expected = concat(&schema, &source);
            assert_same(&expected, &concat(&schema, &read));
            // Takes decode single values of chunks (unsorted, repeated, across pages).
            let indices = vec![19_999, 5, 12_000, 5, 11_999, 0, 7777, 4096, 4095];
            let read = reader
                .take(indices.clone())
                .into_stream()
                .unwrap()
                .try_collect()
                .await
                .unwrap();
            let want =
                arrow_select::take::take_record_batch(&expected, &UInt64Array::from(indices))
                    .unwrap();
            assert_same(&want, &concat(&schema, &read));
        }
    }
}

#[tokio::test]
async fn constant_and_all_null_pages() {
    let schema = schema_of(vec![
        Field::new("c", DataType::Int64, true),
        Field::new("s", DataType::Utf8, true),
        Field::new("n", DataType::Int32, true),
        Field::new("l", DataType::List(item(DataType::Int32)), true),
    ]);
    let rows = 5000;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(arrow_array::Int64Array::from_iter(
            (0..rows).map(|i| (i % 7 != 0).then_some(42)),
        )),
        Arc::new(arrow_array::StringArray::from_iter_values(
            std::iter::repeat_n("hello", rows),
        )),
        Arc::new(arrow_array::Int32Array::from(vec![None; rows])),
        arrow_array::new_null_array(&DataType::List(item(DataType::Int32)), rows),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    for version in VERSIONS {
        let store = write(&schema, std::slice::from_ref(&batch), options(version)).await;
        let reader = open(&store).await;
        let described: Vec<String> = reader
            .metadata()
            .columns
            .iter()
            .map(|c| describe(&c.pages[0]))
            .collect();
        if version == FileVersion::V2_2 {
            assert_eq!(described[0], "constant(8 bytes)");
            assert_eq!(described[1], "constant(scalar)");
        }
        assert_eq!(described[2], "all_null");
        assert_eq!(described[3], "all_null");
        let read = reader
            .scan()
            .into_stream()
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_same(&batch, &concat(&schema, &read));
        let read = reader
            .take(vec![4999, 7, 0])
            .into_stream()
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let want =
            arrow_select::take::take_record_batch(&batch, &UInt64Array::from(vec![4999, 7, 0]))
                .unwrap();
        assert_same(&want, &concat(&schema, &read));
    }
}

#[tokio::test]
async fn list_pages_with_empty_lists_are_split_by_levels() {
    // 100k single-item lists and one empty list: pages keep at most 65535 level entries.
    let rows = 100_000;
    let mut builder =
        arrow_array::builder::ListBuilder::new(arrow_array::builder::Int32Builder::new());
    for i in 0..rows {
        if i == 10 {
            builder.append(true);
        } else {
            builder.values().append_value(i);
            builder.append(true);
        }
    }
    let array: ArrayRef = Arc::new(builder.finish());
    let schema = schema_of(vec![Field::new("l", array.data_type().clone(), true)]);
    let batch = RecordBatch::try_new(schema.clone(), vec![array]).unwrap();
    for version in VERSIONS {
        let store = write(&schema, std::slice::from_ref(&batch), options(version)).await;
        let reader = open(&store).await;
        let pages = &reader.metadata().columns[0].pages;
        assert!(pages.len() >= 2, "{} pages", pages.len());
        assert!(pages.iter().all(|p| p.num_rows <= 65_535));
        let read = reader
            .scan()
            .into_stream()
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_same(&batch, &concat(&schema, &read));
    }
}

mod property {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, .. ProptestConfig::default() })]

        #[test]
        fn random_nested_files_round_trip(
            type_indices in prop::collection::vec(0usize..60, 1..4),
            lens in prop::collection::vec(0usize..400, 1..4),
            seed in any::<u64>(),
            version_22 in any::<bool>(),
            cache in 1u64..30_000,
            take in prop::collection::vec(any::<prop::sample::Index>(), 0..30),
        ) {
            let version = if version_22 { FileVersion::V2_2 } else { FileVersion::V2_1 };
            let all = fields(version);
            let schema = schema_of(
                type_indices
                    .iter()
                    .enumerate()
                    .map(|(i, t)| Field::new(format!("c{i}"), all[t % all.len()].data_type().clone(), true))
                    .collect(),
            );
            let source = batches(&schema, &lens, seed);
            let expected = concat(&schema, &source);
            let rows = expected.num_rows();
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async {
                let options = options(version).with_data_cache_bytes(cache).unwrap();
                let store = write(&schema, &source, options).await;
                let reader = open(&store).await;
                let read = reader.scan().with_batch_size(101).into_stream().unwrap().try_collect().await.unwrap();
                assert_same(&expected, &concat(&schema, &read));
                if rows > 0 {
                    let indices: Vec<u64> = take.iter().map(|i| i.index(rows) as u64).collect();
                    let read = reader.take(indices.clone()).into_stream().unwrap().try_collect().await.unwrap();
                    let want = arrow_select::take::take_record_batch(&expected, &UInt64Array::from(indices)).unwrap();
                    assert_same(&want, &concat(&schema, &read));
                }
            });
        }
    }
}

/// The compressed encodings of a 2.2 file (run-length keys and decimals under zstd, bit-packed
/// values, dictionaries, FSST text under zstd), whose whole chunks decode straight into the
/// joined values and whose partial chunks decode on their own: read back equal to their
/// source whole, in ranges that start and end inside chunks, and in takes.
#[tokio::test]
async fn compressed_pages_read_back_whole_in_ranges_and_in_takes() {
    let (schema, batch) = compressed_batch();
    let options = WriterOptions::default().with_version(FileVersion::V2_2);
    let store = write(&schema, std::slice::from_ref(&batch), options).await;
    let reader = open(&store).await;
    let encodings: String = reader
        .metadata()
        .columns
        .iter()
        .flat_map(|c| c.pages.iter().map(describe))
        .collect::<Vec<_>>()
        .join(" ");
    for wanted in [
        "rle(",
        "fsst(",
        "dictionary=",
        "general(zstd",
        "inline_bitpacking",
    ] {
        assert!(encodings.contains(wanted), "no {wanted} in {encodings}");
    }
    for batch_size in [1000, 8192] {
        let whole = read_scan(reader.scan().with_batch_size(batch_size)).await;
        assert_same(&batch, &whole);
    }
    let ranges = vec![
        0..1,
        5..1500,
        1023..1025,
        3001..9000,
        9000..9001,
        23_999..24_000,
    ];
    let read = read_scan(reader.scan().with_row_ranges(ranges.clone())).await;
    let expected: Vec<RecordBatch> = ranges
        .iter()
        .map(|r| batch.slice(r.start as usize, (r.end - r.start) as usize))
        .collect();
    assert_same(&concat(&schema, &expected), &read);
    let indices: Vec<u64> = vec![23_000, 7, 7, 1024, 0, 12_345, 4095, 4096];
    let taken = read_scan(reader.scan().with_take(indices.clone())).await;
    let order = UInt64Array::from(indices);
    let expected = arrow_select::take::take_record_batch(&batch, &order).unwrap();
    assert_same(&expected, &taken);
}
