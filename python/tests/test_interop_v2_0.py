"""Lance format 2.0 interop between pylance 14.0.2 and Lancelet (driven through its CLI).

Direction A: pylance writes a .lance file -> `lancelet convert x.lance y.arrow` -> compare
             the Arrow IPC file with the source table.
Direction B: pyarrow writes an Arrow IPC file -> `lancelet convert x.arrow y.lance
             --format-version 2.0` -> pylance reads it -> compare with the source table.

Not covered in direction B (or at all) because pylance 14.0.2 cannot do it in format 2.0:
structs containing null struct values, and map types (both rejected by pylance).
"""

import datetime as dt
import os
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest
from helpers import (
    assert_tables_equal,
    pylance_read,
    pylance_write,
    read_ipc,
    write_ipc,
)
from lance.file import LanceFileReader

# ---------------------------------------------------------------------------
# Test data: one array per case
# ---------------------------------------------------------------------------


def _ints(t):
    info = np.iinfo(t.to_pandas_dtype())
    low = int(info.min)
    return pa.array([0, 1, None, low, int(info.max), -1 if low < 0 else 2, None, 42], t)


def _floats(t):
    np_t = {16: np.float16, 32: np.float32, 64: np.float64}[t.bit_width]
    vals = np.array(
        [0.0, -0.0, np.nan, np.inf, -np.inf, 1.5, -2.25, 0.0, 1e-3, np.finfo(np_t).max,
         np.finfo(np_t).tiny, np.copysign(np.nan, -1.0)],
        dtype=np_t,
    )
    mask = np.zeros(len(vals), bool)
    mask[7] = True
    return pa.array(vals, type=t, mask=mask)


def _blob(n, seed):
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


_STRINGS = ["", "a", None, "héllo wörld", "日本語テキスト", "🦀 emoji", None, "",
            "é" * 512, "x" * 16 * 1024, "ü" * 32 * 1024, "tail"]  # 1 KiB, 16 KiB, 64 KiB
_BINARIES = [b"", b"\x00", None, b"\xff\xfe\x00binary", _blob(1024, 1), None, b"",
             _blob(16 * 1024, 2), _blob(64 * 1024, 3), b"end"]


def _fsl(dim, seed):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(9):
        if i in (2, 6):
            rows.append(None)
        else:
            row = rng.standard_normal(dim).astype(np.float32).tolist()
            if i in (1, 7):
                row[i % dim] = None  # null item inside a valid list
            rows.append(row)
    return pa.array(rows, pa.list_(pa.float32(), dim))


def _timestamps(unit, tz):
    base = {"s": 1_700_000_000, "ms": 1_700_000_000_123, "us": 1_700_000_000_123_456,
            "ns": 1_700_000_000_123_456_789}[unit]
    return pa.array([0, base, None, -base, 1, None, 86_400], pa.timestamp(unit, tz))


_INNER_STRUCT = pa.struct([("a", pa.int32()), ("b", pa.string())])

