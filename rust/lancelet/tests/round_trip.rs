//! Files written by Lancelet read back equal to their source: every 2.0 type, in one page or
//! many, whole or by projection, row range and take.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use arrow_array::{Array, RecordBatch, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use bytes::Bytes;
use common::*;
use lancelet::{FileVersion, FileWriter, Projection, WriterOptions};
use object_store::memory::InMemory;
use object_store::path::Path;

fn source() -> (Arc<Schema>, Vec<RecordBatch>) {
    let schema = schema_of(all_v2_0_fields());
    let batches = vec![
        batch_of(&schema, 500, 1),
        batch_of(&schema, 1, 2),
        batch_of(&schema, 0, 3),
        batch_of(&schema, 1499, 4),
    ];
    (schema, batches)
}

/// This file tests format 2.0; see round_trip_structural.rs for 2.1 and 2.2.
fn v2_0() -> WriterOptions {
    WriterOptions::default().with_version(FileVersion::V2_0)
}

fn small_pages() -> WriterOptions {
    v2_0()
        .with_data_cache_bytes(40 * 4096)
        .unwrap()
        .with_max_page_bytes(2048)
        .unwrap()
}

#[tokio::test]
async fn every_type_round_trips_in_one_page() {
    let (schema, batches) = source();
    let store = write(&schema, &batches, v2_0()).await;
    let reader = open(&store).await;
    assert_eq!(reader.version(), FileVersion::V2_0);
    assert_eq!(reader.num_rows(), 2000);
    assert_eq!(reader.schema().as_ref(), schema.as_ref());
    let read = reader
        .scan()
        .into_stream()
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_same(&concat(&schema, &batches), &concat(&schema, &read));
}

#[tokio::test]
async fn every_type_round_trips_in_many_pages() {
    let (schema, batches) = source();
    let store = write(&schema, &batches, small_pages()).await;
    let reader = open(&store).await;
    let pages: Vec<usize> = reader
        .metadata()
        .columns
        .iter()
        .map(|c| c.pages.len())
        .collect();
    assert!(
        pages.iter().filter(|&&n| n > 3).count() > 20,
        "expected most columns to have several pages, got {pages:?}"
    );
    let read = reader
        .scan()
        .with_batch_size(333)
        .into_stream()
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(read.iter().rev().skip(1).all(|b| b.num_rows() == 333));
    assert_same(&concat(&schema, &batches), &concat(&schema, &read));
}

#[tokio::test]
async fn ranges_and_takes_match_the_source() {
    let (schema, batches) = source();
    let expected = concat(&schema, &batches);
    let store = write(&schema, &batches, small_pages()).await;
    let reader = open(&store).await;

    let ranges = vec![0..1, 1999..2000, 37..1311, 500..501, 0..2000, 1200..1200];
    for range in ranges {
        let read = reader
            .read_range(range.clone())
            .into_stream()
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let expected = expected.slice(range.start as usize, (range.end - range.start) as usize);
        assert_same(&expected, &concat(&schema, &read));
    }
    let multi = reader
        .scan()
        .with_row_ranges(vec![10..20, 5..7, 1500..1800])
        .into_stream()
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let expected_multi = arrow_select::concat::concat_batches(
        &schema,
        &[
            expected.slice(10, 10),
            expected.slice(5, 2),
            expected.slice(1500, 300),
        ],
    )
    .unwrap();
    assert_same(&expected_multi, &concat(&schema, &multi));

    let mut random = Random(99);
    let takes: Vec<Vec<u64>> = vec![
        vec![0],
        vec![1999],
        vec![5, 3, 5, 1999, 0, 0, 1024],
        (0..300).map(|_| random.below(2000)).collect(),
        (0..2000).rev().collect(),
    ];
    for indices in takes {
        let read = reader
            .take(indices.clone())
            .with_batch_size(64)
            .into_stream()
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let expected =
            arrow_select::take::take_record_batch(&expected, &UInt64Array::from(indices)).unwrap();
        assert_same(&expected, &concat(&schema, &read));
    }
}

