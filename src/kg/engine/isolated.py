"""Queries in workers, each under a deadline: the executor ``kg serve`` uses.

pyoxigraph has no timeout or cancellation and a Python thread cannot be stopped, so each
query runs in a worker of a :class:`~kg.engine.pool.WorkerPool`: a thread of the query
host, a process apart from the server (what it holds, in memory and on disk:
:mod:`kg.engine.pool`). The caller waits with a deadline; past it the host is killed
(SIGKILL frees the CPU at once) and replaced in the background, and the caller gets
QueryTimeoutError (503); the queries of the host's other threads run again on the new host,
within their own deadlines, so short queries keep being answered. A worker writes the complete answer
before the caller sees a byte. A crash in the parser (deep nesting overflows its stack)
only ends the host.

**Heavy queries do not starve quick ones.** A query that has used more than ``heavy_after``
seconds of CPU is *heavy*; at most ``heavy_queries`` run at once, and one that turns heavy
beyond that is stopped at once (503, "busy") instead of at its deadline. A heavy query goes
on at a lower CPU priority (afterwards its thread gets its priority back where the server
may raise it), so short queries keep the processors. CPU time (the worker thread's own),
not elapsed time, decides: a query slowed down by a busy machine is never taken for a
runaway.
"""

from __future__ import annotations

import os
import queue
import threading
import time

from .. import errors
from ..sparql.answer import Answer
from ..sparql.request import QueryRequest
from ..delta import Delta
from ..store.graph import KnowledgeGraph
from .pool import WorkerPool
from .process import Worker, rebuild_error

_CHECK = 0.1  # seconds between two looks at a running query's CPU time


class IsolatedExecutor:
    """Runs each query in one of ``workers`` workers, stopped at ``timeout``."""

    def __init__(self, kg: KnowledgeGraph, *, workers: int = 6, timeout: float = 30.0,
                 heavy_queries: int = 3, heavy_after: float = 1.0) -> None:
        self.pool = WorkerPool(kg, workers=workers)
        self.timeout = timeout
        self.heavy_queries, self.heavy_after = heavy_queries, heavy_after
        self._heavy = threading.Semaphore(max(0, heavy_queries))

    def start(self) -> "IsolatedExecutor":
        """Start the workers and wait until each holds the data."""
        self.pool.start()
        return self

    def close(self) -> None:
        """Stop the workers."""
        self.pool.close()

    def dataset_changed(self, delta: Delta | None) -> None:
        """Each worker brings its data up to date before its next query."""
        self.pool.new_version(delta)

    def run(self, request: QueryRequest) -> tuple[Answer, int]:
        """The complete answer to ``request`` and the data version it was computed on."""
        deadline = time.monotonic() + self.timeout
        try:
            return self._attempt(request, deadline)
        except _StoppedForAnother:
            # its host was stopped for another query (a runaway): once more, on the new
            # host, within the same deadline
            try:
                return self._attempt(request, deadline)
            except _StoppedForAnother:
                raise errors.BusyError("the query was interrupted twice while runaway queries "
                                       "were stopped; retry later") from None

    def _attempt(self, request: QueryRequest, deadline: float) -> tuple[Answer, int]:
        pool = self.pool
        try:
            worker = pool.idle.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise errors.QueryTimeoutError(
                f"all {pool.workers} query workers stayed busy for {self.timeout:g} s; "
                "try again later") from None
        worker = pool.up_to_date(worker)
        try:
            worker.conn.send(("query", request))
            heavy = self._wait(worker, deadline)
            reply = worker.conn.recv()
        except (EOFError, OSError) as exc:
            if pool.stopped_for_another(worker):
                worker.close()
                raise _StoppedForAnother() from exc
            worker.kill()  # if it is not quite gone yet (its exit code is kept meanwhile)
            code = worker.exit_code()
            pool.replace(worker)
            raise errors.EngineError(f"the query engine process ended unexpectedly (exit "
                                     f"code {code}); the query may be too complex") from exc
        if reply[0] == "ok" and reply[1].path is not None:
            reply[1].path = pool.claim(reply[1].path)
        if heavy:
            # where the server may not raise a priority again, the thread keeps the lower
            # one (its host is not stopped for that)
            _restore_priority(worker.task)
        pool.give_back(worker)
        if reply[0] == "error":
            raise rebuild_error(*reply[1:])
        if reply[0] == "fault":
            raise errors.EngineError(f"the query engine failed: {reply[1]}")
        return reply[1], worker.version

    def _wait(self, worker: Worker, deadline: float) -> bool:
        """Wait until ``worker`` answers; stop it at the deadline, or as soon as it turns
        heavy while every heavy slot is taken. Returns whether it turned heavy."""
        heavy = False
        started, cpu_before = time.monotonic(), worker.cpu_at_rest
        if cpu_before is None:  # a new worker: its CPU time was never read
            cpu_before = worker.cpu_seconds()
        try:
            while not worker.answered(min(_CHECK, deadline - time.monotonic())):
                if time.monotonic() >= deadline:
                    self.pool.replace(worker)
                    raise errors.QueryTimeoutError(
                        f"the query was stopped after {self.timeout:g} s (the timeout of "
                        "this endpoint); narrow it or add a LIMIT")
                if heavy:
                    continue
                cpu = worker.cpu_seconds()
                used = (time.monotonic() - started if cpu is None or cpu_before is None
                        else cpu - cpu_before)
                if used > self.heavy_after:
                    if not self._heavy.acquire(blocking=False):
                        self.pool.replace(worker)
                        raise errors.BusyError(
                            f"the query was stopped after {self.heavy_after:g} s of CPU: "
                            f"{self.heavy_queries} long queries are running already (the "
                            "most this endpoint runs at once, so that short queries keep "
                            "being answered); retry later, or narrow it")
                    heavy = True
                    _lower_priority(worker.task)
        finally:
            if heavy:
                self._heavy.release()
        return heavy


def _lower_priority(pid: int) -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, pid, 10)
    except (AttributeError, OSError):  # not POSIX, or the process has ended
        pass


def _restore_priority(pid: int) -> None:
    """Give a worker its normal priority back, where that is allowed (raising a priority
    needs privileges, e.g. CAP_SYS_NICE)."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, 0)
    except (AttributeError, OSError):
        pass


class _StoppedForAnother(Exception):
    """The worker's host was stopped for another query: this one may run again."""
