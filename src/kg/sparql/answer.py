"""The one serialiser: a query's complete answer, written before anyone reads a byte.

:func:`write_answer` runs a :class:`~kg.sparql.request.QueryRequest` on a store and writes
its whole answer (in memory up to 1 MB, then to a spool file) in the negotiated format,
counting rows against the request's limit, so that what reaches a client is a whole
document or an error, never one cut off mid-stream. It writes through
:func:`kg.sparql.execute.write_result`, as the Python API's ``QueryResult.serialize`` does, so
``kg query``, the Python API and the endpoint write every format the same way. Serialising
is pyoxigraph's, not Python's, except for the text table.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from typing import Iterator

from pyoxigraph import QueryResultsFormat, Store, parse_query_results

from ..errors import KGError, RemoteServiceError, ResultTooLargeError
from .execute import QueryResult, execute_request, write_result
from .formats import TABLE, Format, ResultKind
from .request import QueryRequest

_CHUNK = 64 * 1024


@dataclass
class Answer:
    """A complete serialised answer: bytes in memory or a spool file, streamed in chunks;
    or (from a remote store) a stream passed through as it comes, of unknown size."""

    kind: ResultKind
    format: Format
    rows: int
    data: bytes | None = None
    path: str | None = None

    stream: Iterator[bytes] | None = None
    size: int | None = 0  #: length in bytes (None: streamed, unknown)
    version: str = ""  #: the dataset version it was computed on
    tag: str = ""  #: names this answer at this version (the HTTP ETag)

    def __post_init__(self) -> None:
        self.size = (None if self.stream is not None else len(self.data or b"")
                     if self.path is None else os.path.getsize(self.path))

    def chunks(self) -> Iterator[bytes]:
        """The bytes in pieces; the spool file is removed once read (or abandoned)."""
        if self.stream is not None:
            yield from self.stream
            return
        if self.path is None:
            yield self.data or b""
            return
        try:
            with open(self.path, "rb") as stream:
                while chunk := stream.read(_CHUNK):
                    yield chunk
        finally:
            self.close()

    def read(self) -> bytes:
        """The whole answer at once (for tests and small answers)."""
        return b"".join(self.chunks())

    def close(self) -> None:
        """Remove the spool file, if any (or end the stream)."""
        if self.stream is not None and hasattr(self.stream, "close"):
            self.stream.close()
        if self.path is not None and os.path.exists(self.path):
            os.unlink(self.path)


#: Answers up to this size stay in memory; larger ones go to a file in the spool folder.
SPOOL_MEMORY = 1024 * 1024
#: A solutions answer stops growing past max_rows times this (or _SPOOL_LIMIT if larger),
#: so that a result far over the row limit is refused before it fills the disk.
_BYTES_PER_ROW = 4096
_SPOOL_LIMIT = 256 * 1024 * 1024


class Spool(io.RawIOBase):
    """A write-only buffer that moves to a temporary file once it outgrows memory."""

    def __init__(self, folder: str, memory: int = SPOOL_MEMORY) -> None:
        super().__init__()
        self._folder, self._memory = folder, memory
        self._buffer: io.BytesIO | None = io.BytesIO()
        self._file = None
        self.size = 0
        self.limit: int | None = None  #: bytes beyond which writing fails

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self.limit is not None and self.size + len(data) > self.limit:
            raise ResultTooLargeError(f"the answer is over {self.limit} bytes; add a LIMIT "
                                      "(and OFFSET to page through it)")
        if self._file is None and self.size + len(data) > self._memory:
            self._file = tempfile.NamedTemporaryFile(
                dir=self._folder, prefix=f"kg-{os.getpid()}-", delete=False)
            self._file.write(self._buffer.getvalue())
            self._buffer = None
        (self._file or self._buffer).write(data)
        self.size += len(data)
        return len(data)

    def result(self, *, close: bool = True) -> tuple[bytes | None, str | None]:
        """(bytes, None) when the spool stayed in memory, else (None, path of the file);
        ``close=False`` leaves the file open for more reading and writing."""
        if self._file is None:
            return self._buffer.getvalue(), None
        if close:
            self._file.close()
        else:
            self._file.flush()
        return None, self._file.name

    def count(self, pattern: bytes) -> int:
        """How often ``pattern`` occurs in what was written (read back in chunks)."""
        if self._file is None:
            return self._buffer.getbuffer().tobytes().count(pattern)
        self._file.flush()
        found, tail = 0, b""
        with open(self._file.name, "rb") as stream:
            while chunk := stream.read(self._memory):
                window = tail + chunk
                found += window.count(pattern)
                # keep the last bytes, which may start an occurrence the next chunk ends
                tail = window[len(window) - len(pattern) + 1:]
        return found

    def endswith(self, suffix: bytes) -> bool:
        """Whether what was written ends with ``suffix``."""
        if self._file is None:
            return self._buffer.getbuffer()[-len(suffix):].tobytes() == suffix
        self._file.flush()
        with open(self._file.name, "rb") as stream:
            stream.seek(max(0, self.size - len(suffix)))
            return stream.read() == suffix

    def discard(self) -> None:
        """Forget what was written (and remove the file, if any)."""
        if self._file is not None:
            self._file.close()
            os.unlink(self._file.name)
            self._file = None


def _write_solutions(result: QueryResult, fmt: Format, spool: Spool, max_rows: int) -> int:
    """Serialise solutions in pyoxigraph (Rust, no Python object per row); return the rows.

    The rows are counted on the bytes written: exactly for XML (``<result>``, escaped in
    values) and TSV (one line per row, line breaks escaped), as an upper bound for JSON
    (``},{`` between rows; a literal may hold it too) and CSV (a quoted value may hold a
    line break). A bound over ``max_rows`` is checked by parsing the answer back, so a
    result is refused only when it really has too many rows.
    """
    spool.limit = max(_SPOOL_LIMIT, max_rows * _BYTES_PER_ROW)  # a runaway answer stops early
    write_result(result, fmt, spool)
    if fmt.engine is QueryResultsFormat.JSON:
        rows = 0 if spool.endswith(b"[]}}") else spool.count(b"},{") + 1
    elif fmt.engine is QueryResultsFormat.XML:
        rows = spool.count(b"<result>")
    else:  # CSV and TSV: a header line, then one line per row
        rows = spool.count(b"\n") - 1
    if rows > max_rows and fmt.engine in (QueryResultsFormat.JSON, QueryResultsFormat.CSV):
        data, path = spool.result(close=False)
        parsed = (parse_query_results(data, fmt.engine) if path is None
                  else parse_query_results(path=path, format=fmt.engine))
        rows = sum(1 for _ in parsed)
    if rows > max_rows:
        raise ResultTooLargeError(f"the result has more than {max_rows} rows; add a "
                                  "LIMIT (and OFFSET to page through it)")
    return rows


def write_answer(store: Store, request: QueryRequest, spool_dir: str) -> Answer:
    """Run ``request`` on ``store`` and write its complete answer.

    Raises KGError for what the client got wrong, and RemoteServiceError (502) when a
    SERVICE endpoint fails (its message names the URL called: the engine, which has the
    query as the client wrote it, names the SERVICE IRI instead).
    """
    try:
        result = execute_request(store, request)
        kind = ResultKind.GRAPH if request.as_quads else result.kind
        fmt = request.negotiated(kind)
        spool = Spool(spool_dir)
        try:
            if kind is ResultKind.SOLUTIONS and not result.is_boolean and fmt is not TABLE:
                rows = _write_solutions(result, fmt, spool, request.max_rows)
            else:
                rows = write_result(result, fmt, spool, max_rows=request.max_rows,
                                    as_quads=request.as_quads)
        except (KGError, OSError):
            spool.discard()
            raise
    except OSError as exc:
        # Oxigraph reports a SERVICE call that failed (refused, redirected, bad answer) as
        # an I/O error; without SERVICE, it is the store's own I/O: a fault
        if "SERVICE" in request.shape.keywords:
            raise RemoteServiceError(str(exc)) from None
        raise
    data, path = spool.result()
    return Answer(kind, fmt, rows, data, path)