#[tokio::test]
async fn projections_select_top_level_and_nested_fields() {
    let (schema, batches) = source();
    let expected = concat(&schema, &batches);
    let store = write(&schema, &batches, small_pages()).await;
    let reader = open(&store).await;

    let read = reader
        .scan()
        .with_columns(["utf8", "i8", "list_list"])
        .into_stream()
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let projected = expected.project(&[27, 2, 36]).unwrap();
    assert_same(&projected, &concat(&projected.schema(), &read));

    // A nested selection keeps the struct with only the chosen children.
    let scan = reader
        .scan()
        .with_columns(["struct.b", "struct.inner"])
        .with_row_range(100..200);
    let read_schema = scan.schema().unwrap();
    let DataType::Struct(children) = read_schema.field(0).data_type() else {
        panic!("not a struct")
    };
    let names: Vec<&str> = children.iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["b", "inner"]);
    let read = scan.into_stream().unwrap().try_collect().await.unwrap();
    let read = concat(&read_schema, &read);
    let original = expected.column(38).slice(100, 100);
    let original = original
        .as_any()
        .downcast_ref::<arrow_array::StructArray>()
        .unwrap();
    let got = read
        .column(0)
        .as_any()
        .downcast_ref::<arrow_array::StructArray>()
        .unwrap();
    assert!(got.column(0).to_data() == original.column(1).to_data());
    assert!(got.column(1).to_data() == original.column(3).to_data());

    // The same fields by id: struct is field 39 in pre-order? Look it up instead of guessing.
    let ids = &reader.metadata().field_ids;
    let struct_ids = &ids[38];
    let by_id = reader
        .scan()
        .with_projection(Projection::FieldIds(vec![
            struct_ids.children[1].id,
            struct_ids.children[3].id,
        ]))
        .schema()
        .unwrap();
    assert_eq!(by_id.as_ref(), read_schema.as_ref());
}

#[tokio::test]
async fn empty_files_keep_their_schema() {
    let schema = schema_of(all_v2_0_fields());
    let store = write(&schema, &[], v2_0()).await;
    let reader = open(&store).await;
    assert_eq!(reader.num_rows(), 0);
    assert_eq!(reader.schema().as_ref(), schema.as_ref());
    let stream = reader.scan().into_stream().unwrap();
    assert_eq!(stream.schema().as_ref(), schema.as_ref());
    assert!(stream.try_collect().await.unwrap().is_empty());
    // As pylance does, only struct columns (also inside lists) get a zero-row page in an
    // empty 2.0 file.
    for (column, path) in
        reader
            .metadata()
            .columns
            .iter()
            .zip(lancelet::format::columns::column_paths(
                &schema,
                FileVersion::V2_0,
            ))
    {
        let struct_columns = ["struct", "struct.inner", "list_struct.item"];
        let expected_pages = usize::from(struct_columns.contains(&path.as_str()));
        assert_eq!(column.pages.len(), expected_pages, "{path}");
    }
}

#[tokio::test]
async fn global_buffers_and_schema_metadata_round_trip() {
    let schema = Arc::new(
        Schema::new(vec![Field::new("x", DataType::Int32, true)])
            .with_metadata([("from-schema".to_string(), "1".to_string())].into()),
    );
    let store = Arc::new(InMemory::new());
    let path = Path::from("g.lance");
    let mut writer =
        FileWriter::try_new(store.clone(), path.clone(), schema.clone(), v2_0()).unwrap();
    // A buffer written before any data lands at offset 0, before the pages.
    assert_eq!(
        writer
            .add_global_buffer(Bytes::from_static(b"first"))
            .await
            .unwrap(),
        1
    );
    writer.write_batch(&batch_of(&schema, 10, 7)).await.unwrap();
    assert_eq!(
        writer
            .add_global_buffer(Bytes::from(vec![9u8; 1000]))
            .await
            .unwrap(),
        2
    );
    assert_eq!(writer.add_global_buffer(Bytes::new()).await.unwrap(), 3);
    writer.add_schema_metadata("added", "later");
    writer.add_schema_metadata("from-schema", "replaced");
    writer.finish().await.unwrap();

    let reader = lancelet::FileReader::open(store, &path).await.unwrap();
    assert_eq!(reader.num_global_buffers(), 4);
    assert_eq!(reader.metadata().global_buffers[1].position, 0);
    assert_eq!(
        reader.read_global_buffer(1).await.unwrap().as_ref(),
        b"first"
    );
    assert_eq!(
        reader.read_global_buffer(2).await.unwrap(),
        Bytes::from(vec![9u8; 1000])
    );
    assert!(reader.read_global_buffer(3).await.unwrap().is_empty());
    let metadata = reader.schema().metadata().clone();
    assert_eq!(metadata.get("added").map(String::as_str), Some("later"));
    assert_eq!(
        metadata.get("from-schema").map(String::as_str),
        Some("replaced")
    );
    for buffer in &reader.metadata().global_buffers {
        assert_eq!(
            buffer.position % 64,
            0,
            "global buffers start 64-byte aligned"
        );
    }
}

