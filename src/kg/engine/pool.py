"""The query worker pool's life cycle: start, replace, recycle, and keep each worker's data
up to date.

pyoxigraph has no timeout or cancellation and a Python thread cannot be stopped, so each
query runs in a persistent worker process holding a view of the data. This module keeps
those processes: the engine (:mod:`kg.engine.isolated`, which adds the queries, deadlines
and the heavy-query cap) takes an idle worker from the pool and gives it back, or has it
replaced when it was killed.

**In memory, one copy of the data.** Workers are forked from the server process (Linux),
under the store's lock: they start in milliseconds with the server's data, on pages they
share with it. Oxigraph's in-memory store writes reference counts on what a query reads,
so a worker slowly takes copies of the pages it reads; a worker whose private memory grows
past its share of a fixed budget (half the server's heap, split between the workers) is
replaced by a fresh fork. The memory of the tree is then the server's, plus that budget,
whatever the number of workers. A killed worker is replaced the same way.

Writes go through the process owning the store; each change bumps a version number and
each worker brings its view up to date before its next query, all at once (a worker
answers one query at a time, so it never shows half a change): in memory it receives the
changes (:class:`~kg.store.delta.Delta` as N-Quads) made since its version, or, too far
behind, is replaced by a new worker. On disk, workers are processes of their own, each
opening its own checkpoint of the store (RocksDB hard links: milliseconds; never the store
the server writes to, which Oxigraph forbids), to which it applies the changes as workers
in memory do: a write never makes a worker open the store again. Off Linux, in memory,
workers parse a snapshot.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import tempfile
import threading

from pyoxigraph import RdfFormat

from .. import errors
from ..store.delta import Delta
from ..store.graph import KnowledgeGraph
from .process import CAN_FORK, WorkerProcess, anonymous_bytes, start_context

log = logging.getLogger("kg")

_STARTUP_TIMEOUT = 120.0  # seconds a new worker may take to load its data
_DELTA_LOG = 256  # changes kept for workers that are behind; further back: a new fork
_MEMORY_CHECK = 0.05  # CPU seconds a worker uses between two looks at its memory
_MIN_SHARE = 4 * 1024 * 1024  # a worker's share of the budget is at least this


class WorkerPool:
    """``workers`` query worker processes, each holding a version of ``kg``'s data.

    Kept by :class:`kg.engine.isolated.IsolatedExecutor` (one per endpoint), which takes
    a worker from :attr:`idle`, brings it to :attr:`version` with :meth:`up_to_date`, and
    puts it back (:meth:`give_back`) or has it replaced (:meth:`replace`).
    """

    def __init__(self, kg: KnowledgeGraph, *, workers: int) -> None:
        self.kg = kg
        self.workers = workers
        self.version = 0
        self.spool_dir = tempfile.mkdtemp(prefix="kg-spool-")
        # last in, first out: the worker that answered last answers next, with its caches
        # warm; taking them in turn made each query pay for a cold process (3x the CPU)
        self.idle: queue.LifoQueue[WorkerProcess] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._snapshot: tuple[int, str] | None = None  # off Linux, in memory: a file
        self._deltas: dict[int, tuple[bytes, bytes]] = {}  # version -> the change that made it
        self._checkpoint_dir: str | None = None  # on disk: each worker's copy of the store
        self._workers: set[WorkerProcess] = set()
        #: in memory on Linux, workers are forked from this process with its data
        self.forks = CAN_FORK and kg.config.data_dir is None
        self._context = None if self.forks else start_context()
        self.share = 0  # bytes of private memory a forked worker may hold (set by start)
        self._closed = False

    def start(self) -> "WorkerPool":
        """Start the worker processes and wait until each holds the data."""
        if self.forks:
            budget = anonymous_bytes() // 2
            self.share = max(_MIN_SHARE, budget // max(1, self.workers))
        for _ in range(self.workers):
            process = self._new_worker()
            self._workers.add(process)
            self.idle.put(process)
        with self._lock:
            if self._snapshot is not None:
                # every worker holds the data now: the snapshot (a file as large as the data,
                # in memory where /tmp is a tmpfs) is dumped again if a worker ever needs it
                os.unlink(self._snapshot[1])
                self._snapshot = None
        return self

    def _new_worker(self) -> WorkerProcess:
        """A worker holding the current version of the data: forked from this process (in
        memory, on Linux), else a process of its own that opens its own checkpoint of the
        store (on disk) or parses a snapshot."""
        if self.forks:
            with self.kg.lock.writing():  # no thread is inside the store while it forks
                process = WorkerProcess.forked(self.kg.store, self.spool_dir)
                process.version = self.version
            return process
        process = WorkerProcess.start(self._context, self.spool_dir)
        try:
            version, source = self._source(process)
            process.load(source, version, _STARTUP_TIMEOUT)
        except errors.KGError:
            self._discard(process)
            raise
        return process

    def _source(self, process: WorkerProcess) -> tuple[int, dict]:
        # the store's lock before the pool's, in the order a writer takes them (it tells
        # the pool of its change while it holds the store's)
        with self.kg.lock.reading(), self._lock:
            if self.kg.config.data_dir is not None:
                return self.version, {"path": self._checkpoint(process)}
            if self._snapshot is None or self._snapshot[0] != self.version:
                self._snapshot = (self.version, self._dump(self.version))
            return self._snapshot[0], {"nquads_file": self._snapshot[1]}

    def _dump(self, version: int) -> str:
        # the snapshot goes through a file that each worker parses itself: neither this
        # process nor the workers hold it in memory (at 1M triples, 200 MB each)
        path = os.path.join(self.spool_dir, f"snapshot-{version}.nq")
        with open(path + ".part", "wb") as output:
            self.kg.store.dump(output, RdfFormat.N_QUADS)
        os.replace(path + ".part", path)
        if self._snapshot is not None:
            os.unlink(self._snapshot[1])  # a worker still reading keeps it
        return path

    def _checkpoint(self, process: WorkerProcess) -> str:
        """The worker's own copy of the on-disk store (RocksDB hard links, on its disk),
        which it opens and brings up to date with the changes, as workers in memory do."""
        if self._checkpoint_dir is None:
            parent = self.kg.config.data_dir.resolve().parent
            self._checkpoint_dir = tempfile.mkdtemp(prefix=".kg-checkpoints-", dir=parent)
        process.checkpoint = os.path.join(self._checkpoint_dir, f"worker-{process.pid}")
        self.kg.store.backup(process.checkpoint)
        return process.checkpoint

    def up_to_date(self, process: WorkerProcess) -> WorkerProcess:
        """``process`` brought to the current version with the changes since its own, or,
        when those are no longer all kept, the new worker that takes its place. Raises
        EngineError when it could not take a change (it is replaced meanwhile)."""
        if process.version == self.version:
            return process
        with self._lock:
            kept = all(v in self._deltas for v in range(process.version + 1, self.version + 1))
            version = self.version
            deltas = [self._deltas[v] for v in range(process.version + 1, version + 1)] if kept else []
        if not kept:
            self._discard(process)
            fresh = self._new_worker()  # in memory a fork: milliseconds
            self._workers.add(fresh)
            return fresh
        try:
            process.load({"deltas": deltas}, version, _STARTUP_TIMEOUT)
        except errors.KGError:  # it could not take the change: replace it
            self.replace(process)
            raise
        return process

    def give_back(self, process: WorkerProcess, *, keep: str | None = None) -> None:
        """Put ``process`` back among the idle workers after a query, or, forked and grown
        past its share of memory, replace it by a fresh fork (``keep``: as :meth:`replace`).
        The memory is looked at after every ``_MEMORY_CHECK`` seconds of the worker's CPU
        (reading it costs milliseconds at a million triples), off the request's path."""
        cpu = process.cpu_at_rest = process.cpu_seconds()
        if not self.forks or cpu is None or cpu - process.cpu_checked < _MEMORY_CHECK:
            self.idle.put(process)
            return
        process.cpu_checked = cpu

        def check() -> None:
            if process.private_bytes() > self.share:
                self.replace(process, keep=keep)
            else:
                self.idle.put(process)

        threading.Thread(target=check, name="kg-worker-memory", daemon=True).start()

    def replace(self, process: WorkerProcess, *, keep: str | None = None) -> None:
        """Kill a worker and start another in the background; ``keep`` names the spool
        file of an answer it finished (every other file of it is a partial answer)."""
        self._discard(process, keep=keep)

        def spawn() -> None:
            if self._closed:
                return
            try:
                fresh = self._new_worker()
            except (errors.KGError, OSError):  # OSError: the pool closed under it
                if not self._closed:
                    log.exception("a replacement query worker failed to start")
                return
            self._workers.add(fresh)
            self.idle.put(fresh)
            if self._closed:  # closed while it started
                fresh.kill()

        threading.Thread(target=spawn, name="kg-worker-replace", daemon=True).start()

    def _discard(self, process: WorkerProcess, *, keep: str | None = None) -> None:
        pid = process.pid
        process.kill()
        self._workers.discard(process)
        for name in os.listdir(self.spool_dir):  # what it was writing when killed
            path = os.path.join(self.spool_dir, name)
            if name.startswith(f"kg-{pid}-") and path != keep:
                os.unlink(path)
        if process.checkpoint is not None:
            shutil.rmtree(process.checkpoint, ignore_errors=True)

    def new_version(self, delta: Delta | None) -> None:
        """Count a change of the data; its ``delta``, if given, is kept for the workers
        that are behind (the last ``_DELTA_LOG`` of them)."""
        with self._lock:
            self.version += 1
            if delta is not None:
                self._deltas[self.version] = delta.to_nquads()
            for version in [v for v in self._deltas if v <= self.version - _DELTA_LOG]:
                del self._deltas[version]

    def close(self) -> None:
        """Stop the workers and remove the spool folder and the checkpoints."""
        self._closed = True
        while True:
            try:
                self.idle.get_nowait().kill()
            except queue.Empty:
                break
        shutil.rmtree(self.spool_dir, ignore_errors=True)
        if self._checkpoint_dir is not None:
            shutil.rmtree(self._checkpoint_dir, ignore_errors=True)
