//! The measurement loop: generate each dataset, then for every repetition write, open, scan
//! and take with every format in turn, recording times, I/O counts and peak memory.

use std::future::Future;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use arrow_array::{Int64Array, RecordBatch};
use lancelet::io::{CountingStore, IoStats};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::Serialize;

use crate::data::{self, Dataset, DatasetKind};
use crate::formats::Format;
use crate::machine::Machine;
use crate::{Result, alloc, report};

/// Row counts of the takes.
pub const TAKE_SIZES: [usize; 3] = [1, 100, 1000];
/// Base seed of the take indices (plus the take size).
const TAKE_SEED: u64 = 0x7A4E_0000;

/// What to run.
#[derive(Clone, Debug)]
pub struct Config {
    /// TPC-H scale factor of `lineitem` and `comments`.
    pub sf: f64,
    /// Rows of `embeddings`.
    pub embedding_rows: usize,
    /// Repetitions of every operation.
    pub reps: usize,
    /// Datasets, in order.
    pub datasets: Vec<DatasetKind>,
    /// Formats, in the order they take turns.
    pub formats: Vec<Format>,
    /// Where `results.md` and `results.json` go.
    pub out_dir: PathBuf,
    /// Where the temporary directory of the files is made (default: the system's).
    pub work_dir: Option<PathBuf>,
    /// The command line, for the report.
    pub command_line: String,
    /// Print progress to stderr.
    pub progress: bool,
    /// Size of the TPC-H comment text pool if not the standard 300 MiB (see
    /// [`data::lineitem`]; for fast tests).
    pub text_pool_bytes: Option<i32>,
}

/// One operation on one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Write the dataset to a finished file.
    Write,
    /// Open the file (read and decode its metadata).
    Open,
    /// Read all rows of all columns.
    Scan,
    /// Read all rows of the dataset's projection.
    ProjectedScan,
    /// Read `rows` random rows of all columns, in random or ascending order.
    Take {
        /// Rows taken.
        rows: usize,
        /// Whether the indices are in ascending order.
        sorted: bool,
    },
}

impl Operation {
    /// All operations, in report order.
    pub fn all() -> Vec<Operation> {
        let mut ops = vec![
            Operation::Write,
            Operation::Open,
            Operation::Scan,
            Operation::ProjectedScan,
        ];
        for rows in TAKE_SIZES {
            for sorted in [false, true] {
                ops.push(Operation::Take { rows, sorted });
            }
        }
        ops
    }

    /// The name in reports: `write`, `open`, `scan`, `projected_scan`, `take_100_sorted`, ...
    pub fn name(self) -> String {
        match self {
            Operation::Write => "write".into(),
            Operation::Open => "open".into(),
            Operation::Scan => "scan".into(),
            Operation::ProjectedScan => "projected_scan".into(),
            Operation::Take { rows, sorted } => {
                format!("take_{rows}_{}", if sorted { "sorted" } else { "unsorted" })
            }
        }
    }
}

/// The measurements of one dataset x format x operation over all repetitions.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    /// Dataset name.
    pub dataset: String,
    /// Format name.
    pub format: String,
    /// Operation name (see [`Operation::name`]).
    pub operation: String,
    /// Rows the operation wrote or read (0 for `open`).
    pub rows: u64,
    /// Columns the operation wrote or read.
    pub columns: usize,
    /// Arrow in-memory bytes of the rows and columns written or read (estimated for takes
    /// from the average row size).
    pub arrow_bytes: u64,
    /// Size of the file in bytes.
    pub file_size: u64,
    /// Median wall-clock seconds.
    pub median_s: f64,
    /// Wall-clock seconds of every repetition, in order.
    pub times_s: Vec<f64>,
    /// Rows per second at the median time.
    pub rows_per_s: f64,
    /// Arrow in-memory megabytes (10^6 bytes) per second at the median time.
    pub mb_per_s: f64,
    /// Read requests (last repetition; counts do not depend on timing).
    pub read_requests: u64,
    /// Bytes read (last repetition).
    pub read_bytes: u64,
    /// `head` requests (last repetition).
    pub head_requests: u64,
    /// Single-request uploads (last repetition).
    pub put_requests: u64,
    /// Multipart part sizes (last repetition).
    pub part_sizes: Vec<u64>,
    /// Multipart uploads completed (last repetition).
    pub completed_uploads: u64,
    /// Whether the request counts differed between repetitions.
    pub counts_varied: bool,
    /// Read requests per row per column, for takes.
    pub requests_per_row_column: Option<f64>,
    /// Bytes read per row taken, for takes.
    pub read_bytes_per_row: Option<f64>,
    /// Median peak heap bytes allocated above the level before the operation.
    pub peak_bytes: u64,
    /// Peak heap bytes of every repetition.
    pub peak_bytes_reps: Vec<u64>,
}

