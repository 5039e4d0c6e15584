"""Query execution with deadlines: what callers use (:class:`Engine`; no Flask here).

Each query runs in a worker process of a small pool (:mod:`kg.sparql.pool`, whose life
cycle it is; :mod:`kg.sparql.process` speaks to one worker; :mod:`kg.sparql.worker` is
what a worker does), because pyoxigraph has no timeout or cancellation and a Python thread
cannot be stopped. The caller waits with a deadline; past it the worker is killed (SIGKILL
frees the CPU at once), replaced in the background, and the caller gets QueryTimeoutError
(503) while the other workers keep answering. A worker writes the complete answer before
the caller sees a byte, so an answer is a whole document or an error, never a truncated
one. A crash in the parser (deep nesting overflows its stack) only ends a worker.

**Heavy queries do not starve quick ones.** A query that has used more than ``heavy_after``
seconds of CPU is *heavy*; at most ``heavy_queries`` heavy queries run at once, and one that
turns heavy beyond that is stopped at once (503, "busy") instead of at its deadline. With
more workers than heavy slots (defaults: 6 workers, 3 heavy queries), a burst of runaway
queries leaves workers free for short ones, which are answered at once rather than after the
timeout; a heavy query goes on at a lower CPU priority (afterwards its worker gets its
priority back, or, where the server may not raise it, is replaced),
so short queries keep the processors. CPU time, not elapsed time, decides: under a heavy but
legitimate load every query takes longer, yet none uses more CPU, so none is refused for
being slowed down.

Writes go through the process owning the store and then call :meth:`Engine.dataset_changed`:
each worker brings its view up to date before its next query (see :mod:`kg.sparql.pool`),
and cached answers of older versions are dropped.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import dataclass
from typing import Iterator, Sequence

from .. import errors
from . import worker
from .cache import ResultCache, fingerprint, new_epoch
from ..store.delta import Delta
from .formats import FORMATS, Format, ResultKind, by_name, negotiate
from .federation import ServicePolicy
from .guard import check_query
from .pool import WorkerPool
from .process import WorkerProcess, rebuild_error
from ..store.graph import KnowledgeGraph

_CHUNK = 64 * 1024
_CHECK = 0.1  # seconds between two looks at a running query's CPU time


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


class Engine(WorkerPool):
    """Runs SPARQL queries for the endpoint, each with a deadline.

    ``workers=0`` runs queries in this process: no timeouts, but no process start either
    (for one-shot use). Otherwise call :meth:`start` first and :meth:`close` at the end
    (both of :class:`~kg.sparql.pool.WorkerPool`, whose workers this engine keeps).
    """

    def __init__(self, kg: KnowledgeGraph, *, workers: int = 6, timeout: float = 30.0,
                 max_rows: int = 100_000, max_query_length: int = 100_000,
                 max_nesting: int = 100, services: ServicePolicy | None = None,
                 cache_bytes: int = 0, heavy_queries: int = 3,
                 heavy_after: float = 1.0) -> None:
        super().__init__(kg, workers=workers)
        self.services = services  # None: every SERVICE is refused
        self.timeout, self.max_rows = timeout, max_rows
        self.heavy_queries, self.heavy_after = heavy_queries, heavy_after
        self._heavy = threading.Semaphore(max(0, heavy_queries))
        self.max_query_length, self.max_nesting = max_query_length, max_nesting
        self.epoch = new_epoch()  # versions count from here: ETags never outlive a start
        self.cache = ResultCache(cache_bytes) if cache_bytes > 0 else None

    @classmethod
    def from_config(cls, kg: KnowledgeGraph, config) -> "Engine":
        """An engine with the limits of ``config`` (a :class:`kg.config.Config`)."""
        return cls(kg, workers=config.workers, timeout=config.timeout,
                   max_rows=config.max_rows, max_query_length=config.max_query_length,
                   max_nesting=config.max_nesting,
                   services=ServicePolicy.from_config(config),
                   cache_bytes=config.cache_size * 1024 * 1024,
                   heavy_queries=config.heavy_queries, heavy_after=config.heavy_after)

    def dataset_changed(self, delta: Delta | None = None) -> None:
        """Tell the workers the data changed: each updates its view before its next query.

        With the ``delta`` that was committed, workers in memory apply it instead of
        reloading a snapshot of the whole store.
        """
        self._new_version(delta)
        if self.cache is not None:
            self.cache.forget_before(self.dataset_version)

    @property
    def dataset_version(self) -> str:
        """The current version of the data, as answers and their tags carry it."""
        return f"{self.epoch}.{self.version}"

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

    def _wait(self, process: WorkerProcess, deadline: float) -> bool:
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