CASES = {
    **{str(t): (lambda t=t: _ints(t)) for t in (pa.int8(), pa.int16(), pa.int32(), pa.int64(),
                                               pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64())},
    **{str(t): (lambda t=t: _floats(t)) for t in (pa.float16(), pa.float32(), pa.float64())},
    "bool": lambda: pa.array([True, False, None, True, True, False, None, False, True, True]),
    "decimal128": lambda: pa.array(
        [Decimal("0.00"), Decimal("-1.25"), None, Decimal("99999999.99"), Decimal("-99999999.99"),
         Decimal("0.01")], pa.decimal128(10, 2)),
    "decimal128_38": lambda: pa.array(
        [Decimal("9" * 38), Decimal("-" + "9" * 38), None, Decimal(0), Decimal(-1)],
        pa.decimal128(38, 0)),
    "decimal256": lambda: pa.array(
        [Decimal("-12345678901234567890123456789012345.12345"), None, Decimal("0.00001"),
         Decimal("9" * 71 + ".99999"), Decimal("-" + "9" * 71 + ".99999")],
        pa.decimal256(76, 5)),
    "date32": lambda: pa.array([dt.date(1970, 1, 1), dt.date(1900, 2, 28), None,
                                dt.date(2999, 12, 31), dt.date(1, 1, 1)], pa.date32()),
    "date64": lambda: pa.array([dt.date(1970, 1, 1), dt.date(1900, 2, 28), None,
                                dt.date(2999, 12, 31), dt.date(2024, 2, 29)], pa.date64()),
    "time32_s": lambda: pa.array([0, 1, None, 86_399, 3600], pa.time32("s")),
    "time32_ms": lambda: pa.array([0, 1, None, 86_399_999, 3_600_000], pa.time32("ms")),
    "time64_us": lambda: pa.array([0, 1, None, 86_399_999_999, 12_345], pa.time64("us")),
    "time64_ns": lambda: pa.array([0, 1, None, 86_399_999_999_999, 12_345], pa.time64("ns")),
    **{f"duration_{u}": (lambda u=u: pa.array([0, -1, None, 2**62, -(2**62), 7], pa.duration(u)))
       for u in ("s", "ms", "us", "ns")},
    **{f"timestamp_{u}_{tz or 'naive'}": (lambda u=u, tz=tz: _timestamps(u, tz))
       for u in ("s", "ms", "us", "ns") for tz in (None, "UTC", "America/New_York", "+05:30")},
    "utf8": lambda: pa.array(_STRINGS, pa.utf8()),
    "large_utf8": lambda: pa.array(_STRINGS, pa.large_utf8()),
    "binary": lambda: pa.array(_BINARIES, pa.binary()),
    "large_binary": lambda: pa.array(_BINARIES, pa.large_binary()),
    "fixed_size_binary": lambda: pa.array(
        [b"0123456789abcdef", None, b"\x00" * 16, b"\xff" * 16, None, _blob(16, 4)],
        pa.binary(16)),
    "fsl_f32_2": lambda: _fsl(2, 5),
    "fsl_f32_8": lambda: _fsl(8, 6),
    "fsl_f32_128": lambda: _fsl(128, 7),
    "list_int32": lambda: pa.array([[1, 2, 3], [], None, [None], [4, None, 5], [-(2**31)]],
                                   pa.list_(pa.int32())),
    "large_list_utf8": lambda: pa.array([["a", "", None], [], None, ["日本", "x" * 2000], [None]],
                                        pa.large_list(pa.utf8())),
    "list_list_int64": lambda: pa.array(
        [[[1, 2], [], None, [3]], [], None, [None], [[]], [[None, 4], [5]], [[6]]],
        pa.list_(pa.list_(pa.int64()))),
    "list_fsl_f32": lambda: pa.array(
        [[[1, 2, 3], None, [4, None, 6]], [], None, [[7, 8, 9]]],
        pa.list_(pa.list_(pa.float32(), 3))),
    "struct_fsl": lambda: pa.array(
        [{"v": [1, 2, 3, 4], "id": 1}, {"v": None, "id": 2}, {"v": [None, 5, 6, 7], "id": None}],
        pa.struct([("v", pa.list_(pa.float32(), 4)), ("id", pa.int32())])),
    "struct_nested": lambda: pa.array(
        [{"x": 1, "inner": {"a": 1, "b": "one"}, "s": "p"},
         {"x": None, "inner": {"a": None, "b": None}, "s": None},
         {"x": 3, "inner": {"a": 3, "b": ""}, "s": "r"}],
        pa.struct([("x", pa.int64()), ("inner", _INNER_STRUCT), ("s", pa.utf8())])),
    "all_null_int32": lambda: pa.nulls(7, pa.int32()),
    "all_null_utf8": lambda: pa.nulls(7, pa.utf8()),
    "all_null_list": lambda: pa.nulls(7, pa.list_(pa.int64())),
    "all_null_fsl": lambda: pa.nulls(7, pa.list_(pa.float32(), 4)),
    "null_type": lambda: pa.nulls(6),
    **{f"dict_{it}_utf8": (lambda it=it: pa.DictionaryArray.from_arrays(
        pa.array([0, 1, None, 2, 0, 2, None, 1], it), pa.array(["red", "", "blüe"])))
       for it in (pa.int8(), pa.int16(), pa.int32())},
    "dict_int32_int64": lambda: pa.DictionaryArray.from_arrays(
        pa.array([3, 0, None, 1, 1, 2], pa.int32()), pa.array([10, -20, 2**40, 0], pa.int64())),
}

