"""Lancelet: read and write Lance v2 files (formats 2.0, 2.1 and 2.2) with pyarrow.

>>> import pyarrow as pa, lancelet
>>> table = pa.table({"id": [1, 2, 3], "name": ["a", "b", None]})
>>> with lancelet.FileWriter("/tmp/example.lance") as writer:
...     writer.write_batch(table)
>>> reader = lancelet.FileReader("/tmp/example.lance")
>>> reader.take_rows([2, 0]).to_table().to_pylist()
[{'id': 3, 'name': None}, {'id': 1, 'name': 'a'}]

The classes follow pylance's ``lance.file`` module: ``LanceFileReader`` and
``LanceFileWriter`` are aliases of ``FileReader`` and ``FileWriter``.
"""

from lancelet._lancelet import (
    BufferDescriptor,
    ColumnMetadata,
    CorruptFileError,
    FileMetadata,
    FileReader,
    FileWriter,
    PageMetadata,
    ReaderResults,
    __version__,
)

LanceFileReader = FileReader
LanceFileWriter = FileWriter

__all__ = [
    "BufferDescriptor",
    "ColumnMetadata",
    "CorruptFileError",
    "FileMetadata",
    "FileReader",
    "FileWriter",
    "LanceFileReader",
    "LanceFileWriter",
    "PageMetadata",
    "ReaderResults",
    "__version__",
]
