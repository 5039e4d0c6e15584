"""One query worker process, seen from the engine: its handle and the pipe protocol.

:class:`WorkerProcess` is the engine's end of one worker (the other end is
:func:`kg.engine.worker.main`): fork it from this process with the data (in memory), or
start it on its own and send it its data; wait until it holds it, watch its CPU time and
private memory, kill it and tell how it ended. Messages on the pipe are tuples:
``("load", source)`` -> ``("ready", pid)`` or ``("failed", why)``; ``("query", QueryRequest)``
-> ``("ok", Answer)``, ``("error", …)`` (a KGError, rebuilt here by :func:`rebuild_error`) or
``("fault", text)``. Kept apart from the pool so that what a process is and how it is
spoken to reads on its own, without the pool's bookkeeping.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import select
import signal
import sys
import threading
import warnings
from multiprocessing import Pipe
from multiprocessing.connection import Connection

from .. import errors
from .worker import main as worker_main

try:
    _TICKS = os.sysconf("SC_CLK_TCK")
except (AttributeError, ValueError, OSError):  # not a POSIX system
    _TICKS = 0
#: In memory, workers are forked from the server process, with its data (see
#: :meth:`WorkerProcess.forked` for why that is safe on Linux)
CAN_FORK = sys.platform == "linux"


def rebuild_error(name: str, message: str, attributes: dict) -> errors.KGError:
    """The KGError a worker reported, rebuilt in this process with its attributes."""
    cls = getattr(errors, name, None)
    if not (isinstance(cls, type) and issubclass(cls, errors.KGError)):
        return errors.EngineError(f"{name}: {message}")
    exc = cls.__new__(cls)
    Exception.__init__(exc, message)
    exc.__dict__.update(attributes, message=message)
    return exc


def start_context():
    """How workers that load their own data are started (on disk: a fork would share the
    store's open files and RocksDB's threads; in memory off Linux): a forkserver, or spawn
    where there is none."""
    # a forkserver starts a fresh interpreter; preloading the worker module makes each
    # worker start in milliseconds
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["kg.engine.worker"])
        return context
    return multiprocessing.get_context("spawn")


class WorkerProcess:
    """One worker process and the engine's end of its pipe: forked from this process with
    its data, or started on its own (it loads its data itself)."""

    def __init__(self, conn: Connection, pid: int, *, process=None) -> None:
        self.conn, self.pid, self._process = conn, pid, process
        self.version: int | None = None
        self.checkpoint: str | None = None  #: on disk: its own copy of the store
        self.cpu_checked = 0.0  #: its CPU time when its memory was last looked at
        self.cpu_at_rest: float | None = None  #: its CPU time when it last went idle
        self._status: int | None = None  # forked: its wait status, once collected
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

    def private_bytes(self) -> int:
        """The memory the worker holds alone (pages it wrote since the fork); 0 where
        /proc does not tell."""
        return private_bytes(self.pid)

    @classmethod
    def start(cls, context, spool_dir: str) -> "WorkerProcess":
        """A worker process of its own, without data yet."""
        conn, child = context.Pipe()
        process = context.Process(target=worker_main, args=(child, spool_dir),
                                  daemon=True, name="kg-query-worker")
        process.start()
        child.close()
        return cls(conn, process.pid, process=process)

    @classmethod
    def forked(cls, store, spool_dir: str) -> "WorkerProcess":
        """A worker forked from this process, holding ``store`` as it is now: pages shared
        with this process until either writes them.

        Call it holding the store's lock for writing (:attr:`KnowledgeGraph.lock`): a fork
        copies only the calling thread, and any lock another thread held inside the store
        would stay held in the worker for ever. The worker's other inherited state (the
        server's sockets, other workers' pipes) is closed before it answers anything.
        """
        ours, theirs = Pipe()
        gc.freeze()  # the collector would write to every object's page in the worker
        try:
            with warnings.catch_warnings():
                # Python 3.12+ warns that a fork of a threaded process may deadlock in the
                # child: the store's lock, held here, is what rules that out
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
        except OSError:
            gc.unfreeze()
            ours.close()
            theirs.close()
            raise
        if pid == 0:
            try:
                _become_worker(keep=theirs.fileno())
                # a thread of its own: the random generator Oxigraph names blank nodes with
                # is per thread, and the forking thread's was copied into every fork (two
                # workers would give BNODE() the same names)
                answering = threading.Thread(target=worker_main, args=(theirs, spool_dir, store))
                answering.start()
                answering.join()
            finally:
                os._exit(0)
        gc.unfreeze()
        theirs.close()
        return cls(ours, pid)

    def load(self, source: dict, version: int, timeout: float) -> None:
        """Send the worker its data (``{"nquads_file"|"path"|"deltas": …}``) and wait until
        it holds ``version``."""
        try:
            self.conn.send(("load", source))
            if not self.conn.poll(timeout):
                raise errors.EngineError("a query worker did not load the data in time")
            reply = self.conn.recv()
        except (EOFError, OSError) as exc:
            self.kill()
            raise errors.EngineError(
                f"a query worker ended while loading the data (exit code "
                f"{self.exit_code()}); a script starting the engine needs an "
                "`if __name__ == '__main__':` guard") from exc
        if reply[0] != "ready":
            self.kill()
            raise errors.EngineError(f"a query worker ended while loading the data: {reply[1]}")
        self.version = version

    def exit_code(self) -> int | str:
        """How the worker ended, once it has (after :meth:`kill`)."""
        if self._process is not None:
            self._process.join(1)
            return self._process.exitcode
        return "unknown" if self._status is None else os.waitstatus_to_exitcode(self._status)

    def kill(self) -> None:
        """End the process at once (SIGKILL frees its CPU) and close the pipe."""
        if self._process is not None:
            self._process.kill()
            self._process.join(5)
        elif self._status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)  # our child: its pid is ours until collected
                self._status = os.waitpid(self.pid, 0)[1]
            except (ProcessLookupError, ChildProcessError):
                self._status = 0
        if self._stat is not None:
            os.close(self._stat)
            self._stat = None
        self.conn.close()


def private_bytes(pid: int | str = "self") -> int:
    """The memory process ``pid`` holds alone (private pages, from smaps_rollup); 0 where
    /proc does not tell."""
    return _kilobytes(f"/proc/{pid}/smaps_rollup", (b"Private_Clean:", b"Private_Dirty:"))


def anonymous_bytes(pid: int | str = "self") -> int:
    """The anonymous memory (heap, the in-memory store) resident in process ``pid``, shared
    with its forks or not; 0 where /proc does not tell."""
    return _kilobytes(f"/proc/{pid}/status", (b"RssAnon:",))


def _kilobytes(path: str, fields: tuple[bytes, ...]) -> int:
    try:
        with open(path, "rb") as numbers:
            text = numbers.read()
    except OSError:
        return 0
    return 1024 * sum(int(line.split()[1]) for line in text.splitlines()
                      if line.startswith(fields))


def _become_worker(keep: int) -> None:
    """In a freshly forked worker: drop what belonged to the server."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd != keep:
            try:
                os.close(fd)
            except OSError:  # the folder listing's own descriptor, gone already
                pass
    # the server stops its workers itself; a Ctrl-C in the terminal is for the server
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGCHLD):
        signal.signal(number, signal.SIG_DFL)