# Several of these columns in one file, to check that columns don't interfere.
_MIXED = ["int8", "uint64", "halffloat", "double", "bool", "decimal256", "timestamp_ns_+05:30",
          "utf8", "large_binary", "fsl_f32_8", "list_list_int64", "struct_nested",
          "all_null_utf8", "null_type", "dict_int16_utf8"]


def case_table(name):
    """A one-column table holding the named case."""
    return pa.table({name: CASES[name]()})


def mixed_table(rows=23):
    """All _MIXED cases side by side, each cycled to `rows` rows."""
    cols = {}
    for name in _MIXED:
        arr = CASES[name]()
        cols[name] = arr.take(pa.array([i % len(arr) for i in range(rows)]))
    return pa.table(cols)


def big_table(rows=120_000, seed=0, chunk=5000):
    """A table large enough to span many pages at a 64 KiB data cache.

    It is split into `chunk`-row batches: both writers only flush pages between batches.
    """
    rng = np.random.default_rng(seed)
    ids = np.arange(rows, dtype=np.int64)
    mask = rng.random(rows) < 0.1
    floats = rng.standard_normal(rows)
    floats[::97] = np.nan
    floats[::101] = -0.0
    lens = rng.integers(0, 20, rows)
    strings = pa.array([None if m else "s" * int(n) + str(i) for i, (n, m) in enumerate(zip(lens, mask))])
    list_lens = rng.integers(0, 5, rows)
    offsets = np.concatenate([[0], np.cumsum(list_lens)]).astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(offsets), pa.array(rng.integers(-1000, 1000, offsets[-1], dtype=np.int32)),
                                     mask=pa.array(mask[::-1]))
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(rng.standard_normal(rows * 8).astype(np.float32)), 8,
                                                mask=pa.array(np.roll(mask, 7)))
    inner_lens = rng.integers(0, 4, int(offsets[-1]))
    inner_offsets = np.concatenate([[0], np.cumsum(inner_lens)]).astype(np.int32)
    inner = pa.ListArray.from_arrays(
        pa.array(inner_offsets), pa.array(np.arange(inner_offsets[-1], dtype=np.int64)),
        mask=pa.array(rng.random(len(inner_lens)) < 0.1))
    nested = pa.ListArray.from_arrays(pa.array(offsets), inner, mask=pa.array(np.roll(mask, 5)))
    struct = pa.StructArray.from_arrays(
        [pa.array(ids.astype(np.int32) * 3, mask=np.roll(mask, 3)), strings], names=["x", "s"])
    table = pa.table({
        "id": pa.array(ids),
        "f": pa.array(floats, mask=np.roll(mask, 1)),
        "s": strings,
        "b": pa.array(rng.random(rows) < 0.5, mask=np.roll(mask, 2)),
        "l": lists,
        "v": vectors,
        "ll": nested,
        "st": struct,
    })
    return pa.Table.from_batches(table.to_batches(max_chunksize=chunk))


def page_counts(info):
    """Pages per leaf column from `lancelet inspect --json` output."""
    return {c["path"]: len(c["pages"]) for c in info["columns"]}


# ---------------------------------------------------------------------------
# Round trips, one type per test
# ---------------------------------------------------------------------------


def pylance_to_lancelet(run_lancelet, tmp_path, table, **write_kwargs):
    """Direction A: pylance writes, Lancelet converts to Arrow IPC, returns what it wrote."""
    src, out = tmp_path / "a.lance", tmp_path / "a.arrow"
    pylance_write(src, table, **write_kwargs)
    run_lancelet("convert", src, out)
    return read_ipc(out)


def lancelet_to_pylance(run_lancelet, tmp_path, table, *extra):
    """Direction B: pyarrow writes IPC, Lancelet converts to Lance 2.0, returns pylance's read."""
    src, out = tmp_path / "b.arrow", tmp_path / "b.lance"
    write_ipc(src, table)
    run_lancelet("convert", src, out, "--format-version", "2.0", *extra)
    return pylance_read(out)


