"""Writes the small pylance-made Lance files that the Rust tests damage and decode
(rust/lancelet/tests/data/pylance_*.lance). Run with the test environment's Python:

    .venv/bin/python scripts/make_pylance_fixtures.py

Each file holds columns that lead pylance 14.0.2 to a different encoding: bit-packed and
run-length integers, dictionary, FSST and full-zip strings, vectors, lists and structs with
nulls, all-null and constant columns, blob and packed-struct columns (and a map in 2.2).
"""

from pathlib import Path

import numpy as np
import pyarrow as pa
from lance.file import LanceFileWriter

OUT = Path(__file__).resolve().parent.parent / "rust" / "lancelet" / "tests" / "data"
ROWS = 600


def table(version):
    rng = np.random.default_rng(7)
    words = np.array(["alpha", "beta", "gamma", "delta"])
    columns = {
        "small_ints": pa.array(rng.integers(0, 100, ROWS).astype(np.int32)),
        "runs": pa.array(np.repeat(np.arange(ROWS // 200), 200).astype(np.int64)),
        "words": pa.array(words[rng.integers(0, 4, ROWS)].tolist()),
        "text": pa.array([f"user{i % 97}@example.com visited page /items/{i} from the search results page" for i in range(ROWS)]),
        "long_text": pa.array([None if i % 9 == 0 else f"{i} " * 70 for i in range(ROWS)]),
        "vectors": pa.FixedSizeListArray.from_arrays(
            pa.array(rng.standard_normal(ROWS * 8).astype(np.float32)), 8),
        "lists": pa.array([None if i % 11 == 0 else [] if i % 7 == 0 else list(range(i % 5))
                           for i in range(ROWS)], pa.list_(pa.int16())),
        "nulls": pa.nulls(ROWS, pa.int32()),
        "same": pa.array([42] * ROWS, pa.int64()),
    }
    fields = [pa.field(name, array.type) for name, array in columns.items()]
    if version != "2.0":
        columns["points"] = pa.array([None if i % 13 == 0 else {"x": i, "y": None if i % 3 else i * 0.5}
                                      for i in range(ROWS)],
                                     pa.struct([("x", pa.int32()), ("y", pa.float64())]))
        fields.append(pa.field("points", columns["points"].type))
    packed = pa.struct([("a", pa.int32()), ("b", pa.float64())])
    columns["packed"] = pa.array([{"a": i, "b": i / 3} for i in range(ROWS)], packed)
    fields.append(pa.field("packed", packed, metadata={"lance-encoding:packed": "true"}))
    columns["blob"] = pa.array([None if i % 5 == 0 else bytes([i % 256]) * (i % 50) for i in range(ROWS)],
                               pa.large_binary())
    fields.append(pa.field("blob", pa.large_binary(), metadata={"lance-encoding:blob": "true"}))
    if version == "2.2":
        columns["map"] = pa.array([[(f"k{i % 3}", i)] if i % 4 else None for i in range(ROWS)],
                                  pa.map_(pa.utf8(), pa.int32()))
        fields.append(pa.field("map", columns["map"].type))
    return pa.table(list(columns.values()), schema=pa.schema(fields))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for version in ["2.0", "2.1", "2.2"]:
        data = table(version)
        path = OUT / f"pylance_{version.replace('.', '_')}.lance"
        with LanceFileWriter(str(path), data.schema, version=version) as writer:
            # Two batches and a small cache: several pages per column.
            for batch in data.to_batches(max_chunksize=ROWS // 2):
                writer.write_batch(batch)
        print(path, path.stat().st_size)


if __name__ == "__main__":
    main()