/// A dataset as generated.
#[derive(Clone, Debug, Serialize)]
pub struct DatasetInfo {
    /// Name.
    pub name: String,
    /// Rows.
    pub rows: u64,
    /// Columns.
    pub columns: usize,
    /// Names of the columns of the projected scan.
    pub projection: Vec<String>,
    /// Exact Arrow in-memory bytes.
    pub arrow_bytes: u64,
    /// Record batches.
    pub batches: usize,
    /// Seconds spent generating it.
    pub generate_s: f64,
}

/// Settings, for the report.
#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    /// TPC-H scale factor.
    pub sf: f64,
    /// Rows of `embeddings`.
    pub embedding_rows: usize,
    /// Repetitions.
    pub reps: usize,
    /// Formats, in turn order.
    pub formats: Vec<String>,
    /// Rows per batch asked of the Lancelet and Parquet scans.
    pub scan_batch_rows: usize,
    /// Take sizes.
    pub take_sizes: Vec<usize>,
}

/// Everything measured in one run.
#[derive(Clone, Debug, Serialize)]
pub struct Results {
    /// The command line.
    pub command_line: String,
    /// The machine.
    pub machine: Machine,
    /// The settings.
    pub settings: Settings,
    /// The datasets.
    pub datasets: Vec<DatasetInfo>,
    /// One record per dataset x format x operation.
    pub records: Vec<Record>,
}

/// One repetition's measurement of an operation.
struct Sample {
    /// Wall-clock seconds.
    seconds: f64,
    /// I/O during the operation.
    io: IoStats,
    /// Peak heap bytes above the level before the operation.
    peak: u64,
}

/// Runs `operation`, timing it and recording its I/O and peak heap use.
async fn measure<T>(
    store: &CountingStore,
    operation: impl Future<Output = Result<T>>,
) -> Result<(T, Sample)> {
    store.reset();
    let base = alloc::reset_peak();
    let start = Instant::now();
    let out = operation.await?;
    let seconds = start.elapsed().as_secs_f64();
    let peak = alloc::peak_bytes().saturating_sub(base) as u64;
    Ok((
        out,
        Sample {
            seconds,
            io: store.stats(),
            peak,
        },
    ))
}

/// Samples of one record being collected.
struct Collector {
    /// The record without its statistics.
    record: Record,
    /// Read requests of every repetition.
    requests: Vec<u64>,
}

/// All collectors, in the order first seen.
#[derive(Default)]
struct Collectors {
    /// The collectors.
    items: Vec<Collector>,
}

