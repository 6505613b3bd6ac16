"""Format 2.0 string and binary pages compressed with zstd or lz4, in both directions.

Lance compresses the bytes of a string or binary column as a whole when the field's metadata
holds `lance-encoding:compression` (`lance-encoding:compression-level` sets the level).
"""

import pyarrow as pa
import pytest
from helpers import assert_tables_equal, pylance_write, read_ipc
from lance.file import LanceFileReader
from test_interop_v2_0 import lancelet_to_pylance, pylance_to_lancelet


def compressed_table(scheme, type_, level=None):
    metadata = {"lance-encoding:compression": scheme}
    if level is not None:
        metadata["lance-encoding:compression-level"] = str(level)
    values = [None if i % 11 == 0 else f"row {i} " + "abc" * (i % 7) for i in range(5000)]
    if type_ in (pa.binary(), pa.large_binary()):
        values = [v.encode() if v is not None else None for v in values]
    field = pa.field("v", type_, metadata=metadata)
    return pa.table({"v": pa.array(values, type_)}, schema=pa.schema([field]))


CASES = [
    (scheme, type_, level)
    for scheme in ("zstd", "lz4")
    for type_ in (pa.utf8(), pa.large_utf8(), pa.binary(), pa.large_binary())
    for level in ((None, 9) if scheme == "zstd" else (None,))
]


@pytest.mark.parametrize("scheme,type_,level", CASES)
def test_a_compressed(run_lancelet, tmp_path, scheme, type_, level):
    """pylance-written compressed pages read back exactly."""
    table = compressed_table(scheme, type_, level)
    assert_tables_equal(pylance_to_lancelet(run_lancelet, tmp_path, table), table)


@pytest.mark.parametrize("scheme,type_,level", CASES)
def test_b_compressed(run_lancelet, tmp_path, inspect_json, scheme, type_, level):
    """Lancelet compresses as asked and pylance reads the pages back exactly."""
    table = compressed_table(scheme, type_, level)
    assert_tables_equal(lancelet_to_pylance(run_lancelet, tmp_path, table), table)
    encodings = [p["encoding"] for p in inspect_json(tmp_path / "b.lance")["columns"][0]["pages"]]
    assert all(f"flat(8, {scheme})" in e for e in encodings), encodings


def test_b_compression_makes_the_file_smaller(run_lancelet, tmp_path, inspect_json):
    plain = compressed_table("none", pa.utf8())
    zstd = compressed_table("zstd", pa.utf8())
    sizes = {}
    for name, table in (("plain", plain), ("zstd", zstd)):
        (tmp_path / name).mkdir()
        lancelet_to_pylance(run_lancelet, tmp_path / name, table)
        sizes[name] = inspect_json(tmp_path / name / "b.lance")["file_size"]
    assert sizes["zstd"] < sizes["plain"] / 2, sizes


def test_a_compressed_ranges_and_takes(run_lancelet, tmp_path):
    """Partial reads of compressed pages match pylance's own answers."""
    table = compressed_table("zstd", pa.utf8())
    src = tmp_path / "c.lance"
    pylance_write(src, table, data_cache_bytes=16 * 1024)
    reader = LanceFileReader(str(src))
    out = tmp_path / "r.arrow"
    run_lancelet("convert", src, out, "--range", "1234:4321")
    assert_tables_equal(read_ipc(out), reader.read_range(1234, 4321 - 1234).to_table())
    run_lancelet("convert", src, out, "--take", "4999,0,17,17,2500")
    assert_tables_equal(read_ipc(out), table.take([4999, 0, 17, 17, 2500]))


def test_b_unknown_scheme_is_rejected(run_lancelet, tmp_path):
    table = compressed_table("brotli", pa.utf8())
    src, out = tmp_path / "x.arrow", tmp_path / "x.lance"
    import pyarrow.ipc as ipc

    with ipc.new_file(src, table.schema) as writer:
        writer.write_table(table)
    proc = run_lancelet("convert", src, out, expect_failure=True)
    assert "lance-encoding:compression" in proc.stderr.decode()
    assert not out.exists()
