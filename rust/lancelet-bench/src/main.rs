//! `lancelet-bench`: writes, scans and takes from generated datasets in Lancelet (Lance 2.2
//! and 2.0), Arrow IPC and Parquet, interleaved, and prints a markdown report (also written
//! with the raw measurements as JSON into `--out`).

use std::path::PathBuf;

use clap::Parser;
use lancelet_bench::{Config, DatasetKind, Format};

/// Command-line flags.
#[derive(Debug, Parser)]
#[command(
    name = "lancelet-bench",
    about = "Benchmarks Lancelet against Arrow IPC and Parquet"
)]
struct Args {
    /// TPC-H scale factor of `lineitem` and `comments` (1.0 = 6,001,215 rows).
    #[arg(long, default_value_t = 1.0)]
    sf: f64,
    /// Rows of the `embeddings` dataset (768 float32 each).
    #[arg(long, default_value_t = 200_000)]
    embedding_rows: usize,
    /// Repetitions of every operation (the report shows medians).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Datasets, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    datasets: Vec<DatasetKind>,
    /// Formats, comma-separated, in the order they take turns (default: all).
    #[arg(long, value_delimiter = ',')]
    formats: Vec<Format>,
    /// Directory for results.md and results.json.
    #[arg(long, default_value = "target/bench-results")]
    out: PathBuf,
    /// Directory in which the temporary directory of the files is made (default: the
    /// system's temporary directory).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// A smoke run: scale factor 0.01, 5,000 embedding rows, 1 repetition.
    #[arg(long)]
    quick: bool,
    /// Only write `lineitem` at `--sf` to this Arrow IPC file (uncompressed) and exit, for
    /// `python/benchmarks/compare.py --ipc` (pylance on the same data).
    #[arg(long)]
    export_ipc: Option<PathBuf>,
}

/// Parses the flags, runs the benchmark and prints the report.
fn main() -> lancelet_bench::Result<()> {
    let args = Args::parse();
    if let Some(path) = &args.export_ipc {
        let data = lancelet_bench::data::lineitem(args.sf, None)?;
        lancelet_bench::data::write_ipc_file(&data, path)?;
        eprintln!("wrote {} rows to {}", data.num_rows, path.display());
        return Ok(());
    }
    let (sf, embedding_rows, reps) = if args.quick {
        (0.01, 5_000, 1)
    } else {
        (args.sf, args.embedding_rows, args.reps)
    };
    let config = Config {
        sf,
        embedding_rows,
        reps,
        datasets: args.datasets,
        formats: args.formats,
        out_dir: args.out,
        work_dir: args.work_dir,
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
        progress: true,
        text_pool_bytes: None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let results = runtime.block_on(lancelet_bench::run(&config))?;
    print!("{}", lancelet_bench::report::markdown(&results));
    eprintln!(
        "wrote {} and {}",
        config.out_dir.join("results.md").display(),
        config.out_dir.join("results.json").display()
    );
    Ok(())
}