impl Collectors {
    /// Adds a sample of `operation` of `format` on `dataset`.
    fn add(
        &mut self,
        dataset: &Dataset,
        format: Format,
        operation: Operation,
        file_size: u64,
        sample: Sample,
    ) {
        let name = operation.name();
        let position = self.items.iter().position(|c| {
            c.record.dataset == dataset.kind.name()
                && c.record.format == format.name()
                && c.record.operation == name
        });
        let index = match position {
            Some(index) => index,
            None => {
                let (rows, columns, arrow_bytes) = match operation {
                    Operation::Write | Operation::Scan => (
                        dataset.num_rows,
                        dataset.num_columns(),
                        dataset.arrow_bytes(),
                    ),
                    Operation::Open => (0, 0, 0),
                    Operation::ProjectedScan => (
                        dataset.num_rows,
                        dataset.projection.len(),
                        dataset.projected_bytes(),
                    ),
                    Operation::Take { rows, .. } => (
                        rows as u64,
                        dataset.num_columns(),
                        (dataset.arrow_bytes() as f64 * rows as f64
                            / dataset.num_rows.max(1) as f64) as u64,
                    ),
                };
                self.items.push(Collector {
                    record: Record {
                        dataset: dataset.kind.name().into(),
                        format: format.name().into(),
                        operation: name,
                        rows,
                        columns,
                        arrow_bytes,
                        file_size,
                        median_s: 0.0,
                        times_s: Vec::new(),
                        rows_per_s: 0.0,
                        mb_per_s: 0.0,
                        read_requests: 0,
                        read_bytes: 0,
                        head_requests: 0,
                        put_requests: 0,
                        part_sizes: Vec::new(),
                        completed_uploads: 0,
                        counts_varied: false,
                        requests_per_row_column: None,
                        read_bytes_per_row: None,
                        peak_bytes: 0,
                        peak_bytes_reps: Vec::new(),
                    },
                    requests: Vec::new(),
                });
                self.items.len() - 1
            }
        };
        let collector = &mut self.items[index];
        let record = &mut collector.record;
        record.file_size = file_size;
        record.times_s.push(sample.seconds);
        record.peak_bytes_reps.push(sample.peak);
        record.read_requests = sample.io.read_requests;
        record.read_bytes = sample.io.read_bytes;
        record.head_requests = sample.io.head_requests;
        record.put_requests = sample.io.put_requests;
        record.part_sizes = sample.io.part_sizes;
        record.completed_uploads = sample.io.completed_uploads;
        collector.requests.push(sample.io.read_requests);
    }

    /// The finished records, with medians and derived figures.
    fn finish(self) -> Vec<Record> {
        self.items
            .into_iter()
            .map(|collector| {
                let mut record = collector.record;
                record.median_s = median(&record.times_s);
                record.peak_bytes = median_u64(&record.peak_bytes_reps);
                if record.median_s > 0.0 {
                    record.rows_per_s = record.rows as f64 / record.median_s;
                    record.mb_per_s = record.arrow_bytes as f64 / 1e6 / record.median_s;
                }
                record.counts_varied = collector.requests.windows(2).any(|w| w[0] != w[1]);
                if record.operation.starts_with("take_") && record.rows > 0 {
                    let cells = (record.rows * record.columns as u64) as f64;
                    record.requests_per_row_column = Some(record.read_requests as f64 / cells);
                    record.read_bytes_per_row = Some(record.read_bytes as f64 / record.rows as f64);
                }
                record
            })
            .collect()
    }
}

/// `items` without repeats, first occurrences kept in order.
fn unique<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// The median of `values` (mean of the middle two for an even count; 0 if empty).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The median of `values`, rounded down.
fn median_u64(values: &[u64]) -> u64 {
    median(&values.iter().map(|&v| v as f64).collect::<Vec<_>>()) as u64
}

/// Reads a file once from start to end (to have it in the page cache), through the file
/// system rather than the counted store.
fn warm_up(path: &std::path::Path) -> Result<()> {
    let mut file = std::fs::File::open(path)?;
    let mut buffer = vec![0u8; 8 << 20];
    while file.read(&mut buffer)? > 0 {}
    Ok(())
}

/// The id (column 0) of the first and last rows of `batches`.
fn first_and_last_ids(batches: &[RecordBatch]) -> Option<(i64, i64)> {
    let non_empty: Vec<&RecordBatch> = batches.iter().filter(|b| b.num_rows() > 0).collect();
    let id = |batch: &RecordBatch, row: usize| {
        batch
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .map(|ids| ids.value(row))
    };
    let first = non_empty.first()?;
    let last = non_empty.last()?;
    Some((id(first, 0)?, id(last, last.num_rows() - 1)?))
}

