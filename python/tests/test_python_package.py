"""Tests of the `lancelet` Python package (the PyO3 extension), driven in-process.

 1. Round trips through the package (lancelet writes, lancelet reads): every type of the 2.0
    matrix (CASES), the nested cases of the 2.1 tests (NESTED_CASES), the mixed table, the
    not-null/child-names table and the metadata table, in formats 2.0, 2.1 and 2.2. Where a
    version cannot hold a type (maps before 2.2, null structs in 2.0) the clear ValueError.
 2. Interop with pylance 14.0.2 both ways, value by value.
 3. Projections, read_range and take_rows on a multi-page file, against pylance's answers.
 4. Arrow input forms: RecordBatch, ragged multi-chunk Table, RecordBatchReader, objects with
    only __arrow_c_stream__ / __arrow_c_array__, memory-mapped IPC, sliced and unaligned buffers.
 5. Output forms: to_table, to_batches (batch sizes), pa.table(results), consumed once.
 6. Zero-copy reads (pyarrow's memory pool does not grow).
 7. Writer behaviour: close/abort/context manager, schemas, global buffers, schema metadata,
    page options.
 8. Reader errors and their exception types.
 9. metadata(), and its agreement with pylance's LanceFileReader.metadata().
10. memory:// URIs.
11. Ctrl-C during a long read raises KeyboardInterrupt promptly (in a subprocess).
"""

import gc
import json
import os
import re
import struct
import subprocess
import sys
import time
import uuid

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest
from helpers import assert_tables_equal, pylance_read, pylance_write, write_ipc
from lance.file import LanceFileReader as PylanceReader
from test_interop_v2_0 import (
    _BUFFERS,
    _EMPTY_SCHEMA,
    CASES,
    _metadata_table,
    _not_null_table,
    big_table,
    case_table,
    mixed_table,
)
from test_interop_v2_1 import NESTED_CASES

import lancelet

VERSIONS = ["2.0", "2.1", "2.2"]
FOOTER = {"2.0": (0, 3), "2.1": (2, 1), "2.2": (2, 2)}


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def lancelet_write(path, table, version=None, *, pass_schema=True, **options):
    """Write `table` with lancelet, one write_batch per chunk; returns the (closed) writer.

    pass_schema=False leaves the schema to the first batch.
    """
    schema = table.schema if pass_schema else None
    with lancelet.FileWriter(path, schema, version=version, **options) as writer:
        for batch in table.to_batches():
            writer.write_batch(batch)
    assert writer.closed
    return writer


def lancelet_read(path, columns=None, **kwargs):
    return lancelet.FileReader(path, columns).read_all(**kwargs).to_table()


def _walk_types(t):
    yield t
    if pa.types.is_struct(t):
        for f in t:
            yield from _walk_types(f.type)
    elif pa.types.is_map(t):
        yield from _walk_types(t.key_type)
        yield from _walk_types(t.item_type)
    elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        yield from _walk_types(t.value_type)


def _has_null_struct(arr):
    """Whether `arr` holds a null struct value at any depth."""
    t = arr.type
    if pa.types.is_struct(t):
        return arr.null_count > 0 or any(_has_null_struct(arr.field(i)) for i in range(t.num_fields))
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t) or pa.types.is_map(t):
        return _has_null_struct(arr.values)
    return False


def refusal(table, version):
    """The words of lancelet's refusal to store `table` in `version`, or None if it can."""
    if version != "2.2" and any(pa.types.is_map(t) for f in table.schema for t in _walk_types(f.type)):
        return f"maps cannot be stored in format {version}"
    if version == "2.0" and any(_has_null_struct(c.combine_chunks()) for c in table.columns):
        return "null structs, which format 2.0 cannot store"
    return None


# Tables every version can hold, written and read by both lancelet and pylance.
TABLES = {name: (lambda name=name: case_table(name)) for name in CASES}
TABLES["mixed"] = mixed_table
TABLES["not_null_and_child_names"] = _not_null_table
TABLES["schema_and_field_metadata"] = _metadata_table


def nested_table(name):
    return pa.table({name: NESTED_CASES[name][0]()})


# ---------------------------------------------------------------------------
# 1. Round trips through the package
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", TABLES)
@pytest.mark.parametrize("version", VERSIONS)
def test_round_trip(tmp_path, version, name):
    """lancelet writes, lancelet reads: same schema (with schema/field metadata), same values."""
    table = TABLES[name]()
    path = tmp_path / "t.lance"
    writer = lancelet_write(path, table, version)
    assert writer.size_bytes == os.path.getsize(path)
    reader = lancelet.FileReader(path)
    assert reader.metadata().version == version
    assert reader.num_rows() == table.num_rows
    result = reader.read_all().to_table()
    assert result.schema.equals(table.schema, check_metadata=True), f"{result.schema}\n!=\n{table.schema}"
    assert_tables_equal(result, table)


@pytest.mark.parametrize("name", NESTED_CASES)
@pytest.mark.parametrize("version", VERSIONS)
def test_round_trip_nested(tmp_path, version, name):
    """Nested data round-trips in every version that can hold it; the others refuse it with a
    ValueError naming the problem, and leave no file."""
    table = nested_table(name)
    path = tmp_path / "n.lance"
    words = refusal(table, version)
    if words:
        with pytest.raises(ValueError, match=re.escape(words)):
            lancelet_write(path, table, version)
        assert not path.exists()
        return
    lancelet_write(path, table, version)
    result = lancelet_read(path)
    assert result.schema.equals(table.schema, check_metadata=True), f"{result.schema}\n!=\n{table.schema}"
    assert_tables_equal(result, table)


def test_refused_cases_exist():
    """The refusal branches of test_round_trip_nested are really exercised."""
    refused = {(name, v): refusal(nested_table(name), v) for name in NESTED_CASES for v in VERSIONS}
    assert any(w and w.startswith("maps") for w in refused.values())
    assert any(w and w.startswith("null structs") for w in refused.values())
    assert not any(refused[name, "2.2"] for name in NESTED_CASES)


@pytest.mark.parametrize("name,version", [("map_utf8_int32", "2.0"), ("map_utf8_int32", "2.1"),
                                          ("struct_null", "2.0"), ("list_struct_null", "2.0")])
def test_refused_without_schema(tmp_path, name, version):
    """schema=None: the refusal comes from write_batch; the writer stays usable for abort()."""
    table = nested_table(name)
    path = tmp_path / "r.lance"
    writer = lancelet.FileWriter(path, version=version)
    with pytest.raises(ValueError, match=re.escape(refusal(table, version))):
        writer.write_batch(table)
    writer.abort()
    assert writer.closed and not path.exists() and os.listdir(tmp_path) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_round_trip_empty_file(tmp_path, version):
    """A schema-only file (0 rows) reads back as a 0-row table with that schema."""
    path = tmp_path / "e.lance"
    with lancelet.FileWriter(path, _EMPTY_SCHEMA, version=version) as writer:
        pass
    assert writer.close() == 0
    reader = lancelet.FileReader(path)
    assert reader.num_rows() == 0 and reader.metadata().num_rows == 0
    for result in (reader.read_all().to_table(), reader.read_range(0, 0).to_table(),
                   reader.take_rows([]).to_table(), pylance_read(path)):
        assert result.num_rows == 0
        assert_tables_equal(result, _EMPTY_SCHEMA.empty_table(), normalize_fsl=True)


