//! `lancelet convert`.

use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use lancelet::Projection;

use crate::CliResult;
use crate::tables::{self, Format};

/// Arguments of `lancelet convert`.
#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// The file to read: a path or URL (file://, memory://, s3://) ending in .lance, .arrow,
    /// .ipc, .feather or .parquet.
    pub input: String,
    /// The file to write, ending in .lance, .arrow, .ipc or .feather.
    pub output: String,
    /// Lance format version to write: 2.0, 2.1, 2.2 or stable (2.2).
    #[arg(long, default_value = "stable")]
    pub format_version: String,
    /// Columns to keep (Lance input): comma-separated names, dotted for nested fields (a,b.c).
    #[arg(long, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// Rows to keep (Lance input), as START:END (END exclusive; either may be omitted).
    #[arg(long, conflicts_with = "take")]
    pub range: Option<String>,
    /// Rows to keep (Lance input), as comma-separated indices in any order.
    #[arg(long, value_delimiter = ',')]
    pub take: Option<Vec<u64>>,
    /// Rows per batch when reading Lance input.
    #[arg(long, default_value_t = 8192)]
    pub batch_size: usize,
    /// Lance output: bytes buffered before pages are written (shared by the top-level fields).
    #[arg(long)]
    pub data_cache_bytes: Option<u64>,
    /// Lance output: the largest page written, in bytes.
    #[arg(long)]
    pub max_page_bytes: Option<u64>,
    /// Lance output: store the contents of this file as a global buffer (repeatable; the first
    /// becomes buffer 1).
    #[arg(long = "add-global-buffer", value_name = "PATH")]
    pub global_buffers: Vec<std::path::PathBuf>,
    /// Lance output: add KEY=VALUE to the schema metadata (repeatable).
    #[arg(long = "schema-metadata", value_name = "KEY=VALUE")]
    pub schema_metadata: Vec<String>,
}

impl ConvertArgs {
    /// The writer settings given on the command line.
    fn lance_output(&self) -> CliResult<tables::LanceOutput> {
        let mut options =
            lancelet::WriterOptions::default().with_version(self.format_version.parse()?);
        if let Some(bytes) = self.data_cache_bytes {
            options = options.with_data_cache_bytes(bytes)?;
        }
        if let Some(bytes) = self.max_page_bytes {
            options = options.with_max_page_bytes(bytes)?;
        }
        let global_buffers = self
            .global_buffers
            .iter()
            .map(|path| {
                std::fs::read(path)
                    .map(bytes::Bytes::from)
                    .map_err(|e| format!("cannot read '{}': {e}", path.display()).into())
            })
            .collect::<CliResult<_>>()?;
        let schema_metadata = self
            .schema_metadata
            .iter()
            .map(|pair| {
                pair.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .ok_or_else(|| format!("--schema-metadata '{pair}' is not KEY=VALUE").into())
            })
            .collect::<CliResult<_>>()?;
        Ok(tables::LanceOutput {
            options,
            global_buffers,
            schema_metadata,
        })
    }
}

fn parse_range(text: &str, num_rows: u64) -> CliResult<std::ops::Range<u64>> {
    let (start, end) = text
        .split_once(':')
        .ok_or_else(|| format!("--range '{text}' is not START:END"))?;
    let parse = |s: &str, default: u64| -> CliResult<u64> {
        if s.trim().is_empty() {
            Ok(default)
        } else {
            Ok(s.trim()
                .parse()
                .map_err(|_| format!("--range '{text}': '{s}' is not a row number"))?)
        }
    };
    Ok(parse(start, 0)?..parse(end, num_rows)?)
}

/// Runs `lancelet convert`.
pub async fn run(args: ConvertArgs) -> CliResult<()> {
    let started = Instant::now();
    let input_format = Format::of(&args.input)?;
    let output_format = Format::of(&args.output)?;
    if output_format != Format::Lance
        && (!args.global_buffers.is_empty() || !args.schema_metadata.is_empty())
    {
        return Err("--add-global-buffer and --schema-metadata apply to Lance output only".into());
    }
    let selects = args.columns.is_some() || args.range.is_some() || args.take.is_some();
    let source = match input_format {
        Format::Lance => {
            let reader = tables::open_lance(&args.input).await?;
            let mut scan = reader.scan().with_batch_size(args.batch_size);
            let mut rows = reader.num_rows();
            if let Some(columns) = &args.columns {
                scan = scan.with_projection(Projection::names(columns.iter().cloned()));
            }
            if let Some(range) = &args.range {
                let range = parse_range(range, reader.num_rows())?;
                rows = range.end.saturating_sub(range.start);
                scan = scan.with_row_range(range);
            }
            if let Some(take) = &args.take {
                rows = take.len() as u64;
                scan = scan.with_take(take.clone());
            }
            tables::lance_source(scan, rows)?
        }
        _ if selects => {
            return Err("--columns, --range and --take apply to Lance input only".into());
        }
        Format::ArrowIpc => tables::ipc_source(&args.input).await?,
        Format::Parquet => tables::parquet_source(&args.input).await?,
    };
    let progress = match source.num_rows {
        Some(rows) => ProgressBar::new(rows),
        None => ProgressBar::no_length(),
    };
    progress.set_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} rows {per_sec} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let tick = |rows: u64| progress.inc(rows);
    let written = match output_format {
        Format::Lance => {
            tables::write_lance(&args.output, source, args.lance_output()?, tick).await?
        }
        Format::ArrowIpc => tables::write_ipc(&args.output, source, tick).await?,
        Format::Parquet => {
            return Err("writing Parquet is not supported; write .lance or .arrow".into());
        }
    };
    progress.finish_and_clear();
    println!(
        "wrote {} rows, {} bytes to {} in {:.2?}",
        written.num_rows,
        written.bytes,
        args.output,
        started.elapsed()
    );
    Ok(())
}