/// Checks that a take returned the requested rows: the count, and the ids of the first and
/// last rows.
fn verify_take(
    data: &Dataset,
    format: Format,
    indices: &[u64],
    batches: &[RecordBatch],
) -> Result<()> {
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    if rows != indices.len() {
        return Err(format!(
            "{}: take of {} rows returned {rows}",
            format.name(),
            indices.len()
        )
        .into());
    }
    let (Some(&first), Some(&last)) = (indices.first(), indices.last()) else {
        return Ok(());
    };
    let expected = (data.id_at(first), data.id_at(last));
    let got = first_and_last_ids(batches).map(|(a, b)| (Some(a), Some(b)));
    if got != Some(expected) {
        return Err(format!(
            "{} on {}: take returned ids {got:?}, expected {expected:?}",
            format.name(),
            data.kind.name()
        )
        .into());
    }
    Ok(())
}

/// Checks that a scan read every row.
fn verify_scan(data: &Dataset, format: Format, what: &str, rows: u64) -> Result<()> {
    if rows != data.num_rows {
        return Err(format!(
            "{} on {}: {what} read {rows} rows, expected {}",
            format.name(),
            data.kind.name(),
            data.num_rows
        )
        .into());
    }
    Ok(())
}

/// The take indices of a dataset: for each size, random order then sorted.
fn take_indices(num_rows: u64) -> Vec<(Operation, Vec<u64>)> {
    let mut out = Vec::new();
    for rows in TAKE_SIZES {
        let unsorted = data::sample_indices(num_rows, rows, TAKE_SEED + rows as u64);
        let mut sorted = unsorted.clone();
        sorted.sort_unstable();
        out.push((
            Operation::Take {
                rows,
                sorted: false,
            },
            unsorted,
        ));
        out.push((Operation::Take { rows, sorted: true }, sorted));
    }
    out
}

/// The files of the run and the store they are reached through.
struct Workspace {
    /// The temporary directory (removed on drop).
    dir: tempfile::TempDir,
    /// The counting store over the directory.
    counting: Arc<CountingStore>,
}

impl Workspace {
    /// The store as an `ObjectStore`.
    fn store(&self) -> Arc<dyn ObjectStore> {
        self.counting.clone()
    }
}

/// Runs every operation of `format` on `data` once.
async fn run_format(
    ws: &Workspace,
    data: &Dataset,
    format: Format,
    takes: &[(Operation, Vec<u64>)],
    collectors: &mut Collectors,
) -> Result<String> {
    let name = data.kind.name();
    let path = Path::from(format!("{name}/{}.{}", format.name(), format.extension()));
    let counting = ws.counting.as_ref();

    let ((), write) = measure(counting, format.write(ws.store(), &path, data)).await?;
    // Not counted: the stats of the write were taken.
    let file_size = ws.store().head(&path).await?.size;
    let mut line = format!("write {:.3}s", write.seconds);
    collectors.add(data, format, Operation::Write, file_size, write);
    warm_up(&ws.dir.path().join(path.as_ref()))?;

    let (opened, open) = measure(counting, format.open(ws.store(), &path)).await?;
    collectors.add(data, format, Operation::Open, file_size, open);

    let (rows, scan) = measure(counting, opened.scan(None)).await?;
    verify_scan(data, format, "scan", rows)?;
    line += &format!(", scan {:.3}s", scan.seconds);
    collectors.add(data, format, Operation::Scan, file_size, scan);

    let projection = data.projection.clone();
    let (rows, projected) = measure(counting, opened.scan(Some(&projection))).await?;
    verify_scan(data, format, "projected scan", rows)?;
    line += &format!(", projected {:.3}s", projected.seconds);
    collectors.add(data, format, Operation::ProjectedScan, file_size, projected);

    for (operation, indices) in takes {
        let (batches, take) = measure(counting, opened.take(indices)).await?;
        verify_take(data, format, indices, &batches)?;
        drop(batches);
        if let Operation::Take {
            rows: 100,
            sorted: false,
        } = operation
        {
            line += &format!(", take100 {:.2}ms", take.seconds * 1e3);
        }
        collectors.add(data, format, *operation, file_size, take);
    }
    Ok(line)
}

