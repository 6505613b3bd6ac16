"""Bytes and reads of the file per take, column by column: Lancelet against pylance 14.0.2.

Neither library reports its reads, so each take runs in a child process under `strace`
(Linux; `apt install strace`), and the script sums the reads of the Lance file's descriptors
between two markers the child writes. The child opens the file (its metadata is not
counted), then takes random rows of one column twice: the first take also loads what a reader
keeps for later takes (a page's chunk table, a dictionary), the second reads only the rows'
chunks.

    .venv/bin/python python/benchmarks/take_bytes.py LANCELET.lance PYLANCE.lance --rows 100

Both files must hold the same table (for example TPC-H lineitem written by each library:
`lancelet convert lineitem.arrow lancelet.lance`, and pylance's `LanceFileWriter`).
"""

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import os, sys
import numpy as np
which, path, column, k = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
if which == "pylance":
    import lance.file
    reader = lance.file.LanceFileReader(path, columns=[column])
    rows = reader.metadata().num_rows
    take = lambda idx: reader.take_rows(idx).to_table()
else:
    import lancelet
    reader = lancelet.FileReader(path, columns=[column])
    rows = reader.num_rows()
    take = lambda idx: reader.take_rows(idx).to_table()
random = np.random.default_rng(5)
for _ in range(2):
    indices = np.sort(random.choice(rows, size=k, replace=False)).tolist()
    os.write(2, b"TAKE-START\n")
    table = take(indices)
    os.write(2, b"TAKE-END\n")
    assert table.num_rows == k
"""

CALL = re.compile(r"^(\d+)\s+(.*)$")
OPEN = re.compile(r'openat\([^,]+, "([^"]+)".*\)\s+=\s+(\d+)')
CLOSE = re.compile(r"close\((\d+)\)")
READ = re.compile(r"(pread64|read|preadv2?)\((\d+),.*\)\s+=\s+(\d+)")


def count_reads(trace: str, target: str):
    """[(read calls, bytes)] on descriptors of `target` between each pair of markers."""
    descriptors, pending = set(), {}
    counting, counts = False, []
    for line in trace.splitlines():
        match = CALL.match(line)
        if not match:
            continue
        pid, rest = match.groups()
        if "TAKE-START" in rest:
            counting = True
            counts.append([0, 0])
            continue
        if "TAKE-END" in rest:
            counting = False
            continue
        # strace splits calls interrupted by other threads: join the two halves.
        if "<unfinished ...>" in rest:
            pending[pid] = rest.split("<unfinished")[0]
            continue
        if rest.startswith("<..."):
            rest = pending.pop(pid, "") + rest.split("resumed>", 1)[-1]
        if (opened := OPEN.search(rest)) and Path(opened.group(1)).resolve() == target:
            descriptors.add(int(opened.group(2)))
        elif (closed := CLOSE.match(rest)) and int(closed.group(1)) in descriptors:
            descriptors.discard(int(closed.group(1)))
        elif counting and (read := READ.match(rest)) and int(read.group(2)) in descriptors:
            counts[-1][0] += 1
            counts[-1][1] += int(read.group(3))
    return counts


def measure(which: str, path: Path, column: str, rows: int):
    with tempfile.NamedTemporaryFile("r", suffix=".trace") as trace:
        subprocess.run(
            ["strace", "-f", "-e", "trace=openat,close,read,pread64,preadv,preadv2,write",
             "-o", trace.name, sys.executable, "-c", CHILD, which, str(path), column, str(rows)],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return count_reads(Path(trace.name).read_text(), path.resolve())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lancelet_file", type=Path)
    parser.add_argument("pylance_file", type=Path)
    parser.add_argument("--rows", type=int, default=100, help="rows per take")
    parser.add_argument("--columns", help="comma-separated columns (default: all)")
    args = parser.parse_args()
    import lancelet

    schema = lancelet.FileReader(str(args.lancelet_file)).schema
    columns = args.columns.split(",") if args.columns else schema.names
    print(f"Takes of {args.rows} random rows (sorted), one column at a time: bytes per taken row "
          "of a reader's first take (with what it loads once) and of its second.\n")
    print("| column | lancelet first | lancelet second | pylance first | pylance second | "
          "second, lancelet / pylance |")
    print("|---|---:|---:|---:|---:|---:|")
    sums = [0, 0, 0, 0]
    for column in columns:
        ours = measure("lancelet", args.lancelet_file, column, args.rows)
        theirs = measure("pylance", args.pylance_file, column, args.rows)
        row = [ours[0][1], ours[1][1], theirs[0][1], theirs[1][1]]
        sums = [a + b for a, b in zip(sums, row)]
        cells = " | ".join(f"{bytes_ / args.rows:,.0f}" for bytes_ in row)
        print(f"| {column} | {cells} | {row[1] / max(row[3], 1):.2f} |")
    cells = " | ".join(f"{bytes_ / args.rows:,.0f}" for bytes_ in sums)
    print(f"| all | {cells} | {sums[1] / max(sums[3], 1):.2f} |")


if __name__ == "__main__":
    main()
