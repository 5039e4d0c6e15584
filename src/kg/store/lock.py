"""The lock between the writes to the store and the readers of the live store.

Every reader and writer of the live store in this process holds it: besides keeping a
reader from seeing half a change, it is what makes forking query workers from this process
safe (:mod:`kg.engine.pool`). A process forked while another thread is inside the store
would inherit that thread's locks in the store (Oxigraph's in-memory store locks each quad
it reads), held for ever; forking under :meth:`ReadWriteLock.writing` means no thread is.
"""

from __future__ import annotations

import contextlib
import functools
import operator
import threading


class ReadWriteLock:
    """Many readers or one writer. Re-entrant: a reader may read again, the writer may
    write and read again (a write reads what it changes). A waiting writer goes before new
    readers, so a stream of reads never starves the writes."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer: int | None = None  # the writing thread
        self._depth = 0  # how many times the writer holds it
        self._waiting = 0  # writers waiting
        self._mine = threading.local()  # how many times this thread reads

    @contextlib.contextmanager
    def reading(self):
        """Hold the lock as one of the readers."""
        me = threading.get_ident()
        nested = getattr(self._mine, "depth", 0)
        if self._writer == me or nested:
            self._mine.depth = nested + 1
            try:
                yield
            finally:
                self._mine.depth = nested
            return
        with self._cond:
            while self._writer is not None or self._waiting:
                self._cond.wait()
            self._readers += 1
        self._mine.depth = 1
        try:
            yield
        finally:
            self._mine.depth = 0
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    def held(self) -> bool:
        """Whether this thread holds the lock, to read or to write."""
        return bool(getattr(self._mine, "depth", 0)) or self._writer == threading.get_ident()

    @contextlib.contextmanager
    def writing(self):
        """Hold the lock alone (a thread reading cannot start to write: it would wait for
        itself)."""
        me = threading.get_ident()
        if getattr(self._mine, "depth", 0) and self._writer != me:
            raise RuntimeError("a reader of the store cannot start a write; "
                               "let go of the reading lock first")
        with self._cond:
            if self._writer == me:
                self._depth += 1
            else:
                self._waiting += 1
                try:
                    while self._writer is not None or self._readers:
                        self._cond.wait()
                finally:
                    self._waiting -= 1
                self._writer, self._depth = me, 1
        try:
            yield
        finally:
            with self._cond:
                self._depth -= 1
                if not self._depth:
                    self._writer = None
                    self._cond.notify_all()


def holding(mode: str, lock: str = "lock"):
    """Decorator: run the method holding ``self``'s lock (the attribute path ``lock``, e.g.
    ``"kg.lock"``) ``mode`` ("reading" or "writing")."""
    find = operator.attrgetter(lock)

    def wrap(method):
        @functools.wraps(method)
        def locked(self, *args, **kwargs):
            with getattr(find(self), mode)():
                return method(self, *args, **kwargs)
        return locked
    return wrap
