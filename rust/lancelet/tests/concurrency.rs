//! Concurrency: one opened reader shared by many tasks that scan, read ranges and take at the
//! same time; many writers writing to different paths of one store at the same time. Every
//! result is compared with the rows written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use arrow_array::{RecordBatch, UInt64Array};
use common::*;
use futures::TryStreamExt;
use lancelet::{FileReader, FileVersion, FileWriter, WriterOptions};
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;

const ROWS: usize = 12_000;

fn options(version: FileVersion) -> WriterOptions {
    WriterOptions::default()
        .with_version(version)
        .with_max_page_bytes(8 * 1024)
        .unwrap()
}

/// What task `task` of the shared-reader test does, and the rows it must get back.
fn job(task: u64, expected: &RecordBatch, reader: &FileReader) -> (lancelet::Scan, RecordBatch) {
    let mut random = Random(task + 1);
    match task % 4 {
        0 => (reader.scan().with_batch_size(777), expected.clone()),
        1 => {
            let start = random.below(ROWS as u64) as usize;
            let len = random.below((ROWS - start) as u64 + 1) as usize;
            let range = start as u64..(start + len) as u64;
            (reader.read_range(range), expected.slice(start, len))
        }
        2 => {
            let indices: Vec<u64> = (0..200).map(|_| random.below(ROWS as u64)).collect();
            let rows = arrow_select::take::take_record_batch(
                expected,
                &UInt64Array::from(indices.clone()),
            )
            .unwrap();
            (reader.take(indices).with_batch_size(33), rows)
        }
        _ => {
            let names = ["utf8", "list_list", "struct", "dict32"];
            let columns: Vec<usize> = names
                .iter()
                .map(|n| expected.schema().index_of(n).unwrap())
                .collect();
            (
                reader.scan().with_columns(names),
                expected.project(&columns).unwrap(),
            )
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_reader_shared_by_many_tasks() {
    for version in [FileVersion::V2_0, FileVersion::V2_1, FileVersion::V2_2] {
        let schema = schema_of(all_v2_0_fields());
        let batches: Vec<_> = (0..3).map(|s| batch_of(&schema, ROWS / 3, s)).collect();
        let store = write(&schema, &batches, options(version)).await;
        let expected = concat(&schema, &batches);
        let reader = open(&store).await;

        let tasks: Vec<_> = (0..48)
            .map(|task| {
                let (scan, rows) = job(task, &expected, &reader);
                tokio::spawn(async move {
                    let stream = scan.into_stream().unwrap();
                    let schema = stream.schema();
                    let batches: Vec<RecordBatch> = stream.try_collect().await.unwrap();
                    (task, rows, concat(&schema, &batches))
                })
            })
            .collect();
        for task in tasks {
            let (task, rows, got) = task.await.unwrap();
            println!("{version:?} task {task}: {} rows", got.num_rows());
            assert_same(&rows, &got);
        }
    }
}

/// Writes file `index` (its own data) to `store`; returns its path and its rows.
async fn write_one(
    store: Arc<dyn ObjectStore>,
    index: u64,
    version: FileVersion,
) -> (Path, RecordBatch) {
    let schema = schema_of(all_v2_0_fields());
    let path = Path::from(format!("many/file_{index:02}.lance"));
    let mut writer =
        FileWriter::try_new(store, path.clone(), schema.clone(), options(version)).unwrap();
    let batches: Vec<_> = (0..3)
        .map(|part| batch_of(&schema, 1_000 + index as usize * 37, index * 10 + part))
        .collect();
    for batch in &batches {
        writer.write_batch(batch).await.unwrap();
        tokio::task::yield_now().await;
    }
    writer.finish().await.unwrap();
    (path, concat(&schema, &batches))
}

async fn many_writers(store: Arc<dyn ObjectStore>) {
    let versions = [FileVersion::V2_0, FileVersion::V2_1, FileVersion::V2_2];
    let tasks: Vec<_> = (0..16u64)
        .map(|index| {
            let version = versions[index as usize % versions.len()];
            tokio::spawn(write_one(store.clone(), index, version))
        })
        .collect();
    let mut written = Vec::new();
    for task in tasks {
        written.push(task.await.unwrap());
    }
    let listed: Vec<_> = store
        .list(Some(&Path::from("many")))
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(listed.len(), written.len(), "objects in the store");
    for (path, expected) in written {
        let reader = FileReader::open(store.clone(), &path).await.unwrap();
        let batches = reader.scan().into_stream().unwrap().try_collect().await;
        assert_same(&expected, &concat(&reader.schema(), &batches.unwrap()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_writers_in_parallel_to_one_memory_store() {
    many_writers(Arc::new(InMemory::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_writers_in_parallel_to_one_local_directory() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalFileSystem::new_with_prefix(dir.path()).unwrap();
    many_writers(Arc::new(store)).await;
    // Nothing but the finished files: no staging files left behind.
    let left: Vec<_> = std::fs::read_dir(dir.path().join("many"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left.len(), 16, "{left:?}");
    assert!(left.iter().all(|name| name.ends_with(".lance")), "{left:?}");
}
