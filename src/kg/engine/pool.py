"""The query workers' life cycle: start, replace, and keep each worker's data up to date.

Queries run outside the server process, where a runaway one is stopped by ending a
process (why, and the deadlines and the heavy-query cap: :mod:`kg.engine.isolated`). This
module keeps the workers: the executor takes an idle worker from the pool and gives it
back, or has it replaced when it was stopped.

**In memory (Linux): one host, one more copy at most.** The workers are the threads of one
query host (:class:`~kg.engine.process.Host`), forked from the server process under the
store's lock: it starts in milliseconds with the server's data, on pages it shares with
it. Oxigraph's in-memory store writes reference counts where a query reads, so the host
copies the pages its queries read: at most one copy of the data, whatever ``--workers``
is. Stopping a runaway query kills the host; a new one is forked at once and the queries
the others were answering run again on it.

**On disk, and in memory off Linux**, each worker is a process of its own: on disk it
opens its own checkpoint of the store (RocksDB hard links: milliseconds; never the store
the server writes to, which Oxigraph forbids), off Linux it parses a snapshot.

Writes go through the process owning the store; each change bumps a version number and
each worker brings its view up to date before its next query, all at once (a worker
answers one query at a time, so it never shows half a change): it receives the changes
(:class:`~kg.delta.Delta` as N-Quads) made since its version and applies them to its
view (in memory) or its checkpoint (on disk) — a write never makes a worker load the data
again — or, too far behind, is replaced.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import shutil
import threading

from pyoxigraph import RdfFormat

from .. import errors
from ..delta import Delta
from ..store.graph import KnowledgeGraph
from .process import CAN_FORK, Host, Worker, WorkerProcess, start_context
from .spool import private_folder

log = logging.getLogger("kg")

_STARTUP_TIMEOUT = 120.0  # seconds a new worker may take to load its data
_DELTA_LOG = 256  # changes kept for workers that are behind; further back: a new worker


class WorkerPool:
    """``workers`` query workers, each holding a version of ``kg``'s data.

    Kept by :class:`kg.engine.isolated.IsolatedExecutor` (one per endpoint), which takes
    a worker from :attr:`idle`, brings it to :attr:`version` with :meth:`up_to_date`, and
    puts it back (:meth:`give_back`) or has it replaced (:meth:`replace`).
    """

    def __init__(self, kg: KnowledgeGraph, *, workers: int) -> None:
        self.kg = kg
        self.workers = workers
        self.version = 0
        self.spool_dir = private_folder("kg-spool-")
        # last in, first out: the worker that answered last answers next, with its caches
        # warm; taking them in turn made each query pay for a cold one (3x the CPU)
        self.idle: queue.LifoQueue[Worker] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._snapshot: tuple[int, str] | None = None  # off Linux, in memory: a file
        self._deltas: dict[int, tuple[bytes, bytes]] = {}  # version -> the change that made it
        self._checkpoint_dir: str | None = None  # on disk: each worker's copy of the store
        self._workers: set[Worker] = set()
        #: in memory on Linux, the workers are the threads of a host forked from here
        self.host: Host | None = None
        self._hosted = CAN_FORK and kg.config.data_dir is None
        self._context = None if self._hosted else start_context()
        self._closed = False

    def start(self) -> "WorkerPool":
        """Start the workers and wait until each holds the data."""
        if self._hosted:
            self._start_host()
            return self
        for _ in range(self.workers):
            process = self._new_process()
            self._workers.add(process)
            self.idle.put(process)
        with self._lock:
            if self._snapshot is not None:
                # every worker holds the data now: the snapshot (a file as large as the data,
                # in memory where /tmp is a tmpfs) is dumped again if a worker ever needs it
                os.unlink(self._snapshot[1])
                self._snapshot = None
        return self

    # -- in memory: the host -----------------------------------------------------------------

    def _start_host(self) -> None:
        with self.kg.lock.writing():  # no thread is inside the store while it forks
            host = Host.forked(self.kg.store, self.spool_dir, self.workers)
            host.version = self.version
        try:
            host.wait_ready(_STARTUP_TIMEOUT)
        except errors.KGError:
            self._forget(host.pid)
            raise
        with self._lock:
            if self._closed:
                host.kill()
                return
            self.host = host
            self._workers = set(host.slots)
        for slot in host.slots:
            self.idle.put(slot)

    def _replace_host(self, host: Host) -> None:
        with self._lock:
            if host is not self.host:
                return  # replaced already (every slot of a stopped host reports it)
            self.host = None  # its slots are not given back
        host.kill()
        self._forget(host.pid)
        while True:  # its idle slots are gone with it
            try:
                self.idle.get_nowait().close()
            except queue.Empty:
                break
        self._in_background(self._start_host)

    def stopped_for_another(self, worker: Worker) -> bool:
        """Whether ``worker`` ended because the engine stopped its host for another
        query (its own query did nothing wrong: it may run again)."""
        return worker.host is not None and worker.host.stopped

    # -- on disk, and in memory off Linux: processes of their own -----------------------------

    def _new_process(self) -> WorkerProcess:
        """A worker process of its own holding the current version of the data: its own
        checkpoint of the store (on disk) or a snapshot it parses."""
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
            self._checkpoint_dir = private_folder(".kg-checkpoints-", parent)
        process.checkpoint = os.path.join(self._checkpoint_dir, f"worker-{process.pid}")
        self.kg.store.backup(process.checkpoint)
        return process.checkpoint

    def _discard(self, process: WorkerProcess) -> None:
        process.kill()
        self._workers.discard(process)
        self._forget(process.pid)
        if process.checkpoint is not None:
            shutil.rmtree(process.checkpoint, ignore_errors=True)

    # -- both ----------------------------------------------------------------------------------

    def up_to_date(self, worker: Worker) -> Worker:
        """``worker`` brought to the current version with the changes since its own, or,
        when those are no longer all kept, the worker that takes its place. Raises
        EngineError when it could not take a change (it is replaced meanwhile)."""
        if worker.version == self.version:
            return worker
        host = worker.host
        with host.lock if host is not None else contextlib.nullcontext():  # one slot per host
            if worker.version == self.version:
                return worker
            with self._lock:
                version = self.version
                kept = all(v in self._deltas for v in range(worker.version + 1, version + 1))
                deltas = [self._deltas[v] for v in range(worker.version + 1, version + 1)
                          ] if kept else []
            if kept:
                try:
                    worker.load({"deltas": deltas}, version, _STARTUP_TIMEOUT)
                    return worker
                except errors.KGError:  # it could not take the change: replace it
                    self.replace(worker)
                    raise
        if host is not None:
            self._replace_host(host)
            worker.close()
            try:
                return self.idle.get(timeout=_STARTUP_TIMEOUT)
            except queue.Empty:
                raise errors.EngineError("no query worker started in time") from None
        self._discard(worker)
        fresh = self._new_process()
        self._workers.add(fresh)
        return fresh

    def give_back(self, worker: Worker) -> None:
        """Put ``worker`` back among the idle workers after a query (unless its host is
        gone meanwhile)."""
        worker.cpu_at_rest = worker.cpu_seconds()
        host = worker.host
        if host is None or host is self.host:
            self.idle.put(worker)
        else:
            worker.close()

    def replace(self, worker: Worker) -> None:
        """Stop a worker (in memory: its host, every slot with it) and start another in the
        background."""
        host = worker.host
        if host is not None:
            self._replace_host(host)
            worker.close()
            return
        self._discard(worker)

        def spawn() -> None:
            fresh = self._new_process()
            self._workers.add(fresh)
            self.idle.put(fresh)
            if self._closed:  # closed while it started
                fresh.kill()

        self._in_background(spawn)

    def _in_background(self, start) -> None:
        def run() -> None:
            if self._closed:
                return
            try:
                start()
            except (errors.KGError, OSError):  # OSError: the pool closed under it
                if not self._closed:
                    log.exception("a replacement query worker failed to start")

        threading.Thread(target=run, name="kg-worker-replace", daemon=True).start()

    def claim(self, path: str) -> str:
        """The spool file of an answer the engine received, renamed so that it outlives
        the worker that wrote it (whose other files are removed when it ends)."""
        kept = os.path.join(self.spool_dir, "kept-" + os.path.basename(path))
        os.replace(path, kept)
        return kept

    def _forget(self, pid: int) -> None:
        # the spool files of an ended process: partial answers of the queries it was
        # answering (those it finished were claimed)
        for name in os.listdir(self.spool_dir):
            if name.startswith(f"kg-{pid}-"):
                os.unlink(os.path.join(self.spool_dir, name))

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
        with self._lock:
            self._closed = True
            host = self.host
        if host is not None:
            host.kill()
        while True:
            try:
                worker = self.idle.get_nowait()
            except queue.Empty:
                break
            worker.kill()
            worker.close()
        shutil.rmtree(self.spool_dir, ignore_errors=True)
        if self._checkpoint_dir is not None:
            shutil.rmtree(self._checkpoint_dir, ignore_errors=True)