@pytest.mark.parametrize("name", CASES)
def test_a_type(run_lancelet, tmp_path, name):
    """pylance-written column of each type reads back exactly through Lancelet."""
    table = case_table(name)
    assert_tables_equal(pylance_to_lancelet(run_lancelet, tmp_path, table), table, normalize_fsl=True)


@pytest.mark.parametrize("name", CASES)
def test_b_type(run_lancelet, tmp_path, name):
    """Lancelet-written column of each type reads back exactly through pylance.

    Dictionary columns: pylance appends a null entry to the dictionary values (so
    Table.equals is False); like every comparison here, this one is on decoded values.
    """
    table = case_table(name)
    assert_tables_equal(lancelet_to_pylance(run_lancelet, tmp_path, table), table, normalize_fsl=True)


def test_a_mixed(run_lancelet, tmp_path):
    """Many types side by side in one pylance file (A)."""
    table = mixed_table()
    assert_tables_equal(pylance_to_lancelet(run_lancelet, tmp_path, table), table, normalize_fsl=True)


def test_b_mixed(run_lancelet, tmp_path):
    """Many types side by side in one Lancelet file (B)."""
    table = mixed_table()
    assert_tables_equal(lancelet_to_pylance(run_lancelet, tmp_path, table), table, normalize_fsl=True)


def test_a_not_null_and_child_names(run_lancelet, tmp_path):
    """Non-nullable fields and custom list child names survive (A)."""
    table = _not_null_table()
    assert_tables_equal(pylance_to_lancelet(run_lancelet, tmp_path, table), table, normalize_fsl=True)


def test_b_not_null_and_child_names(run_lancelet, tmp_path):
    """Non-nullable fields and custom list child names survive (B)."""
    table = _not_null_table()
    assert_tables_equal(lancelet_to_pylance(run_lancelet, tmp_path, table), table, normalize_fsl=True)


def _not_null_table():
    schema = pa.schema([
        pa.field("id", pa.int64(), nullable=False),
        pa.field("l", pa.list_(pa.field("elem", pa.int32(), nullable=False))),
        pa.field("st", pa.struct([pa.field("x", pa.utf8(), nullable=False)]), nullable=False),
    ])
    return pa.table({"id": [1, 2, 3], "l": [[1], [], None], "st": [{"x": "a"}, {"x": ""}, {"x": "c"}]},
                    schema=schema)


# ---------------------------------------------------------------------------
# Empty files
# ---------------------------------------------------------------------------

_EMPTY_SCHEMA = pa.schema([("i", pa.int32()), ("s", pa.utf8()), ("l", pa.list_(pa.int64())),
                           ("v", pa.list_(pa.float32(), 4)), ("st", _INNER_STRUCT)])


def test_a_empty_file(run_lancelet, tmp_path):
    """A 0-row pylance file (schema only) converts to a 0-row IPC file with that schema."""
    table = _EMPTY_SCHEMA.empty_table()
    assert_tables_equal(pylance_to_lancelet(run_lancelet, tmp_path, table), table, normalize_fsl=True)


def test_b_empty_file(run_lancelet, tmp_path, inspect_json):
    """An empty IPC file (schema, no batches) becomes a 0-row Lance file pylance can read."""
    table = _EMPTY_SCHEMA.empty_table()
    result = lancelet_to_pylance(run_lancelet, tmp_path, table)
    assert_tables_equal(result, table, normalize_fsl=True)
    assert LanceFileReader(str(tmp_path / "b.lance")).num_rows() == 0
    assert inspect_json(tmp_path / "b.lance")["num_rows"] == 0


# ---------------------------------------------------------------------------
# Many pages
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big():
    return big_table()


@pytest.fixture(scope="module")
def big_pylance_file(tmp_path_factory, big):
    """The big table written by pylance with a 64 KiB data cache (many pages per column)."""
    path = tmp_path_factory.mktemp("big") / "big.lance"
    pylance_write(path, big, data_cache_bytes=64 * 1024)
    return path


def test_a_many_pages(run_lancelet, tmp_path, big, big_pylance_file):
    """Lancelet reads every page of a multi-page pylance file."""
    pages = [len(c.pages) for c in LanceFileReader(str(big_pylance_file)).metadata().columns]
    assert sum(p >= 10 for p in pages) >= 8, f"pylance file not multi-page enough: {pages}"
    out = tmp_path / "big.arrow"
    run_lancelet("convert", big_pylance_file, out, "--batch-size", "5000")
    assert_tables_equal(read_ipc(out), big)


