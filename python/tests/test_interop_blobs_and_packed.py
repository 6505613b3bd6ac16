"""Blob columns, 2.0 packed structs and structs without fields between pylance and Lancelet.

Blob columns (`large_binary` with field metadata `lance-encoding:blob` = `true`) keep their
values outside the pages; pylance returns the values themselves, and so must Lancelet, for
whole files, projections, ranges and takes, in every version. Format 2.0 packed structs
(`lance-encoding:packed`) are one column of row-major records. Structs without fields get a
column of their own in 2.1+ that pylance itself misreads; Lancelet must still return the data.
pylance 14.0.2 cannot write blobs inside lists in 2.1+ (its reader panics on them), so those
are only tested in 2.0.
"""

import numpy as np
import pyarrow as pa
import pytest
from helpers import assert_tables_equal, pylance_read, pylance_write, read_ipc, write_ipc

ALL_VERSIONS = ["2.0", "2.1", "2.2"]
BLOB = {"lance-encoding:blob": "true"}


def _convert(run_lancelet, tmp_path, src, *args):
    out = tmp_path / "out.arrow"
    run_lancelet("convert", src, out, *args)
    return read_ipc(out)


def _blobs(rows, seed, max_size=200_000):
    """Random binary values of very different sizes, with nulls and empty values."""
    rng = np.random.default_rng(seed)
    values = []
    for i in range(rows):
        kind = rng.random()
        if kind < 0.1:
            values.append(None)
        elif kind < 0.2:
            values.append(b"")
        else:
            size = int(rng.integers(1, max_size if kind > 0.9 else 300))
            values.append(rng.integers(0, 256, size, dtype=np.uint8).tobytes())
    return pa.array(values, pa.large_binary())


def _blob_table(rows=300, seed=1):
    schema = pa.schema([pa.field("b", pa.large_binary(), metadata=BLOB), pa.field("i", pa.int64())])
    return pa.table({"b": _blobs(rows, seed), "i": pa.array(np.arange(rows))}, schema=schema)


@pytest.fixture(scope="module", params=ALL_VERSIONS)
def blob_file(request, tmp_path_factory):
    """A pylance file with a blob column spread over several pages, and its source table."""
    table = _blob_table()
    # One write_batch per 50 rows and a tiny cache: a page per batch.
    table = pa.concat_tables([table.slice(start, 50) for start in range(0, table.num_rows, 50)])
    path = tmp_path_factory.mktemp("blob") / f"blob_{request.param}.lance"
    pylance_write(path, table, version=request.param, data_cache_bytes=1024)
    assert_tables_equal(pylance_read(path), table)  # pylance itself returns the values
    return path, table


def test_a_blob_file_has_blob_pages(inspect_json, blob_file):
    path, _ = blob_file
    info = inspect_json(path)
    pages = [p for c in info["columns"] if c["path"] == "b" for p in c["pages"]]
    assert len(pages) > 1, pages
    # The values are not in the pages: the blob column's pages are tiny next to the file.
    stored = sum(b[1] for p in pages for b in p["buffers"])
    assert stored * 20 < info["file_size"], (stored, info["file_size"])


def test_a_blob_whole_file(run_lancelet, tmp_path, blob_file):
    path, table = blob_file
    assert_tables_equal(_convert(run_lancelet, tmp_path, path), table)


@pytest.mark.parametrize("args,rows", [
    (["--range", "17:203"], list(range(17, 203))),
    (["--take", "299,0,150,150,3"], [299, 0, 150, 150, 3]),
    (["--columns", "b", "--range", "250:"], list(range(250, 300))),
])
def test_a_blob_rows(run_lancelet, tmp_path, blob_file, args, rows):
    path, table = blob_file
    expected = table.take(rows)
    if "--columns" in args:
        expected = expected.select(["b"])
    assert_tables_equal(_convert(run_lancelet, tmp_path, path, *args), expected)


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_a_blob_without_nulls_and_all_null(run_lancelet, tmp_path, version):
    schema = pa.schema([pa.field("b", pa.large_binary(), nullable=False, metadata=BLOB),
                        pa.field("n", pa.large_binary(), metadata=BLOB)])
    table = pa.table({"b": pa.array([b"x" * 100, b"", b"z" * 70_000], pa.large_binary()),
                      "n": pa.nulls(3, pa.large_binary())}, schema=schema)
    src = tmp_path / "a.lance"
    pylance_write(src, table, version=version)
    assert_tables_equal(_convert(run_lancelet, tmp_path, src), table)


