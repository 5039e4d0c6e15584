"""What a query worker does: run one query, write its complete answer.

A worker process answers :class:`~kg.sparql.request.QueryRequest` objects one at a time
with :func:`kg.sparql.answer.write_answer` (the serialiser every caller shares), so that a
runaway query is stopped by ending the process. :func:`main` is the worker process's loop.
Nothing here knows about HTTP.
"""

from __future__ import annotations

import os
import threading
from multiprocessing import Pipe
from multiprocessing.reduction import send_handle
from typing import Any

from pyoxigraph import RdfFormat, Store

from ..errors import KGError
from ..sparql.answer import write_answer
from ..store.delta import Delta, commit
from ..store.graph import release_memory


def error_message(exc: KGError) -> tuple:
    """A KGError as a picklable message; :func:`kg.engine.process.rebuild_error` undoes it."""
    attributes = {key: value for key, value in vars(exc).items()
                  if isinstance(value, (str, int, float, list, type(None)))}
    return ("error", type(exc).__name__, exc.message, attributes)


def open_store(source: dict[str, Any], store: Store | None = None) -> Store:
    """The worker's own view of the data: an N-Quads snapshot (bytes or a file), a
    checkpoint of the on-disk store, or ``store`` brought up to date with the changes in
    ``source["deltas"]``."""
    if "path" in source:
        return Store.read_only(source["path"])
    if "deltas" in source and store is not None:
        for added, removed in source["deltas"]:
            commit(store, Delta.from_nquads(added, removed))
        return store
    store = Store()
    if "nquads_file" in source:
        store.load(path=source["nquads_file"], format=RdfFormat.N_QUADS)
    else:
        store.load(source["nquads"], RdfFormat.N_QUADS)
    return store


def main(conn, spool_dir: str, store: Store | None = None) -> None:
    """The worker process: load the data it is sent, then answer queries until EOF.

    ``("fork",)`` (in memory, while idle) starts a sibling worker holding the same data:
    the pid goes back, then the engine's end of the sibling's pipe (a file descriptor).
    A worker runs no thread of its own (nor does pyoxigraph's in-memory store), so the fork
    is safe; should one ever run, it answers that it cannot fork.
    """
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the engine closed the pipe: shut down
            return
        _reap()
        if message[0] == "load":
            try:
                store = _load(message[1], store)
            except (OSError, SyntaxError, ValueError) as exc:
                # a snapshot removed before it was opened (a newer one replaced it, or the
                # engine is closing), a change it cannot read: its data may be half updated,
                # so it says why and ends, and the engine starts another
                conn.send(("failed", f"{type(exc).__name__}: {exc}"))
                return
            conn.send(("ready", os.getpid()))
            continue
        if message[0] == "fork":
            _fork(conn, spool_dir, store)
            continue
        try:
            conn.send(("ok", write_answer(store, message[1], spool_dir)))
        except KGError as exc:
            conn.send(error_message(exc))
        except Exception as exc:  # noqa: BLE001 - reported to the engine as a 500, never 400
            conn.send(("fault", f"{type(exc).__name__}: {exc}"))


def _fork(conn, spool_dir: str, store: Store | None) -> None:
    if _threads() > 1:  # a fork copies no other thread, but it may copy a lock one holds
        conn.send(("forked", None))
        return
    ours, theirs = Pipe()
    pid = os.fork()
    if pid == 0:  # the sibling: this worker's pipe and the engine's end are not its own
        conn.close()
        ours.close()
        try:
            main(theirs, spool_dir, store)
        finally:
            os._exit(0)
    theirs.close()
    conn.send(("forked", pid))
    send_handle(conn, ours.fileno(), None)
    ours.close()


def _load(source: dict[str, Any], store: Store | None) -> Store:
    store = open_store(source, store)
    if "deltas" not in source:  # a whole snapshot was parsed: hand back the parser's memory
        release_memory()
    return store


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))  # native threads too
    except OSError:
        return threading.active_count()


def _reap() -> None:
    # siblings this worker forked that ended (killed at a deadline, or crashed): no zombies
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
