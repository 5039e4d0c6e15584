"""The query worker pool's life cycle: start, fork, replace, and hand each worker its data.

pyoxigraph has no timeout or cancellation and a Python thread cannot be stopped, so each
query runs in a persistent worker process holding a view of the data (in memory: the first
worker parses an N-Quads snapshot of the store and forks the others, which start with its
data; on disk: the store opened read-only). This module keeps those processes: the engine
(:mod:`kg.engine.isolated`, which adds the queries, deadlines and the heavy-query cap) takes
an idle worker from the pool and gives it back, or has it replaced when it was killed.

A killed worker is replaced at once, in the background: forked by an idle worker (in
memory, milliseconds, without parsing the data again), or from a server process that has
imported the worker module already (``forkserver``, about 0.1 s). Forked workers share
their pages with the worker that forked them only until they read them: Oxigraph's
in-memory store counts references to what a query reads, which writes to the pages, so a
worker that has answered queries over all the data holds its own copy.

Writes go through the process owning the store; each change bumps a version number and
each worker brings its view up to date before its next query, all at once (a worker
answers one query at a time, so it never shows half a change). In memory, a worker
receives the changes (:class:`~kg.store.delta.Delta` as N-Quads) made since its version
instead of a whole snapshot; it gets a snapshot only when it starts on its own (not forked
by another worker) or fell too far behind. On disk, workers open a checkpoint of the store
taken for their version (RocksDB hard links: milliseconds), never the store the server
writes to, which Oxigraph forbids.
"""

from __future__ import annotations

import contextlib
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
from ..store.lock import ReadWriteLock
from .process import CAN_FORK, WorkerProcess, start_context

log = logging.getLogger("kg")

_STARTUP_TIMEOUT = 120.0  # seconds a new worker may take to load its data
_FORK_WAIT = 2.0  # seconds a replacement waits for an idle worker to fork it
_DELTA_LOG = 256  # changes kept for workers that are behind; further back: a snapshot


class WorkerPool:
    """``workers`` query worker processes, each holding a version of ``kg``'s data.

    Kept by :class:`kg.engine.isolated.IsolatedExecutor` (one per endpoint), which takes
    a worker from ``_idle``, brings it to ``version`` with :meth:`_prepare`, and puts it
    back or has it replaced (:meth:`_replace`).
    """

    def __init__(self, kg: KnowledgeGraph, *, workers: int, store_lock: ReadWriteLock) -> None:
        self.kg = kg
        self.workers = workers
        self.version = 0
        self.spool_dir = tempfile.mkdtemp(prefix="kg-spool-")
        # last in, first out: the worker that answered last answers next, with its caches
        # warm; taking them in turn made each query pay for a cold process (3x the CPU)
        self.idle: queue.LifoQueue[WorkerProcess] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._snapshot: tuple[int, dict] | None = None
        self._deltas: dict[int, tuple[bytes, bytes]] = {}  # version -> the change that made it
        self._checkpoints: dict[int, str] = {}  # on disk: version -> checkpoint folder
        self._checkpoint_dir: str | None = None
        self.store_lock = store_lock  # held while the live store is copied for the workers
        self._workers: set[WorkerProcess] = set()
        self._context = start_context()
        self._closed = False

    def start(self) -> "WorkerPool":
        """Start the worker processes and wait until each holds the data."""
        first = None
        for _ in range(self.workers):
            process = self._new_worker(first)
            first = first or process
            self._workers.add(process)
            self.idle.put(process)
        with self._lock:
            if self._snapshot is not None and "nquads_file" in self._snapshot[1]:
                # every worker holds the data now: the snapshot (a file as large as the data,
                # in memory where /tmp is a tmpfs) is dumped again if a worker ever needs it
                os.unlink(self._snapshot[1]["nquads_file"])
                self._snapshot = None
        return self

    def _new_worker(self, parent: WorkerProcess | None = None) -> WorkerProcess:
        """A worker holding the current version of the data. In memory it is forked by the
        idle worker ``parent``, if any, and starts with its data (one parse at start,
        milliseconds to replace a killed worker, pages shared until the worker touches
        them); else it is a process of its own that reads a snapshot or a checkpoint."""
        process = None
        if parent is not None and self.kg.config.data_dir is None and CAN_FORK:
            try:
                process = parent.fork()
            except (EOFError, OSError):
                log.warning("a query worker could not be forked; starting one afresh")
        if process is None:
            process = WorkerProcess.start(self._context, self.spool_dir)
        if process.version != self.version:
            try:
                self.prepare(process)
            except errors.KGError:
                process.kill()
                raise
        return process

    def _source(self, process: WorkerProcess | None = None) -> tuple[int, dict]:
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
        path = os.path.join(self.spool_dir, f"snapshot-{version}.nq")
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

    def prepare(self, process: WorkerProcess) -> None:
        """Bring ``process`` to the current version: the changes since its own (in memory,
        when they are all kept), else a snapshot or a checkpoint."""
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

    def replace(self, process: WorkerProcess, *, keep: str | None = None) -> None:
        """Kill a worker and start another in the background; ``keep`` names the spool
        file of an answer it finished (every other file of it is a partial answer)."""
        pid = process.pid
        process.kill()
        self._workers.discard(process)
        for name in os.listdir(self.spool_dir):  # what it was writing when killed
            path = os.path.join(self.spool_dir, name)
            if name.startswith(f"kg-{pid}-") and path != keep:
                os.unlink(path)

        def spawn() -> None:
            if self._closed:
                return
            parent = None
            if self.kg.config.data_dir is None and CAN_FORK and self._workers:
                # an idle worker forks it; if none is free soon, it starts on its own
                with contextlib.suppress(queue.Empty):
                    parent = self.idle.get(timeout=_FORK_WAIT)
            try:
                fresh = self._new_worker(parent)
            except (errors.KGError, OSError):  # OSError: the pool closed under it
                if not self._closed:
                    log.exception("a replacement query worker failed to start")
                return
            finally:
                if parent is not None:
                    self.idle.put(parent)
                    if self._closed:
                        parent.kill()
            self._workers.add(fresh)
            self.idle.put(fresh)
            if self._closed:  # closed while it started
                fresh.kill()

        threading.Thread(target=spawn, name="kg-worker-replace", daemon=True).start()

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
        """Stop the workers and remove the spool folder."""
        self._closed = True
        while True:
            try:
                self.idle.get_nowait().kill()
            except queue.Empty:
                break
        shutil.rmtree(self.spool_dir, ignore_errors=True)
        if self._checkpoint_dir is not None:
            shutil.rmtree(self._checkpoint_dir, ignore_errors=True)