/// Runs the benchmark of `config`, writes `results.md` and `results.json` into its output
/// directory, and returns the results.
pub async fn run(config: &Config) -> Result<Results> {
    if config.reps == 0 {
        return Err("--reps must be at least 1".into());
    }
    let mut datasets = config.datasets.clone();
    if datasets.is_empty() {
        datasets = DatasetKind::ALL.to_vec();
    }
    datasets = unique(datasets);
    let mut formats = config.formats.clone();
    if formats.is_empty() {
        formats = Format::ALL.to_vec();
    }
    formats = unique(formats);

    let dir = match &config.work_dir {
        Some(parent) => {
            std::fs::create_dir_all(parent)?;
            tempfile::Builder::new()
                .prefix("lancelet-bench-")
                .tempdir_in(parent)?
        }
        None => tempfile::Builder::new()
            .prefix("lancelet-bench-")
            .tempdir()?,
    };
    let local = LocalFileSystem::new_with_prefix(dir.path())?;
    let ws = Workspace {
        counting: Arc::new(CountingStore::new(Arc::new(local))),
        dir,
    };

    let mut collectors = Collectors::default();
    let mut infos = Vec::new();
    let mut lineitem: Option<Dataset> = None;
    for (position, &kind) in datasets.iter().enumerate() {
        let start = Instant::now();
        let data = match kind {
            DatasetKind::Embeddings => data::embeddings(config.embedding_rows)?,
            DatasetKind::Lineitem | DatasetKind::Comments => {
                let source = match lineitem.take() {
                    Some(source) => source,
                    None => data::lineitem(config.sf, config.text_pool_bytes)?,
                };
                let data = if kind == DatasetKind::Comments {
                    data::comments(&source)?
                } else {
                    source.clone()
                };
                let needed_later = datasets[position + 1..]
                    .iter()
                    .any(|k| matches!(k, DatasetKind::Lineitem | DatasetKind::Comments));
                if needed_later {
                    lineitem = Some(source);
                }
                data
            }
        };
        let generate_s = start.elapsed().as_secs_f64();
        if config.progress {
            eprintln!(
                "{}: {} rows x {} columns, {:.1} MiB Arrow, generated in {generate_s:.1}s",
                kind.name(),
                data.num_rows,
                data.num_columns(),
                data.arrow_bytes() as f64 / (1 << 20) as f64
            );
        }
        infos.push(DatasetInfo {
            name: kind.name().into(),
            rows: data.num_rows,
            columns: data.num_columns(),
            projection: data.projected_names(),
            arrow_bytes: data.arrow_bytes(),
            batches: data.batches.len(),
            generate_s,
        });
        let takes = take_indices(data.num_rows);
        for rep in 0..config.reps {
            for &format in &formats {
                let line = run_format(&ws, &data, format, &takes, &mut collectors).await?;
                if config.progress {
                    eprintln!(
                        "  [{} rep {}/{}] {:<13} {line}",
                        kind.name(),
                        rep + 1,
                        config.reps,
                        format.name()
                    );
                }
            }
        }
        let dataset_dir = ws.dir.path().join(kind.name());
        if dataset_dir.exists() {
            std::fs::remove_dir_all(dataset_dir)?;
        }
    }

    let results = Results {
        command_line: config.command_line.clone(),
        machine: Machine::describe(),
        settings: Settings {
            sf: config.sf,
            embedding_rows: config.embedding_rows,
            reps: config.reps,
            formats: formats.iter().map(|f| f.name().to_string()).collect(),
            scan_batch_rows: crate::formats::SCAN_BATCH_ROWS,
            take_sizes: TAKE_SIZES.to_vec(),
        },
        datasets: infos,
        records: collectors.finish(),
    };
    std::fs::create_dir_all(&config.out_dir)?;
    std::fs::write(
        config.out_dir.join("results.json"),
        serde_json::to_string_pretty(&results)?,
    )?;
    std::fs::write(
        config.out_dir.join("results.md"),
        report::markdown(&results),
    )?;
    Ok(results)
}
