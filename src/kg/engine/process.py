"""The query host, seen from the engine: its handle, its workers and the pipe protocol.

A :class:`Host` is the process the queries run in, one thread per :class:`Worker` (the
engine's end of a thread; the other end is :func:`kg.engine.worker.main`): fork it from
this process with the data (in memory), or start it on its own with a source it opens;
wait until each thread has started, watch each thread's CPU time, kill the host and tell
how it ended. Messages on a worker's pipe are tuples: ``("started", thread id)`` or
``("failed", why)`` once; then ``("apply", deltas)`` -> ``("ready", pid)`` or
``("failed", why)``; ``("query", QueryRequest)`` -> ``("ok", Answer)``, ``("error", …)`` (a
KGError, rebuilt here by :func:`rebuild_error`) or ``("fault", text)``. Kept apart from the
pool so that what a host is and how it is spoken to reads on its own, without the pool's
bookkeeping.
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
from .worker import answer_on_threads, end_with, host_main

try:
    _TICKS = os.sysconf("SC_CLK_TCK")
except (AttributeError, ValueError, OSError):  # not a POSIX system
    _TICKS = 0
#: In memory, the host is forked from the server process, with its data (see
#: :meth:`Host.forked` for why that is safe on Linux)
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
    """How a host that opens its own data is started (on disk: a fork would share the
    store's open files and RocksDB's threads; in memory off Linux): a forkserver, or spawn
    where there is none."""
    # a forkserver starts a fresh interpreter; preloading the worker module makes each
    # host start in milliseconds
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["kg.engine.worker"])
        return context
    return multiprocessing.get_context("spawn")


class Host:
    """A process answering queries on one thread per :class:`Worker`, over one copy of the
    data whatever the number of workers (why one, and what stopping it does:
    :mod:`kg.engine.pool`): forked from this process with its store (in memory on Linux),
    or started on its own with a source it opens (on disk its own checkpoint of the store;
    in memory off Linux a snapshot).
    """

    def __init__(self, pid: int, process=None) -> None:
        self.pid = pid
        self.workers: list[Worker] = []
        self.version: int | None = None
        self.stopped = False  #: killed by the engine (its workers' other queries may run again)
        self.lock = threading.Lock()  # one worker at a time brings the data up to date
        self.checkpoint: str | None = None  #: on disk: its own copy of the store
        self.snapshot: str | None = None  #: in memory off Linux: the file it parses at start
        self._process = process  # started on its own: its multiprocessing handle
        self._starting: list[Connection] = []  # pipes of threads not yet heard from
        self._status: int | None = None

    @classmethod
    def forked(cls, store, spool_dir: str, workers: int) -> "Host":
        """A host forked from this process, holding ``store`` as it is now, on pages shared
        with this process until either writes them; call :meth:`wait_ready` next.

        Call it holding the store's lock for writing (:attr:`KnowledgeGraph.lock`): a fork
        copies only the calling thread, and any lock another thread held inside the store
        would stay held in the host for ever. The host's other inherited state (the server's
        sockets, the pipes of an earlier host) is closed before it answers anything.
        """
        pipes = [Pipe() for _ in range(workers)]
        server = os.getpid()
        gc.freeze()  # the collector would write to every object's page in the host
        try:
            with warnings.catch_warnings():
                # Python 3.12+ warns that a fork of a threaded process may deadlock in the
                # child: the store's lock, held here, is what rules that out
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
        except OSError:
            gc.unfreeze()
            for ours, theirs in pipes:
                ours.close()
                theirs.close()
            raise
        if pid == 0:
            try:
                _become_worker(keep={theirs.fileno() for _, theirs in pipes})
                end_with(server)
                answer_on_threads([theirs for _, theirs in pipes], spool_dir, store)
            finally:
                os._exit(0)
        gc.unfreeze()
        return cls(pid)._expect([ours for ours, _ in pipes], [theirs for _, theirs in pipes])

    @classmethod
    def started(cls, context, source: dict, spool_dir: str, workers: int) -> "Host":
        """A host started on its own (by ``context``: see :func:`start_context`) that opens
        ``source`` (``{"path": checkpoint}`` or ``{"nquads_file": snapshot}``); call
        :meth:`wait_ready` next."""
        pipes = [context.Pipe() for _ in range(workers)]
        process = context.Process(
            target=host_main, args=([theirs for _, theirs in pipes], source, spool_dir,
                                    os.getpid()), daemon=True, name="kg-query-host")
        process.start()
        return cls(process.pid, process)._expect([ours for ours, _ in pipes],
                                                 [theirs for _, theirs in pipes])

    def _expect(self, ours: list[Connection], theirs: list[Connection]) -> "Host":
        for conn in theirs:
            conn.close()
        self._starting = ours
        return self

    def wait_ready(self, timeout: float) -> None:
        """Wait until every thread has told its id, and make its :class:`Worker`
        (EngineError if one did not, or the host could not open its data)."""
        for conn in self._starting:
            try:
                if not conn.poll(timeout):
                    raise errors.EngineError("the query host did not start in time")
                message = conn.recv()
            except (EOFError, OSError) as exc:
                self.kill()
                hint = ("; a script starting the engine needs an `if __name__ == '__main__':` "
                        "guard" if self._process is not None else "")
                raise errors.EngineError(f"the query host ended as it started (exit code "
                                         f"{self.exit_code()}){hint}") from exc
            if message[0] != "started":
                self.kill()
                raise errors.EngineError(f"the query host could not open the data: {message[1]}")
            self.workers.append(Worker(conn, self, message[1]))
        self._starting = []

    def exit_code(self) -> int | str:
        """How the host ended, once it has (after :meth:`kill`)."""
        if self._process is not None:
            return self._process.exitcode if self._process.exitcode is not None else "unknown"
        return "unknown" if self._status is None else os.waitstatus_to_exitcode(self._status)

    def kill(self) -> None:
        """End the host at once (SIGKILL frees its CPU), every worker with it."""
        self.stopped = True
        if self._process is not None:
            self._process.kill()
            self._process.join(5)
        elif self._status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)  # our child: its pid is ours until collected
                self._status = os.waitpid(self.pid, 0)[1]
            except (ProcessLookupError, ChildProcessError):
                self._status = 0
        # its workers' pipes now end: each is closed by the thread that holds it
        for conn in self._starting:
            conn.close()


class Worker:
    """The engine's end of one answering thread of a :class:`Host`: its pipe, a wait for
    its answer, its CPU time and priority (its thread's); its version and its end are the
    host's."""

    def __init__(self, conn: Connection, host: "Host", thread: int) -> None:
        self.conn = conn
        self.host = host
        self.pid, self.task = host.pid, thread  # task: what a CPU priority is set on
        stat = f"/proc/{host.pid}/task/{thread}/stat"
        self.cpu_at_rest: float | None = None  #: its CPU time when it last went idle
        # set up once: waiting for each answer and reading the CPU time cost no more calls
        self._answered = select.poll()
        self._answered.register(conn.fileno(), select.POLLIN)
        try:
            self._stat: int | None = os.open(stat, os.O_RDONLY)
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

    def apply(self, deltas: list, version: int, timeout: float) -> None:
        """Have the worker's thread apply ``deltas`` (the changes since the host's version,
        as N-Quads) and wait until the host holds ``version``."""
        try:
            self.conn.send(("apply", deltas))
            if not self.conn.poll(timeout):
                raise errors.EngineError("a query worker did not take a change in time")
            reply = self.conn.recv()
        except (EOFError, OSError) as exc:
            self.kill()
            raise errors.EngineError(f"the query host ended while taking a change (exit code "
                                     f"{self.exit_code()})") from exc
        if reply[0] != "ready":
            self.kill()
            raise errors.EngineError(f"the query host could not take a change: {reply[1]}")
        self.version = version

    def close(self) -> None:
        """Let go of its pipe and its CPU-time file: by the thread that holds the worker
        only (closed under another thread's read, a pipe fails with a TypeError, and a
        reused descriptor number would be read as this one)."""
        if self._stat is not None:
            os.close(self._stat)
            self._stat = None
        self.conn.close()

    @property
    def version(self) -> int | None:
        """The version of the data the host holds."""
        return self.host.version

    @version.setter
    def version(self, value: int | None) -> None:
        self.host.version = value

    def exit_code(self) -> int | str:
        """How the host ended."""
        return self.host.exit_code()

    def kill(self) -> None:
        """End the host (a thread cannot be stopped alone)."""
        self.host.kill()


def _become_worker(keep: set[int]) -> None:
    """In a freshly forked host: drop what belonged to the server."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:  # the folder listing's own descriptor, gone already
                pass
    # the server stops its workers itself; a Ctrl-C in the terminal is for the server
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGCHLD):
        signal.signal(number, signal.SIG_DFL)
