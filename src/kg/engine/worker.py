"""What the query host does: answer on one thread per worker, write complete answers.

A worker (one thread of the host) answers :class:`~kg.sparql.request.QueryRequest` objects
one at a time with :func:`kg.sparql.answer.write_answer` (the serialiser every caller
shares); a runaway query is stopped by ending the host's process. :func:`main` is a
worker's loop, :func:`answer_on_threads` the host's; :func:`host_main` opens the data of a
host started on its own. Nothing here knows about HTTP.
"""

from __future__ import annotations

import os
import select
import threading
import time

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


def open_store(source: dict[str, str]) -> Store:
    """A started host's own view of the data: its own checkpoint of the on-disk store
    (``{"path": …}``, a copy it may write: the changes are applied to it), or an N-Quads
    snapshot it parses (``{"nquads_file": …}``)."""
    if "path" in source:
        return Store(source["path"])
    store = Store()
    store.load(path=source["nquads_file"], format=RdfFormat.N_QUADS)
    release_memory()  # hand back the parser's memory
    return store


def end_with(owner: int) -> None:
    """Exit this process as soon as process ``owner`` (the server that owns the store) ends.

    A host busy with a runaway query never reads that thread's pipe again, so the pipe cannot
    tell it that the server is gone: without this, a server killed (or stopped while its own
    exit was cut short) left its host burning a core for ever. Not the parent: a host started
    on its own is the forkserver's child, and the forkserver lives as long as any of its
    children does.
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


def host_main(conns: list, source: dict[str, str], spool_dir: str, owner: int) -> None:
    """A host started on its own (:meth:`kg.engine.process.Host.started`): open ``source``,
    then :func:`answer_on_threads`, for as long as the server ``owner`` lives."""
    end_with(owner)
    try:
        store = open_store(source)
    except (OSError, SyntaxError, ValueError) as exc:
        # a snapshot removed before it was opened (the engine is closing), a checkpoint
        # that cannot be opened: the engine says why and starts no query here
        for conn in conns:
            conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    answer_on_threads(conns, spool_dir, store)


def main(conn, spool_dir: str, store: Store) -> None:
    """One answering thread of the host: apply the changes it is sent to ``store`` (shared
    by the host's threads), answer the queries, until EOF."""
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the engine closed the pipe: shut down
            return
        if message[0] == "apply":
            try:
                for added, removed in message[1]:
                    commit(store, Delta.from_nquads(added, removed))
            except (OSError, SyntaxError, ValueError) as exc:
                # a change it cannot read: its data may be half updated, so it says why
                # and ends, and the engine starts another host
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


def answer_on_threads(conns: list, spool_dir: str, store: Store) -> None:
    """The query host (:class:`kg.engine.process.Host`): :func:`main` on one thread per
    pipe, over one ``store``, each thread first telling its id (its CPU time and priority
    are watched and set per thread). Returns when every pipe is closed.

    Each runs on a thread started here, never on the thread that forked the host: the
    random generator Oxigraph names blank nodes with is per thread, and the forking
    thread's was copied into every fork (two hosts would give BNODE() the same names).
    """
    def answer(conn) -> None:
        conn.send(("started", threading.get_native_id()))
        main(conn, spool_dir, store)

    threads = [threading.Thread(target=answer, args=(conn,), name="kg-query-worker")
               for conn in conns]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
