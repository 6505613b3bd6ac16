//! The markdown report.

use std::fmt::Write;

use crate::formats::Format;
use crate::runner::{Record, Results};

/// Bytes in a MiB.
const MIB: f64 = (1u64 << 20) as f64;

/// A number with about three significant digits.
fn num(value: f64) -> String {
    let magnitude = value.abs();
    if !value.is_finite() {
        "-".into()
    } else if magnitude >= 100.0 || magnitude == 0.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

/// An integer with thousands separators.
fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The records of one dataset, looked up by format and operation.
struct Table<'a> {
    /// The records of the dataset.
    records: Vec<&'a Record>,
}

impl<'a> Table<'a> {
    /// The record of `format` and `operation`.
    fn get(&self, format: &str, operation: &str) -> Option<&'a Record> {
        self.records
            .iter()
            .copied()
            .find(|r| r.format == format && r.operation == operation)
    }

    /// The median seconds of `format` and `operation`.
    fn seconds(&self, format: &str, operation: &str) -> Option<f64> {
        self.get(format, operation).map(|r| r.median_s)
    }

    /// A cell: `value` of the record, or "-".
    fn cell(&self, format: &str, operation: &str, value: impl Fn(&Record) -> String) -> String {
        self.get(format, operation)
            .map(value)
            .unwrap_or_else(|| "-".into())
    }

    /// "unsorted / sorted" milliseconds of a take.
    fn take_ms(&self, format: &str, rows: usize) -> String {
        let ms = |order: &str| {
            self.seconds(format, &format!("take_{rows}_{order}"))
                .map_or_else(|| "-".into(), |s| num(s * 1e3))
        };
        format!("{} / {}", ms("unsorted"), ms("sorted"))
    }
}

