"""Helpers for the Lancelet <-> pylance interop tests: file I/O and exact table comparison."""

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
from lance.file import LanceFileReader, LanceFileWriter

# ---------------------------------------------------------------------------
# File I/O
# ---------------------------------------------------------------------------


def write_ipc(path, table):
    """Write `table` as an Arrow IPC *file* (one record batch per table chunk)."""
    with pa.OSFile(str(path), "wb") as sink:
        with ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)


def read_ipc(path):
    """Read an Arrow IPC file written by Lancelet."""
    with pa.memory_map(str(path), "r") as source:
        return ipc.open_file(source).read_all()


def pylance_write(path, table, *, schema_metadata=None, global_buffers=(), version="2.0", **kwargs):
    """Write `table` with pylance (format `version`, 2.0 by default), one write_batch per table chunk.

    Returns the indices pylance assigned to `global_buffers`.
    """
    indices = []
    with LanceFileWriter(str(path), table.schema, version=version, **kwargs) as writer:
        for batch in table.to_batches():
            writer.write_batch(batch)
        for key, value in (schema_metadata or {}).items():
            writer.add_schema_metadata(key, value)
        for buf in global_buffers:
            indices.append(writer.add_global_buffer(buf))
    return indices


def pylance_read(path, columns=None):
    """Read a whole Lance file with pylance."""
    return LanceFileReader(str(path), columns=columns).read_all(batch_size=4096).to_table()


# ---------------------------------------------------------------------------
# Canonical values: exact, NaN-safe and sign-of-zero-safe
# ---------------------------------------------------------------------------

_FLOAT_BITS = {16: np.uint16, 32: np.uint32, 64: np.uint64}


def _float_bits(arr):
    width = arr.type.bit_width
    data = np.frombuffer(arr.buffers()[1], dtype=_FLOAT_BITS[width])
    return data[arr.offset : arr.offset + len(arr)].tolist()


def _temporal_storage(arr):
    """Reinterpret a temporal array as its integer storage (avoids lossy datetime conversion)."""
    width = arr.type.bit_width
    return arr.view(pa.int32() if width == 32 else pa.int64()).to_pylist()


def canon(arr):
    """Return a list of plain Python values for `arr`, one per row (None for null).

    Floats become ("f", bit pattern) so NaN == NaN and -0.0 != 0.0; temporal values
    become their integer storage; dictionaries are decoded; nested types recurse.
    """
    if isinstance(arr, pa.ChunkedArray):
        out = []
        for chunk in arr.chunks:
            out.extend(canon(chunk))
        return out
    t = arr.type
    valid = arr.is_valid().to_pylist() if len(arr) else []
    if pa.types.is_null(t):
        return [None] * len(arr)
    if pa.types.is_dictionary(t):
        return canon(arr.dictionary_decode())
    if pa.types.is_floating(t):
        values = [("f", b) for b in _float_bits(arr)]
    elif pa.types.is_temporal(t):
        values = _temporal_storage(arr)
    elif pa.types.is_list(t) or pa.types.is_large_list(t):
        offsets = arr.offsets.to_pylist()
        child = canon(arr.values)
        values = [child[offsets[i] : offsets[i + 1]] for i in range(len(arr))]
    elif pa.types.is_fixed_size_list(t):
        size = t.list_size
        child = canon(arr.values)
        base = arr.offset
        values = [child[(base + i) * size : (base + i + 1) * size] for i in range(len(arr))]
    elif pa.types.is_struct(t):
        fields = [canon(arr.field(j)) for j in range(t.num_fields)]
        names = [t.field(j).name for j in range(t.num_fields)]
        values = [dict(zip(names, row)) for row in zip(*fields)] if fields else [{}] * len(arr)
    else:
        values = arr.to_pylist()
    return [v if ok else None for v, ok in zip(values, valid)]


# ---------------------------------------------------------------------------
# Type / schema comparison
# ---------------------------------------------------------------------------


def normalize_type(t):
    """Apply pylance's documented normalisation: a fixed-size list's item field is `item`, nullable."""
    if pa.types.is_fixed_size_list(t):
        return pa.list_(pa.field("item", normalize_type(t.value_type), nullable=True), t.list_size)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        f = t.value_field
        nf = pa.field(f.name, normalize_type(f.type), f.nullable, f.metadata)
        return pa.list_(nf) if pa.types.is_list(t) else pa.large_list(nf)
    if pa.types.is_struct(t):
        return pa.struct(
            [pa.field(f.name, normalize_type(f.type), f.nullable, f.metadata) for f in t]
        )
    return t


