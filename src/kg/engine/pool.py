"""The query host's life cycle: start it, replace it, keep its data up to date.

Queries run outside the server process, where a runaway one is stopped by ending a
process (why, and the deadlines and the heavy-query cap: :mod:`kg.engine.isolated`). This
module keeps that process, the query host (:class:`~kg.engine.process.Host`), whose
threads are the workers: the executor takes an idle worker from the pool and gives it
back, or has the host replaced when a query had to be stopped. One host, one copy of the
data the queries read, whatever ``--workers`` is:

- **In memory (Linux)** the host is forked from the server process under the store's lock:
  it starts in milliseconds with the server's data, on pages it shares with it. Oxigraph's
  in-memory store writes reference counts where a query reads, so the host copies the
  pages its queries read: at most one more copy of the data.
- **On disk** it opens its own checkpoint of the store (RocksDB hard links: milliseconds;
  never the store the server writes to, which Oxigraph forbids), with one set of RocksDB
  caches for all its threads; **in memory off Linux** it parses a snapshot.

Stopping a runaway query kills the host; a new one is started at once and the queries its
other threads were answering run again on it.

Writes go through the process owning the store; each change bumps a version number and
the host brings its data up to date before its next query: a worker receives the changes
(:class:`~kg.delta.Delta` as N-Quads) made since the host's version and applies them to
the host's view (in memory) or checkpoint (on disk) — a write never makes the host load
the data again — or, too far behind, the host is replaced.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import threading

from pyoxigraph import RdfFormat

from .. import errors
from ..delta import Delta
from ..store.graph import KnowledgeGraph
from .process import CAN_FORK, Host, Worker, start_context
from .spool import private_folder

log = logging.getLogger("kg")

_STARTUP_TIMEOUT = 120.0  # seconds a new host may take to open its data
_DELTA_LOG = 256  # changes kept for a host that is behind; further back: a new host


class WorkerPool:
    """``workers`` query workers, the threads of one host holding a version of ``kg``'s data.

    Kept by :class:`kg.engine.isolated.IsolatedExecutor` (one per endpoint), which takes
    a worker from :attr:`idle`, brings it to :attr:`version` with :meth:`up_to_date`, and
    puts it back (:meth:`give_back`) or has its host replaced (:meth:`replace`).
    """

    def __init__(self, kg: KnowledgeGraph, *, workers: int) -> None:
        self.kg = kg
        self.workers = workers
        self.version = 0
        self.spool_dir = private_folder("kg-spool-")
        # last in, first out: the worker that answered last answers next, with its caches
        # warm; taking them in turn made each query pay for a cold one (3x the CPU)
        self.idle: queue.LifoQueue[Worker] = queue.LifoQueue()
        self.host: Host | None = None
        self._lock = threading.Lock()
        self._deltas: dict[int, tuple[bytes, bytes]] = {}  # version -> the change that made it
        self._checkpoint_dir: str | None = None  # on disk: the hosts' copies of the store
        self._forked = CAN_FORK and kg.config.data_dir is None
        self._context = None if self._forked else start_context()
        self._closed = False

    def start(self) -> "WorkerPool":
        """Start the host and wait until it holds the data."""
        self._start_host()
        return self

    def _start_host(self) -> None:
        host = self._forked_host() if self._forked else self._started_host()
        try:
            host.wait_ready(_STARTUP_TIMEOUT)
        except errors.KGError:
            self._remove(host)
            raise
        finally:
            if host.snapshot is not None:  # parsed (or never to be): not needed any more
                os.unlink(host.snapshot)
        with self._lock:
            if self._closed:
                self._remove(host)
                return
            self.host = host
        for worker in host.workers:
            self.idle.put(worker)

    def _forked_host(self) -> Host:
        with self.kg.lock.writing():  # no thread is inside the store while it forks
            host = Host.forked(self.kg.store, self.spool_dir, self.workers)
            host.version = self.version
        return host

    def _started_host(self) -> Host:
        # the store's lock before the pool's, in the order a writer takes them (it tells
        # the pool of its change while it holds the store's)
        with self.kg.lock.reading(), self._lock:
            path = os.path.join(self._own_folder(), f"v{self.version}-{os.urandom(4).hex()}")
            if self.kg.config.data_dir is not None:
                self.kg.store.backup(path)
                source = {"path": path}
            else:
                # the snapshot goes through a file the host parses itself: this process
                # never holds it in memory (at 1M triples, 200 MB)
                with open(path, "wb") as output:
                    self.kg.store.dump(output, RdfFormat.N_QUADS)
                source = {"nquads_file": path}
            host = Host.started(self._context, source, self.spool_dir, self.workers)
            host.version = self.version
        if "path" in source:
            host.checkpoint = path
        else:
            host.snapshot = path
        return host

    def _own_folder(self) -> str:
        """Where started hosts' data goes: checkpoints beside the data directory (hard
        links need the same disk), snapshots in the spool folder."""
        if self.kg.config.data_dir is None:
            return self.spool_dir
        if self._checkpoint_dir is None:
            parent = self.kg.config.data_dir.resolve().parent
            self._checkpoint_dir = private_folder(".kg-checkpoints-", parent)
        return self._checkpoint_dir

    def _replace_host(self, host: Host) -> None:
        with self._lock:
            if host is not self.host:
                return  # replaced already (every worker of a stopped host reports it)
            self.host = None  # its workers are not given back
        self._remove(host)
        while True:  # its idle workers are gone with it
            try:
                self.idle.get_nowait().close()
            except queue.Empty:
                break
        self._in_background(self._start_host)

    def _remove(self, host: Host) -> None:
        """Kill ``host`` and remove what it leaves: its spool files, its checkpoint."""
        host.kill()
        self._forget(host.pid)
        if host.checkpoint is not None:
            shutil.rmtree(host.checkpoint, ignore_errors=True)

    def stopped_for_another(self, worker: Worker) -> bool:
        """Whether ``worker`` ended because the engine stopped its host for another
        query (its own query did nothing wrong: it may run again)."""
        return worker.host.stopped

    def up_to_date(self, worker: Worker) -> Worker:
        """``worker`` with its host brought to the current version with the changes since
        its own, or, when those are no longer all kept, a worker of the host that takes its
        place. Raises EngineError when it could not take a change (it is replaced
        meanwhile)."""
        if worker.version == self.version:
            return worker
        host = worker.host
        with host.lock:  # one worker of a host applies the changes
            if worker.version == self.version:
                return worker
            with self._lock:
                version = self.version
                kept = all(v in self._deltas for v in range(worker.version + 1, version + 1))
                deltas = [self._deltas[v] for v in range(worker.version + 1, version + 1)
                          ] if kept else []
            if kept:
                try:
                    worker.apply(deltas, version, _STARTUP_TIMEOUT)
                    return worker
                except errors.KGError:  # it could not take the change: replace it
                    self.replace(worker)
                    raise
        self._replace_host(host)
        worker.close()
        try:
            return self.idle.get(timeout=_STARTUP_TIMEOUT)
        except queue.Empty:
            raise errors.EngineError("no query worker started in time") from None

    def give_back(self, worker: Worker) -> None:
        """Put ``worker`` back among the idle workers after a query (unless its host is
        gone meanwhile)."""
        worker.cpu_at_rest = worker.cpu_seconds()
        if worker.host is self.host:
            self.idle.put(worker)
        else:
            worker.close()

    def replace(self, worker: Worker) -> None:
        """Stop ``worker``'s host (every worker with it: a thread cannot be stopped alone)
        and start another in the background."""
        self._replace_host(worker.host)
        worker.close()

    def _in_background(self, start) -> None:
        def run() -> None:
            if self._closed:
                return
            try:
                start()
            except (errors.KGError, OSError):  # OSError: the pool closed under it
                if not self._closed:
                    log.exception("a replacement query host failed to start")

        threading.Thread(target=run, name="kg-host-replace", daemon=True).start()

    def claim(self, path: str) -> str:
        """The spool file of an answer the engine received, renamed so that it outlives
        the host that wrote it (whose other files are removed when it ends)."""
        kept = os.path.join(self.spool_dir, "kept-" + os.path.basename(path))
        os.replace(path, kept)
        return kept

    def _forget(self, pid: int) -> None:
        # the spool files of an ended host: partial answers of the queries it was
        # answering (those it finished were claimed)
        for name in os.listdir(self.spool_dir):
            if name.startswith(f"kg-{pid}-"):
                os.unlink(os.path.join(self.spool_dir, name))

    def new_version(self, delta: Delta | None) -> None:
        """Count a change of the data; its ``delta``, if given, is kept for a host that is
        behind (the last ``_DELTA_LOG`` of them)."""
        with self._lock:
            self.version += 1
            if delta is not None:
                self._deltas[self.version] = delta.to_nquads()
            for version in [v for v in self._deltas if v <= self.version - _DELTA_LOG]:
                del self._deltas[version]

    def close(self) -> None:
        """Stop the host and remove the spool folder and the checkpoints."""
        with self._lock:
            self._closed = True
            host = self.host
        if host is not None:
            host.kill()
        while True:
            try:
                self.idle.get_nowait().close()
            except queue.Empty:
                break
        shutil.rmtree(self.spool_dir, ignore_errors=True)
        if self._checkpoint_dir is not None:
            shutil.rmtree(self._checkpoint_dir, ignore_errors=True)
