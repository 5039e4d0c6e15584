"""What a query worker does: run one query, write its complete answer.

A worker answers :class:`~kg.sparql.request.QueryRequest` objects one at a time with
:func:`kg.sparql.answer.write_answer` (the serialiser every caller shares), so that a
runaway query is stopped by ending its process. :func:`main` is a worker's loop: a process
of its own, or one thread of the query host (:func:`answer_on_threads`).
Nothing here knows about HTTP.
"""

from __future__ import annotations

import os
import select
import threading
import time
from typing import Any

from pyoxigraph import RdfFormat, Store

from ..errors import KGError
from ..sparql.answer import write_answer
from ..delta import Delta, commit
from ..store.sources import release_memory
from .spool import process_ended


def error_message(exc: KGError) -> tuple:
    """A KGError as a picklable message; :func:`kg.engine.process.rebuild_error` undoes it."""
    attributes = {key: value for key, value in vars(exc).items()
                  if isinstance(value, (str, int, float, list, type(None)))}
    return ("error", type(exc).__name__, exc.message, attributes)


def open_store(source: dict[str, Any], store: Store | None = None) -> Store:
    """The worker's own view of the data: an N-Quads snapshot (bytes or a file), its own
    checkpoint of the on-disk store (a copy it may write: the changes are applied to it), or
    ``store`` brought up to date with the changes in ``source["deltas"]``."""
    if "path" in source:
        return Store(source["path"])
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


def end_with(owner: int) -> None:
    """Exit this process as soon as process ``owner`` (the server that owns the store) ends.

    A worker busy with a runaway query never reads its pipe again, so the pipe cannot tell it
    that the server is gone: without this, a server killed (or stopped while its own exit was
    cut short) left a worker burning a core for ever. Not the parent: a worker of its own is
    the forkserver's child, and the forkserver lives as long as any of its children does.
    """
    try:
        handle: int | None = os.pidfd_open(owner)
    except ProcessLookupError:
        os._exit(0)
    except (AttributeError, OSError):  # no pidfd (not Linux, or before 5.3): ask every second
        handle = None

    def watch() -> None:
        if handle is not None:
            select.select([handle], [], [])  # readable once the process has ended
        else:
            while not process_ended(owner):
                time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="kg-owner-watch", daemon=True).start()


def process_main(conn, spool_dir: str, owner: int) -> None:
    """A worker process of its own (:class:`kg.engine.process.WorkerProcess`): :func:`main`,
    for as long as the server ``owner`` lives."""
    end_with(owner)
    main(conn, spool_dir)


def main(conn, spool_dir: str, store: Store | None = None) -> None:
    """The worker process: load the data it is sent (or start with ``store``: forked by the
    server, it holds the server's data), then answer queries until EOF."""
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the engine closed the pipe: shut down
            return
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
        try:
            conn.send(("ok", write_answer(store, message[1], spool_dir)))
        except KGError as exc:
            conn.send(error_message(exc))
        except Exception as exc:  # noqa: BLE001 - reported to the engine as a 500, never 400
            conn.send(("fault", f"{type(exc).__name__}: {exc}"))


def answer_on_threads(conns: list, spool_dir: str, store: Store, owner: int) -> None:
    """The query host (:class:`kg.engine.process.Host`): :func:`main` on one thread per
    pipe, over one ``store``, each thread first telling its id (its CPU time and priority
    are watched and set per thread). Returns when every pipe is closed, exits when the
    server ``owner`` ends.

    Each runs on a thread started here, never on the thread that forked the host: the
    random generator Oxigraph names blank nodes with is per thread, and the forking
    thread's was copied into every fork (two hosts would give BNODE() the same names).
    """
    def answer(conn) -> None:
        conn.send(("started", threading.get_native_id()))
        main(conn, spool_dir, store)

    end_with(owner)
    threads = [threading.Thread(target=answer, args=(conn,), name="kg-query-slot")
               for conn in conns]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _load(source: dict[str, Any], store: Store | None) -> Store:
    store = open_store(source, store)
    if "deltas" not in source:  # a whole snapshot was parsed: hand back the parser's memory
        release_memory()
    return store
