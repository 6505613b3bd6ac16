"""Type stubs of the extension module (see the package docstring for an overview)."""

from os import PathLike
from types import TracebackType
from typing import Any, Dict, Iterable, List, Optional, Union

import pyarrow as pa

__version__: str

class CorruptFileError(OSError):
    """The file is not a valid Lance file: bad magic, cut short, or contradicting itself."""

class BufferDescriptor:
    """Where a buffer sits in the file."""

    position: int
    size: int

class PageMetadata:
    """One page of a column."""

    buffers: List[BufferDescriptor]
    encoding: str
    num_rows: int
    priority: int

class ColumnMetadata:
    """One column of the file."""

    path: str
    column_buffers: List[BufferDescriptor]
    pages: List[PageMetadata]

class FileMetadata:
    """The layout of a Lance file."""

    major_version: int
    minor_version: int
    version: str
    num_rows: int
    num_data_bytes: int
    num_column_metadata_bytes: int
    num_global_buffer_bytes: int
    file_size: int
    global_buffers: List[BufferDescriptor]
    columns: List[ColumnMetadata]
    @property
    def schema(self) -> pa.Schema: ...

class ReaderResults:
    """The batches of one read; consumed by the first call of any method."""

    def to_table(self) -> pa.Table: ...
    def to_batches(self) -> pa.RecordBatchReader: ...
    def __arrow_c_stream__(self, requested_schema: Optional[object] = None) -> object: ...

class FileReader:
    """Reads a Lance file (format 2.0, 2.1 or 2.2), optionally only some columns."""

    def __init__(
        self,
        uri: Union[str, PathLike[str]],
        columns: Optional[List[str]] = None,
        *,
        storage_options: Optional[Dict[str, str]] = None,
    ) -> None: ...
    def read_all(self, *, batch_size: int = 1024, batch_readahead: Optional[int] = None) -> ReaderResults: ...
    def read_range(
        self, start: int, num_rows: int, *, batch_size: int = 1024, batch_readahead: Optional[int] = None
    ) -> ReaderResults: ...
    def take_rows(
        self, indices: Iterable[int], *, batch_size: int = 1024, batch_readahead: Optional[int] = None
    ) -> ReaderResults: ...
    @property
    def schema(self) -> pa.Schema: ...
    def num_rows(self) -> int: ...
    def metadata(self) -> FileMetadata: ...
    def read_global_buffer(self, index: int) -> bytes: ...

class FileWriter:
    """Writes a Lance file; nothing is visible at the path until close()."""

    def __init__(
        self,
        uri: Union[str, PathLike[str]],
        schema: Optional[pa.Schema] = None,
        *,
        version: Optional[str] = None,
        data_cache_bytes: Optional[int] = None,
        max_page_bytes: Optional[int] = None,
        storage_options: Optional[Dict[str, str]] = None,
    ) -> None: ...
    def write_batch(self, data: Any) -> None: ...
    def add_schema_metadata(self, key: str, value: str) -> None: ...
    def add_global_buffer(self, data: bytes) -> int: ...
    def close(self) -> int: ...
    def abort(self) -> None: ...
    @property
    def size_bytes(self) -> Optional[int]: ...
    @property
    def closed(self) -> bool: ...
    def __enter__(self) -> "FileWriter": ...
    def __exit__(
        self,
        exc_type: Optional[type],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> bool: ...
