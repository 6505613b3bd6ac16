"""Lancelet against pylance 14.0.2, Parquet (pyarrow) and Arrow IPC, through Python.

Every format runs on the same tables in the same run, interleaved, several repetitions; the
report gives medians and ratios against pylance. Operations: write, read_all, read_range,
take_rows (sorted, as pylance requires, and for Lancelet also unsorted), and the file size.

    .venv/bin/python python/benchmarks/compare.py                 # default sizes
    .venv/bin/python python/benchmarks/compare.py --quick         # a smoke run
    .venv/bin/python python/benchmarks/compare.py --ipc lineitem.arrow   # your own table

TPC-H lineitem as an Arrow IPC file comes from the Rust harness:

    cargo run --release -p lancelet-bench -- --sf 1 --export-ipc target/lineitem-sf1.arrow

Tables (unless --ipc is given): `mixed`, a lineitem-like table of 16 columns (integers,
decimals, dates, low-cardinality strings, comment text), and `embeddings`, float32 vectors of
768 values with an id. Timings are wall-clock seconds; files live in a temporary directory
(page cache warm: every file is read once before the timed reads).
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import lance.file
import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

import lancelet

BATCH_SIZE = 8192


def decimals(unscaled):
    """Decimal128(15, 2) values from their unscaled integers (cents)."""
    low = np.asarray(unscaled, dtype=np.int64)
    words = np.column_stack([low, np.where(low < 0, -1, 0)]).astype(np.int64)
    return pa.Array.from_buffers(pa.decimal128(15, 2), len(low), [None, pa.py_buffer(words.tobytes())])


def mixed_table(rows, seed=1):
    """A lineitem-like table: keys, small numbers, prices, flags, dates and comments."""
    rng = np.random.default_rng(seed)
    words = np.array("furiously quickly carefully blithely final pending regular express "
                     "ironic special bold even silent slyly deposits requests packages "
                     "accounts theodolites instructions foxes pinto beans ideas".split())
    comment_words = rng.integers(0, len(words), size=(rows, 5))
    comments = [" ".join(words[row][: 2 + i % 4]) for i, row in enumerate(comment_words)]
    dates = np.datetime64("1992-01-01") + rng.integers(0, 2500, rows).astype("timedelta64[D]")
    cents = rng.integers(90_000, 10_500_000, rows)
    return pa.table({
        "orderkey": np.repeat(np.arange(rows // 4 + 1, dtype=np.int64) * 4, 4)[:rows],
        "partkey": rng.integers(1, 200_000, rows, dtype=np.int64),
        "suppkey": rng.integers(1, 10_000, rows, dtype=np.int64),
        "linenumber": (np.arange(rows) % 7 + 1).astype(np.int32),
        "quantity": decimals(rng.integers(1, 51, rows) * 100),
        "extendedprice": decimals(cents),
        "discount": decimals(rng.integers(0, 11, rows)),
        "tax": decimals(rng.integers(0, 9, rows)),
        "returnflag": rng.choice(["A", "N", "R"], rows),
        "linestatus": rng.choice(["F", "O"], rows),
        "shipdate": pa.array(dates, pa.date32()),
        "commitdate": pa.array(dates + 30, pa.date32()),
        "receiptdate": pa.array(dates + 15, pa.date32()),
        "shipinstruct": rng.choice(["DELIVER IN PERSON", "COLLECT COD", "NONE", "TAKE BACK RETURN"], rows),
        "shipmode": rng.choice(["AIR", "FOB", "MAIL", "RAIL", "REG AIR", "SHIP", "TRUCK"], rows),
        "comment": comments,
    })


def embeddings_table(rows, dim=768, seed=2):
    rng = np.random.default_rng(seed)
    values = rng.uniform(-1, 1, rows * dim).astype(np.float32)
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(values), dim)
    return pa.table({"id": np.arange(rows, dtype=np.int64), "vector": vectors})


# Each format: write(table, path), read_all(path), read_range(path, start, n), take(path, idx).
class Lancelet:
    name = "lancelet"
    suffix = ".lance"

    def write(self, table, path):
        with lancelet.FileWriter(str(path), table.schema) as writer:
            writer.write_batch(table)

    def read_all(self, path):
        return lancelet.FileReader(str(path)).read_all(batch_size=BATCH_SIZE).to_table()

    def read_range(self, path, start, n):
        return lancelet.FileReader(str(path)).read_range(start, n, batch_size=BATCH_SIZE).to_table()

    def take(self, path, indices):
        return lancelet.FileReader(str(path)).take_rows(indices, batch_size=BATCH_SIZE).to_table()


class Pylance:
    name = "pylance"
    suffix = ".lance"

    def write(self, table, path):
        with lance.file.LanceFileWriter(str(path), table.schema) as writer:
            writer.write_batch(table)

    def read_all(self, path):
        return lance.file.LanceFileReader(str(path)).read_all(batch_size=BATCH_SIZE).to_table()

    def read_range(self, path, start, n):
        reader = lance.file.LanceFileReader(str(path))
        return reader.read_range(start, n, batch_size=BATCH_SIZE).to_table()

    def take(self, path, indices):
        return lance.file.LanceFileReader(str(path)).take_rows(indices, batch_size=BATCH_SIZE).to_table()


class Parquet:
    name = "parquet-zstd"
    suffix = ".parquet"

    def write(self, table, path):
        pq.write_table(table, path, compression="zstd", write_page_index=True)

    def read_all(self, path):
        return pq.read_table(path)

    def read_range(self, path, start, n):
        return ds.dataset(path, format="parquet").take(pa.array(np.arange(start, start + n)))

    def take(self, path, indices):
        return ds.dataset(path, format="parquet").take(pa.array(indices))


class Ipc:
    name = "arrow-ipc"
    suffix = ".arrow"

    def write(self, table, path):
        with pa.ipc.new_file(path, table.schema) as writer:
            writer.write_table(table, max_chunksize=64 * 1024)

    def _open(self, path):
        return pa.ipc.open_file(pa.memory_map(str(path)))

    def read_all(self, path):
        return self._open(path).read_all()

    def read_range(self, path, start, n):
        return self._open(path).read_all().slice(start, n).combine_chunks()

    def take(self, path, indices):
        return self._open(path).read_all().take(pa.array(indices))


FORMATS = [Lancelet(), Pylance(), Parquet(), Ipc()]


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def run(tables, reps, take_sizes, directory):
    """Returns a list of records: table, format, operation, median seconds, all times."""
    rng = np.random.default_rng(7)
    records = []
    for table_name, table in tables.items():
        rows = table.num_rows
        takes = {k: np.sort(rng.choice(rows, size=min(k, rows), replace=False)) for k in take_sizes}
        unsorted = {k: rng.permutation(v) for k, v in takes.items()}
        start, n = rows // 3, min(rows // 10, 100_000)
        times = {}
        sizes = {}

        def record(fmt, op, seconds):
            times.setdefault((fmt, op), []).append(seconds)

        for rep in range(reps):
            for fmt in FORMATS:
                path = Path(directory) / f"{table_name}-{fmt.name}{fmt.suffix}"
                if path.exists():
                    path.unlink()
                seconds, _ = timed(lambda: fmt.write(table, path))
                record(fmt.name, "write", seconds)
                sizes[fmt.name] = path.stat().st_size
                if rep == 0:
                    assert fmt.read_all(path).num_rows == rows  # warm the page cache
                seconds, got = timed(lambda: fmt.read_all(path))
                assert got.num_rows == rows, (fmt.name, got.num_rows)
                record(fmt.name, "read_all", seconds)
                seconds, got = timed(lambda: fmt.read_range(path, start, n))
                assert got.num_rows == n
                record(fmt.name, "read_range", seconds)
                for k, indices in takes.items():
                    seconds, got = timed(lambda: fmt.take(path, indices.tolist()))
                    assert got.num_rows == len(indices)
                    assert got.column(0).to_pylist() == table.column(0).take(pa.array(indices)).to_pylist()
                    record(fmt.name, f"take_{k}", seconds)
                    if isinstance(fmt, (Lancelet, Ipc, Parquet)):
                        seconds, got = timed(lambda: fmt.take(path, unsorted[k].tolist()))
                        assert got.num_rows == len(indices)
                        record(fmt.name, f"take_{k}_unsorted", seconds)
        for (fmt, op), values in times.items():
            records.append({"table": table_name, "rows": rows, "format": fmt, "operation": op,
                            "median_s": statistics.median(values), "times_s": values,
                            "file_bytes": sizes[fmt]})
    return records


def report(records, args):
    lines = [f"Command: `{' '.join([Path(sys.executable).name, *sys.argv])}`",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
             f"{platform.system()} {platform.release()}; Python {platform.python_version()}, "
             f"pyarrow {pa.__version__}, pylance {getattr(lance, '__version__', '?')}; "
             f"{datetime.date.today()}", ""]
    for table in dict.fromkeys(r["table"] for r in records):
        rows = [r for r in records if r["table"] == table]
        ops = list(dict.fromkeys(r["operation"] for r in rows))
        formats = list(dict.fromkeys(r["format"] for r in rows))
        by = {(r["format"], r["operation"]): r for r in rows}
        lines.append(f"### {table} ({rows[0]['rows']:,} rows), median seconds of {args.reps} runs")
        lines.append("")
        lines.append("| format | file MB | " + " | ".join(ops) + " |")
        lines.append("|---|---:|" + "---:|" * len(ops))
        for fmt in formats:
            size = next(r["file_bytes"] for r in rows if r["format"] == fmt)
            cells = [f"{by[(fmt, op)]['median_s']:.4f}" if (fmt, op) in by else "" for op in ops]
            lines.append(f"| {fmt} | {size / 1e6:.2f} | " + " | ".join(cells) + " |")
        lines.append("")
        lines.append("Lancelet / pylance (below 1 is better for Lancelet):")
        lines.append("")
        ratios = []
        for op in ops:
            if ("lancelet", op) in by and ("pylance", op) in by:
                ratios.append(f"{op} {by[('lancelet', op)]['median_s'] / by[('pylance', op)]['median_s']:.2f}")
        size_l = next(r["file_bytes"] for r in rows if r["format"] == "lancelet")
        size_p = next(r["file_bytes"] for r in rows if r["format"] == "pylance")
        ratios.append(f"size {size_l / size_p:.3f}")
        lines.append(", ".join(ratios))
        lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows of the mixed table")
    parser.add_argument("--embedding-rows", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--ipc", help="benchmark this Arrow IPC file instead of generated tables")
    parser.add_argument("--quick", action="store_true", help="small tables, one repetition")
    parser.add_argument("--json", help="also write the raw records here")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.embedding_rows, args.reps = 20_000, 2_000, 1
    if args.ipc:
        tables = {Path(args.ipc).stem: pa.ipc.open_file(args.ipc).read_all()}
    else:
        tables = {"mixed": mixed_table(args.rows), "embeddings": embeddings_table(args.embedding_rows)}
    with tempfile.TemporaryDirectory() as directory:
        records = run(tables, args.reps, [1, 100, 1000], directory)
    text = report(records, args)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
