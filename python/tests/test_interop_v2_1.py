"""Lance formats 2.1 and 2.2 written by pylance 14.0.2, read by Lancelet (through its CLI).

Direction A only (Lancelet cannot write 2.1+ yet): pylance writes a .lance file ->
`lancelet convert x.lance y.arrow` -> the Arrow IPC file must equal the source table exactly
(bitwise floats, nulls, nested structure, dictionaries as dictionaries).

What pylance 14.0.2 cannot write, and is therefore not tested in that version:
map and fixed_size_list<struct> need 2.2 ("not enabled by the selected file format"); a packed
struct with a variable-width child needs 2.2; 2.1 never writes constant (non-null) pages and
never dictionary-encodes fixed-width values.

Float (NaN, -0.0, +-inf), decimal, temporal-with-time-zone and string edge values (empty, unicode,
1 KiB to 64 KiB) come from the 2.0 CASES (section 1) and from the larger encoding cases (section 3).
"""

import os

import numpy as np
import pyarrow as pa
import pytest
from helpers import assert_tables_equal, pylance_read, pylance_write, read_ipc
from lance.file import LanceFileReader
from test_interop_v2_0 import (
    _BUFFERS,
    _EMPTY_SCHEMA,
    _INNER_STRUCT,
    CASES,
    _blob,
    _dictionary_table,
    _fsl,
    _metadata_table,
    big_table,
    case_table,
    mixed_table,
)

VERSIONS = ["2.1", "2.2"]
FOOTER = {"2.1": [2, 1], "2.2": [2, 2]}


def pylance_to_lancelet(run_lancelet, tmp_path, table, version, *convert_args, **write_kwargs):
    """pylance writes `table` in `version`, Lancelet converts it (with `convert_args`) to IPC."""
    src, out = tmp_path / "a.lance", tmp_path / "a.arrow"
    pylance_write(src, table, version=version, **write_kwargs)
    run_lancelet("convert", src, out, *convert_args)
    return read_ipc(out)


def page_encodings(info):
    """{leaf column path: [page encoding, ...]} from `lancelet inspect --json` output."""
    return {c["path"]: [p["encoding"] for p in c["pages"]] for c in info["columns"]}


def assert_every_page(info, expected):
    """Every page of every column uses an encoding that contains `expected`."""
    encodings = page_encodings(info)
    assert encodings and all(encodings.values()), f"no pages: {encodings}"
    for path, pages in encodings.items():
        assert all(expected in e for e in pages), f"{path}: expected {expected!r} in {pages}"


def with_field_metadata(table, **metadata):
    """`table` (one column) with `lance-encoding:<key>` field metadata on that column."""
    field = table.schema.field(0)
    meta = {f"lance-encoding:{k.replace('_', '-')}": v for k, v in metadata.items()}
    return table.cast(pa.schema([field.with_metadata(meta)]))


# ---------------------------------------------------------------------------
# 1. Every type of the 2.0 matrix
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("version", VERSIONS)
def test_a_type(run_lancelet, tmp_path, version, name):
    """A pylance-written column of each 2.0-matrix type reads back exactly."""
    table = case_table(name)
    result = pylance_to_lancelet(run_lancelet, tmp_path, table, version)
    assert_tables_equal(result, table, normalize_fsl=True)


_DICT_CASES = [name for name in CASES if name.startswith("dict_")]


@pytest.mark.parametrize("name", _DICT_CASES)
@pytest.mark.parametrize("version", VERSIONS)
def test_a_dictionary_is_exact(run_lancelet, tmp_path, version, name):
    """2.1+ keeps an Arrow dictionary as it was: same dictionary values, same indices."""
    table = case_table(name)
    result = pylance_to_lancelet(run_lancelet, tmp_path, table, version)
    got = result.column(name).combine_chunks()
    want = table.column(name).combine_chunks()
    assert got.type == want.type
    assert got.dictionary.to_pylist() == want.dictionary.to_pylist()
    assert got.indices.to_pylist() == want.indices.to_pylist()


@pytest.mark.parametrize("version", VERSIONS)
def test_a_mixed(run_lancelet, tmp_path, version):
    """Many types side by side in one file."""
    table = mixed_table()
    result = pylance_to_lancelet(run_lancelet, tmp_path, table, version)
    assert_tables_equal(result, table, normalize_fsl=True)


# ---------------------------------------------------------------------------
# 2. Data only 2.1+ can hold
# ---------------------------------------------------------------------------

_SX = pa.struct([("x", pa.int32()), ("s", pa.utf8())])


def _fsl_many(dim, rows=3000, seed=11):
    """`rows` vectors with about 10% null vectors and 5% null items (several mini-block chunks)."""
    rng = np.random.default_rng(seed)
    items = pa.array(rng.standard_normal(rows * dim).astype(np.float32), mask=rng.random(rows * dim) < 0.05)
    return pa.FixedSizeListArray.from_arrays(items, dim, mask=pa.array(rng.random(rows) < 0.1))


def _nested_fsl(dims, rows, np_type, seed=14):
    """Fixed-size lists of fixed-size lists (dims outermost first) with nulls at every level."""
    rng = np.random.default_rng(seed)
    count = rows * int(np.prod(dims))
    arr = pa.array(rng.integers(-1000, 1000, count).astype(np_type), mask=rng.random(count) < 0.1)
    for dim in reversed(dims):
        count //= dim
        arr = pa.FixedSizeListArray.from_arrays(arr, dim, mask=pa.array(rng.random(count) < 0.15))
    return arr


def _map_array():
    rng = np.random.default_rng(12)
    rows = [[("a", 1), ("b", None)], None, [], [("c", 3)], [("", -(2**31))], None, []]
    for i in range(300):
        k = int(rng.integers(0, 5))
        rows.append(None if i % 17 == 0 else [(f"k{i}.{j}", None if j == 2 else i * j) for j in range(k)])
    return pa.array(rows, pa.map_(pa.utf8(), pa.int32()))


