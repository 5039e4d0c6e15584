"""Query execution with deadlines: a small pool of worker processes (no Flask here).

pyoxigraph has no timeout or cancellation and a Python thread cannot be stopped, so each
query runs in a persistent worker process holding a view of the data (in memory: the first
worker parses an N-Quads snapshot of the store and forks the others, which start with its
data; on disk: the store opened read-only). The caller waits
with a deadline; past it the worker is killed (SIGKILL frees the CPU at once), replaced in
the background, and the caller gets QueryTimeoutError (503) while the other workers keep
answering. A worker writes the complete answer before the caller sees a byte, so an answer
is a whole document or an error, never a truncated one. A crash in the parser (deep
nesting overflows its stack) only ends a worker.

**Heavy queries do not starve quick ones.** A query that has used more than ``heavy_after``
seconds of CPU is *heavy*; at most ``heavy_queries`` heavy queries run at once, and one that
turns heavy beyond that is stopped at once (503, "busy") instead of at its deadline. With
more workers than heavy slots (defaults: 6 workers, 3 heavy queries), a burst of runaway
queries leaves workers free for short ones, which are answered at once rather than after the
timeout; a heavy query goes on at a lower CPU priority (afterwards its worker gets its
priority back, or, where the server may not raise it, is replaced),
so short queries keep the processors. CPU time, not elapsed time, decides: under a heavy but
legitimate load every query takes longer, yet none uses more CPU, so none is refused for
being slowed down. A killed worker is replaced at once: forked by an idle worker (in
memory, milliseconds, without parsing the data again), or from a server process that has
imported the engine already (``forkserver``, about 0.1 s).

Forked workers share their pages with the worker that forked them only until they read
them: Oxigraph's in-memory store counts references to what a query reads, which writes to
the pages, so a worker that has answered queries over all the data holds its own copy.

Writes go through the process owning the store; :meth:`Engine.dataset_changed` bumps a
version number and each worker brings its view up to date before its next query, all at
once (a worker answers one query at a time, so it never shows half a change). In memory,
a worker receives the changes (:class:`~kg.store.delta.Delta` as N-Quads) made since its version
instead of a whole snapshot; it gets a snapshot only when it starts on its own (not forked
by another worker) or fell too far behind.
On disk, workers open a checkpoint of the store taken for their version (RocksDB hard
links: milliseconds), never the store the server writes to, which Oxigraph forbids.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import select
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.reduction import recv_handle
from typing import Iterator, Sequence

from pyoxigraph import RdfFormat

from .. import errors
from . import worker
from .cache import ResultCache, fingerprint, new_epoch
from ..store.delta import Delta
from .formats import FORMATS, Format, ResultKind, by_name, negotiate
from .federation import ServicePolicy
from .guard import check_query
from ..store.graph import KnowledgeGraph

log = logging.getLogger("kg")

_STARTUP_TIMEOUT = 120.0  # seconds a new worker may take to load its data
_CHUNK = 64 * 1024
_CHECK = 0.1  # seconds between two looks at a running query's CPU time
try:
    _TICKS = os.sysconf("SC_CLK_TCK")
except (AttributeError, ValueError, OSError):  # not a POSIX system
    _TICKS = 0
#: In memory, a worker forks its siblings (Linux: they are named by a pidfd)
_FORK = hasattr(os, "pidfd_open") and hasattr(signal, "pidfd_send_signal")
_FORK_WAIT = 2.0  # seconds a replacement waits for an idle worker to fork it
_DELTA_LOG = 256  # changes kept for workers that are behind; further back: a snapshot


class ReadWriteLock:
    """Many readers or one writer (for code that reads the store in this process)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False

    @contextlib.contextmanager
    def reading(self):
        """Hold the lock as one of the readers."""
        with self._cond:
            while self._writing:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def writing(self):
        """Hold the lock alone."""
        with self._cond:
            while self._writing or self._readers:
                self._cond.wait()
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


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