def describe_type(t):
    """A string naming every nested field with its nullability, type and metadata.

    (pyarrow's DataType == ignores child field names and metadata.)
    """
    if pa.types.is_struct(t) or pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        fields = list(t) if pa.types.is_struct(t) else [t.value_field]
        inner = ", ".join(
            f"{f.name}{'' if f.nullable else ' not null'}: {describe_type(f.type)}"
            + (f" {dict(sorted(f.metadata.items()))}" if f.metadata else "")
            for f in fields
        )
        kind = str(t).split("<", 1)[0]
        suffix = f"[{t.list_size}]" if pa.types.is_fixed_size_list(t) else ""
        return f"{kind}<{inner}>{suffix}"
    return str(t)


def assert_schema_equal(actual, expected, *, normalize_fsl=False, check_metadata=True):
    """Same field names, nullability, types (and schema/field metadata when check_metadata).

    normalize_fsl also accepts pylance's rewrite of fixed-size-list item fields to `item`, nullable.
    """
    assert actual.names == expected.names, f"column names {actual.names} != {expected.names}"
    for a, e in zip(actual, expected):
        allowed = {describe_type(e.type)}
        if normalize_fsl:
            allowed.add(describe_type(normalize_type(e.type)))
        assert describe_type(a.type) in allowed, (
            f"column {e.name!r}: type {describe_type(a.type)} not in {sorted(allowed)}"
        )
        assert a.nullable == e.nullable, f"column {e.name!r}: nullable {a.nullable} != {e.nullable}"
        if check_metadata:
            assert (a.metadata or {}) == (e.metadata or {}), (
                f"column {e.name!r}: field metadata {a.metadata} != {e.metadata}"
            )
    if check_metadata:
        assert (actual.metadata or {}) == (expected.metadata or {}), (
            f"schema metadata {actual.metadata} != {expected.metadata}"
        )


def _first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i, x, y
    return None


def _bitwise_type(t):
    """`t` with every float replaced by the unsigned int of the same width."""
    if pa.types.is_floating(t):
        return {16: pa.uint16(), 32: pa.uint32(), 64: pa.uint64()}[t.bit_width]
    if pa.types.is_dictionary(t):
        return _bitwise_type(t.value_type)
    if pa.types.is_struct(t):
        return pa.struct([f.with_type(_bitwise_type(f.type)) for f in t])
    if pa.types.is_list(t):
        return pa.list_(t.value_field.with_type(_bitwise_type(t.value_type)))
    if pa.types.is_large_list(t):
        return pa.large_list(t.value_field.with_type(_bitwise_type(t.value_type)))
    if pa.types.is_fixed_size_list(t):
        return pa.list_(t.value_field.with_type(_bitwise_type(t.value_type)), t.list_size)
    return t


def _bitwise(column):
    """The column with dictionaries decoded and floats viewed as their bit patterns."""
    bit_type = _bitwise_type(column.type)
    chunks = []
    for chunk in column.chunks:
        if pa.types.is_dictionary(chunk.type):
            chunk = chunk.dictionary_decode()
        chunks.append(chunk.view(bit_type))
    return pa.chunked_array(chunks, type=bit_type)


def assert_values_equal(actual, expected):
    """Same row count and, column by column, the same value in every row.

    Fast path: Arrow equality on the bit-pattern views (nulls must match, floats
    compare bitwise).  Otherwise (e.g. child field names differ) the canonical values
    decide, and the first differing row is reported.
    """
    assert actual.num_rows == expected.num_rows, f"rows {actual.num_rows} != {expected.num_rows}"
    for name in expected.column_names:
        got_col, want_col = actual.column(name), expected.column(name)
        if _bitwise_type(got_col.type) == _bitwise_type(want_col.type) and _bitwise(got_col).equals(
            _bitwise(want_col)
        ):
            continue
        got, want = canon(got_col), canon(want_col)
        assert len(got) == len(want)
        diff = _first_difference(got, want)
        if diff is not None:
            i, x, y = diff
            raise AssertionError(f"column {name!r} row {i}: got {_short(x)}, expected {_short(y)}")


def assert_tables_equal(actual, expected, *, normalize_fsl=False, check_metadata=True):
    """Exact comparison: schema (see assert_schema_equal) and every value."""
    assert_schema_equal(actual.schema, expected.schema, normalize_fsl=normalize_fsl, check_metadata=check_metadata)
    assert_values_equal(actual, expected)


def _short(value, limit=200):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"