@pytest.mark.parametrize("version", ["2.1", "2.2"])
def test_a_blob_in_a_nullable_struct(run_lancelet, tmp_path, version):
    """Null structs and null values both come back (2.1+ keeps the level in the description)."""
    item = pa.field("b", pa.large_binary(), metadata=BLOB)
    rng = np.random.default_rng(4)
    rows = [None if i % 7 == 3 else {"b": None if i % 5 == 1 else bytes(int(rng.integers(0, 500)))}
            for i in range(200)]
    table = pa.table({"s": pa.array(rows, pa.struct([item]))})
    src = tmp_path / "a.lance"
    pylance_write(src, table, version=version)
    assert_tables_equal(_convert(run_lancelet, tmp_path, src), table)
    assert_tables_equal(_convert(run_lancelet, tmp_path, src, "--take", "3,1,199"), table.take([3, 1, 199]))


def test_a_blob_list_items_2_0(run_lancelet, tmp_path):
    item = pa.field("item", pa.large_binary(), metadata=BLOB)
    table = pa.table({"l": pa.array([[b"x" * 100, None], None, [], [b"y", b""]], pa.list_(item))})
    src = tmp_path / "a.lance"
    pylance_write(src, table, version="2.0")
    assert_tables_equal(_convert(run_lancelet, tmp_path, src), table)


def test_a_blob_description_outside_the_file_is_an_error(run_lancelet, tmp_path, inspect_json):
    """A description pointing past the end of the file is reported, not read or crashed on."""
    table = pa.table({"b": pa.array([b"x" * 1000], pa.large_binary())},
                     schema=pa.schema([pa.field("b", pa.large_binary(), metadata=BLOB)]))
    src = tmp_path / "a.lance"
    pylance_write(src, table, version="2.0")
    info = inspect_json(src)
    (position, size), = info["columns"][0]["pages"][0]["buffers"]
    data = bytearray(src.read_bytes())
    assert int.from_bytes(data[position + 8:position + 16], "little") == 1000
    data[position:position + 8] = (len(data) - 10).to_bytes(8, "little")
    bad = tmp_path / "bad.lance"
    bad.write_bytes(bytes(data))
    proc = run_lancelet("convert", bad, tmp_path / "x.arrow", expect_failure=True)
    assert "outside" in proc.stderr.decode(), proc.stderr.decode()


# ---------------------------------------------------------------------------
# Format 2.0 packed structs
# ---------------------------------------------------------------------------

_PACKED = pa.struct([("a", pa.int32()), ("b", pa.float64()), ("c", pa.uint8()),
                     ("d", pa.list_(pa.float32(), 2)), ("e", pa.binary(3))])


def _packed_rows(rows, seed=5):
    rng = np.random.default_rng(seed)
    return [{"a": int(rng.integers(-2**31, 2**31)), "b": float(rng.standard_normal()),
             "c": int(rng.integers(0, 256)), "d": [float(x) for x in rng.standard_normal(2).astype(np.float32)],
             "e": rng.integers(0, 256, 3, dtype=np.uint8).tobytes()} for _ in range(rows)]


@pytest.mark.parametrize("shape", ["top", "nested", "list"])
def test_a_packed_struct_2_0(run_lancelet, tmp_path, shape):
    packed = pa.field("p", _PACKED, metadata={"lance-encoding:packed": "true"})
    rows = _packed_rows(5000)
    if shape == "top":
        table = pa.table({"p": pa.array(rows, _PACKED)}, schema=pa.schema([packed]))
    elif shape == "nested":
        outer = pa.struct([packed, ("z", pa.int64())])
        table = pa.table({"o": pa.array([{"p": r, "z": i} for i, r in enumerate(rows)], outer)})
    else:
        lists = [rows[i:i + (i % 4)] for i in range(0, 5000, 3)]
        table = pa.table({"l": pa.array(lists, pa.list_(packed))})
    src = tmp_path / "a.lance"
    pylance_write(src, table, version="2.0", data_cache_bytes=16 * 1024)
    assert_tables_equal(pylance_read(src), table)
    assert_tables_equal(_convert(run_lancelet, tmp_path, src), table)
    take = [4, 0, 1000, 999, 1]
    assert_tables_equal(_convert(run_lancelet, tmp_path, src, "--take", ",".join(map(str, take))),
                        table.take(take))