@pytest.mark.parametrize("version", VERSIONS)
def test_round_trip_sliced_input(tmp_path, version):
    """Arrays with non-zero offsets (bitmaps at odd bit offsets, sliced offsets) are written as
    the rows they show. (A struct inside a struct: see the next test.)"""
    table = mixed_table(rows=61).slice(3, 50).drop_columns(["struct_nested"])
    table = table.append_column("struct_fsl", pa.chunked_array([CASES["struct_fsl"]().slice(1, 2)] * 25))
    table = table.append_column("list_list", CASES["list_list_int64"]().take(pa.array(
        [i % 7 for i in range(61)])).slice(3, 50))
    path = tmp_path / "s.lance"
    lancelet_write(path, table, version)
    assert_tables_equal(lancelet_read(path), table)
    assert_tables_equal(pylance_read(path), table, normalize_fsl=True)


@pytest.mark.parametrize("version", VERSIONS)
def test_round_trip_sliced_struct_of_struct(tmp_path, version):
    """A sliced struct whose child is a struct (pyarrow exports the parent's offset only)."""
    arr = pa.array([{"inner": {"a": i}, "x": -i} for i in range(10)]).slice(3, 5)
    table = pa.table({"c": arr})
    path = tmp_path / "s.lance"
    lancelet_write(path, table, version)
    assert_tables_equal(lancelet_read(path), table)


# ---------------------------------------------------------------------------
# 2. Interop with pylance, both directions
# ---------------------------------------------------------------------------


def _assert_pylance_reads(path, table, version):
    meta = PylanceReader(str(path)).metadata()
    assert (meta.major_version, meta.minor_version) == FOOTER[version]
    assert_tables_equal(pylance_read(path), table, normalize_fsl=True)


@pytest.mark.parametrize("name", TABLES)
@pytest.mark.parametrize("version", VERSIONS)
def test_lancelet_writes_pylance_reads(tmp_path, version, name):
    """The schema comes from the first batch here (schema=None)."""
    table = TABLES[name]()
    path = tmp_path / "b.lance"
    lancelet_write(path, table, version, pass_schema=False)
    _assert_pylance_reads(path, table, version)


@pytest.mark.parametrize("name,version", [
    (name, v) for name in NESTED_CASES for v in VERSIONS if not refusal(nested_table(name), v)])
def test_lancelet_writes_pylance_reads_nested(tmp_path, version, name):
    table = nested_table(name)
    path = tmp_path / "b.lance"
    lancelet_write(path, table, version)
    _assert_pylance_reads(path, table, version)


@pytest.mark.parametrize("name", TABLES)
@pytest.mark.parametrize("version", VERSIONS)
def test_pylance_writes_lancelet_reads(tmp_path, version, name):
    table = TABLES[name]()
    path = tmp_path / "a.lance"
    pylance_write(path, table, version=version)
    reader = lancelet.FileReader(path)
    assert reader.metadata().version == version
    result = reader.read_all().to_table()
    assert_tables_equal(result, table, normalize_fsl=True)
    assert_tables_equal(result, pylance_read(path))


@pytest.mark.parametrize("name,version", [
    (name, v) for name, (_, versions) in NESTED_CASES.items() for v in versions])
def test_pylance_writes_lancelet_reads_nested(tmp_path, version, name):
    table = nested_table(name)
    path = tmp_path / "a.lance"
    pylance_write(path, table, version=version)
    assert_tables_equal(lancelet_read(path), table, normalize_fsl=True)


# ---------------------------------------------------------------------------
# 3. Selections on a multi-page pylance file, against pylance's own answers
# ---------------------------------------------------------------------------

SEL_ROWS = 30_000


@pytest.fixture(scope="module")
def sel_table():
    return big_table(rows=SEL_ROWS, seed=1, chunk=3000)