#[tokio::test]
async fn pages_and_buffers_are_aligned_and_padded() {
    let (schema, batches) = source();
    let store = write(&schema, &batches, small_pages()).await;
    let reader = open(&store).await;
    let bytes = written_bytes(&store).await;
    for column in &reader.metadata().columns {
        for page in &column.pages {
            for buffer in &page.buffers {
                assert_eq!(buffer.position % 64, 0);
                let end = (buffer.position + buffer.size) as usize;
                let padded_end = end.next_multiple_of(64);
                assert!(
                    bytes[end..padded_end].iter().all(|&b| b == 0x48),
                    "pad bytes are 0x48"
                );
            }
        }
    }
    assert_eq!(&bytes[bytes.len() - 4..], b"LANC");
    assert_eq!(
        &bytes[bytes.len() - 8..bytes.len() - 4],
        &[0, 0, 3, 0],
        "2.0 is written as 0.3"
    );
}

#[tokio::test]
async fn compression_hints_compress_string_bytes() {
    for scheme in ["zstd", "lz4"] {
        let metadata = std::collections::HashMap::from([(
            "lance-encoding:compression".to_string(),
            scheme.to_string(),
        )]);
        let schema = schema_of(vec![
            Field::new("s", DataType::Utf8, true).with_metadata(metadata.clone()),
            Field::new("b", DataType::LargeBinary, true).with_metadata(metadata),
        ]);
        let batches = vec![batch_of(&schema, 3000, 8), batch_of(&schema, 2000, 9)];
        let expected = concat(&schema, &batches);
        let store = write(&schema, &batches, small_pages()).await;
        let reader = open(&store).await;
        for column in &reader.metadata().columns {
            for page in &column.pages {
                let described = lancelet::format::describe::describe(page);
                assert!(
                    described.contains(&format!("flat(8, {scheme})")),
                    "{described}"
                );
            }
        }
        let read = reader
            .scan()
            .into_stream()
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        assert_same(&expected, &concat(&schema, &read));
        let read = reader
            .take(vec![4999, 3, 3000, 2999])
            .into_stream()
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let wanted = arrow_select::take::take_record_batch(
            &expected,
            &UInt64Array::from(vec![4999, 3, 3000, 2999]),
        )
        .unwrap();
        assert_same(&wanted, &concat(&schema, &read));
    }
}

mod property {
    use super::*;
    use proptest::prelude::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    fn types() -> Vec<DataType> {
        all_v2_0_fields()
            .into_iter()
            .map(|f| f.data_type().clone())
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

        /// Random columns of random types, written in random batch sizes and page sizes,
        /// read back whole and by random range and take.
        #[test]
        fn random_files_round_trip(
            type_indices in prop::collection::vec(0usize..44, 1..5),
            batch_lens in prop::collection::vec(0usize..300, 1..5),
            nulls in 0u64..5,
            seed in any::<u64>(),
            cache in 1u64..20_000,
            take in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
            range in (any::<prop::sample::Index>(), any::<prop::sample::Index>()),
        ) {
            let all = types();
            let fields: Vec<Field> = type_indices
                .iter()
                .enumerate()
                .map(|(i, t)| Field::new(format!("c{i}"), all[t % all.len()].clone(), true))
                .collect();
            let schema = schema_of(fields);
            let mut random = Random(seed);
            let batches: Vec<RecordBatch> = batch_lens
                .iter()
                .map(|&len| {
                    let columns = schema.fields().iter().map(|f| array_of(f.data_type(), len, nulls, &mut random)).collect();
                    RecordBatch::try_new(schema.clone(), columns).unwrap()
                })
                .collect();
            let expected = concat(&schema, &batches);
            let rows = expected.num_rows();
            let options = v2_0().with_data_cache_bytes(cache).unwrap().with_max_page_bytes(cache / 2 + 1).unwrap();
            runtime().block_on(async {
                let store = write(&schema, &batches, options).await;
                let reader = open(&store).await;
                let read = reader.scan().with_batch_size(97).into_stream().unwrap().try_collect().await.unwrap();
                assert_same(&expected, &concat(&schema, &read));
                if rows > 0 {
                    let (a, b) = (range.0.index(rows + 1), range.1.index(rows + 1));
                    let (start, end) = (a.min(b), a.max(b));
                    let read = reader.read_range(start as u64..end as u64).into_stream().unwrap().try_collect().await.unwrap();
                    assert_same(&expected.slice(start, end - start), &concat(&schema, &read));
                    let indices: Vec<u64> = take.iter().map(|i| i.index(rows) as u64).collect();
                    let read = reader.take(indices.clone()).into_stream().unwrap().try_collect().await.unwrap();
                    let wanted = arrow_select::take::take_record_batch(&expected, &UInt64Array::from(indices)).unwrap();
                    assert_same(&wanted, &concat(&schema, &read));
                }
            });
        }
    }
}
