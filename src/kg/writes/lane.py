"""The write lane: the server's writes run, one at a time, on one thread of lower priority.

Writes are serialised anyway (:class:`kg.writes.writer.Writer` takes one at a time), and a
gated write is mostly Python (the shapes, the SPARQL checks, the reasoner): on a busy
machine, two clients streaming writes took half of the server's processor time from the
readers. On its own thread whose scheduling priority is lowered (``nice``, per thread on
Linux) a write still runs at full speed on an idle machine, and yields to the reads on a
busy one (``bench/writes.py``). Where priorities cannot be set, the lane is an ordinary
thread.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

T = TypeVar("T")


class WriteLane:
    """Runs functions on one thread whose niceness is ``niceness`` (0: as every thread)."""

    def __init__(self, niceness: int) -> None:
        self.niceness = niceness
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._ident: int | None = None

    def run(self, function: Callable[[], T]) -> T:
        """``function()`` on the lane's thread: its result, or its exception raised here.
        Called from the lane's own thread (a write within a write), it runs at once."""
        if not self.niceness or threading.get_ident() == self._ident:
            return function()
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="kg-writes",
                                                initializer=self._started)
        return self._pool.submit(function).result()

    def close(self) -> None:
        """Let the lane's thread end (a later write starts a new one)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def _started(self) -> None:
        self._ident = threading.get_ident()
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.niceness)
        except (AttributeError, OSError):  # not POSIX, or not allowed: an ordinary thread
            pass