@pytest.mark.parametrize("shape", ["top", "list"])
def test_b_packed_struct_2_0(run_lancelet, tmp_path, shape):
    """Lancelet writes 2.0 packed structs as pylance does: one column of row-major records."""
    packed = pa.field("p", _PACKED, metadata={"lance-encoding:packed": "true"})
    rows = _packed_rows(3000, seed=6)
    if shape == "top":
        table = pa.table({"p": pa.array(rows, _PACKED)}, schema=pa.schema([packed]))
    else:
        table = pa.table({"l": pa.array([rows[i:i + (i % 4)] for i in range(0, 3000, 3)],
                                        pa.list_(packed))})
    src, out = tmp_path / "b.arrow", tmp_path / "b.lance"
    write_ipc(src, table)
    run_lancelet("convert", src, out, "--format-version", "2.0")
    assert_tables_equal(pylance_read(out), table)


@pytest.mark.parametrize("version", ALL_VERSIONS)
@pytest.mark.parametrize("child,message", [
    (pa.field("a", pa.bool_()), "packed struct child 'a' of type Boolean"),
    (pa.field("a", pa.utf8()), "packed struct child 'a' of type Utf8"),
])
def test_b_packed_struct_children_refused(run_lancelet, tmp_path, version, child, message):
    struct = pa.struct([child, ("b", pa.int32())])
    field = pa.field("p", struct, metadata={"lance-encoding:packed": "true"})
    table = pa.table({"p": pa.array([{"a": None, "b": 1}], struct)}, schema=pa.schema([field]))
    src = tmp_path / "b.arrow"
    write_ipc(src, table)
    proc = run_lancelet("convert", src, tmp_path / "b.lance", "--format-version", version,
                        expect_failure=True)
    assert message in proc.stderr.decode() and "field 'p'" in proc.stderr.decode(), proc.stderr


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_b_packed_struct_null_children_refused(run_lancelet, tmp_path, version):
    struct = pa.struct([("a", pa.int32()), ("b", pa.int32())])
    field = pa.field("p", struct, metadata={"lance-encoding:packed": "true"})
    table = pa.table({"p": pa.array([{"a": 1, "b": None}], struct)}, schema=pa.schema([field]))
    src = tmp_path / "b.arrow"
    write_ipc(src, table)
    proc = run_lancelet("convert", src, tmp_path / "b.lance", "--format-version", version,
                        expect_failure=True)
    assert "packed struct child 'b' has nulls" in proc.stderr.decode(), proc.stderr


# ---------------------------------------------------------------------------
# Structs without fields
# ---------------------------------------------------------------------------


def _empty_struct_table():
    return pa.table({
        "e": pa.array([{}] * 4, pa.struct([])),
        "z": [1, 2, 3, 4],
        "s": pa.array([{"a": {}, "b": i if i != 2 else None} for i in range(4)],
                      pa.struct([("a", pa.struct([])), ("b", pa.int8())])),
        "ee": pa.array([{"x": {}}] * 4, pa.struct([("x", pa.struct([]))])),
    })


@pytest.mark.parametrize("version", ALL_VERSIONS)
@pytest.mark.parametrize("args", [[], ["--columns", "s.a,ee,z"], ["--take", "3,0,0"]])
def test_a_structs_without_fields(run_lancelet, tmp_path, version, args):
    table = _empty_struct_table()
    src = tmp_path / "a.lance"
    pylance_write(src, table, version=version)
    expected = table
    if args and args[0] == "--take":
        expected = table.take([3, 0, 0])
    elif args:
        expected = pa.table({
            "s": pa.array([{"a": {}}] * 4, pa.struct([("a", pa.struct([]))])),
            "ee": table.column("ee"), "z": table.column("z")})
    assert_tables_equal(_convert(run_lancelet, tmp_path, src, *args), expected)