@pytest.fixture(scope="module", params=VERSIONS)
def pylance_file(request, tmp_path_factory, sel_table):
    """The selection table written by pylance with a 64 KiB data cache (many pages per column),
    with schema metadata and global buffers."""
    version = request.param
    path = tmp_path_factory.mktemp(f"pylance{version}") / "sel.lance"
    pylance_write(path, sel_table, version=version, data_cache_bytes=64 * 1024,
                  schema_metadata={"writer": "pylance"}, global_buffers=_BUFFERS)
    pages = sorted(len(c.pages) for c in PylanceReader(str(path)).metadata().columns)
    assert pages[len(pages) // 2] >= 5, f"not multi-page enough: {pages}"
    return path


def _second_page_start(path):
    """The row where the second page of column 'id' starts."""
    pages = lancelet.FileReader(path).metadata().columns[0].pages
    assert len(pages) >= 3
    return pages[0].num_rows


PROJECTIONS = [["s", "id"], ["st.x"], ["l", "st.s", "id"], ["v"], ["st", "f"], ["ll", "b"]]


@pytest.mark.parametrize("columns", PROJECTIONS, ids=",".join)
def test_projection_matches_pylance(pylance_file, columns):
    ours = lancelet.FileReader(pylance_file, columns=columns)
    expected = PylanceReader(str(pylance_file), columns=columns).read_all().to_table()
    assert expected.num_rows == SEL_ROWS and expected.column_names == [c.split(".")[0] for c in columns]
    assert ours.schema.equals(expected.schema, check_metadata=True)
    assert_tables_equal(ours.read_all().to_table(), expected)


@pytest.mark.parametrize("columns", [None, ["st.s", "v"]], ids=["all", "st.s,v"])
@pytest.mark.parametrize("which", ["start", "page_edge", "middle", "end", "wide", "empty", "one_row"])
def test_read_range_matches_pylance(pylance_file, which, columns):
    n = SEL_ROWS
    edge = _second_page_start(pylance_file)
    start, length = {
        "start": (0, 7), "page_edge": (edge - 4, 9), "middle": (n // 3, 2500), "end": (n - 5, 5),
        "wide": (1, n - 2), "empty": (n // 2, 0), "one_row": (edge, 1),
    }[which]
    expected = PylanceReader(str(pylance_file), columns=columns).read_range(start, length).to_table()
    assert expected.num_rows == length
    result = lancelet.FileReader(pylance_file, columns).read_range(start, length).to_table()
    assert_tables_equal(result, expected)


def _take_indices(which, path):
    n = SEL_ROWS
    edge = _second_page_start(path)
    return {
        "ascending": [0, 3, edge - 1, edge, n // 2, n - 2],
        "unsorted": [n - 1, 0, n // 2, 5, edge, edge - 1, n // 3],
        "repeats": [5, 5, 0, n - 1, 5, 0, edge, edge],
        "descending_range": range(n - 1, n - 40, -3),
        "first": [0],
        "last": [n - 1],
        "spread": list(range(7, n, 997)),
    }[which]


@pytest.mark.parametrize("columns", [None, ["st.x", "ll"]], ids=["all", "st.x,ll"])
@pytest.mark.parametrize("which", ["ascending", "unsorted", "repeats", "descending_range", "first",
                                   "last", "spread"])
def test_take_rows_matches_pylance(pylance_file, which, columns):
    """take_rows (any order, repeats) equals pylance's take_rows for strictly ascending indices,
    else Table.take of pylance's full read; lists, ranges, NumPy and pyarrow arrays all work."""
    indices = _take_indices(which, pylance_file)
    as_list = list(indices)
    theirs = PylanceReader(str(pylance_file), columns=columns)
    if as_list == sorted(set(as_list)):
        expected = theirs.take_rows(as_list).to_table()
    else:
        expected = theirs.read_all().to_table().take(pa.array(as_list))
    assert expected.num_rows == len(as_list)
    reader = lancelet.FileReader(pylance_file, columns)
    for form in (indices, as_list, np.array(as_list, dtype=np.int64), np.array(as_list, dtype=np.uint32),
                 pa.array(as_list, pa.int64())):
        assert_tables_equal(reader.take_rows(form).to_table(), expected)


@pytest.mark.parametrize("version", VERSIONS)
def test_take_every_other_row(tmp_path, version):
    """A take of every other row of a two-column file (many rows per chunk) returns exactly
    those rows. (Its cost, one decode per chunk, is measured by the benchmarks, not here.)"""
    n = 10_000
    table = pa.table({"x": np.arange(n, dtype=np.int64), "s": [f"v{i}" for i in range(n)]})
    path = tmp_path / "t.lance"
    lancelet_write(path, table, version)
    indices = np.arange(0, n, 2)
    result = lancelet.FileReader(path).take_rows(indices).to_table()
    assert_tables_equal(result, table.take(pa.array(indices)))


@pytest.fixture(scope="module", params=VERSIONS)
def lancelet_file(request, tmp_path_factory):
    """A multi-page file written by lancelet (max_page_bytes 16 KiB); returns (path, table)."""
    version = request.param
    table = big_table(rows=12_000, seed=3, chunk=2000)
    path = tmp_path_factory.mktemp(f"lancelet{version}") / "own.lance"
    writer = lancelet.FileWriter(path, table.schema, version=version, max_page_bytes=16 * 1024)
    for batch in table.to_batches():
        writer.write_batch(batch)
    writer.add_schema_metadata("writer", "lancelet")
    for data in _BUFFERS:
        writer.add_global_buffer(data)
    assert writer.close() == table.num_rows
    expected = table.replace_schema_metadata({"writer": "lancelet"})
    return path, expected


def test_selections_on_lancelet_file(lancelet_file):
    """Selections on a multi-page lancelet file equal the source and pylance's answers."""
    path, table = lancelet_file
    pages = [len(c.pages) for c in lancelet.FileReader(path).metadata().columns]
    assert sorted(pages)[len(pages) // 2] >= 3, pages
    assert_tables_equal(lancelet_read(path), table)
    assert_tables_equal(pylance_read(path), table)
    n = table.num_rows
    cols = ["st.s", "l", "id"]
    ours, theirs = lancelet.FileReader(path, cols), PylanceReader(str(path), columns=cols)
    projected = theirs.read_all().to_table()
    assert_tables_equal(ours.read_all().to_table(), projected)
    for start, length in [(0, 10), (n // 2 - 3, 1000), (n - 7, 7)]:
        expected = theirs.read_range(start, length).to_table()
        assert_tables_equal(ours.read_range(start, length).to_table(), expected)
    ascending = [0, 1, 1999, 2000, n // 2, n - 1]
    assert_tables_equal(ours.take_rows(ascending).to_table(), theirs.take_rows(ascending).to_table())
    shuffled = [n - 1, 17, 17, 0, n // 2, 2000, 1999]
    assert_tables_equal(ours.take_rows(shuffled).to_table(), projected.take(pa.array(shuffled)))



@pytest.mark.parametrize("readahead", [None, 0, 1, 64])
def test_batch_readahead_changes_nothing_but_speed(lancelet_file, readahead):
    """Any readahead (default, the minimum, one batch, many) reads the same rows."""
    path, table = lancelet_file
    reader = lancelet.FileReader(path)
    kwargs = {} if readahead is None else {"batch_readahead": readahead}
    assert_tables_equal(reader.read_all(batch_size=333, **kwargs).to_table(), table)
    n = table.num_rows
    ranged = reader.read_range(5, n - 10, batch_size=333, **kwargs).to_table()
    assert_tables_equal(ranged, table.slice(5, n - 10))
    rows = [n - 1, 3, 3, n // 2]
    assert_tables_equal(reader.take_rows(rows, **kwargs).to_table(), table.take(pa.array(rows)))

# ---------------------------------------------------------------------------
# 4. Arrow input forms
# ---------------------------------------------------------------------------


class StreamOnly:
    """Exposes only the Arrow PyCapsule stream interface."""

    def __init__(self, data):
        self._data = data

    def __arrow_c_stream__(self, requested_schema=None):
        return self._data.__arrow_c_stream__(requested_schema)


class ArrayOnly:
    """Exposes only the Arrow PyCapsule array interface (a record batch as a struct array)."""

    def __init__(self, batch):
        self._batch = batch

    def __arrow_c_array__(self, requested_schema=None):
        return self._batch.__arrow_c_array__(requested_schema)


def ragged_table(rows=40):
    """The mixed table with every column chunked at different boundaries.

    (Without its struct-of-struct column: slices of those are the subject of
    test_round_trip_sliced_struct_of_struct.)"""
    table = mixed_table(rows=rows).drop_columns(["struct_nested"])
    table = table.append_column("struct_fsl", CASES["struct_fsl"]().take(pa.array([i % 3 for i in range(rows)])))
    columns = []
    for j, column in enumerate(table.columns):
        arr = column.combine_chunks()
        cuts = sorted({0, rows, (3 * j + 1) % rows, (7 * j + 11) % rows})
        columns.append(pa.chunked_array([arr.slice(a, b - a) for a, b in zip(cuts, cuts[1:])], arr.type))
    ragged = pa.Table.from_arrays(columns, schema=table.schema)
    assert len({tuple(len(c) for c in col.chunks) for col in ragged.columns}) > 3
    return ragged


INPUT_FORMS = {
    "record_batch": lambda t: t.combine_chunks().to_batches()[0],
    "table_ragged_chunks": lambda t: t,
    "record_batch_reader": lambda t: pa.RecordBatchReader.from_batches(t.schema, t.to_batches()),
    "c_stream_only": lambda t: StreamOnly(t),
    "c_array_only": lambda t: ArrayOnly(t.combine_chunks().to_batches()[0]),
}


@pytest.mark.parametrize("form", INPUT_FORMS)
@pytest.mark.parametrize("version", VERSIONS)
def test_input_forms(tmp_path, version, form):
    table = ragged_table()
    path = tmp_path / "i.lance"
    with lancelet.FileWriter(path, version=version) as writer:
        writer.write_batch(INPUT_FORMS[form](table))
    assert writer.close() == table.num_rows
    assert_tables_equal(lancelet_read(path), table)
    assert_tables_equal(pylance_read(path), table, normalize_fsl=True)


def test_input_forms_mixed_in_one_file(tmp_path):
    """Different input forms can follow each other in one writer."""
    table = ragged_table()
    path = tmp_path / "i.lance"
    with lancelet.FileWriter(path) as writer:
        for make in INPUT_FORMS.values():
            writer.write_batch(make(table))
    expected = pa.concat_tables([table] * len(INPUT_FORMS))
    assert writer.close() == expected.num_rows
    assert_tables_equal(lancelet_read(path), expected)


def test_input_not_arrow(tmp_path):
    with lancelet.FileWriter(tmp_path / "x.lance") as writer:
        with pytest.raises((TypeError, ValueError)):
            writer.write_batch(5)
        with pytest.raises((TypeError, ValueError)):
            writer.write_batch([{"a": 1}])
        writer.write_batch(pa.table({"a": [1]}))
    assert lancelet_read(tmp_path / "x.lance").to_pylist() == [{"a": 1}]


@pytest.mark.parametrize("version", VERSIONS)
def test_memory_mapped_ipc_input(tmp_path, version):
    """A table whose buffers live in a memory-mapped Arrow IPC file (8-byte aligned only, so a
    decimal128 buffer is not 16-byte aligned) is written correctly."""
    table = mixed_table(rows=57)
    for name in ("decimal128", "decimal128_38", "fixed_size_binary", "large_list_utf8", "date64"):
        arr = CASES[name]()
        table = table.append_column(name, arr.take(pa.array([i % len(arr) for i in range(57)])))
    table = pa.Table.from_batches(table.to_batches(max_chunksize=10))
    ipc_path = tmp_path / "in.arrow"
    write_ipc(ipc_path, table)
    path = tmp_path / "m.lance"
    with pa.memory_map(str(ipc_path), "r") as source:
        mapped = ipc.open_file(source).read_all()
        assert_tables_equal(mapped, table)
        lancelet_write(path, mapped, version)
        del mapped
    assert_tables_equal(lancelet_read(path), table)
    assert_tables_equal(pylance_read(path), table, normalize_fsl=True)


# Runs in a subprocess: a crash on an unaligned buffer (e.g. a Rust panic that aborts) must fail
# this test, not kill the test runner.
_UNALIGNED_CHILD = r"""
import sys
from decimal import Decimal
import numpy as np, pyarrow as pa, lancelet
from lance.file import LanceFileReader

kind, directory = sys.argv[1], sys.argv[2]
n = 1000

def unaligned(data):
    buf = pa.py_buffer(b"\0" + data).slice(1)
    assert buf.address % 2 == 1
    return buf

if kind == "int64":
    arr = pa.Array.from_buffers(pa.int64(), n, [None, unaligned(np.arange(n, dtype=np.int64).tobytes())])
    expected = pa.array(np.arange(n, dtype=np.int64))
elif kind == "decimal128":
    raw = np.zeros(2 * n, dtype=np.int64)
    raw[0::2] = np.arange(n) * 12345 - 600_000
    raw[1::2] = np.where(raw[0::2] < 0, -1, 0)
    arr = pa.Array.from_buffers(pa.decimal128(10, 2), n, [None, unaligned(raw.tobytes())])
    expected = pa.array([Decimal(int(v)).scaleb(-2) for v in raw[0::2]], pa.decimal128(10, 2))
elif kind in ("utf8_offsets", "binary_offsets"):
    words = [("w%d" % i) * (i % 4) for i in range(n)]
    offsets = np.concatenate([[0], np.cumsum([len(w) for w in words])]).astype(np.int32)
    t = pa.utf8() if kind == "utf8_offsets" else pa.binary()
    arr = pa.Array.from_buffers(t, n, [None, unaligned(offsets.tobytes()), pa.py_buffer("".join(words).encode())])
    expected = pa.array(words if t == pa.utf8() else [w.encode() for w in words], t)
elif kind == "large_utf8_offsets":
    words = [("w%d" % i) * (i % 4) for i in range(n)]
    offsets = np.concatenate([[0], np.cumsum([len(w) for w in words])]).astype(np.int64)
    arr = pa.Array.from_buffers(pa.large_utf8(), n, [None, unaligned(offsets.tobytes()),
                                                     pa.py_buffer("".join(words).encode())])
    expected = pa.array(words, pa.large_utf8())
elif kind == "list_offsets":
    offsets = (np.arange(n + 1) * 2).astype(np.int32)
    arr = pa.ListArray.from_buffers(pa.list_(pa.int16()), n, [None, unaligned(offsets.tobytes())],
                                    children=[pa.array(np.arange(2 * n, dtype=np.int16))])
    expected = pa.ListArray.from_arrays(pa.array(offsets), pa.array(np.arange(2 * n, dtype=np.int16)))
else:
    raise SystemExit("unknown kind " + kind)

arr.validate(full=True)
assert arr.equals(expected), "bad test data"
batch = pa.record_batch({"c": arr})
expected = pa.table({"c": pa.concat_arrays([expected, expected])})
for version in ("2.0", "2.1", "2.2"):
    path = f"{directory}/{kind}-{version}.lance"
    with lancelet.FileWriter(path, version=version) as writer:
        writer.write_batch(batch)               # through __arrow_c_array__
        writer.write_batch(pa.table(batch))     # through __arrow_c_stream__
    ours = lancelet.FileReader(path).read_all().to_table()
    theirs = LanceFileReader(path).read_all().to_table()
    assert ours.equals(expected), f"{version}: lancelet read back {ours.slice(0, 5)}"
    assert theirs.equals(expected), f"{version}: pylance read back {theirs.slice(0, 5)}"
    print("OK", version, flush=True)
"""


@pytest.mark.parametrize("kind", ["int64", "decimal128", "utf8_offsets", "binary_offsets",
                                  "large_utf8_offsets", "list_offsets"])
def test_unaligned_input_buffers(tmp_path, kind):
    """Buffers at odd addresses (legal for a C Data Interface producer; pyarrow makes them from
    slices) are written correctly in every version, and nothing crashes."""
    proc = subprocess.run([sys.executable, "-c", _UNALIGNED_CHILD, kind, str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    stderr = proc.stderr
    summary = "\n".join(stderr.splitlines()[:6])
    assert proc.returncode == 0, (
        f"exit status {proc.returncode}; stdout:\n{proc.stdout}\nstderr (start):\n{summary}")
    assert "panicked" not in stderr, summary
    assert proc.stdout.split() == ["OK", "2.0", "OK", "2.1", "OK", "2.2"], proc.stdout


# ---------------------------------------------------------------------------
# 5. Output forms
# ---------------------------------------------------------------------------

OUT_ROWS = 10_000


@pytest.fixture(scope="module")
def out_file(tmp_path_factory):
    """A lancelet 2.2 file with several pages per column and schema/field metadata."""
    table = big_table(rows=OUT_ROWS, seed=4, chunk=2500).select(["id", "s", "v", "st"])
    schema = table.schema.with_metadata({"k": "v"})
    schema = schema.set(0, schema.field(0).with_metadata({"unit": "row"}))
    table = table.cast(schema)
    path = tmp_path_factory.mktemp("out") / "out.lance"
    lancelet_write(path, table, "2.2", max_page_bytes=32 * 1024)
    return path, table


_OUT_TAKE = list(range(OUT_ROWS - 1, 0, -41)) + [5, 5, 0]
_READS = {
    "read_all": (lambda r, **kw: r.read_all(**kw), lambda t: t),
    "read_range": (lambda r, **kw: r.read_range(123, 7000, **kw), lambda t: t.slice(123, 7000)),
    "take_rows": (lambda r, **kw: r.take_rows(_OUT_TAKE, **kw), lambda t: t.take(pa.array(_OUT_TAKE))),
}


@pytest.mark.parametrize("batch_size", [100, 7, 4096, 1_000_000])
@pytest.mark.parametrize("read", _READS)
def test_to_batches(out_file, read, batch_size):
    """to_batches is a RecordBatchReader with the file's schema; every batch but the last holds
    exactly batch_size rows."""
    path, table = out_file
    start, expect = _READS[read]
    reader = lancelet.FileReader(path)
    batches = start(reader, batch_size=batch_size).to_batches()
    assert isinstance(batches, pa.RecordBatchReader)
    assert batches.schema.equals(table.schema, check_metadata=True)
    got = list(batches)
    expected = expect(table)
    sizes = [b.num_rows for b in got]
    assert sum(sizes) == expected.num_rows
    assert all(s == batch_size for s in sizes[:-1]) and 0 < sizes[-1] <= batch_size, sizes[:20]
    assert_tables_equal(pa.Table.from_batches(got, schema=batches.schema), expected)


@pytest.mark.parametrize("read", _READS)
def test_to_table_and_c_stream(out_file, read):
    """to_table, pa.table(results) (the Arrow PyCapsule stream) and RecordBatchReader.from_stream
    give the same table, schema metadata included."""
    path, table = out_file
    start, expect = _READS[read]
    reader = lancelet.FileReader(path)
    expected = expect(table)
    via_table = start(reader, batch_size=3000).to_table()
    assert [c.num_rows for c in via_table.to_batches()][:-1] == [3000] * (len(via_table.to_batches()) - 1)
    via_capsule = pa.table(start(reader))
    via_stream = pa.RecordBatchReader.from_stream(start(reader)).read_all()
    for result in (via_table, via_capsule, via_stream):
        assert result.schema.equals(table.schema, check_metadata=True)
        assert_tables_equal(result, expected)


def test_to_table_of_many_small_batches(out_file):
    """to_table hands more than 4096 batches to pyarrow in groups (checking for Ctrl-C between
    them); the table still holds every batch as it was, with the schema and its metadata."""
    path, table = out_file
    batch_size = max(1, table.num_rows // 9000)
    got = lancelet.FileReader(path).read_all(batch_size=batch_size).to_table()
    sizes = [b.num_rows for b in got.to_batches()]
    assert len(sizes) > 2 * 4096, len(sizes)
    assert all(s == batch_size for s in sizes[:-1]) and 0 < sizes[-1] <= batch_size
    assert got.schema.equals(table.schema, check_metadata=True)
    assert_tables_equal(got, table)


_CONSUMERS = {
    "to_table": lambda res: res.to_table(),
    "to_batches": lambda res: res.to_batches(),
    "pa.table": lambda res: pa.table(res),
    "c_stream": lambda res: res.__arrow_c_stream__(),
}


@pytest.mark.parametrize("second", _CONSUMERS)
@pytest.mark.parametrize("first", _CONSUMERS)
def test_results_consumed_once(out_file, first, second):
    path, _ = out_file
    results = lancelet.FileReader(path).read_range(0, 10)
    _CONSUMERS[first](results)
    with pytest.raises(ValueError, match="already consumed"):
        _CONSUMERS[second](results)


def test_to_batches_is_lazy_and_partial(out_file):
    """Reading only the first batch of a to_batches reader works, and dropping it is fine."""
    path, table = out_file
    batches = lancelet.FileReader(path).read_all(batch_size=100).to_batches()
    first = batches.read_next_batch()
    assert_tables_equal(pa.Table.from_batches([first]), table.slice(0, 100))
    del batches
    gc.collect()


# ---------------------------------------------------------------------------
# 6. Zero-copy reads
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_read_is_zero_copy_into_pyarrow(tmp_path, version):
    """A ~16 MB float64 column crosses into pyarrow without a copy.

    pa.total_allocated_bytes() counts every byte held in pyarrow's (default) memory pool. The
    returned buffers were allocated by Rust and handed over through the Arrow C Data Interface:
    pyarrow wraps them and frees them through the exporter's release callback, so they are not
    in pyarrow's pool and the counter does not move. Had pyarrow copied them (to concatenate, to
    realign, ...), the copy would come from that pool and the counter would grow by about the
    column size -- which the control at the end shows.
    """
    n = 2 * 1024 * 1024
    column_bytes = n * 8
    values = np.random.default_rng(5).standard_normal(n)
    path = tmp_path / "z.lance"
    lancelet_write(path, pa.table({"x": values}), version)
    reader = lancelet.FileReader(path)
    gc.collect()

    before = pa.total_allocated_bytes()
    table = reader.read_all(batch_size=256 * 1024).to_table()
    grown = pa.total_allocated_bytes() - before
    assert table.num_rows == n
    assert grown < column_bytes // 16, f"pyarrow's pool grew by {grown} bytes reading {column_bytes}"

    before = pa.total_allocated_bytes()
    batches = list(reader.read_all(batch_size=256 * 1024).to_batches())
    grown = pa.total_allocated_bytes() - before
    assert sum(b.num_rows for b in batches) == n
    assert grown < column_bytes // 16, f"pyarrow's pool grew by {grown} bytes (to_batches)"

    assert np.array_equal(np.concatenate([c.to_numpy() for c in table.column("x").chunks]), values)
    # Control: a real copy in pyarrow does show up in the counter.
    before = pa.total_allocated_bytes()
    combined = table.combine_chunks()
    assert pa.total_allocated_bytes() - before >= column_bytes
    del combined


# ---------------------------------------------------------------------------
# 7. Writer behaviour
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_context_manager_closes(tmp_path, version):
    table = pa.table({"a": [1, 2, 3], "s": ["x", None, "z"]})
    path = tmp_path / "c.lance"
    with lancelet.FileWriter(path, version=version) as writer:
        assert not writer.closed and writer.size_bytes is None
        writer.write_batch(table)
        writer.write_batch(table.to_batches()[0])
        assert not path.exists(), "nothing may be visible before close"
    assert writer.closed
    assert writer.close() == 6  # close() again returns the rows
    assert writer.size_bytes == os.path.getsize(path)
    assert_tables_equal(lancelet_read(path), pa.concat_tables([table, table]))


def test_close_inside_with(tmp_path):
    path = tmp_path / "c.lance"
    with lancelet.FileWriter(str(path)) as writer:
        writer.write_batch(pa.table({"a": [1, 2]}))
        assert writer.close() == 2
        assert writer.size_bytes == os.path.getsize(path)
    assert writer.close() == 2
    assert lancelet_read(path).num_rows == 2


def test_exception_in_with_leaves_no_file(tmp_path):
    path = tmp_path / "x.lance"
    with pytest.raises(RuntimeError, match="boom"):
        with lancelet.FileWriter(path) as writer:
            writer.write_batch(pa.table({"a": list(range(1000))}))
            raise RuntimeError("boom")
    assert writer.closed and writer.size_bytes is None
    assert not path.exists() and os.listdir(tmp_path) == []
    with pytest.raises(ValueError):
        writer.write_batch(pa.table({"a": [1]}))
    with pytest.raises(ValueError):
        writer.close()


def test_failed_write_in_with_leaves_no_file(tmp_path):
    path = tmp_path / "x.lance"
    with pytest.raises(ValueError):
        with lancelet.FileWriter(path, pa.schema([("a", pa.int32())])) as writer:
            writer.write_batch(pa.table({"a": pa.array([1], pa.int32())}))
            writer.write_batch(pa.table({"a": pa.array([1], pa.int64())}))
    assert not path.exists() and os.listdir(tmp_path) == []


def test_abort_leaves_no_file(tmp_path):
    path = tmp_path / "x.lance"
    writer = lancelet.FileWriter(path)
    writer.write_batch(pa.table({"a": list(range(1000))}))
    writer.add_global_buffer(b"data")
    writer.abort()
    assert writer.closed and not path.exists() and os.listdir(tmp_path) == []
    writer.abort()  # again: nothing to do
    for call in (lambda: writer.write_batch(pa.table({"a": [1]})), writer.close,
                 lambda: writer.add_schema_metadata("k", "v"), lambda: writer.add_global_buffer(b"x")):
        with pytest.raises(ValueError, match="closed"):
            call()


def test_abort_after_close_keeps_file(tmp_path):
    path = tmp_path / "x.lance"
    writer = lancelet.FileWriter(path)
    writer.write_batch(pa.table({"a": [1, 2]}))
    writer.close()
    writer.abort()
    assert lancelet_read(path).num_rows == 2


def test_unclosed_writer_leaves_no_file(tmp_path):
    """A writer dropped without close() leaves nothing at the path."""
    path = tmp_path / "x.lance"
    writer = lancelet.FileWriter(path)
    writer.write_batch(pa.table({"a": list(range(1000))}))
    del writer
    gc.collect()
    assert not path.exists()


def test_use_after_close(tmp_path):
    writer = lancelet.FileWriter(tmp_path / "x.lance")
    writer.write_batch(pa.table({"a": [1]}))
    assert writer.close() == 1
    for call in (lambda: writer.write_batch(pa.table({"a": [1]})), lambda: writer.add_schema_metadata("k", "v"),
                 lambda: writer.add_global_buffer(b"x")):
        with pytest.raises(ValueError, match="closed"):
            call()


@pytest.mark.parametrize("version", VERSIONS)
def test_schema_from_first_batch(tmp_path, version):
    table = _metadata_table()
    path = tmp_path / "s.lance"
    with lancelet.FileWriter(path, version=version) as writer:
        writer.write_batch(table)
        with pytest.raises(ValueError):
            writer.write_batch(pa.table({"a": pa.array([1], pa.int64())}))
        writer.write_batch(table)
    reader = lancelet.FileReader(path)
    assert reader.schema.equals(table.schema, check_metadata=True)
    assert_tables_equal(reader.read_all().to_table(), pa.concat_tables([table, table]))


def test_close_without_schema_or_data(tmp_path):
    writer = lancelet.FileWriter(tmp_path / "x.lance")
    with pytest.raises(ValueError, match="schema"):
        writer.close()
    writer.abort()
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("bad", [
    pa.table({"a": pa.array([1], pa.int64())}),
    pa.table({"b": pa.array([1], pa.int32())}),
    pa.table({"a": pa.array([1], pa.int32()), "b": pa.array([1], pa.int32())}),
    pa.table({"a": pa.array([[1]], pa.list_(pa.int32()))}),
], ids=["type", "name", "extra_column", "nested_type"])
def test_schema_mismatch(tmp_path, bad):
    with lancelet.FileWriter(tmp_path / "x.lance", pa.schema([("a", pa.int32())])) as writer:
        with pytest.raises(ValueError):
            writer.write_batch(bad)


@pytest.mark.parametrize("version", VERSIONS)
def test_nulls_in_non_nullable_field(tmp_path, version):
    schema = pa.schema([pa.field("a", pa.int64(), nullable=False)])
    writer = lancelet.FileWriter(tmp_path / "x.lance", schema, version=version)
    with pytest.raises(ValueError, match="non-nullable"):  # a nullable batch with a null
        writer.write_batch(pa.table({"a": [1, None]}))
    with pytest.raises(ValueError, match="non-nullable"):  # a batch claiming non-null, with a null
        writer.write_batch(pa.Table.from_arrays([pa.array([1, None])], schema=schema))
    writer.abort()
    child = pa.field("x", pa.int32(), nullable=False)
    nested = pa.schema([pa.field("st", pa.struct([child]))])
    values = pa.StructArray.from_arrays([pa.array([1, None], pa.int32())], fields=[child])
    with lancelet.FileWriter(tmp_path / "y.lance", nested, version=version) as writer:
        with pytest.raises(ValueError, match="non-nullable field 'x'"):
            writer.write_batch(pa.table({"st": values}, schema=nested))
        writer.abort()
    # schema=None: the first batch itself is inconsistent
    with lancelet.FileWriter(tmp_path / "z.lance", version=version) as writer:
        with pytest.raises(ValueError):
            writer.write_batch(pa.Table.from_arrays([pa.array([1, None])], schema=schema))
        writer.abort()
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("version", ["2.7", "3.0", "2", "banana", "", "next", "v2.1"])
def test_bad_version(tmp_path, version):
    with pytest.raises(ValueError, match="version"):
        lancelet.FileWriter(tmp_path / "x.lance", version=version)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("version,footer", [(None, (2, 2)), ("stable", (2, 2)), ("2.0", (0, 3)),
                                            ("2.1", (2, 1)), ("2.2", (2, 2))])
def test_version_written(tmp_path, version, footer):
    path = tmp_path / "x.lance"
    lancelet_write(path, pa.table({"a": [1]}), version)
    meta = lancelet.FileReader(path).metadata()
    assert (meta.major_version, meta.minor_version) == footer
    their = PylanceReader(str(path)).metadata()
    assert (their.major_version, their.minor_version) == footer


@pytest.mark.parametrize("option", ["data_cache_bytes", "max_page_bytes"])
def test_bad_page_options(tmp_path, option):
    with pytest.raises(ValueError, match=option):
        lancelet.FileWriter(tmp_path / "x.lance", **{option: 0})


@pytest.mark.parametrize("version", VERSIONS)
def test_global_buffers(tmp_path, version):
    path = tmp_path / "g.lance"
    with lancelet.FileWriter(path, version=version) as writer:
        writer.write_batch(pa.table({"a": [1, 2, 3]}))
        indices = [writer.add_global_buffer(data) for data in _BUFFERS]
        indices.append(writer.add_global_buffer(b""))
        indices.append(writer.add_global_buffer(bytearray(b"from a bytearray")))
    expected = list(_BUFFERS) + [b"", b"from a bytearray"]
    assert indices == list(range(1, len(expected) + 1))
    ours, theirs = lancelet.FileReader(path), PylanceReader(str(path))
    for index, data in zip(indices, expected):
        assert ours.read_global_buffer(index) == data, f"lancelet, buffer {index}"
        assert theirs.read_global_buffer(index) == data, f"pylance, buffer {index}"
    meta = ours.metadata()
    assert [b.size for b in meta.global_buffers[1:]] == [len(d) for d in expected]
    with pytest.raises(ValueError):
        ours.read_global_buffer(len(expected) + 1)
    assert_tables_equal(ours.read_all().to_table(), pa.table({"a": [1, 2, 3]}))


@pytest.mark.parametrize("version", VERSIONS)
def test_global_buffers_written_by_pylance(tmp_path, version):
    path = tmp_path / "g.lance"
    indices = pylance_write(path, pa.table({"a": [1, 2, 3]}), version=version, global_buffers=_BUFFERS)
    reader = lancelet.FileReader(path)
    assert [reader.read_global_buffer(i) for i in indices] == list(_BUFFERS)


@pytest.mark.parametrize("version", VERSIONS)
def test_add_schema_metadata(tmp_path, version):
    """Added keys join the schema's own metadata (an added key replaces one of the same name) and
    are visible to both readers, in reader.schema, metadata().schema and the data read."""
    table = _metadata_table()
    path = tmp_path / "m.lance"
    with lancelet.FileWriter(path, table.schema, version=version) as writer:
        writer.write_batch(table)
        writer.add_schema_metadata("added", "later")
        writer.add_schema_metadata("owner", "replaced")
        writer.add_schema_metadata("ünïcode", "värde")
    expected = table.replace_schema_metadata(
        {**table.schema.metadata, b"added": b"later", b"owner": b"replaced",
         "ünïcode".encode(): "värde".encode()})
    reader = lancelet.FileReader(path)
    assert reader.schema.equals(expected.schema, check_metadata=True)
    assert reader.metadata().schema.equals(expected.schema, check_metadata=True)
    assert_tables_equal(reader.read_all().to_table(), expected)
    assert PylanceReader(str(path)).metadata().schema.equals(expected.schema, check_metadata=True)
    assert_tables_equal(pylance_read(path), expected)


@pytest.mark.parametrize("version", VERSIONS)
def test_page_options_make_more_pages(tmp_path, version):
    """data_cache_bytes and max_page_bytes split columns into more pages (seen in metadata());
    max_page_bytes also caps every page's size. Values are unchanged."""
    rng = np.random.default_rng(8)
    table = pa.table({"f": rng.standard_normal(30_000), "s": [f"value {i}" for i in range(30_000)]})
    table = pa.Table.from_batches(table.to_batches(max_chunksize=3000))
    limit = 32 * 1024
    pages = {}
    for label, options in [("default", {}), ("data_cache", {"data_cache_bytes": limit}),
                           ("max_page", {"max_page_bytes": limit})]:
        path = tmp_path / f"{label}.lance"
        lancelet_write(path, table, version, **options)
        meta = lancelet.FileReader(path).metadata()
        pages[label] = {c.path: len(c.pages) for c in meta.columns}
        if label == "max_page":
            sizes = [sum(b.size for b in p.buffers) for c in meta.columns for p in c.pages]
            assert max(sizes) <= limit, sizes
        assert_tables_equal(lancelet_read(path), table)
        assert_tables_equal(pylance_read(path), table)
    for label in ("data_cache", "max_page"):
        for column, count in pages[label].items():
            assert count >= 3 and count > pages["default"][column], pages


# ---------------------------------------------------------------------------
# 8. Reader errors
# ---------------------------------------------------------------------------


@pytest.fixture
def small_files(tmp_path):
    """{version: path} of small lancelet files."""
    table = pa.table({"a": np.arange(1000), "s": [str(i) for i in range(1000)],
                      "st": [{"x": i} for i in range(1000)]})
    paths = {}
    for version in VERSIONS:
        paths[version] = tmp_path / f"small{version}.lance"
        lancelet_write(paths[version], table, version)
    return paths


def test_missing_file(tmp_path):
    for uri in (tmp_path / "nope.lance", str(tmp_path / "nope.lance"), f"file://{tmp_path}/nope.lance",
                f"memory://{uuid.uuid4().hex}/nope.lance"):
        with pytest.raises(FileNotFoundError):
            lancelet.FileReader(uri)


@pytest.mark.parametrize("content", ["random", "empty", "arrow_ipc", "text"])
def test_not_a_lance_file(tmp_path, content):
    path = tmp_path / "bad.lance"
    if content == "arrow_ipc":
        write_ipc(path, pa.table({"a": [1, 2, 3]}))
    else:
        path.write_bytes({"random": np.random.default_rng(1).bytes(5000), "empty": b"",
                          "text": b"hello, world\n" * 10}[content])
    with pytest.raises(lancelet.CorruptFileError) as info:
        lancelet.FileReader(path)
    assert isinstance(info.value, OSError)


@pytest.mark.parametrize("cut", ["half", "minus_one_byte", "ten_bytes", "front_100", "footer_only"])
@pytest.mark.parametrize("version", VERSIONS)
def test_truncated_file(tmp_path, small_files, version, cut):
    data = small_files[version].read_bytes()
    kept = {"half": data[: len(data) // 2], "minus_one_byte": data[:-1], "ten_bytes": data[:10],
            "front_100": data[100:], "footer_only": data[-40:]}[cut]
    path = tmp_path / "cut.lance"
    path.write_bytes(kept)
    with pytest.raises(OSError) as info:
        lancelet.FileReader(path).read_all().to_table()
    assert isinstance(info.value, lancelet.CorruptFileError), repr(info.value)


@pytest.mark.parametrize("columns", [["nope"], ["a", "nope"], ["st.nope"], ["a.b"], [], ["a", "a"]])
def test_unknown_or_bad_columns(small_files, columns):
    with pytest.raises(ValueError):
        lancelet.FileReader(small_files["2.2"], columns)


@pytest.mark.parametrize("version", VERSIONS)
def test_take_rows_bad_indices(small_files, version):
    reader = lancelet.FileReader(small_files[version])
    for indices in ([0, 1000], [1000], [2**40], np.array([5, 1000]), pa.array([1000]), [-1], [3, -1],
                    np.array([-5]), pa.array([-1])):
        with pytest.raises(ValueError):
            reader.take_rows(indices).to_table()
    with pytest.raises((TypeError, ValueError)):
        reader.take_rows(["a"])
    assert reader.take_rows([999, 0]).to_table().column("a").to_pylist() == [999, 0]


@pytest.mark.parametrize("version", VERSIONS)
def test_read_range_past_end(small_files, version):
    reader = lancelet.FileReader(small_files[version])
    for start, length in [(0, 1001), (999, 2), (1000, 1), (5000, 0), (2**63, 2**63)]:
        with pytest.raises(ValueError):
            reader.read_range(start, length).to_table()
    assert reader.read_range(1000, 0).to_table().num_rows == 0


def test_batch_size_zero(small_files):
    reader = lancelet.FileReader(small_files["2.2"])
    for call in (lambda: reader.read_all(batch_size=0), lambda: reader.read_range(0, 5, batch_size=0),
                 lambda: reader.take_rows([1], batch_size=0)):
        with pytest.raises(ValueError, match="batch_size"):
            call()


def test_unknown_storage_option(tmp_path):
    options = {"no_such_option": "1"}
    with pytest.raises(ValueError, match="no_such_option"):
        lancelet.FileReader("s3://bucket/x.lance", storage_options=options)
    with pytest.raises(ValueError, match="no_such_option"):
        lancelet.FileWriter("s3://bucket/x.lance", storage_options=options)


def test_unsupported_uri_scheme():
    with pytest.raises(ValueError):
        lancelet.FileReader("nosuchscheme://x/y.lance")
    with pytest.raises(TypeError):
        lancelet.FileReader(42)


@pytest.mark.parametrize("footer", [(3, 7), (2, 9), (1, 0), (0, 1)])
@pytest.mark.parametrize("version", VERSIONS)
def test_unsupported_footer_version(tmp_path, version, footer):
    """A pylance file whose footer claims version 3.7 (or another unknown / legacy v1 version)."""
    path = tmp_path / "v.lance"
    pylance_write(path, pa.table({"a": [1, 2, 3]}), version=version)
    data = bytearray(path.read_bytes())
    assert struct.unpack("<HH4s", data[-8:]) == (*FOOTER[version], b"LANC")
    data[-8:-4] = struct.pack("<HH", *footer)
    path.write_bytes(bytes(data))
    with pytest.raises(NotImplementedError):
        lancelet.FileReader(path)


def test_exception_types():
    assert issubclass(lancelet.CorruptFileError, OSError)
    assert lancelet.LanceFileReader is lancelet.FileReader
    assert lancelet.LanceFileWriter is lancelet.FileWriter
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", lancelet.__version__)
    assert set(lancelet.__all__) <= set(dir(lancelet))


def test_uri_forms(tmp_path):
    path = tmp_path / "u.lance"
    with lancelet.LanceFileWriter(f"file://{path}") as writer:
        writer.write_batch(pa.table({"a": [1, 2]}))
    for uri in (path, str(path), f"file://{path}"):
        reader = lancelet.LanceFileReader(uri)
        assert reader.num_rows() == 2
        assert "2 rows" in repr(reader)


# ---------------------------------------------------------------------------
# 9. metadata()
# ---------------------------------------------------------------------------

_PATHS_2_0 = ["id", "f", "s", "b", "l", "l.item", "v", "ll", "ll.item", "ll.item.item", "st", "st.x", "st.s"]
_PATHS_2_1 = ["id", "f", "s", "b", "l.item", "v", "ll.item.item", "st.x", "st.s"]


def _buffers(descriptors):
    return [(b.position, b.size) for b in descriptors]


def _check_metadata(path, version, table):
    reader = lancelet.FileReader(path)
    meta = reader.metadata()
    assert meta.version == version
    assert (meta.major_version, meta.minor_version) == FOOTER[version]
    assert meta.num_rows == reader.num_rows() == table.num_rows
    assert meta.file_size == os.path.getsize(path)
    assert meta.schema.equals(reader.schema, check_metadata=True)
    assert meta.schema.equals(table.schema, check_metadata=True)
    assert [c.path for c in meta.columns] == (_PATHS_2_0 if version == "2.0" else _PATHS_2_1)
    for column in meta.columns:
        assert column.pages, column.path
        rows = 0
        for page in column.pages:
            assert isinstance(page.encoding, str) and page.encoding, column.path
            assert page.num_rows > 0
            assert page.priority == (0 if version == "2.0" else rows), column.path
            rows += page.num_rows
            for buf in page.buffers:
                assert 0 <= buf.position and buf.position + buf.size <= meta.file_size
        if version != "2.0" or not column.path.endswith("item"):
            assert rows == table.num_rows or column.path == "st", column.path
    # num_data_bytes is documented as the bytes of page and column buffers
    assert meta.num_data_bytes == sum(b.size for c in meta.columns for p in c.pages for b in p.buffers) + \
        sum(b.size for c in meta.columns for b in c.column_buffers)
    assert meta.num_global_buffer_bytes == sum(b.size for b in meta.global_buffers)
    assert len(meta.global_buffers) == 1 + len(_BUFFERS)
    assert meta.num_data_bytes + meta.num_column_metadata_bytes + meta.num_global_buffer_bytes < meta.file_size

    # pylance's view of the same file, where the attribute exists in both
    theirs = PylanceReader(str(path)).metadata()
    assert (theirs.major_version, theirs.minor_version) == (meta.major_version, meta.minor_version)
    assert theirs.num_rows == meta.num_rows
    assert theirs.num_column_metadata_bytes == meta.num_column_metadata_bytes
    assert theirs.num_global_buffer_bytes == meta.num_global_buffer_bytes
    # pylance counts the padding between buffers as data too (column_meta_start minus global buffers)
    assert meta.num_data_bytes <= theirs.num_data_bytes
    assert _buffers(theirs.global_buffers) == _buffers(meta.global_buffers)
    assert theirs.schema.equals(meta.schema, check_metadata=True)
    assert len(theirs.columns) == len(meta.columns)
    for ours_col, their_col in zip(meta.columns, theirs.columns):
        assert _buffers(their_col.column_buffers) == _buffers(ours_col.column_buffers), ours_col.path
        assert len(their_col.pages) == len(ours_col.pages), ours_col.path
        for ours_page, their_page in zip(ours_col.pages, their_col.pages):
            assert _buffers(their_page.buffers) == _buffers(ours_page.buffers), ours_col.path
    return meta


def test_metadata_of_pylance_file(pylance_file, sel_table):
    version = lancelet.FileReader(pylance_file).metadata().version
    expected = sel_table.replace_schema_metadata({"writer": "pylance"})
    meta = _check_metadata(pylance_file, version, expected)
    assert sum(len(c.pages) for c in meta.columns) >= 5 * len(meta.columns)
    for index, data in enumerate(_BUFFERS, start=1):
        assert lancelet.FileReader(pylance_file).read_global_buffer(index) == data


def test_metadata_of_lancelet_file(lancelet_file):
    path, table = lancelet_file
    version = PylanceReader(str(path)).metadata()
    version = {(0, 3): "2.0", (2, 1): "2.1", (2, 2): "2.2"}[(version.major_version, version.minor_version)]
    _check_metadata(path, version, table)


def test_metadata_with_projection(pylance_file, sel_table):
    """metadata() describes the whole file; schema is the projection's."""
    reader = lancelet.FileReader(pylance_file, ["st.x", "id"])
    assert reader.schema.names == ["st", "id"]
    assert reader.metadata().schema.names == sel_table.schema.names
    full = lancelet.FileReader(pylance_file).metadata()
    assert [c.path for c in reader.metadata().columns] == [c.path for c in full.columns]


# ---------------------------------------------------------------------------
# 10. memory:// URIs
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_memory_uri(version):
    uri = f"memory://{uuid.uuid4().hex}/dir/t.lance"
    table = mixed_table(rows=100)
    with lancelet.FileWriter(uri, version=version) as writer:
        writer.write_batch(table)
        writer.add_schema_metadata("where", "memory")
        assert writer.add_global_buffer(b"in memory") == 1
    size = writer.size_bytes
    expected = table.replace_schema_metadata({"where": "memory"})
    reader = lancelet.FileReader(uri)
    assert reader.metadata().file_size == size and reader.metadata().version == version
    assert_tables_equal(reader.read_all().to_table(), expected)
    assert reader.read_global_buffer(1) == b"in memory"
    projected = lancelet.FileReader(uri, ["utf8", "struct_nested.inner.b"])
    assert_tables_equal(projected.take_rows([99, 0, 50]).to_table(),
                        pa.table(projected.read_all()).take(pa.array([99, 0, 50])))
    # the store is process-wide: another reader, a new writer replacing the file
    with lancelet.FileWriter(uri, version=version) as writer:
        writer.write_batch(pa.table({"b": [1]}))
    assert lancelet.FileReader(uri).read_all().to_table().to_pylist() == [{"b": 1}]


def test_memory_uri_abort_and_missing():
    uri = f"memory://{uuid.uuid4().hex}/t.lance"
    writer = lancelet.FileWriter(uri)
    writer.write_batch(pa.table({"a": [1]}))
    writer.abort()
    with pytest.raises(FileNotFoundError):
        lancelet.FileReader(uri)


# ---------------------------------------------------------------------------
# 11. Ctrl-C
# ---------------------------------------------------------------------------

_CTRL_C_CHILD = r"""
import json, os, signal, sys, threading, time
import numpy as np, pyarrow as pa, lancelet

path = sys.argv[1]
# Reading with batch_size=1 costs about 10 microseconds per row: 400k rows take seconds.
rows = 400_000
while True:
    with lancelet.FileWriter(path) as writer:
        writer.write_batch(pa.table({"x": np.arange(rows, dtype=np.int64)}))
    start = time.monotonic()
    table = lancelet.FileReader(path).read_all(batch_size=1).to_table()
    uninterrupted = time.monotonic() - start
    assert table.num_rows == rows
    del table
    if uninterrupted >= 2.5 or rows >= 8_000_000:
        break
    rows *= 2

reader = lancelet.FileReader(path)
sent = []

def interrupt():
    sent.append(time.monotonic())
    os.kill(os.getpid(), signal.SIGINT)

timer = threading.Timer(0.3, interrupt)
outcome = "returned"
try:
    start = time.monotonic()
    timer.start()
    try:
        reader.read_all(batch_size=1).to_table()
    except KeyboardInterrupt:
        outcome = "KeyboardInterrupt"
    end = time.monotonic()
    timer.join()
    time.sleep(0.2)  # a late signal would land here
except KeyboardInterrupt:
    outcome = "late KeyboardInterrupt"
    end = time.monotonic()
print(json.dumps({
    "rows": rows, "uninterrupted": uninterrupted, "outcome": outcome,
    "elapsed": end - start, "after_signal": end - sent[0] if sent else None, "printed_at": time.time(),
}), flush=True)
"""


def test_ctrl_c_interrupts_a_long_read(tmp_path):
    """SIGINT during FileReader.read_all(batch_size=1).to_table() raises KeyboardInterrupt from
    that call within about a second, long before the read would have finished; the process then
    exits normally."""
    proc = subprocess.run([sys.executable, "-c", _CTRL_C_CHILD, str(tmp_path / "big.lance")],
                          capture_output=True, text=True, timeout=300)
    finished = time.time()
    assert proc.returncode == 0, (
        f"exit status {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print("Ctrl-C timings:", result)
    assert result["uninterrupted"] >= 2.5, result  # well over 1.5 s
    assert result["outcome"] == "KeyboardInterrupt", result
    assert result["after_signal"] is not None and result["after_signal"] < 1.0, result
    assert result["elapsed"] < result["uninterrupted"] / 2, result
    assert finished - result["printed_at"] < 10, f"the process took long to exit: {result}"