def rebuild_error(name: str, message: str, attributes: dict) -> errors.KGError:
    """The KGError a worker reported, rebuilt in this process with its attributes."""
    cls = getattr(errors, name, None)
    if not (isinstance(cls, type) and issubclass(cls, errors.KGError)):
        return errors.EngineError(f"{name}: {message}")
    exc = cls.__new__(cls)
    Exception.__init__(exc, message)
    exc.__dict__.update(attributes, message=message)
    return exc


def _lower_priority(pid: int) -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, pid, 10)
    except (AttributeError, OSError):  # not POSIX, or the process has ended
        pass


def _restore_priority(pid: int) -> bool:
    """Give a worker its normal priority back; False where that is not allowed (raising a
    priority needs privileges, e.g. CAP_SYS_NICE)."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, 0)
        return os.getpriority(os.PRIO_PROCESS, pid) == 0
    except (AttributeError, OSError):
        return False


def _context():
    # never fork a threaded server: a forkserver (or, where there is none, spawn) starts a
    # fresh interpreter; preloading the worker module makes each fork start in milliseconds
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["kg.sparql.worker"])
        return context
    return multiprocessing.get_context("spawn")


class _Worker:
    """One worker process and the engine's end of its pipe: started on its own (it loads
    its data itself), or forked by another worker, whose data it starts with."""

    def __init__(self, conn: Connection, pid: int, *, process=None) -> None:
        self.conn, self.pid, self._process = conn, pid, process
        self.version: int | None = None
        self.loading: int | None = None  #: the version it is being given, while it loads it
        # a forked worker is not this process's child: a pidfd names it even once its pid
        # is given to another process
        self._pidfd = os.pidfd_open(pid) if process is None else None
        # set up once: waiting for each answer and reading the CPU time cost no more calls
        self._answered = select.poll()
        self._answered.register(conn.fileno(), select.POLLIN)
        try:
            self._stat: int | None = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
        except OSError:  # no /proc: elapsed time stands in for CPU time
            self._stat = None

    def answered(self, timeout: float) -> bool:
        """Whether the worker has answered (or ended), waiting at most ``timeout`` seconds."""
        return bool(self._answered.poll(max(0.0, timeout) * 1000))

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the worker used so far; None where /proc is not."""
        if self._stat is None or not _TICKS:
            return None
        try:
            fields = os.pread(self._stat, 1024, 0).rsplit(b")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime: fields 14, 15

    @classmethod
    def start(cls, context, spool_dir: str) -> "_Worker":
        """A worker process of its own, without data yet."""
        conn, child = context.Pipe()
        process = context.Process(target=worker.main, args=(child, spool_dir),
                                  daemon=True, name="kg-query-worker")
        process.start()
        child.close()
        return cls(conn, process.pid, process=process)

    def fork(self) -> "_Worker":
        """A new worker forked by this one (idle), holding the same version of the data."""
        self.conn.send(("fork",))
        _, pid = self.conn.recv()
        if pid is None:
            raise OSError("the worker runs a thread: it is not forked")
        sibling = _Worker(Connection(recv_handle(self.conn)), pid)
        sibling.version = self.version
        return sibling

    def load(self, source: dict, version: int, timeout: float) -> None:
        """Send the worker its data (``{"nquads"|"path"|"deltas": …}``) and wait until it
        holds ``version``."""
        try:
            self.conn.send(("load", source))
            if not self.conn.poll(timeout):
                raise errors.EngineError("a query worker did not load the data in time")
            self.conn.recv()
        except (EOFError, OSError) as exc:
            self.kill()
            raise errors.EngineError(
                f"a query worker ended while loading the data (exit code "
                f"{self.exit_code()}); a script starting the engine needs an "
                "`if __name__ == '__main__':` guard") from exc
        self.version = version

    def exit_code(self) -> int | str:
        """How the worker ended, once it has (after :meth:`kill`)."""
        if self._process is not None:
            self._process.join(1)
            return self._process.exitcode
        # until the worker that forked it collects it, an ended worker's status is in /proc
        try:
            with open(f"/proc/{self.pid}/stat", "rb") as stat:
                return os.waitstatus_to_exitcode(int(stat.read().rsplit(b")", 1)[1].split()[49]))
        except (OSError, IndexError, ValueError):
            return "unknown"

    def kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join(5)
        elif self._pidfd is not None:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)
            os.close(self._pidfd)
            self._pidfd = None
        if self._stat is not None:
            os.close(self._stat)
            self._stat = None
        self.conn.close()


