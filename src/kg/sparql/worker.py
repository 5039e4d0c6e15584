"""What a query worker does: run one query, write the complete answer to a spool.

:func:`answer` is the one place a query is executed and serialised for the endpoint; the
engine calls it in a worker process (so that a runaway query can be stopped by ending the
process) or, with ``workers=0``, in its own process. :func:`main` is the worker process's
loop. Nothing here knows about HTTP.
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
from multiprocessing import Pipe
from multiprocessing.reduction import send_handle
from typing import Any

from pyoxigraph import Quad, QueryResultsFormat, RdfFormat, Store, parse_query_results, serialize

from . import execute as sparql
from ..store.delta import Delta, commit
from ..errors import KGError, QueryEvaluationError, RemoteServiceError, ResultTooLargeError
from .formats import QUAD_FORMATS, ResultKind, negotiate
from .guard import uses_keyword
from ..namespaces import PREFIXES
from ..store.graph import release_memory

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


def _write_solutions(solutions, fmt, spool: Spool, max_rows: int) -> int:
    """Serialise solutions in pyoxigraph (Rust, no Python object per row); return the rows.

    The rows are counted on the bytes written: exactly for XML (``<result>``, escaped in
    values) and TSV (one line per row, line breaks escaped), as an upper bound for JSON
    (``},{`` between rows; a literal may hold it too) and CSV (a quoted value may hold a
    line break). A bound over ``max_rows`` is checked by parsing the answer back, so a
    result is refused only when it really has too many rows.
    """
    spool.limit = max(_SPOOL_LIMIT, max_rows * _BYTES_PER_ROW)  # a runaway answer stops early
    solutions.serialize(spool, fmt.engine)
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


class _Counted:
    """Passes triples through, counting them, and stops beyond ``max_rows``."""

    def __init__(self, triples, max_rows: int) -> None:
        self._triples, self._max_rows = triples, max_rows
        self.count = 0

    def __iter__(self):
        for triple in self._triples:
            self.count += 1
            if self.count > self._max_rows:
                raise ResultTooLargeError(f"the result has more than {self._max_rows} "
                                          "triples; add a LIMIT or narrow the pattern")
            yield triple


def answer(store: Store, request: dict[str, Any], spool_dir: str) -> dict[str, Any]:
    """Run ``request`` (query, accept, format, default/named graphs, inference, max_rows,
    quads_query) on ``store``.

    Returns the kind, format name, row count and the complete serialised answer (bytes,
    or the path of a spool file). Raises KGError for what the client got wrong, and
    RemoteServiceError (502) when a SERVICE endpoint fails.
    """
    try:
        return _answer(store, request, spool_dir)
    except OSError as exc:
        # Oxigraph reports a SERVICE call that failed (refused, redirected, bad answer) as
        # an I/O error; without SERVICE, it is the store's own I/O: a fault
        if uses_keyword(request["query"], "SERVICE"):
            # its message names the URL called: the engine, which has the query as the
            # client wrote it, names the SERVICE IRI instead (ServicePolicy.failure)
            raise RemoteServiceError(str(exc)) from None
        raise


def _answer(store: Store, request: dict[str, Any], spool_dir: str) -> dict[str, Any]:
    # a description answers with its quads when the client chooses a quad format
    as_quads = bool(request.get("quads_query")) and negotiate(
        request.get("accept"), ResultKind.GRAPH, override=request.get("format")) in QUAD_FORMATS
    result = sparql.execute_query(store, request["quads_query" if as_quads else "query"],
                                  default_graphs=request.get("default_graphs", ()),
                                  named_graphs=request.get("named_graphs", ()),
                                  base_iri=request.get("base_iri"),
                                  inference=request.get("inference", True))
    kind = ResultKind.GRAPH if as_quads else result.kind
    fmt = negotiate(request.get("accept"), kind, override=request.get("format"))
    spool = Spool(spool_dir)
    rows = 0
    try:
        if as_quads:
            counter = _Counted((Quad(row["s"], row["p"], row["o"], row["g"])
                                for row in result.solutions), request["max_rows"])
            serialize(counter, spool, fmt.engine, prefixes=PREFIXES)
            rows = counter.count
        elif result.is_boolean:
            result.raw.serialize(spool, fmt.engine)
        elif result.kind is ResultKind.GRAPH:
            counter = _Counted(result.raw, request["max_rows"])
            serialize(counter, spool, fmt.engine, prefixes=PREFIXES)
            rows = counter.count
        else:
            rows = _write_solutions(result.raw, fmt, spool, request["max_rows"])
    except (KGError, OSError):
        spool.discard()
        raise
    except RuntimeError as exc:  # pyoxigraph's evaluation errors surface while reading
        spool.discard()
        raise QueryEvaluationError(f"query evaluation failed: {exc}") from exc
    data, path = spool.result()
    return {"kind": kind.value, "format": fmt.name, "rows": rows, "data": data, "path": path}


def error_message(exc: KGError) -> tuple:
    """A KGError as a picklable message; :func:`kg.sparql.process.rebuild_error` undoes it."""
    attributes = {key: value for key, value in vars(exc).items()
                  if isinstance(value, (str, int, float, list, type(None)))}
    return ("error", type(exc).__name__, exc.message, attributes)


def open_store(source: dict[str, Any], store: Store | None = None) -> Store:
    """The worker's own view of the data: an N-Quads snapshot (bytes or a file), a
    checkpoint of the on-disk store, or ``store`` brought up to date with the changes in
    ``source["deltas"]``."""
    if "path" in source:
        return Store.read_only(source["path"])
    if "deltas" in source and store is not None:
        for added, removed in source["deltas"]:
            commit(store, Delta.from_nquads(added, removed))
        return store
    store = Store()
    if "nquads_file" in source:
        store.load(path=source["nquads_file"], format=RdfFormat.N_QUADS)
    else:
        store.load(source["nquads"], RdfFormat.N_QUADS)
    return store


def main(conn, spool_dir: str, store: Store | None = None) -> None:
    """The worker process: load the data it is sent, then answer queries until EOF.

    ``("fork",)`` (in memory, while idle) starts a sibling worker holding the same data:
    the pid goes back, then the engine's end of the sibling's pipe (a file descriptor).
    A worker runs no thread of its own (nor does pyoxigraph's in-memory store), so the fork
    is safe; should one ever run, it answers that it cannot fork.
    """
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the engine closed the pipe: shut down
            return
        _reap()
        if message[0] == "load":
            store = _load(message[1], store)
            conn.send(("ready", os.getpid()))
            continue
        if message[0] == "fork":
            _fork(conn, spool_dir, store)
            continue
        try:
            conn.send(("ok", answer(store, message[1], spool_dir)))
        except KGError as exc:
            conn.send(error_message(exc))
        except Exception as exc:  # noqa: BLE001 - reported to the engine as a 500, never 400
            conn.send(("fault", f"{type(exc).__name__}: {exc}"))


def _fork(conn, spool_dir: str, store: Store | None) -> None:
    if _threads() > 1:  # a fork copies no other thread, but it may copy a lock one holds
        conn.send(("forked", None))
        return
    ours, theirs = Pipe()
    pid = os.fork()
    if pid == 0:  # the sibling: this worker's pipe and the engine's end are not its own
        conn.close()
        ours.close()
        try:
            main(theirs, spool_dir, store)
        finally:
            os._exit(0)
    theirs.close()
    conn.send(("forked", pid))
    send_handle(conn, ours.fileno(), None)
    ours.close()


def _load(source: dict[str, Any], store: Store | None) -> Store:
    store = open_store(source, store)
    if "deltas" not in source:  # a whole snapshot was parsed: hand back the parser's memory
        release_memory()
    return store


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))  # native threads too
    except OSError:
        return threading.active_count()


def _reap() -> None:
    # siblings this worker forked that ended (killed at a deadline, or crashed): no zombies
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