/// The markdown report of `results`.
pub fn markdown(results: &Results) -> String {
    let mut out = String::new();
    let machine = &results.machine;
    let settings = &results.settings;
    let _ = writeln!(out, "# Lancelet benchmark\n");
    let _ = writeln!(out, "Command: `{}`\n", results.command_line);
    let _ = writeln!(
        out,
        "Machine: {}, {} cores, {:.1} GiB memory, {}\n",
        machine.cpu,
        machine.cores,
        machine.memory_bytes as f64 / (1u64 << 30) as f64,
        machine.os
    );
    let _ = writeln!(
        out,
        "Settings: TPC-H scale factor {}, {} embedding rows, {} repetition(s); every figure of \
         time is the median wall-clock time over the repetitions. The formats take turns \
         ({}), then the next repetition starts. Files live in a temporary directory on the \
         local file system and every format writes and reads them through object_store's \
         `LocalFileSystem` wrapped in `lancelet::io::CountingStore`; request and byte counts \
         come from that store. Each file is read once after it is written, so reads come from \
         the page cache. Each repetition opens the file once (timed as `open`), then scans and \
         takes use that open file. Lancelet and Parquet scans ask for batches of {} rows. Takes \
         read all columns of random rows (fixed seed), in random order and in ascending order. \
         Peak memory is the highest heap use during the operation above the level before it \
         (the source data is not counted).\n",
        settings.sf,
        settings.embedding_rows,
        settings.reps,
        settings.formats.join(", "),
        settings.scan_batch_rows
    );
    let _ = writeln!(out, "Formats:\n");
    for name in &settings.formats {
        if let Some(format) = Format::ALL.iter().find(|f| f.name() == name) {
            let _ = writeln!(out, "- `{name}`: {}", format.describe());
        }
    }
    let _ = writeln!(out);

    for dataset in &results.datasets {
        let table = Table {
            records: results
                .records
                .iter()
                .filter(|r| r.dataset == dataset.name)
                .collect(),
        };
        let _ = writeln!(
            out,
            "## {}: {} rows x {} columns, {} MiB of Arrow data, {} batches\n",
            dataset.name,
            thousands(dataset.rows),
            dataset.columns,
            num(dataset.arrow_bytes as f64 / MIB),
            dataset.batches
        );
        let _ = writeln!(
            out,
            "Projected scan reads {}. Take times are random order / ascending order.\n",
            dataset.projection.join(", ")
        );
        let _ = writeln!(
            out,
            "| format | size MiB | write s | scan s | proj. scan s | take 1 ms | take 100 ms | \
             take 1000 ms | reads / take 100 | bytes read / row, take 100 | peak MiB write / scan |"
        );
        let _ = writeln!(
            out,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for format in &settings.formats {
            let f = format.as_str();
            let _ = writeln!(
                out,
                "| {f} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} |",
                table.cell(f, "write", |r| num(r.file_size as f64 / MIB)),
                table.cell(f, "write", |r| num(r.median_s)),
                table.cell(f, "scan", |r| num(r.median_s)),
                table.cell(f, "projected_scan", |r| num(r.median_s)),
                table.take_ms(f, 1),
                table.take_ms(f, 100),
                table.take_ms(f, 1000),
                table.cell(f, "take_100_unsorted", |r| thousands(r.read_requests)),
                table.cell(f, "take_100_unsorted", |r| {
                    r.read_bytes_per_row.map_or_else(|| "-".into(), num)
                }),
                table.cell(f, "write", |r| num(r.peak_bytes as f64 / MIB)),
                table.cell(f, "scan", |r| num(r.peak_bytes as f64 / MIB)),
            );
        }
        let _ = writeln!(out);

        let _ = writeln!(out, "I/O and throughput:\n");
        let _ = writeln!(
            out,
            "| format | open ms | reads / open | KiB read / open | write uploads | scan reads | \
             scan MiB read | write MB/s | scan MB/s | proj. scan MB/s | reads / (row x column), take 1000 |"
        );
        let _ = writeln!(
            out,
            "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|"
        );
        for format in &settings.formats {
            let f = format.as_str();
            let _ = writeln!(
                out,
                "| {f} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                table.cell(f, "open", |r| num(r.median_s * 1e3)),
                table.cell(f, "open", |r| thousands(r.read_requests)),
                table.cell(f, "open", |r| num(r.read_bytes as f64 / 1024.0)),
                table.cell(f, "write", uploads),
                table.cell(f, "scan", |r| thousands(r.read_requests)),
                table.cell(f, "scan", |r| num(r.read_bytes as f64 / MIB)),
                table.cell(f, "write", |r| num(r.mb_per_s)),
                table.cell(f, "scan", |r| num(r.mb_per_s)),
                table.cell(f, "projected_scan", |r| num(r.mb_per_s)),
                table.cell(f, "take_1000_unsorted", |r| {
                    r.requests_per_row_column.map_or_else(|| "-".into(), num)
                }),
            );
        }
        let _ = writeln!(out);

        for baseline in ["ipc", "parquet-zstd"] {
            if table.get(baseline, "write").is_none() {
                continue;
            }
            let _ = writeln!(
                out,
                "Ratios to `{baseline}` (this format / {baseline}; below 1 is smaller or faster; \
                 takes in random order):\n"
            );
            let _ = writeln!(
                out,
                "| format | size | write | scan | proj. scan | open | take 1 | take 100 | take 1000 |"
            );
            let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            for format in &settings.formats {
                let f = format.as_str();
                let ratio = |value: &dyn Fn(&Record) -> f64, operation: &str| -> String {
                    match (table.get(f, operation), table.get(baseline, operation)) {
                        (Some(a), Some(b)) if value(b) > 0.0 => num(value(a) / value(b)),
                        _ => "-".into(),
                    }
                };
                let time = |r: &Record| r.median_s;
                let size = |r: &Record| r.file_size as f64;
                let _ = writeln!(
                    out,
                    "| {f} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    ratio(&size, "write"),
                    ratio(&time, "write"),
                    ratio(&time, "scan"),
                    ratio(&time, "projected_scan"),
                    ratio(&time, "open"),
                    ratio(&time, "take_1_unsorted"),
                    ratio(&time, "take_100_unsorted"),
                    ratio(&time, "take_1000_unsorted"),
                );
            }
            let _ = writeln!(out);
        }
        let varied: Vec<String> = table
            .records
            .iter()
            .filter(|r| r.counts_varied)
            .map(|r| format!("{} {}", r.format, r.operation))
            .collect();
        if !varied.is_empty() {
            let _ = writeln!(
                out,
                "Read counts differed between repetitions (last one shown) for: {}.\n",
                varied.join(", ")
            );
        }
    }
    out
}

/// How a write uploaded: single `put`s and multipart parts.
fn uploads(record: &Record) -> String {
    let mut parts = Vec::new();
    if record.put_requests > 0 {
        parts.push(format!("{} put", record.put_requests));
    }
    if !record.part_sizes.is_empty() {
        let largest = record.part_sizes.iter().copied().max().unwrap_or(0);
        parts.push(format!(
            "{} parts of <= {} MiB",
            record.part_sizes.len(),
            num(largest as f64 / MIB)
        ));
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(" + ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short() {
        assert_eq!(num(1234.5), "1234");
        assert_eq!(num(12.345), "12.3");
        assert_eq!(num(1.2345), "1.23");
        assert_eq!(num(0.012345), "0.012");
        assert_eq!(thousands(6_001_215), "6,001,215");
        assert_eq!(thousands(12), "12");
    }
}