NESTED_CASES = {
    # name: (builder, versions pylance can write it in)
    "struct_null": (lambda: pa.array(
        [{"x": 1, "s": "a"}, None, {"x": None, "s": None}, {"x": 4, "s": ""}, None], _SX), VERSIONS),
    "struct_nested_null": (lambda: pa.array(
        [{"m": {"i": 1}, "k": "p"}, None, {"m": None, "k": "q"}, {"m": {"i": None}, "k": None}],
        pa.struct([("m", pa.struct([("i", pa.int64())])), ("k", pa.utf8())])), VERSIONS),
    "struct_three_levels": (lambda: pa.array(
        [{"a": {"b": {"c": 1}}}, {"a": {"b": None}}, {"a": None}, None, {"a": {"b": {"c": None}}}],
        pa.struct([("a", pa.struct([("b", pa.struct([("c", pa.float64())]))]))])), VERSIONS),
    "struct_of_list": (lambda: pa.array(
        [{"l": [1, 2]}, None, {"l": None}, {"l": []}, {"l": [None]}],
        pa.struct([("l", pa.list_(pa.int64()))])), VERSIONS),
    "list_struct_null": (lambda: pa.array(
        [[{"x": 1, "s": "p"}, None, {"x": None, "s": None}], None, [], [{"x": 4, "s": "q"}], [None]],
        pa.list_(_SX)), VERSIONS),
    "list_struct_list": (lambda: pa.array(
        [[{"l": [1, 2]}, None, {"l": None}, {"l": []}], None, [], [{"l": [3]}]],
        pa.list_(pa.struct([("l", pa.list_(pa.int64()))]))), VERSIONS),
    "large_list_struct_list_utf8": (lambda: pa.array(
        [[{"l": ["a", None, ""], "k": 1}], [None, {"l": [], "k": None}], None, [],
         [{"l": ["日本", "x" * 300], "k": -1}]],
        pa.large_list(pa.struct([("l", pa.list_(pa.utf8())), ("k", pa.int8())]))), VERSIONS),
    "struct_list_struct_null": (lambda: pa.array(
        [{"l": [{"x": 1, "s": "a"}, None]}, None, {"l": None}, {"l": []}, {"l": [{"x": None, "s": "b"}]}],
        pa.struct([("l", pa.list_(_SX))])), VERSIONS),
    "list_list_struct": (lambda: pa.array(
        [[[{"x": 1, "s": "a"}], None, []], None, [[None, {"x": 2, "s": None}]], []],
        pa.list_(pa.list_(_SX))), VERSIONS),
    **{f"fsl_f32_{n}_nulls": ((lambda n=n: _fsl(n, n)), VERSIONS) for n in (2, 8, 128, 1536)},
    **{f"fsl_f32_{n}_many": ((lambda n=n: _fsl_many(n)), VERSIONS) for n in (2, 8)},
    "list_fsl_nulls": (lambda: pa.array(
        [[[1, None], None], None, [], [[3, 4]]], pa.list_(pa.list_(pa.float64(), 2))), VERSIONS),
    "fsl_fsl_i16": (lambda: _nested_fsl([3, 5], 2000, np.int16), VERSIONS),
    "fsl_fsl_fsl_f32": (lambda: _nested_fsl([2, 3, 4], 500, np.float32), VERSIONS),
    "fsl_fsl_f64_wide": (lambda: _nested_fsl([4, 64], 60, np.float64), VERSIONS),
    "map_utf8_int32": (_map_array, ["2.2"]),
    "list_map": (lambda: pa.array(
        [[[("a", 1)], None, []], None, [], [[("b", None), ("c", 2)]]],
        pa.list_(pa.map_(pa.utf8(), pa.int32()))), ["2.2"]),
}


def test_a_fixed_size_list_of_structs_is_refused_clearly(run_lancelet, tmp_path):
    """Not supported: pylance 14.0.2 writes such pages with Page.length = rows x dimension,
    so their row counts disagree with every other column. Lancelet says so instead of
    guessing."""
    table = pa.table({"f": pa.array(
        [[{"x": 1, "s": "a"}, {"x": None, "s": None}], None, [None, {"x": 4, "s": "z"}]],
        pa.list_(_SX, 2))})
    src = tmp_path / "a.lance"
    pylance_write(src, table, version="2.2")
    proc = run_lancelet("convert", src, tmp_path / "a.arrow", expect_failure=True)
    assert "fixed-size lists of structs" in proc.stderr.decode()


@pytest.mark.parametrize("name,version", [
    (name, v) for name, (_, versions) in NESTED_CASES.items() for v in versions])
def test_a_nested(run_lancelet, tmp_path, version, name):
    """Null structs at any depth, lists of structs of lists, maps, vectors with nulls."""
    table = pa.table({name: NESTED_CASES[name][0]()})
    src, out = tmp_path / "a.lance", tmp_path / "a.arrow"
    pylance_write(src, table, version=version)
    assert_tables_equal(pylance_read(src), table, normalize_fsl=True)  # pylance itself reads it back
    run_lancelet("convert", src, out)
    assert_tables_equal(read_ipc(out), table, normalize_fsl=True)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_string_view_reads_as_utf8(run_lancelet, tmp_path, version):
    """pylance stores string_view as utf8; Lancelet returns utf8 with the same values."""
    view = pa.array(["a", None, "", "日本語", "x" * 100, None], pa.string_view())
    table = pa.table({"v": view})
    result = pylance_to_lancelet(run_lancelet, tmp_path, table, version)
    assert_tables_equal(result, pa.table({"v": view.cast(pa.utf8())}))


# ---------------------------------------------------------------------------
# 3. Every encoding pylance picks: the file really holds it, and the values match
# ---------------------------------------------------------------------------

_N = 5000
_ROWS = np.arange(_N)


def _rng(seed):
    return np.random.default_rng(seed)


def _ints_with_negative_chunk(np_type):
    """Small values, negatives in the second 1024-value chunk only (that chunk packs at full width).

    Many distinct values, so that 2.2 does not dictionary-encode the 64-bit case.
    """
    modulus = {"int8": 100, "int16": 3000}.get(np_type, _N)
    values = np.where((_ROWS >= 1024) & (_ROWS < 2048), -(_ROWS % modulus), _ROWS % modulus)
    return pa.array(values.astype(np_type))


def _floats_with_specials(np_type, seed):
    """Random floats in [0, 1) with NaN, -NaN, -0.0, +-inf, max and tiny values in the first chunk."""
    values = _rng(seed).random(_N).astype(np_type)
    specials = [np.nan, -0.0, np.inf, -np.inf, np.finfo(np_type).max, np.finfo(np_type).tiny,
                np.copysign(np.nan, -1.0), 0.0]
    values[: len(specials)] = np.array(specials, dtype=np_type)
    return pa.array(values)


