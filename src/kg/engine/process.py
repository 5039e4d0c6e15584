"""One query worker process, seen from the engine: its handle and the pipe protocol.

:class:`WorkerProcess` is the engine's end of one worker (the other end is
:func:`kg.engine.worker.main`): start it, have an idle one fork a sibling, send it its data
and wait until it holds it, watch its CPU time, kill it and tell how it ended. Messages on
the pipe are tuples: ``("load", source)`` -> ``("ready", pid)`` or ``("failed", why)``;
``("fork",)`` -> ``("forked", pid)`` then the sibling's pipe as a file descriptor;
``("query", QueryRequest)`` -> ``("ok", Answer)``, ``("error", …)`` (a KGError, rebuilt
here by :func:`rebuild_error`) or ``("fault", text)``. Kept apart from the pool so that what
a process is and how it is spoken to reads on its own, without the pool's bookkeeping.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import select
import signal
from multiprocessing.connection import Connection
from multiprocessing.reduction import recv_handle

from .. import errors
from .worker import main as worker_main

try:
    _TICKS = os.sysconf("SC_CLK_TCK")
except (AttributeError, ValueError, OSError):  # not a POSIX system
    _TICKS = 0
#: In memory, a worker forks its siblings (Linux: they are named by a pidfd)
CAN_FORK = hasattr(os, "pidfd_open") and hasattr(signal, "pidfd_send_signal")


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
    """How worker processes are started: a forkserver, or spawn where there is none."""
    # never fork a threaded server: a forkserver (or, where there is none, spawn) starts a
    # fresh interpreter; preloading the worker module makes each fork start in milliseconds
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["kg.engine.worker"])
        return context
    return multiprocessing.get_context("spawn")


class WorkerProcess:
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
    def start(cls, context, spool_dir: str) -> "WorkerProcess":
        """A worker process of its own, without data yet."""
        conn, child = context.Pipe()
        process = context.Process(target=worker_main, args=(child, spool_dir),
                                  daemon=True, name="kg-query-worker")
        process.start()
        child.close()
        return cls(conn, process.pid, process=process)

    def fork(self) -> "WorkerProcess":
        """A new worker forked by this one (idle), holding the same version of the data."""
        self.conn.send(("fork",))
        _, pid = self.conn.recv()
        if pid is None:
            raise OSError("the worker runs a thread: it is not forked")
        sibling = WorkerProcess(Connection(recv_handle(self.conn)), pid)
        sibling.version = self.version
        return sibling

    def load(self, source: dict, version: int, timeout: float) -> None:
        """Send the worker its data (``{"nquads"|"path"|"deltas": …}``) and wait until it
        holds ``version``."""
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
        # until the worker that forked it collects it, an ended worker's status is in /proc
        try:
            with open(f"/proc/{self.pid}/stat", "rb") as stat:
                return os.waitstatus_to_exitcode(int(stat.read().rsplit(b")", 1)[1].split()[49]))
        except (OSError, IndexError, ValueError):
            return "unknown"

    def kill(self) -> None:
        """End the process at once (SIGKILL frees its CPU) and close the pipe."""
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
