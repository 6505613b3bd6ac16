//! Runs the whole benchmark on tiny data and checks the results it records.

use std::sync::Arc;

use lancelet::io::CountingStore;
use lancelet::{FileReader, FileWriter, WriterOptions};
use lancelet_bench::data::{self, DatasetKind};
use lancelet_bench::runner::Operation;
use lancelet_bench::{Config, Format, Result};
use object_store::memory::InMemory;
use object_store::path::Path;

/// The whole run on tiny data: every record is there, scans saw every row, and Lancelet 2.2
/// takes cost at most one read per row and column.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_run_records_every_format_and_operation() -> Result<()> {
    let out = tempfile::tempdir()?;
    let config = Config {
        sf: 0.001,
        embedding_rows: 500,
        reps: 1,
        datasets: Vec::new(),
        formats: Vec::new(),
        out_dir: out.path().to_path_buf(),
        work_dir: None,
        command_line: "quick test".into(),
        progress: false,
        // A 1 MiB comment text pool instead of 300 MiB: seconds less in debug builds.
        text_pool_bytes: Some(1 << 20),
    };
    let results = lancelet_bench::run(&config).await?;
    assert!(out.path().join("results.md").is_file());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("results.json"))?)?;
    let records = json["records"].as_array().ok_or("no records")?;

    let operations = Operation::all();
    assert_eq!(
        records.len(),
        DatasetKind::ALL.len() * Format::ALL.len() * operations.len()
    );
    for dataset in &results.datasets {
        for format in Format::ALL {
            for operation in &operations {
                let found = records.iter().find(|r| {
                    r["dataset"] == dataset.name.as_str()
                        && r["format"] == format.name()
                        && r["operation"] == operation.name().as_str()
                });
                let record = found.ok_or_else(|| {
                    format!(
                        "no record of {} {} {}",
                        dataset.name,
                        format.name(),
                        operation.name()
                    )
                })?;
                assert_eq!(record["times_s"].as_array().map(Vec::len), Some(1));
                if matches!(operation, Operation::Scan | Operation::ProjectedScan) {
                    assert_eq!(record["rows"].as_u64(), Some(dataset.rows));
                    assert!(record["read_requests"].as_u64() > Some(0));
                }
                if *operation == Operation::Write {
                    assert!(record["file_size"].as_u64() > Some(0));
                    assert!(record["peak_bytes"].as_u64() > Some(0));
                }
            }
        }
    }
    assert_eq!(results.datasets[0].rows, 6005);
    assert_eq!(results.datasets[2].rows, 500);

    // Lancelet 2.2 takes of embeddings: at most one read per row and column.
    for record in results
        .records
        .iter()
        .filter(|r| r.format == "lancelet-2.2" && r.dataset == "embeddings")
        .filter(|r| r.operation.starts_with("take_"))
    {
        assert_eq!(record.columns, 2);
        assert!(
            record.read_requests <= record.rows * 2,
            "{}: {} reads for {} rows",
            record.operation,
            record.read_requests,
            record.rows
        );
    }
    Ok(())
}

/// The fixed-width vector column of a 2.2 file alone: a take of 100 scattered rows costs at
/// most 100 read requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lancelet_vector_take_reads_at_most_once_per_row() -> Result<()> {
    let data = data::embeddings(2_000)?;
    let store = Arc::new(CountingStore::new(Arc::new(InMemory::new())));
    let path = Path::from("embeddings.lance");
    let mut writer = FileWriter::try_new(
        store.clone(),
        path.clone(),
        data.schema.clone(),
        WriterOptions::default(),
    )?;
    for batch in &data.batches {
        writer.write_batch(batch).await?;
    }
    writer.finish().await?;
    let reader = FileReader::open(store.clone(), &path).await?;
    // Rows 19 apart: no two share a 4 KiB neighbourhood of the 3 KiB vectors.
    let indices: Vec<u64> = (0..100).map(|i| (i * 19 * 7) % 2_000).collect();
    store.reset();
    let batches = reader
        .take(indices.clone())
        .with_columns(["vector"])
        .into_stream()?
        .try_collect()
        .await?;
    let stats = store.stats();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 100);
    assert!(stats.read_requests >= 1);
    assert!(
        stats.read_requests <= 100,
        "{} reads for 100 rows",
        stats.read_requests
    );
    Ok(())
}

/// `--export-ipc`: lineitem written as an Arrow IPC file reads back as the same batches.
#[test]
fn lineitem_exports_as_an_arrow_ipc_file() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("lineitem.arrow");
    let data = data::lineitem(0.001, Some(1 << 20))?;
    data::write_ipc_file(&data, &path)?;
    let reader = arrow_ipc::reader::FileReader::try_new(std::fs::File::open(&path)?, None)?;
    assert_eq!(reader.schema(), data.schema);
    let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
    assert_eq!(batches, data.batches);
    assert_eq!(
        batches.iter().map(|b| b.num_rows() as u64).sum::<u64>(),
        data.num_rows
    );
    Ok(())
}
