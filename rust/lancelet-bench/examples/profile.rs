//! Repeats one Lancelet operation on TPC-H lineitem, for profilers (`perf record`):
//!
//!     cargo build --release -p lancelet-bench --example profile
//!     perf record -g target/release/examples/profile scan 2.2 0.1 10
//!
//! Arguments: the operation (`write`, `scan` or `take`), the format version (`2.0`, `2.1`,
//! `2.2`), the scale factor (or `embeddings:ROWS` for the vectors) and the repetitions. The file is written once to the system's
//! temporary directory, outside the repeated part (except for `write`); with `PROFILE_REUSE=1`
//! a file already there is read as it is, so that a profile of `scan` or `take` holds no
//! data generation or writing. `PROFILE_COLUMNS=a,b` scans only those columns.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use lancelet::{FileReader, FileVersion, FileWriter, WriterOptions};
use lancelet_bench::data;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let op = args.get(1).map_or("scan", String::as_str).to_string();
    let version: FileVersion = args.get(2).map_or("2.2", String::as_str).parse().unwrap();
    let size = args.get(3).map_or("0.1", String::as_str).to_string();
    let reps: usize = args.get(4).map_or("5", String::as_str).parse().unwrap();

    let dataset = std::sync::LazyLock::new(|| match size.strip_prefix("embeddings:") {
        Some(rows) => data::embeddings(rows.parse().unwrap()).unwrap(),
        None => data::lineitem(size.parse().unwrap(), None).unwrap(),
    });
    let store: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(std::env::temp_dir()).unwrap());
    let path = Path::from(format!("lancelet-profile-{version}-{size}.lance"));
    let write = || async {
        let options = WriterOptions::default().with_version(version);
        let mut writer =
            FileWriter::try_new(store.clone(), path.clone(), dataset.schema.clone(), options)
                .unwrap();
        for batch in &dataset.batches {
            writer.write_batch(batch).await.unwrap();
        }
        writer.finish().await.unwrap();
    };
    let reuse = std::env::var("PROFILE_REUSE").is_ok_and(|v| v == "1");
    if op == "write" || !reuse || !std::env::temp_dir().join(path.as_ref()).exists() {
        write().await;
    }
    let reader = FileReader::open(store.clone(), &path).await.unwrap();
    let indices = data::sample_indices(reader.num_rows(), 1000, 7);
    for _ in 0..reps {
        let started = Instant::now();
        let rows = match op.as_str() {
            "write" => {
                write().await;
                dataset.num_rows
            }
            "scan" => {
                let mut scan = reader.scan().with_batch_size(8192);
                if let Ok(columns) = std::env::var("PROFILE_COLUMNS") {
                    scan = scan.with_columns(columns.split(','));
                }
                let mut stream = scan.into_stream().unwrap();
                let mut rows = 0;
                while let Some(batch) = stream.next().await {
                    rows += batch.unwrap().num_rows() as u64;
                }
                rows
            }
            "take" => {
                let batches = reader.take(indices.clone()).into_stream().unwrap();
                let batches = batches.try_collect().await.unwrap();
                batches.iter().map(|b| b.num_rows() as u64).sum()
            }
            other => panic!("unknown operation {other}"),
        };
        println!("{op} {version}: {rows} rows in {:?}", started.elapsed());
    }
}