def test_b_many_pages(run_lancelet, tmp_path, big, inspect_json):
    """A multi-page Lancelet file (64 KiB data cache) reads back exactly in pylance."""
    src, out = tmp_path / "big.arrow", tmp_path / "big.lance"
    write_ipc(src, big)
    run_lancelet("convert", src, out, "--format-version", "2.0", "--data-cache-bytes", 64 * 1024)
    counts = page_counts(inspect_json(out))
    for leaf in ("id", "f", "s", "b", "l", "v", "ll", "st.x", "st.s"):
        leaf_pages = [n for path, n in counts.items() if path == leaf or path.startswith(leaf + ".")]
        assert min(leaf_pages) >= 3, f"column {leaf} has too few pages: {counts}"
    assert_tables_equal(pylance_read(out), big)


def _dictionary_table(rows=40_000):
    """A dictionary column next to a wide vector column, in 4000-row batches (many pages)."""
    d = pa.array(["a", "b", None, "dd"] * (rows // 4)).dictionary_encode()
    v = pa.FixedSizeListArray.from_arrays(pa.array(np.arange(rows * 128, dtype=np.float32)), 128)
    return pa.Table.from_batches(pa.table({"d": d, "v": v}).to_batches(max_chunksize=4000))


def test_a_dictionary_many_pages(run_lancelet, tmp_path):
    """A dictionary column spread over many pylance pages converts to one valid IPC file."""
    table = _dictionary_table()
    result = pylance_to_lancelet(run_lancelet, tmp_path, table, data_cache_bytes=64 * 1024)
    assert len(LanceFileReader(str(tmp_path / "a.lance")).metadata().columns[0].pages) >= 5
    assert_tables_equal(result, table, normalize_fsl=True)


def test_b_dictionary_many_pages(run_lancelet, tmp_path, inspect_json):
    """A dictionary column over several Lancelet pages reads back in pylance (decoded values)."""
    table = _dictionary_table()
    result = lancelet_to_pylance(run_lancelet, tmp_path, table, "--data-cache-bytes", 64 * 1024)
    assert page_counts(inspect_json(tmp_path / "b.lance"))["d"] >= 3
    assert_tables_equal(result, table, normalize_fsl=True)


def test_b_max_page_bytes(run_lancelet, tmp_path, inspect_json):
    """--max-page-bytes splits a column into several pages; pylance still reads it."""
    table = pa.table({"x": pa.array(np.arange(100_000, dtype=np.int64))})
    src, out = tmp_path / "x.arrow", tmp_path / "x.lance"
    write_ipc(src, table)
    run_lancelet("convert", src, out, "--format-version", "2.0", "--max-page-bytes", 64 * 1024)
    info = inspect_json(out)
    sizes = [sum(b[1] for b in p["buffers"]) for p in info["columns"][0]["pages"]]
    assert len(sizes) >= 10 and max(sizes) <= 64 * 1024, sizes
    assert_tables_equal(pylance_read(out), table)


# ---------------------------------------------------------------------------
# Metadata and global buffers
# ---------------------------------------------------------------------------


def _metadata_table():
    inner = pa.struct([pa.field("x", pa.int32(), metadata={"child": "x-meta"}), ("y", pa.utf8())])
    schema = pa.schema(
        [pa.field("a", pa.int32(), metadata={"unit": "m", "empty": ""}),
         pa.field("st", inner, metadata={"kind": "struct"}),
         pa.field("plain", pa.utf8())],
        metadata={"owner": "interop", "unicode": "日本"},
    )
    return pa.table({"a": [1, None], "st": [{"x": 1, "y": "q"}, {"x": None, "y": None}],
                     "plain": ["p", None]}, schema=schema)


def test_a_schema_and_field_metadata(run_lancelet, tmp_path):
    """Schema metadata (from the schema and add_schema_metadata) and field metadata reach the IPC file."""
    table = _metadata_table()
    result = pylance_to_lancelet(run_lancelet, tmp_path, table, schema_metadata={"added": "later"})
    expected = table.replace_schema_metadata({**table.schema.metadata, b"added": b"later"})
    assert_tables_equal(result, expected)


def test_b_schema_and_field_metadata(run_lancelet, tmp_path):
    """IPC schema/field metadata and --schema-metadata reach pylance."""
    table = _metadata_table()
    result = lancelet_to_pylance(run_lancelet, tmp_path, table,
                                 "--schema-metadata", "added=later", "--schema-metadata", "k2=a=b")
    expected = table.replace_schema_metadata(
        {**table.schema.metadata, b"added": b"later", b"k2": b"a=b"})
    assert_tables_equal(result, expected)


_BUFFERS = [b"hello", _blob(100_000, 9), b"\x00\xff" * 3]


def test_a_global_buffers(run_lancelet, tmp_path):
    """Buffers added by pylance come back byte for byte from `lancelet global-buffer`."""
    path = tmp_path / "g.lance"
    indices = pylance_write(path, pa.table({"a": [1, 2, 3]}), global_buffers=_BUFFERS)
    assert indices == [1, 2, 3]
    for index, data in zip(indices, _BUFFERS):
        out = tmp_path / f"g{index}.bin"
        run_lancelet("global-buffer", path, index, "-o", out)
        assert out.read_bytes() == data, f"buffer {index} via -o"
        assert run_lancelet("global-buffer", path, index).stdout == data, f"buffer {index} via stdout"


def test_b_global_buffers(run_lancelet, tmp_path):
    """Buffers added with --add-global-buffer are read back by pylance in order."""
    args = []
    for i, data in enumerate(_BUFFERS):
        p = tmp_path / f"buf{i}.bin"
        p.write_bytes(data)
        args += ["--add-global-buffer", p]
    table = pa.table({"a": [1, 2, 3]})
    result = lancelet_to_pylance(run_lancelet, tmp_path, table, *args)
    assert_tables_equal(result, table)
    reader = LanceFileReader(str(tmp_path / "b.lance"))
    for index, data in enumerate(_BUFFERS, start=1):
        assert reader.read_global_buffer(index) == data, f"buffer {index}"


def test_inspect_agrees_with_pylance_metadata(inspect_json, big_pylance_file):
    """`inspect --json` reports the same rows, columns, pages and buffers as pylance."""
    info = inspect_json(big_pylance_file)
    meta = LanceFileReader(str(big_pylance_file)).metadata()
    assert info["version"] == "2.0"
    assert info["footer_version"] == [meta.major_version, meta.minor_version] == [0, 3]
    assert info["num_rows"] == meta.num_rows == LanceFileReader(str(big_pylance_file)).num_rows()
    assert info["file_size"] == os.path.getsize(big_pylance_file)
    assert len(info["columns"]) == len(meta.columns)
    for ours, theirs in zip(info["columns"], meta.columns):
        assert len(ours["pages"]) == len(theirs.pages), ours["path"]
        for page, their_page in zip(ours["pages"], theirs.pages):
            assert page["buffers"] == [[b.position, b.size] for b in their_page.buffers], ours["path"]
        assert sum(p["num_values"] for p in ours["pages"]) == ours["num_values"]
    assert info["global_buffers"] == [[b.position, b.size] for b in meta.global_buffers]
    assert [f["name"] for f in info["schema"]] == meta.schema.names


# ---------------------------------------------------------------------------
# Selections on pylance-written files (A), compared with pylance's own answers
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_pylance_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("small") / "small.lance"
    table = mixed_table(rows=41)
    pylance_write(path, table)
    return path


@pytest.fixture(params=["small", "big"])
def sel_file(request, small_pylance_file, big_pylance_file):
    return small_pylance_file if request.param == "small" else big_pylance_file


def _convert(run_lancelet, tmp_path, src, *args):
    out = tmp_path / "sel.arrow"
    run_lancelet("convert", src, out, *args)
    return read_ipc(out)


@pytest.mark.parametrize("columns", [
    ["s", "id"], ["st", "f"], ["st.x"], ["l", "st.s", "id"], ["v"],
], ids=lambda c: ",".join(c))
def test_a_select_columns_big(run_lancelet, tmp_path, big_pylance_file, columns):
    """--columns matches LanceFileReader(columns=...) (order, nested children)."""
    expected = pylance_read(big_pylance_file, columns=columns)
    assert expected.num_rows > 0
    result = _convert(run_lancelet, tmp_path, big_pylance_file, "--columns", ",".join(columns))
    assert_tables_equal(result, expected)


@pytest.mark.parametrize("columns", [
    ["utf8", "int8"], ["struct_nested.inner.b", "double"], ["struct_nested.s", "struct_nested.x"],
    ["null_type", "dict_int16_utf8", "fsl_f32_8"],
], ids=lambda c: ",".join(c))
def test_a_select_columns_small(run_lancelet, tmp_path, small_pylance_file, columns):
    """--columns on a file with many types matches LanceFileReader(columns=...)."""
    expected = pylance_read(small_pylance_file, columns=columns)
    result = _convert(run_lancelet, tmp_path, small_pylance_file, "--columns", ",".join(columns))
    assert_tables_equal(result, expected)


def _page_boundary(inspect_json, path):
    """Row index where the second page of the file's first column starts."""
    first_pages = inspect_json(path)["columns"][0]["pages"]
    assert len(first_pages) > 1
    return first_pages[0]["num_values"]


@pytest.mark.parametrize("which", ["start", "middle", "end", "cross_pages", "wide", "empty",
                                   "open_start", "open_end", "all"])
def test_a_range(run_lancelet, tmp_path, sel_file, inspect_json, which):
    """--range START:END matches pylance read_range(START, END - START)."""
    reader = LanceFileReader(str(sel_file))
    n = reader.num_rows()
    bound = _page_boundary(inspect_json, sel_file) if n > 1000 else n // 2
    start, end = {
        "start": (0, 7), "middle": (n // 3, n // 3 + 11), "end": (n - 5, n),
        "cross_pages": (bound - 3, bound + 4), "wide": (1, n - 1), "empty": (n // 2, n // 2),
        "open_start": (None, 9), "open_end": (n - 9, None), "all": (None, None),
    }[which]
    spec = f"{'' if start is None else start}:{'' if end is None else end}"
    lo, hi = start or 0, n if end is None else end
    expected = reader.read_range(lo, hi - lo).to_table()
    assert expected.num_rows == hi - lo
    assert_tables_equal(_convert(run_lancelet, tmp_path, sel_file, "--range", spec), expected)


@pytest.mark.parametrize("which", ["ascending", "unsorted", "repeats", "single", "last", "first"])
def test_a_take(run_lancelet, tmp_path, sel_file, which):
    """--take matches take_rows (ascending) or Table.take of pylance's full read (any order)."""
    reader = LanceFileReader(str(sel_file))
    n = reader.num_rows()
    indices = {
        "ascending": [0, 3, n // 2, n // 2 + 1, n - 2],
        "unsorted": [n - 1, 0, n // 2, 5, n // 3],
        "repeats": [5, 5, 0, n - 1, 5, 0],
        "single": [n // 2 + 3],
        "last": [n - 1],
        "first": [0],
    }[which]
    result = _convert(run_lancelet, tmp_path, sel_file, "--take", ",".join(map(str, indices)))
    if indices == sorted(set(indices)):
        expected = reader.take_rows(indices).to_table()
    else:
        expected = pylance_read(sel_file).take(pa.array(indices))
    assert expected.num_rows == len(indices)
    assert_tables_equal(result, expected)


def test_a_columns_with_take_and_range(run_lancelet, tmp_path, big_pylance_file):
    """--columns combines with --take and with --range."""
    cols = ["st.s", "f"]
    full = pylance_read(big_pylance_file, columns=cols)
    take = [99_000, 7, 7, 60_001]
    result = _convert(run_lancelet, tmp_path, big_pylance_file, "--columns", ",".join(cols),
                      "--take", ",".join(map(str, take)))
    assert_tables_equal(result, full.take(pa.array(take)))
    result = _convert(run_lancelet, tmp_path, big_pylance_file, "--columns", ",".join(cols),
                      "--range", "65000:65100")
    expected = LanceFileReader(str(big_pylance_file), columns=cols).read_range(65000, 100).to_table()
    assert_tables_equal(result, expected)


# ---------------------------------------------------------------------------
# Errors: exit code 1, a message on stderr, no crash
# ---------------------------------------------------------------------------


@pytest.fixture
def small_lance(tmp_path):
    path = tmp_path / "e.lance"
    pylance_write(path, pa.table({"a": [1, 2, 3], "s": ["x", "y", "z"]}))
    return path


def test_error_take_out_of_range(run_lancelet, tmp_path, small_lance):
    run_lancelet("convert", small_lance, tmp_path / "o.arrow", "--take", "0,3", expect_failure=True)


def test_error_unknown_column(run_lancelet, tmp_path, small_lance):
    run_lancelet("convert", small_lance, tmp_path / "o.arrow", "--columns", "a,nope",
                 expect_failure=True)


def test_error_not_a_lance_file(run_lancelet, tmp_path):
    path = tmp_path / "fake.lance"
    write_ipc(path, pa.table({"a": [1, 2, 3]}))
    for cmd in (["convert", path, tmp_path / "o.arrow"], ["inspect", path, "--json"]):
        run_lancelet(*cmd, expect_failure=True)


@pytest.mark.parametrize("keep", ["half", "minus_one_byte", "ten_bytes"])
def test_error_truncated_lance_file(run_lancelet, tmp_path, small_lance, keep):
    data = small_lance.read_bytes()
    cut = {"half": len(data) // 2, "minus_one_byte": len(data) - 1, "ten_bytes": 10}[keep]
    path = tmp_path / "cut.lance"
    path.write_bytes(data[:cut])
    for cmd in (["convert", path, tmp_path / "o.arrow"], ["inspect", path, "--json"]):
        run_lancelet(*cmd, expect_failure=True)


def test_error_range_past_end(run_lancelet, tmp_path, small_lance):
    run_lancelet("convert", small_lance, tmp_path / "o.arrow", "--range", "2:4", expect_failure=True)


def test_error_missing_global_buffer(run_lancelet, small_lance):
    run_lancelet("global-buffer", small_lance, 1, expect_failure=True)


@pytest.mark.parametrize("version", ["2.7", "2.3", "next"])
def test_error_unsupported_format_version(run_lancelet, tmp_path, version):
    """Versions that do not exist or are unstable in pylance 14 are refused by name."""
    src = tmp_path / "v.arrow"
    write_ipc(src, pa.table({"a": [1]}))
    proc = run_lancelet("convert", src, tmp_path / "v.lance", "--format-version", version,
                        expect_failure=True)
    assert version in proc.stderr.decode(), proc.stderr.decode()


# ---------------------------------------------------------------------------
# Self-checks: the comparison really catches the differences it claims to
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("got, want", [
    (pa.array([0.0]), pa.array([-0.0])),
    (pa.array([float("nan")], pa.float32()), pa.array([1.0], pa.float32())),
    (pa.array([1, None]), pa.array([None, 1])),
    (pa.array([[1, 2], []]), pa.array([[1], [2]])),
    (pa.array([[1.0, None]], pa.list_(pa.float32(), 2)), pa.array([[1.0, 0.0]], pa.list_(pa.float32(), 2))),
    (pa.array(["a", "b"]).dictionary_encode(), pa.array(["a", "c"]).dictionary_encode()),
    (pa.array([{"x": 1}]), pa.array([{"x": 2}])),
    (pa.array([1], pa.timestamp("s", "UTC")), pa.array([1], pa.timestamp("s"))),
    (pa.array([b"a"]), pa.array(["a"])),
], ids=str)
def test_comparison_detects_difference(got, want):
    with pytest.raises(AssertionError):
        assert_tables_equal(pa.table({"c": got}), pa.table({"c": want}))


def test_comparison_accepts_equal_nan_and_fsl_normalisation():
    nan = pa.array([float("nan"), -0.0, None])
    assert_tables_equal(pa.table({"c": nan}), pa.table({"c": nan}))
    strict = pa.array([[1.0]], pa.list_(pa.field("v", pa.float32(), nullable=False), 1))
    assert_tables_equal(pa.table({"c": strict.cast(pa.list_(pa.float32(), 1))}), pa.table({"c": strict}),
                        normalize_fsl=True)
    with pytest.raises(AssertionError):
        assert_tables_equal(pa.table({"c": strict.cast(pa.list_(pa.float32(), 1))}), pa.table({"c": strict}))
