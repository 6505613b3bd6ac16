"""Arrow input for FileWriter.write_batch, made safe for the Rust side.

arrow-rs imports Arrow C data without copying, but two kinds of input trip it up: buffers
that are not 8-byte aligned (it reads variable-width offsets through typed pointers) and
sliced nested arrays (it applies a struct's offset to its children twice). Batches with
either are copied once through Arrow IPC, which writes aligned, unsliced buffers; every
other batch passes through untouched.
"""

import pyarrow as pa

_ALIGNMENT = 8


def _needs_copy(array):
    """Whether `array` has an unaligned buffer or is a sliced nested array."""
    if array.offset != 0 and pa.types.is_nested(array.type):
        return True
    if any(b is not None and b.address % _ALIGNMENT for b in array.buffers()):
        return True
    if pa.types.is_dictionary(array.type):
        return _needs_copy(array.dictionary)
    return False


def _safe(batch):
    if not any(_needs_copy(column) for column in batch.columns):
        return batch
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return pa.ipc.open_stream(sink.getvalue()).read_next_batch()


def normalized(data):
    """`data` (a RecordBatch, a Table, or any object with `__arrow_c_array__` or
    `__arrow_c_stream__`) as a pyarrow RecordBatch or RecordBatchReader of safe batches."""
    if isinstance(data, pa.RecordBatch):
        return _safe(data)
    if isinstance(data, pa.Table):
        reader = data.to_reader()
    elif hasattr(data, "__arrow_c_stream__"):
        reader = pa.RecordBatchReader.from_stream(data)
    elif hasattr(data, "__arrow_c_array__"):
        return _safe(pa.record_batch(data))
    else:
        raise TypeError(
            "write_batch expects a pyarrow RecordBatch or Table, or an object with "
            f"__arrow_c_array__ or __arrow_c_stream__, not {type(data).__name__}"
        )
    return pa.RecordBatchReader.from_batches(reader.schema, (_safe(b) for b in reader))