def _runs(np_type, run, seed):
    values = np.repeat(_rng(seed).integers(-(2**30), 2**30, _N // run + 1), run)[:_N]
    return pa.array(values.astype(np_type))


def _low_card_strings(nulls):
    words = ["alpha", "beta", "", "gämma", "δέλτα"]
    return pa.array([None if nulls and i % 13 == 0 else words[i % 5] for i in range(_N)])


def _unique_strings(type_=pa.utf8()):
    values = [f"user-{i}@example.com" if i % 97 else None for i in range(_N)]
    if type_ in (pa.binary(), pa.large_binary()):
        values = [v.encode() if v is not None else None for v in values]
    return pa.array(values, type_)


def _long_strings(rows, base):
    """Strings of 300+ bytes (full-zip), with nulls and an empty string."""
    return pa.array([None if i % 7 == 3 else "" if i == 5 else f"{base} {i} " * (300 // len(base))
                     for i in range(rows)])


def _vectors(dim, rows, seed):
    values = pa.array(_rng(seed).standard_normal(rows * dim).astype(np.float32))
    return pa.FixedSizeListArray.from_arrays(values, dim, mask=pa.array(_ROWS[:rows] % 11 == 4))


def _long_lists(rows=3000, seed=13):
    """list<int32> with null and empty lists: far more than 1024 rep/def levels per page."""
    rng = _rng(seed)
    return pa.array([None if i % 11 == 0 else [] if i % 13 == 0 else
                     [int(x) if x % 10 else None for x in rng.integers(0, 1000, i % 7 + 1)]
                     for i in range(rows)], pa.list_(pa.int32()))


def _deep_lists(depth, rows=200):
    """`depth` nested lists of unique int32 values, with null and empty lists at every level."""
    counter = iter(range(1, 10**6))

    def make(level, i):
        if level == 0:
            n = next(counter)
            return None if n % 5 == 0 else n * 7919
        if (i + level) % 7 == 0:
            return None
        return [] if (i + level) % 6 == 0 else [make(level - 1, i + j) for j in range(2)]

    type_ = pa.int32()
    for _ in range(depth):
        type_ = pa.list_(type_)
    return pa.array([make(depth, i) for i in range(rows)], type_)


def _all_null_table():
    rows = 300
    return pa.table({
        "i": pa.nulls(rows, pa.int32()),
        "f": pa.nulls(rows, pa.float64()),
        "s": pa.nulls(rows, pa.utf8()),
        "b": pa.nulls(rows, pa.large_binary()),
        "l": pa.nulls(rows, pa.list_(pa.int64())),
        "st": pa.nulls(rows, _INNER_STRUCT),
        "v": pa.nulls(rows, pa.list_(pa.float32(), 4)),
        "ls": pa.array([None, [], None] * (rows // 3), pa.list_(pa.utf8())),
        "sl": pa.array([{"x": None}, None] * (rows // 2), pa.struct([("x", pa.list_(pa.int8()))])),
        "n": pa.nulls(rows),
    })


def _one(arr):
    return pa.table({"c": arr})


_PACKED = pa.struct([("a", pa.int32()), ("b", pa.float64()), ("c", pa.uint8())])
_PACKED_VAR = pa.struct([("a", pa.int32()), ("s", pa.utf8())])

ENCODING_CASES = {
    # name: (table builder, {version: substring every page's `inspect` encoding must contain})
    **{f"bitpack_{t}": ((lambda t=t: _one(_ints_with_negative_chunk(t))),
                        dict.fromkeys(VERSIONS, f"values=inline_bitpacking({np.dtype(t).itemsize * 8})"))
       for t in ("int8", "int16", "int32", "int64")},
    "bitpack_uint16_0_1000": (lambda: _one(pa.array((_ROWS % 1000).astype(np.uint16))),
                              dict.fromkeys(VERSIONS, "values=inline_bitpacking(16)")),
    "bitpack_float32": (lambda: _one(_floats_with_specials(np.float32, 1)),
                        dict.fromkeys(VERSIONS, "values=inline_bitpacking(32)")),
    "bitpack_float64": (lambda: _one(_floats_with_specials(np.float64, 2)),
                        dict.fromkeys(VERSIONS, "values=inline_bitpacking(64)")),
    "bitpack_timestamp_tz": (lambda: _one(pa.array(1_700_000_000_000_000 + _rng(3).integers(0, 10**9, _N),
                                                   pa.timestamp("us", "America/New_York"))),
                             dict.fromkeys(VERSIONS, "values=inline_bitpacking(64)")),
    "bitpack_with_nulls": (lambda: _one(pa.array((_ROWS % 1000).astype(np.int32), mask=_ROWS % 9 == 0)),
                           dict.fromkeys(VERSIONS, "values=inline_bitpacking(32)")),
    "flat_random_int64": (lambda: _one(pa.array(_rng(4).integers(-(2**63), 2**63 - 1, _N, dtype=np.int64))),
                          dict.fromkeys(VERSIONS, "values=flat(64)")),
    "flat_random_uint64": (lambda: _one(pa.array(_rng(5).integers(0, 2**64 - 1, _N, dtype=np.uint64))),
                           dict.fromkeys(VERSIONS, "values=flat(64)")),
    "flat_float16": (lambda: _one(pa.array(_rng(6).standard_normal(_N).astype(np.float16))),
                     dict.fromkeys(VERSIONS, "values=flat(16)")),
    "flat_bool_nulls": (lambda: _one(pa.array(_rng(7).random(_N) < 0.5, mask=_ROWS % 10 == 1)),
                        dict.fromkeys(VERSIONS, "values=flat(1)")),
    "flat_decimal128": (lambda: _one(pa.array(_rng(8).integers(-(10**12), 10**12, _N)).cast(pa.decimal128(22, 2))),
                        dict.fromkeys(VERSIONS, "values=flat(128)")),
    "flat_decimal256": (lambda: _one(pa.array(_rng(9).integers(-(10**12), 10**12, _N)).cast(pa.decimal256(50, 0))),
                        dict.fromkeys(VERSIONS, "values=flat(256)")),
    "rle_int32_runs": (lambda: _one(_runs(np.int32, 100, 10)),
                       dict.fromkeys(VERSIONS, "values=rle(flat(32), flat(8))")),
    # (2.2 would dictionary-encode these few distinct 64-bit values; a huge divisor prevents it.)
    "rle_int64_runs_over_255": (lambda: with_field_metadata(_one(_runs(np.int64, 700, 11)), dict_divisor="100000"),
                                dict.fromkeys(VERSIONS, "values=rle(flat(64), flat(8))")),
    # 2.1 writes a constant column as RLE; 2.2 as a constant page with the value inline.
    "constant_int32": (lambda: _one(pa.array([42] * _N, pa.int32())),
                       {"2.1": "values=rle(flat(32), flat(8))", "2.2": "constant(4 bytes)"}),
    "constant_int32_with_nulls": (lambda: _one(pa.array([-7] * _N, pa.int32(), mask=_ROWS % 3 == 0)),
                                  {"2.1": "mini_block(", "2.2": "constant(4 bytes)"}),
    "constant_float64_nan": (lambda: _one(pa.array([np.nan] * 300)),
                             {"2.1": "mini_block(", "2.2": "constant(8 bytes)"}),
    "constant_list_int32": (lambda: _one(pa.array([[7, 7], None, [], [7]] * 100, pa.list_(pa.int32()))),
                            {"2.1": "mini_block(", "2.2": "constant(4 bytes)"}),
    "all_null_pages": (_all_null_table, dict.fromkeys(VERSIONS, "all_null")),
    "dictionary_strings": (lambda: _one(_low_card_strings(nulls=False)),
                           {"2.1": "dictionary=variable(flat(32))(5)",
                            "2.2": "dictionary=general(lz4, variable(flat(32)))(5)"}),
    "dictionary_strings_nulls": (lambda: _one(_low_card_strings(nulls=True)),
                                 {"2.1": "dictionary=variable(flat(32))",
                                  "2.2": "dictionary=general(lz4, variable(flat(32)))"}),
    "dictionary_values_zstd": (lambda: with_field_metadata(_one(_low_card_strings(nulls=True)),
                                                           dict_values_compression="zstd"),
                               {"2.1": "dictionary=variable(flat(32))",
                                "2.2": "dictionary=general(zstd, variable(flat(32)))"}),
    # 2.1 does not dictionary-encode fixed-width values.
    "dictionary_int64": (lambda: _one(pa.array(_rng(14).integers(0, 50, _N) * 1_000_000_007)),
                         {"2.2": "dictionary=general(lz4, flat(64))(50)"}),
    "dictionary_int64_rle_indices": (lambda: _one(_runs(np.int64, 700, 11)), {
        "2.2": "values=rle(flat(32), flat(8)), dictionary=general(lz4, flat(64))(8)"}),
    "dictionary_float64": (lambda: _one(pa.array(_rng(15).integers(0, 50, _N) * 0.1,
                                                 mask=_ROWS % 100 == 0)),
                           {"2.2": "dictionary=general(lz4, flat(64))"}),
    "dictionary_decimal128": (lambda: _one(pa.array(_rng(16).integers(0, 50, _N), pa.int16(),
                                                     mask=_ROWS % 50 == 7).cast(pa.decimal128(15, 2))),
                              {"2.2": "dictionary=general(lz4, flat(128))"}),
    "dictionary_arrow_input": (lambda: _one(pa.DictionaryArray.from_arrays(
        pa.array(_ROWS % 4, pa.int32(), mask=_ROWS % 10 == 3), pa.array(["red", "green", "", "blüe"]))),
        {"2.1": "dictionary=variable(flat(32))(4)",
         "2.2": "dictionary=general(lz4, variable(flat(32)))(4)"}),
    "fsst_utf8": (lambda: _one(_unique_strings()), dict.fromkeys(VERSIONS, "values=fsst(variable(flat(32)))")),
    "fsst_large_utf8": (lambda: _one(_unique_strings(pa.large_utf8())),
                        dict.fromkeys(VERSIONS, "values=fsst(variable(flat(64)))")),
    # < 32 KiB: the FSST "raw copy" mode (encoder switch off), only reachable by asking for fsst.
    "fsst_raw_copy_mode": (lambda: with_field_metadata(
        _one(pa.array([f"u{i}" if i % 5 else None for i in range(200)] + ["", "ü" * 20])), compression="fsst"),
        dict.fromkeys(VERSIONS, "values=fsst(variable(flat(32)))")),
    "variable_binary": (lambda: _one(_unique_strings(pa.binary())),
                        dict.fromkeys(VERSIONS, "mini_block(values=variable(flat(32)),")),
    "full_zip_long_strings": (lambda: _one(_long_strings(40, "lorem")),
                              dict.fromkeys(VERSIONS, "full_zip(values=variable(flat(32)))")),
    "full_zip_fsst_long_strings": (lambda: _one(_long_strings(2000, "ipsum dolor")),
                                   dict.fromkeys(VERSIONS, "full_zip(values=fsst(variable(flat(32))))")),
    "full_zip_zstd_binary_40k": (lambda: _one(pa.array(
        [_blob(40 * 1024, i) if i % 3 else None for i in range(12)] + [b""], pa.binary())),
        dict.fromkeys(VERSIONS, "full_zip(values=general(zstd, variable(flat(32))))")),
    "full_zip_zstd_large_binary_40k": (lambda: _one(pa.array(
        [_blob(40 * 1024, i) if i % 3 else None for i in range(12)] + [b""], pa.large_binary())),
        dict.fromkeys(VERSIONS, "full_zip(values=general(zstd, variable(flat(64))))")),
    "full_zip_vectors_128": (lambda: _one(_vectors(128, 500, 16)),
                             dict.fromkeys(VERSIONS, "full_zip(values=fixed_size_list(128, flat(32)))")),
    "full_zip_list_large_binary": (lambda: _one(pa.array(
        [[_blob(300, i), None, b""] if i % 4 else ([] if i % 8 else None) for i in range(40)],
        pa.list_(pa.large_binary()))), dict.fromkeys(VERSIONS, "full_zip(values=variable(flat(64)))")),
    "mini_block_vectors_2": (lambda: _one(_vectors(2, _N, 17)),
                             dict.fromkeys(VERSIONS, "mini_block(values=fixed_size_list(2, flat(32))")),
    "bss_zstd_float32": (lambda: with_field_metadata(_one(_floats_with_specials(np.float32, 18)),
                                                     compression="zstd", bss="on"),
                         dict.fromkeys(VERSIONS, "values=general(zstd, byte_stream_split(flat(32)))")),
    "bss_lz4_float64": (lambda: with_field_metadata(_one(pa.array(np.cumsum(_rng(19).random(_N)))),
                                                    compression="lz4", bss="on"),
                        dict.fromkeys(VERSIONS, "values=general(lz4, byte_stream_split(flat(64)))")),
    "bss_zstd_int32_auto": (lambda: with_field_metadata(_one(pa.array((_ROWS % 1000).astype(np.int32))),
                                                        compression="zstd"),
                            dict.fromkeys(VERSIONS, "values=general(zstd, byte_stream_split(flat(32)))")),
    "bss_small_page_unwrapped": (lambda: with_field_metadata(_one(pa.array(
        _rng(20).integers(-(2**31), 2**31 - 1, _N).astype(np.int32))), compression="zstd", bss="on"),
        dict.fromkeys(VERSIONS, "values=byte_stream_split(flat(32))")),
    "general_zstd_bitpacking": (lambda: with_field_metadata(_one(_floats_with_specials(np.float32, 21)),
                                                            compression="zstd"),
                                dict.fromkeys(VERSIONS, "values=general(zstd, inline_bitpacking(32))")),
    "general_zstd_strings": (lambda: with_field_metadata(_one(pa.array(
        [f"row {i} " + "abc" * (i % 7) if i % 11 else None for i in range(_N)])), compression="zstd"),
        dict.fromkeys(VERSIONS, "values=general(zstd, variable(flat(32)))")),
    "general_lz4_strings": (lambda: with_field_metadata(_one(pa.array(
        [f"row {i} " + "abc" * (i % 7) for i in range(_N)], pa.large_utf8())), compression="lz4"),
        dict.fromkeys(VERSIONS, "values=general(lz4, variable(flat(64)))")),
    "out_of_line_rep_def": (lambda: _one(_long_lists()),
                            dict.fromkeys(VERSIONS, "rep=out_of_line_bitpacking(flat(1)), "
                                                    "def=out_of_line_bitpacking(flat(2))")),
    "def_levels_rare_nulls": (lambda: _one(pa.array(_ROWS.astype(np.int32), mask=_ROWS % 1000 == 0)),
                              {"2.1": "def=out_of_line_bitpacking(flat(1))", "2.2": "def=rle(flat(16), flat(8))"}),
    "def_levels_inline": (lambda: _one(pa.array(_ROWS[:700].astype(np.int64), mask=_ROWS[:700] % 7 == 0)),
                          dict.fromkeys(VERSIONS, "def=inline_bitpacking(16)")),
    "forced_miniblock_long_strings": (lambda: with_field_metadata(
        _one(_long_strings(60, "forced")), structural_encoding="miniblock"),
        dict.fromkeys(VERSIONS, "mini_block(values=variable(flat(32))")),
    "forced_fullzip_ints": (lambda: with_field_metadata(
        _one(pa.array(np.where(_ROWS[:300] % 3 == 0, None, _ROWS[:300]), pa.int32())),
        structural_encoding="fullzip"),
        dict.fromkeys(VERSIONS, "full_zip(values=flat(32))")),
    "forced_fullzip_list": (lambda: with_field_metadata(
        _one(pa.array([[i] * (i % 4) if i % 5 else None for i in range(300)], pa.list_(pa.int32()))),
        structural_encoding="fullzip"), dict.fromkeys(VERSIONS, "full_zip(values=flat(32))")),
    "forced_fullzip_strings": (lambda: with_field_metadata(
        _one(pa.array([None if i % 4 == 0 else "" if i == 1 else f"日本{i}" for i in range(200)])),
        structural_encoding="fullzip"),
        dict.fromkeys(VERSIONS, "full_zip(values=variable(flat(32)))")),
    "full_zip_deep_lists_2_byte_control_words": (lambda: with_field_metadata(
        _one(_deep_lists(8)), structural_encoding="fullzip"), dict.fromkeys(VERSIONS, "full_zip(values=flat(32))")),
    "full_zip_list_of_vectors": (lambda: _one(pa.array(
        [[_fsl(128, 1)[0].as_py(), None], None, [], [_fsl(128, 1)[3].as_py()]] * 20,
        pa.list_(pa.list_(pa.float32(), 128)))),
        dict.fromkeys(VERSIONS, "full_zip(values=fixed_size_list(128, flat(32)))")),
    "fsl_nested_item_validity": (lambda: _one(pa.array(
        [[[1.0, None], None], None, [[2.0, 3.0], [4.0, -0.0]]] * 50, pa.list_(pa.list_(pa.float32(), 2), 2))),
        dict.fromkeys(VERSIONS, "values=fixed_size_list(2, fixed_size_list(2, flat(32))), def=")),
    "fsl_null_items_only": (lambda: _one(pa.array([[1.0, None], [2.0, 3.0]] * 100, pa.list_(pa.float32(), 2))),
                            dict.fromkeys(VERSIONS, "mini_block(values=fixed_size_list(2, flat(32)))")),
    "flat_fixed_size_binary_40": (lambda: _one(pa.array(
        [bytes([i % 256]) * 40 if i % 3 else None for i in range(300)], pa.binary(40))),
        dict.fromkeys(VERSIONS, "values=flat(320)")),
    "constant_bool": (lambda: _one(pa.array([True] * 300)),
                      {"2.1": "values=flat(1)", "2.2": "constant(1 bytes)"}),
    "constant_decimal128": (lambda: _one(pa.array([12345] * 300).cast(pa.decimal128(22, 2))),
                            {"2.1": "mini_block(", "2.2": "constant(16 bytes)"}),
    "packed_struct": (lambda: with_field_metadata(_one(pa.array(
        [{"a": i, "b": i / 4, "c": i % 256} if i % 5 else None for i in range(300)], _PACKED)), packed="true"),
        dict.fromkeys(VERSIONS, "packed_struct(")),
    "packed_struct_in_list": (lambda: pa.table({"c": pa.array(
        [[{"a": i, "b": -i / 8, "c": 1}] * (i % 3) if i % 7 else None for i in range(300)],
        pa.list_(pa.field("item", _PACKED, metadata={"lance-encoding:packed": "true"})))}),
        dict.fromkeys(VERSIONS, "packed_struct(")),
    # A packed struct with a variable-width child needs 2.2.
    "packed_struct_variable": (lambda: with_field_metadata(_one(pa.array(
        [{"a": i, "s": "x" * (i % 5)} for i in range(200)], _PACKED_VAR)), packed="true"),
        {"2.2": "full_zip(values=variable_packed_struct"}),
}


@pytest.mark.parametrize("name,version", [
    (name, v) for name, (_, expected) in ENCODING_CASES.items() for v in expected])
def test_a_encoding(run_lancelet, inspect_json, tmp_path, name, version):
    """The values of each encoding read back exactly, and the file really uses that encoding."""
    build, expected = ENCODING_CASES[name]
    table = build()
    result = pylance_to_lancelet(run_lancelet, tmp_path, table, version)
    assert_tables_equal(result, table, normalize_fsl=True)
    assert_every_page(inspect_json(tmp_path / "a.lance"), expected[version])


@pytest.mark.parametrize("name,version", [
    (name, v) for name, (_, expected) in ENCODING_CASES.items() for v in expected])
def test_a_encoding_random_access(run_lancelet, tmp_path, name, version):
    """A range in the middle and an unsorted take with repeats, on each encoding."""
    table = ENCODING_CASES[name][0]()
    n = table.num_rows
    src = tmp_path / "a.lance"
    pylance_write(src, table, version=version)
    start, end = n // 3, n // 3 + max(1, n // 4)
    out = tmp_path / "r.arrow"
    run_lancelet("convert", src, out, "--range", f"{start}:{end}")
    assert_tables_equal(read_ipc(out), table.slice(start, end - start), normalize_fsl=True)
    indices = [n - 1, 0, n // 2, n // 2, 1, n - 1, n // 5 + 1]
    run_lancelet("convert", src, out, "--take", ",".join(map(str, indices)))
    assert_tables_equal(read_ipc(out), table.take(pa.array(indices)), normalize_fsl=True)


def _constant_string_table():
    return pa.table({"s": pa.array(["hello wörld"] * 2000 + [None] * 3),
                     "b": pa.array([b"\x00\xff"] * 2003, pa.large_binary()),
                     "fsb33": pa.array([b"\x01" * 33] * 2003, pa.binary(33))})


def test_a_constant_string_page(run_lancelet, tmp_path):
    """2.2 stores a column of one repeated string (or a value wider than 32 bytes) as a constant
    page whose value sits in a scalar buffer (no inline value)."""
    table = _constant_string_table()
    result = pylance_to_lancelet(run_lancelet, tmp_path, table, "2.2")
    assert_tables_equal(result, table)
    for column in LanceFileReader(str(tmp_path / "a.lance")).metadata().columns:
        (page,) = column.pages
        assert "ConstantLayout" in page.encoding and "inline_value: None" in page.encoding
        assert page.buffers and page.buffers[0].size > 0  # the scalar buffer


@pytest.mark.parametrize("version", VERSIONS)
def test_a_fsst_switch(run_lancelet, tmp_path, version):
    """FSST with the encoder switch off (raw copy, < 32 KiB requested as fsst) and on (large)."""
    for name, small in (("fsst_raw_copy_mode", True), ("fsst_utf8", False)):
        table = ENCODING_CASES[name][0]()
        result = pylance_to_lancelet(run_lancelet, tmp_path, table, version)
        assert_tables_equal(result, table)
        (page,) = LanceFileReader(str(tmp_path / "a.lance")).metadata().columns[0].pages
        raw_header = 'symbol_table: b"\\0\\0\\0\\0TSSF'  # u64 header with every field 0
        assert "Fsst" in page.encoding and (raw_header in page.encoding) == small, page.encoding[:400]


def test_inspect_describes_constant_string_page(tmp_path, inspect_json):
    """`inspect` must not call a constant page that holds a (string) value "all_null"."""
    path = tmp_path / "c.lance"
    pylance_write(path, _constant_string_table(), version="2.2")
    for path_, pages in page_encodings(inspect_json(path)).items():
        assert all(e.startswith("constant") for e in pages), f"{path_}: {pages}"


# ---------------------------------------------------------------------------
# 5. Empty files, many pages, list pages split by level count
# ---------------------------------------------------------------------------

_EMPTY_NESTED = pa.schema([*_EMPTY_SCHEMA, ("ls", pa.list_(_SX)),
                           ("lsl", pa.list_(pa.struct([("l", pa.list_(pa.utf8()))]))),
                           ("d", pa.dictionary(pa.int32(), pa.utf8()))])


@pytest.mark.parametrize("version", VERSIONS)
def test_a_empty_file(run_lancelet, tmp_path, inspect_json, version):
    """A 0-row file (schema only, nested fields included) converts to a 0-row IPC file."""
    schema = _EMPTY_NESTED
    if version == "2.2":
        schema = schema.append(pa.field("m", pa.map_(pa.utf8(), pa.int32())))
    table = schema.empty_table()
    assert_tables_equal(pylance_to_lancelet(run_lancelet, tmp_path, table, version), table, normalize_fsl=True)
    info = inspect_json(tmp_path / "a.lance")
    assert info["num_rows"] == 0 and all(not c["pages"] for c in info["columns"])


@pytest.fixture(scope="module", params=VERSIONS)
def big_file(request, tmp_path_factory):
    """A 40k-row table (primitive, string, list, nested, vector columns) in 4000-row batches,
    written with a 64 KiB data cache: every column has many pages."""
    version = request.param
    table = big_table(rows=40_000, seed=1, chunk=4000)
    path = tmp_path_factory.mktemp(f"big{version}") / "big.lance"
    pylance_write(path, table, version=version, data_cache_bytes=64 * 1024)
    return path, table, version


def test_a_many_pages(run_lancelet, tmp_path, inspect_json, big_file):
    """Lancelet reads every page of a multi-page 2.1/2.2 file."""
    path, table, _ = big_file
    pages = {c["path"]: len(c["pages"]) for c in inspect_json(path)["columns"]}
    assert min(pages.values()) >= 3 and sorted(pages.values())[1] >= 10, pages
    out = tmp_path / "big.arrow"
    run_lancelet("convert", path, out, "--batch-size", "3000")
    assert_tables_equal(read_ipc(out), table, normalize_fsl=True)


@pytest.mark.parametrize("empty_at", [0, 30_000, 71_999])
@pytest.mark.parametrize("version", VERSIONS)
def test_a_list_pages_split_by_levels(run_lancelet, tmp_path, inspect_json, version, empty_at):
    """pylance splits a list page holding a null/empty list at ~65k levels; rows stay whole."""
    rows = 72_000
    offsets = np.concatenate([[0], np.cumsum(np.where(np.arange(rows) == empty_at, 0, 1))]).astype(np.int32)
    values = pa.array((np.arange(offsets[-1]) % 1000).astype(np.int64))
    lists = pa.ListArray.from_arrays(pa.array(offsets), values,
                                     mask=pa.array(np.arange(rows) == empty_at + 1))
    table = pa.table({"l": lists, "i": pa.array(np.arange(rows, dtype=np.int32))})
    result = pylance_to_lancelet(run_lancelet, tmp_path, table, version)
    list_pages = inspect_json(tmp_path / "a.lance")["columns"][0]["pages"]
    assert len(list_pages) >= 2, list_pages
    assert_tables_equal(result, table)


def _page_kinds_table(rows=4000, seed=3):
    """Six batches whose pages get different layouts in the same column: constant, all-null,
    flat, RLE, bit-packed with nulls, dictionary, FSST, full-zip, lists with null items..."""
    rng = _rng(seed)
    r = np.arange(rows)
    ints = [pa.array([42] * rows, pa.int32()), pa.nulls(rows, pa.int32()),
            pa.array(rng.integers(-(2**31), 2**31 - 1, rows).astype(np.int32)),
            pa.array(np.repeat(np.arange(rows // 100), 100).astype(np.int32)),
            pa.array(r % 100, pa.int32(), mask=r % 5 == 0), pa.array([7] * rows, pa.int32(), mask=r % 2 == 0)]
    strings = [pa.array(["x"] * rows), pa.nulls(rows, pa.utf8()), pa.array(["a", "b", "c", "d"] * (rows // 4)),
               pa.array([f"user{i}@example.com" for i in r]), pa.array([f"L{i}" * 100 for i in r]),
               pa.array(["y"] * rows, mask=r % 3 == 0)]
    lists = [pa.array([[1, 2]] * rows, pa.list_(pa.int32())), pa.nulls(rows, pa.list_(pa.int32())),
             pa.array([[int(i), None] if i % 3 else [] for i in r], pa.list_(pa.int32())),
             pa.array([[None]] * rows, pa.list_(pa.int32())),
             pa.array([[1] * (i % 5) for i in r], pa.list_(pa.int32())),
             pa.array([None, []] * (rows // 2), pa.list_(pa.int32()))]
    batches = [pa.record_batch([i, s, l], names=["i", "s", "l"]) for i, s, l in zip(ints, strings, lists)]
    return pa.Table.from_batches(batches)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_page_kinds_in_one_column(run_lancelet, tmp_path, inspect_json, version):
    """Constant, all-null, mini-block and full-zip pages follow each other in one column."""
    table = _page_kinds_table()
    src = tmp_path / "k.lance"
    pylance_write(src, table, version=version, data_cache_bytes=1024)
    encodings = page_encodings(inspect_json(src))
    assert len(set(encodings["i"])) >= 4 and len(set(encodings["s"])) >= 4, encodings
    assert any(e.startswith("full_zip") for e in encodings["s"]), encodings
    assert "all_null" in encodings["l.item"], encodings
    out = tmp_path / "k.arrow"
    run_lancelet("convert", src, out)
    assert_tables_equal(read_ipc(out), table)
    for start, end in [(3990, 12010), (7999, 8001), (19_999, 24_000)]:
        run_lancelet("convert", src, out, "--range", f"{start}:{end}")
        assert_tables_equal(read_ipc(out), table.slice(start, end - start))
    indices = [23_999, 0, 4000, 3999, 8000, 12_001, 16_002, 20_003, 4000]
    run_lancelet("convert", src, out, "--take", ",".join(map(str, indices)))
    assert_tables_equal(read_ipc(out), table.take(pa.array(indices)))


@pytest.mark.parametrize("version", VERSIONS)
def test_a_dictionary_many_pages(run_lancelet, tmp_path, version):
    """An Arrow dictionary column over many pages comes back with the same dictionary."""
    table = _dictionary_table()
    result = pylance_to_lancelet(run_lancelet, tmp_path, table, version, data_cache_bytes=64 * 1024)
    assert len(LanceFileReader(str(tmp_path / "a.lance")).metadata().columns[0].pages) >= 5
    assert_tables_equal(result, table, normalize_fsl=True)
    for chunk in result.column("d").chunks:
        assert chunk.dictionary.to_pylist() == table.column("d").chunk(0).dictionary.to_pylist()
    assert result.column("d").equals(table.column("d"))


# ---------------------------------------------------------------------------
# 6. Selections on a multi-page file, compared with pylance's own answers
# ---------------------------------------------------------------------------


def _selection_table(rows=24_000, chunk=4000, seed=2):
    """ints, strings, long strings, lists, long lists (~3000 values every 500th row), structs
    with null struct values, nested lists and vectors."""
    rng = _rng(seed)
    base = big_table(rows=rows, seed=seed, chunk=rows)
    mask = rng.random(rows) < 0.1
    st = pa.StructArray.from_arrays(
        [pa.array(np.arange(rows, dtype=np.int32), mask=np.roll(mask, 3)), base.column("s").combine_chunks(),
         pa.array(rng.random(rows), mask=np.roll(mask, 4))],
        names=["x", "s", "f"], mask=pa.array(np.roll(mask, 6)))
    long_lens = np.where(np.arange(rows) % 500 == 7, 2900 + np.arange(rows) % 200, rng.integers(0, 4, rows))
    long_offsets = np.concatenate([[0], np.cumsum(long_lens)]).astype(np.int32)
    long_lists = pa.ListArray.from_arrays(
        pa.array(long_offsets), pa.array(rng.integers(0, 10**6, long_offsets[-1]).astype(np.int32)),
        mask=pa.array(np.roll(mask, 8)))
    text = pa.array([None if m else f"{i:06d} " + "t" * 300 for i, m in enumerate(np.roll(mask, 9))])
    table = pa.table({
        "id": base.column("id"), "s": base.column("s"), "l": base.column("l"), "st": st,
        "v": base.column("v"), "ll": base.column("ll"), "long": long_lists, "text": text,
        "f": base.column("f"),
    })
    return pa.Table.from_batches(table.to_batches(max_chunksize=chunk))


@pytest.fixture(scope="module", params=VERSIONS)
def sel_file(request, tmp_path_factory):
    version = request.param
    path = tmp_path_factory.mktemp(f"sel{version}") / "sel.lance"
    pylance_write(path, _selection_table(), version=version, data_cache_bytes=64 * 1024)
    return path


def _convert(run_lancelet, tmp_path, src, *args):
    out = tmp_path / "sel.arrow"
    run_lancelet("convert", src, out, *args)
    return read_ipc(out)


def test_a_selection_file_is_multi_page(inspect_json, sel_file):
    info = inspect_json(sel_file)
    pages = {c["path"]: len(c["pages"]) for c in info["columns"]}
    assert min(pages.values()) >= 3, pages
    # 1024 values per chunk: a row of ~3000 values spans at least three chunks
    assert all("values=inline_bitpacking(32)" in e for e in page_encodings(info)["long.item"])


def test_a_selection_file_whole(run_lancelet, tmp_path, sel_file):
    assert_tables_equal(_convert(run_lancelet, tmp_path, sel_file), pylance_read(sel_file))


@pytest.mark.parametrize("columns", [
    ["s", "id"], ["st"], ["st.x"], ["st.f", "st.s"], ["long", "st.x", "v"], ["text", "ll"],
    ["f", "l", "id", "s"],
], ids=lambda c: ",".join(c))
def test_a_select_columns(run_lancelet, tmp_path, sel_file, columns):
    """--columns matches LanceFileReader(columns=...) (subsets, nested children, order)."""
    expected = pylance_read(sel_file, columns=columns)
    result = _convert(run_lancelet, tmp_path, sel_file, "--columns", ",".join(columns))
    assert_tables_equal(result, expected)


def _page_starts(inspect_json, path, column):
    """Top-level row numbers where the pages of `column` start."""
    info = inspect_json(path)
    (col,) = [c for c in info["columns"] if c["path"] == column]
    return np.cumsum([0] + [p["num_values"] for p in col["pages"]])[:-1].tolist()


@pytest.mark.parametrize("which", ["start", "middle", "cross_pages", "cross_long_rows", "end",
                                   "empty", "open_start", "open_end", "all"])
def test_a_range(run_lancelet, tmp_path, inspect_json, sel_file, which):
    """--range START:END matches pylance read_range(START, END - START)."""
    reader = LanceFileReader(str(sel_file))
    n = reader.num_rows()
    bound = _page_starts(inspect_json, sel_file, "id")[2]
    assert 0 < bound < n
    start, end = {
        "start": (0, 9), "middle": (n // 3, n // 3 + 500), "cross_pages": (bound - 5, bound + 6),
        "cross_long_rows": (5_000, 6_600), "end": (n - 5, n), "empty": (n // 2, n // 2),
        "open_start": (None, 13), "open_end": (n - 1200, None), "all": (None, None),
    }[which]
    spec = f"{'' if start is None else start}:{'' if end is None else end}"
    lo, hi = start or 0, n if end is None else end
    expected = reader.read_range(lo, hi - lo).to_table()
    assert expected.num_rows == hi - lo
    assert_tables_equal(_convert(run_lancelet, tmp_path, sel_file, "--range", spec), expected)


@pytest.mark.parametrize("which", ["ascending", "unsorted_repeats", "first", "last", "long_rows",
                                   "around_long_rows", "page_edges"])
def test_a_take(run_lancelet, tmp_path, inspect_json, sel_file, which):
    """--take matches take_rows (ascending) or Table.take of pylance's full read (any order)."""
    reader = LanceFileReader(str(sel_file))
    n = reader.num_rows()
    starts = _page_starts(inspect_json, sel_file, "long.item")
    assert len(starts) >= 3
    indices = {
        "ascending": [0, 3, 4, 1000, n // 2, n // 2 + 1, n - 2],
        "unsorted_repeats": [n - 1, 0, 507, n // 2, 5, 507, n // 3, 0, n - 1],
        "first": [0],
        "last": [n - 1],
        "long_rows": [7, 507, 1007, 12_007, n - 493],
        "around_long_rows": [506, 507, 508, 3006, 3007, 3008],
        "page_edges": sorted({s + d for s in starts[1:] for d in (-1, 0)}),
    }[which]
    result = _convert(run_lancelet, tmp_path, sel_file, "--take", ",".join(map(str, indices)))
    if indices == sorted(set(indices)):
        expected = reader.take_rows(indices).to_table()
    else:
        expected = pylance_read(sel_file).take(pa.array(indices))
    assert expected.num_rows == len(indices)
    assert_tables_equal(result, expected)


def test_a_columns_with_take_and_range(run_lancelet, tmp_path, sel_file):
    """--columns combines with --take and with --range."""
    cols = ["long", "st.s"]
    full = pylance_read(sel_file, columns=cols)
    take = [12_007, 3, 3, 507, 23_999]
    result = _convert(run_lancelet, tmp_path, sel_file, "--columns", ",".join(cols),
                      "--take", ",".join(map(str, take)))
    assert_tables_equal(result, full.take(pa.array(take)))
    result = _convert(run_lancelet, tmp_path, sel_file, "--columns", ",".join(cols), "--range", "4990:5020")
    expected = LanceFileReader(str(sel_file), columns=cols).read_range(4990, 30).to_table()
    assert_tables_equal(result, expected)


# ---------------------------------------------------------------------------
# 7. Metadata, global buffers, inspect
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_a_schema_and_field_metadata(run_lancelet, tmp_path, version):
    """Schema metadata (from the schema and add_schema_metadata) and field metadata survive."""
    table = _metadata_table()
    result = pylance_to_lancelet(run_lancelet, tmp_path, table, version, schema_metadata={"added": "later"})
    expected = table.replace_schema_metadata({**table.schema.metadata, b"added": b"later"})
    assert_tables_equal(result, expected)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_global_buffers(run_lancelet, tmp_path, version):
    """Buffers added by pylance come back byte for byte from `lancelet global-buffer`."""
    path = tmp_path / "g.lance"
    indices = pylance_write(path, pa.table({"a": [1, 2, 3]}), version=version, global_buffers=_BUFFERS)
    assert indices == [1, 2, 3]
    for index, data in zip(indices, _BUFFERS):
        out = tmp_path / f"g{index}.bin"
        run_lancelet("global-buffer", path, index, "-o", out)
        assert out.read_bytes() == data, f"buffer {index} via -o"
        assert run_lancelet("global-buffer", path, index).stdout == data, f"buffer {index} via stdout"


_LEAF_SCHEMA = pa.schema([
    ("i", pa.int32()), ("st", pa.struct([("x", pa.int32()), ("y", pa.utf8())])),
    ("l", pa.list_(pa.struct([("p", pa.int64()), ("q", pa.list_(pa.int8()))]))),
    ("v", pa.list_(pa.float32(), 4)), ("d", pa.dictionary(pa.int16(), pa.utf8())),
])
_LEAVES = ["i", "st.x", "st.y", "l.item.p", "l.item.q.item", "v", "d"]


@pytest.mark.parametrize("version", VERSIONS)
def test_inspect_leaf_columns(run_lancelet, tmp_path, inspect_json, version):
    """2.1+ files have one column per leaf (none for structs, lists, maps), as pylance reports."""
    schema, leaves = _LEAF_SCHEMA, list(_LEAVES)
    if version == "2.2":
        schema = schema.append(pa.field("m", pa.map_(pa.utf8(), pa.int32())))
        leaves += ["m.entries.key", "m.entries.value"]
    row = {"i": 1, "st": {"x": 1, "y": "a"}, "l": [{"p": 1, "q": [1]}], "v": [1, 2, 3, 4], "d": "k",
           "m": [("a", 1)]}
    table = pa.Table.from_pylist([row] * 3, schema=schema)
    result = pylance_to_lancelet(run_lancelet, tmp_path, table, version)
    assert_tables_equal(result, table, normalize_fsl=True)
    info = inspect_json(tmp_path / "a.lance")
    assert info["version"] == version and info["footer_version"] == FOOTER[version]
    assert [c["path"] for c in info["columns"]] == leaves
    assert len(LanceFileReader(str(tmp_path / "a.lance")).metadata().columns) == len(leaves)


def test_inspect_agrees_with_pylance_metadata(inspect_json, big_file):
    """`inspect --json` reports the version, rows, columns, pages and buffers pylance reports."""
    path, _, version = big_file
    info = inspect_json(path)
    meta = LanceFileReader(str(path)).metadata()
    assert info["version"] == version
    assert info["footer_version"] == [meta.major_version, meta.minor_version] == FOOTER[version]
    assert info["num_rows"] == meta.num_rows == LanceFileReader(str(path)).num_rows()
    assert info["file_size"] == os.path.getsize(path)
    assert len(info["columns"]) == len(meta.columns)
    for ours, theirs in zip(info["columns"], meta.columns):
        assert len(ours["pages"]) == len(theirs.pages), ours["path"]
        for page, their_page in zip(ours["pages"], theirs.pages):
            assert page["buffers"] == [[b.position, b.size] for b in their_page.buffers], ours["path"]
        assert sum(p["num_values"] for p in ours["pages"]) == ours["num_values"] == meta.num_rows
    assert info["global_buffers"] == [[b.position, b.size] for b in meta.global_buffers]
    assert [f["name"] for f in info["schema"]] == meta.schema.names
