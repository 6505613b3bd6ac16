//! CPU time of writing or scanning each column of TPC-H lineitem on its own, to see which
//! encodings cost what (Linux only: it sums the threads' `/proc/self/task/*/schedstat`):
//!
//!     cargo build --release -p lancelet-bench --example column_cpu
//!     target/release/examples/column_cpu write 4 l_comment
//!
//! Arguments: the operation (`write` or `scan`), the repetitions (the best is printed, in ms
//! of CPU over all threads), optional comma-separated substrings of the column names to keep,
//! and `together` to write or scan the kept columns as one file instead of one by one. Scale
//! factor 1 (or `$COLUMN_CPU_SF`, for runs under `valgrind --tool=callgrind`), format 2.2;
//! files go to the system's temporary directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use futures::StreamExt;
use lancelet::{FileReader, FileWriter, WriterOptions};
use lancelet_bench::data;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path;

/// CPU time of all of the process's threads so far, in ms.
fn cpu_ms() -> f64 {
    let mut ns = 0u64;
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let stat = task.unwrap().path().join("schedstat");
        // A thread that ended between the listing and the read is skipped.
        if let Ok(text) = std::fs::read_to_string(stat) {
            ns += text.split(' ').next().unwrap().parse::<u64>().unwrap();
        }
    }
    ns as f64 / 1e6
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let op = args.get(1).map_or("write", String::as_str).to_string();
    let reps: usize = args.get(2).map_or("3", String::as_str).parse().unwrap();
    let only: Vec<String> = args
        .get(3)
        .map_or("", String::as_str)
        .split(',')
        .map(str::to_string)
        .collect();
    let together = args.get(4).is_some_and(|a| a == "together");
    let scale: f64 = std::env::var("COLUMN_CPU_SF").map_or(1.0, |sf| sf.parse().unwrap());
    let dataset = data::lineitem(scale, None).unwrap();
    let directory = std::env::temp_dir();
    let store: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(&directory).unwrap());
    let path = Path::from("lancelet-column-cpu.lance");
    let mut total = 0.0;
    let kept: Vec<usize> = (0..dataset.schema.fields().len())
        .filter(|&i| {
            let name = dataset.schema.field(i).name();
            only.iter().any(|part| name.contains(part.as_str()))
        })
        .collect();
    let sets: Vec<Vec<usize>> = if together {
        vec![kept]
    } else {
        kept.into_iter().map(|i| vec![i]).collect()
    };
    for set in sets {
        let name = set
            .iter()
            .map(|&i| dataset.schema.field(i).name().as_str())
            .collect::<Vec<_>>()
            .join(",");
        let schema = Arc::new(dataset.schema.project(&set).unwrap());
        let batches: Vec<_> = dataset
            .batches
            .iter()
            .map(|batch| batch.project(&set).unwrap())
            .collect();
        let write = || async {
            let _ = std::fs::remove_file(directory.join("lancelet-column-cpu.lance"));
            let options = WriterOptions::default();
            let mut writer =
                FileWriter::try_new(store.clone(), path.clone(), schema.clone(), options).unwrap();
            for batch in &batches {
                writer.write_batch(batch).await.unwrap();
            }
            writer.finish().await.unwrap();
        };
        if op != "write" {
            write().await;
        }
        let mut best = f64::MAX;
        for _ in 0..reps {
            let before = cpu_ms();
            match op.as_str() {
                "write" => write().await,
                "scan" => {
                    let reader = FileReader::open(store.clone(), &path).await.unwrap();
                    let mut stream = reader.scan().with_batch_size(8192).into_stream().unwrap();
                    while let Some(batch) = stream.next().await {
                        batch.unwrap();
                    }
                }
                other => panic!("unknown operation {other}"),
            }
            best = best.min(cpu_ms() - before);
        }
        total += best;
        println!("{name:16} {best:7.1}");
    }
    println!("{:16} {total:7.1}", "sum");
}