class Engine:
    """Runs SPARQL queries for the endpoint, each with a deadline.

    ``workers=0`` runs queries in this process: no timeouts, but no process start either
    (for one-shot use). Otherwise call :meth:`start` first and :meth:`close` at the end.
    """

    def __init__(self, kg: KnowledgeGraph, *, workers: int = 6, timeout: float = 30.0,
                 max_rows: int = 100_000, max_query_length: int = 100_000,
                 max_nesting: int = 100, services: ServicePolicy | None = None,
                 cache_bytes: int = 0, heavy_queries: int = 3,
                 heavy_after: float = 1.0) -> None:
        self.kg = kg
        self.services = services  # None: every SERVICE is refused
        self.workers, self.timeout, self.max_rows = workers, timeout, max_rows
        self.heavy_queries, self.heavy_after = heavy_queries, heavy_after
        self._heavy = threading.Semaphore(max(0, heavy_queries))
        self.max_query_length, self.max_nesting = max_query_length, max_nesting
        self.version = 0
        self.epoch = new_epoch()  # versions count from here: ETags never outlive a start
        self.cache = ResultCache(cache_bytes) if cache_bytes > 0 else None
        self._spool_dir = tempfile.mkdtemp(prefix="kg-spool-")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._snapshot: tuple[int, dict] | None = None
        self._deltas: dict[int, tuple[bytes, bytes]] = {}  # version -> the change that made it
        self._checkpoints: dict[int, str] = {}  # on disk: version -> checkpoint folder
        self._checkpoint_dir: str | None = None
        #: Held by writers while they commit and by queries run in this process (workers=0).
        self.store_lock = ReadWriteLock()
        self._workers: set[_Worker] = set()
        self._context = _context()
        self._closed = False

    @classmethod
    def from_config(cls, kg: KnowledgeGraph, config) -> "Engine":
        """An engine with the limits of ``config`` (a :class:`kg.config.Config`)."""
        return cls(kg, workers=config.workers, timeout=config.timeout,
                   max_rows=config.max_rows, max_query_length=config.max_query_length,
                   max_nesting=config.max_nesting,
                   services=ServicePolicy.from_config(config),
                   cache_bytes=config.cache_size * 1024 * 1024,
                   heavy_queries=config.heavy_queries, heavy_after=config.heavy_after)

    # -- the pool ------------------------------------------------------------------------

    def start(self) -> "Engine":
        """Start the worker processes and wait until each holds the data."""
        first = None
        for _ in range(self.workers):
            process = self._new_worker(first)
            first = first or process
            self._workers.add(process)
            self._idle.put(process)
        with self._lock:
            if self._snapshot is not None and "nquads_file" in self._snapshot[1]:
                # every worker holds the data now: the snapshot (a file as large as the data,
                # in memory where /tmp is a tmpfs) is dumped again if a worker ever needs it
                os.unlink(self._snapshot[1]["nquads_file"])
                self._snapshot = None
        return self

    def _new_worker(self, parent: _Worker | None = None) -> _Worker:
        """A worker holding the current version of the data. In memory it is forked by the
        idle worker ``parent``, if any, and starts with its data (one parse at start,
        milliseconds to replace a killed worker, pages shared until the worker touches
        them); else it is a process of its own that reads a snapshot or a checkpoint."""
        process = None
        if parent is not None and self.kg.config.data_dir is None and _FORK:
            try:
                process = parent.fork()
            except (EOFError, OSError):
                log.warning("a query worker could not be forked; starting one afresh")
        if process is None:
            process = _Worker.start(self._context, self._spool_dir)
        if process.version != self.version:
            try:
                self._prepare(process)
            except errors.KGError:
                process.kill()
                raise
        return process

    def _source(self, process: _Worker | None = None) -> tuple[int, dict]:
        with self._lock:
            if self._snapshot is None or self._snapshot[0] != self.version:
                if self.kg.config.data_dir is not None:
                    source = {"path": self._checkpoint(self.version)}
                else:
                    with self.store_lock.reading():
                        source = {"nquads_file": self._dump(self.version)}
                self._snapshot = (self.version, source)
            if process is not None:
                # reserved before the lock is let go: a checkpoint being opened is not removed
                process.loading = self._snapshot[0]
            return self._snapshot

    def _dump(self, version: int) -> str:
        # the snapshot goes through a file that each worker parses itself: neither this
        # process nor the workers hold it in memory (at 1M triples, 200 MB each)
        path = os.path.join(self._spool_dir, f"snapshot-{version}.nq")
        with open(path + ".part", "wb") as output:
            self.kg.store.dump(output, RdfFormat.N_QUADS)
        os.replace(path + ".part", path)
        if self._snapshot is not None and "nquads_file" in self._snapshot[1]:
            os.unlink(self._snapshot[1]["nquads_file"])  # a worker still reading keeps it
        return path

    def _checkpoint(self, version: int) -> str:
        """A read-only copy of the on-disk store for ``version`` (hard links, on its disk)."""
        if version not in self._checkpoints:
            if self._checkpoint_dir is None:
                parent = self.kg.config.data_dir.resolve().parent
                self._checkpoint_dir = tempfile.mkdtemp(prefix=".kg-checkpoints-", dir=parent)
            path = os.path.join(self._checkpoint_dir, f"v{version}")
            with self.store_lock.reading():
                self.kg.store.backup(path)
            self._checkpoints[version] = path
        return self._checkpoints[version]

    def _prepare(self, process: _Worker) -> None:
        with self._lock:
            behind = process.version is not None and self.kg.config.data_dir is None and all(
                v in self._deltas for v in range(process.version + 1, self.version + 1))
            if behind:
                version = self.version
                source = {"deltas": [self._deltas[v] for v in range(process.version + 1,
                                                                    version + 1)]}
        if not behind:
            version, source = self._source(process)
        try:
            process.load(source, version, _STARTUP_TIMEOUT)
        finally:
            process.loading = None
        self._forget_checkpoints()

    def _forget_checkpoints(self) -> None:
        # a checkpoint no worker reads any more (and not the current one) is removed
        if not self._checkpoints:
            return
        with self._lock:
            busy = {self.version} | {w.version for w in self._workers} | {
                w.loading for w in self._workers}
            for version in [v for v in self._checkpoints if v not in busy]:
                shutil.rmtree(self._checkpoints.pop(version), ignore_errors=True)

    def _replace(self, process: _Worker, *, keep: str | None = None) -> None:
        """Kill a worker and start another in the background; ``keep`` names the spool
        file of an answer it finished (every other file of it is a partial answer)."""
        pid = process.pid
        process.kill()
        self._workers.discard(process)
        for name in os.listdir(self._spool_dir):  # what it was writing when killed
            path = os.path.join(self._spool_dir, name)
            if name.startswith(f"kg-{pid}-") and path != keep:
                os.unlink(path)

        def spawn() -> None:
            if self._closed:
                return
            parent = None
            if self.kg.config.data_dir is None and _FORK and self._workers:
                # an idle worker forks it; if none is free soon, it starts on its own
                with contextlib.suppress(queue.Empty):
                    parent = self._idle.get(timeout=_FORK_WAIT)
            try:
                fresh = self._new_worker(parent)
            except errors.KGError:
                if not self._closed:
                    log.exception("a replacement query worker failed to start")
                return
            finally:
                if parent is not None:
                    self._idle.put(parent)
                    if self._closed:
                        parent.kill()
            self._workers.add(fresh)
            self._idle.put(fresh)
            if self._closed:  # closed while it started
                fresh.kill()

        threading.Thread(target=spawn, name="kg-worker-replace", daemon=True).start()

    def dataset_changed(self, delta: Delta | None = None) -> None:
        """Tell the workers the data changed: each updates its view before its next query.

        With the ``delta`` that was committed, workers in memory apply it instead of
        reloading a snapshot of the whole store.
        """
        with self._lock:
            self.version += 1
            if delta is not None:
                self._deltas[self.version] = delta.to_nquads()
            for version in [v for v in self._deltas if v <= self.version - _DELTA_LOG]:
                del self._deltas[version]
        if self.cache is not None:
            self.cache.forget_before(self.dataset_version)

    @property
    def dataset_version(self) -> str:
        """The current version of the data, as answers and their tags carry it."""
        return f"{self.epoch}.{self.version}"

    def close(self) -> None:
        """Stop the workers and remove the spool folder."""
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().kill()
            except queue.Empty:
                break
        shutil.rmtree(self._spool_dir, ignore_errors=True)
        if self._checkpoint_dir is not None:
            shutil.rmtree(self._checkpoint_dir, ignore_errors=True)

    # -- queries -------------------------------------------------------------------------

    def query(self, text: str, *, accept: str | None = None, format: str | None = None,
              default_graphs: Sequence[str] = (), named_graphs: Sequence[str] = (),
              base_iri: str | None = None, inference: bool = True,
              quads_query: str | None = None) -> Answer:
        """Run a read-only query and return its complete answer, negotiated on ``accept``.

        Relative IRIs in the query resolve against ``base_iri`` (the endpoint's own URL).
        ``inference=False`` answers from the asserted graphs only. ``quads_query`` (a
        SELECT of ?s ?p ?o ?g) answers instead of a CONSTRUCT ``text`` when the client
        chooses a quad format, so that each triple comes in its named graph.

        Raises the KGError that fits: syntax (400, with position), limits (400/413),
        not acceptable (406), timeout or no worker free in time (503), crash (500).
        """
        request = self._request(text, accept, format, default_graphs, named_graphs,
                                base_iri, inference, quads_query)
        tag = self._known_tag(request)
        cached = self.cache.get(tag) if tag else None
        if cached is not None:
            return cached
        try:
            reply, version = self._run(request)
            answer = self._answer(reply)
        except errors.RemoteServiceError as exc:
            raise self._service_failure(text, exc) from None
        answer.version = f"{self.epoch}.{version}"
        answer.tag = fingerprint(answer.version, request, answer.format.name)
        if self.cache is not None:
            self.cache.remember_kind(request["query"], answer.kind)
            if answer.data is not None:
                self.cache.put(answer.tag, answer, answer.size)
        return answer

    def tag(self, text: str, *, accept: str | None = None, format: str | None = None,
            default_graphs: Sequence[str] = (), named_graphs: Sequence[str] = (),
            base_iri: str | None = None, inference: bool = True,
            quads_query: str | None = None) -> str | None:
        """The tag the answer to this query would carry now, without running it; None when
        it cannot be told (a query not seen since the start, or no cache)."""
        try:
            return self._known_tag(self._request(text, accept, format, default_graphs,
                                                 named_graphs, base_iri, inference,
                                                 quads_query))
        except errors.KGError:
            return None  # the query itself will report it

    def _request(self, text, accept, format, default_graphs, named_graphs, base_iri,
                 inference, quads_query) -> dict:
        text = check_query(text, max_length=self.max_query_length,
                           max_nesting=self.max_nesting, services=self.services)
        return {"query": text, "accept": accept, "format": format,
                "default_graphs": list(default_graphs), "named_graphs": list(named_graphs),
                "base_iri": base_iri, "max_rows": self.max_rows, "inference": inference,
                "quads_query": quads_query}

    def _known_tag(self, request: dict) -> str | None:
        kind = self.cache.kind(request["query"]) if self.cache is not None else None
        if kind is None:
            return None
        fmt = negotiate(request["accept"], kind, override=request["format"])
        return fingerprint(self.dataset_version, request, fmt.name)

    def _run(self, request: dict) -> tuple[tuple, int]:
        """The worker's reply to ``request`` and the data version it answered from."""
        if self.workers == 0:
            with self.store_lock.reading():
                reply = ("ok", worker.answer(self.kg.store, request, self._spool_dir))
            return reply, self.version
        deadline = time.monotonic() + self.timeout
        try:
            process = self._idle.get(timeout=self.timeout)
        except queue.Empty:
            raise errors.QueryTimeoutError(
                f"all {self.workers} query workers stayed busy for {self.timeout:g} s; "
                "try again later") from None
        try:
            if process.version != self.version:
                try:
                    self._prepare(process)
                except errors.KGError:  # it could not load the new version: replace it
                    self._replace(process)
                    raise
            process.conn.send(("query", request))
            heavy = self._wait(process, deadline)
            reply = process.conn.recv()
        except (EOFError, OSError) as exc:
            process.kill()  # if it is not quite gone yet (its exit code is kept meanwhile)
            code = process.exit_code()
            self._replace(process)
            raise errors.EngineError(f"the query engine process ended unexpectedly (exit "
                                     f"code {code}); the query may be too complex") from exc
        if heavy and not _restore_priority(process.pid):
            # it runs at a lower priority now: a fresh worker takes its place (in memory,
            # at the cost of loading the data again, which is why the priority is restored
            # where the server may)
            self._replace(process, keep=reply[1].get("path") if reply[0] == "ok" else None)
        else:
            self._idle.put(process)
        return reply, process.version

    def _service_failure(self, text: str,
                         exc: errors.RemoteServiceError) -> errors.RemoteServiceError:
        # one line naming the SERVICE IRI: the URLs of the operator's service map are
        # configuration, those of the relay an internal detail
        return self.services.failure(text, exc.message) if self.services else exc

    def _wait(self, process: _Worker, deadline: float) -> bool:
        """Wait until ``process`` answers; stop it at the deadline, or as soon as it turns
        heavy while every heavy slot is taken. A heavy query goes on at a lower CPU
        priority, so that short queries keep the processors; returns whether it turned
        heavy."""
        pid, heavy = process.pid, False
        started, cpu_before = time.monotonic(), process.cpu_seconds()
        try:
            while not process.answered(min(_CHECK, deadline - time.monotonic())):
                if time.monotonic() >= deadline:
                    self._replace(process)
                    raise errors.QueryTimeoutError(
                        f"the query was stopped after {self.timeout:g} s (the timeout of "
                        "this endpoint); narrow it or add a LIMIT")
                if heavy:
                    continue
                cpu = process.cpu_seconds()
                used = (time.monotonic() - started if cpu is None or cpu_before is None
                        else cpu - cpu_before)
                if used > self.heavy_after:
                    if not self._heavy.acquire(blocking=False):
                        self._replace(process)
                        raise errors.BusyError(
                            f"the query was stopped after {self.heavy_after:g} s of CPU: "
                            f"{self.heavy_queries} long queries are running already (the "
                            "most this endpoint runs at once, so that short queries keep "
                            "being answered); retry later, or narrow it")
                    heavy = True
                    _lower_priority(pid)
        finally:
            if heavy:
                self._heavy.release()
        return heavy

    @staticmethod
    def _answer(reply: tuple) -> Answer:
        if reply[0] == "error":
            raise rebuild_error(*reply[1:])
        if reply[0] == "fault":
            raise errors.EngineError(f"the query engine failed: {reply[1]}")
        body = reply[1]
        kind = ResultKind(body["kind"])
        return Answer(kind, by_name(body["format"], FORMATS[kind]), body["rows"],
                      body["data"], body["path"], body.get("stream"))
