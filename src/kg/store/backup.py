"""Copies of the whole store: dumps (N-Quads or TriG), restores, and backups of an on-disk
store taken while it serves (no Flask here; ``kg dump``, ``kg restore``, ``kg backup`` and
``POST /backup`` call these).

A dump holds every named graph — the ontology, the fact sheet, the Wikidata snapshot, user
additions, the change log — so that restoring it gives back an isomorphic dataset. It is
written to a temporary file next to its target and renamed only once complete: a dump cut
short (disk full, a kill) never looks like a dump. A restore goes into an empty store only,
all or nothing. A backup is Oxigraph's own (a consistent RocksDB checkpoint, hard links on
the same disk: milliseconds), taken by the process that owns the store, which is why a live
server takes it itself; a backup folder is a store ``--data-dir`` can open.
"""

from __future__ import annotations

import datetime
import os
import re
import tempfile
from pathlib import Path

from ..errors import StoreError, UsageError
from ..sparql.formats import FORMATS, Format, ResultKind
from .graph import KnowledgeGraph, Source

#: Backup folders are named after the time they were taken (UTC), so they sort by time.
_BACKUP_NAME = re.compile(r"kg-\d{8}T\d{6}(\.\d+)?Z")


def dump(kg: KnowledgeGraph, target: Path, fmt: Format) -> int:
    """Write every quad of ``kg`` to ``target`` in ``fmt`` (nquads or trig); return how many.

    The file appears complete or not at all.
    """
    if fmt not in FORMATS[ResultKind.DATASET]:
        raise UsageError(f"a dump keeps every named graph: choose nquads or trig, not {fmt.name}")
    folder = target.resolve().parent
    handle, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            kg.export(stream, fmt)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(partial, target)
    except BaseException:
        if os.path.exists(partial):
            os.unlink(partial)
        raise
    return len(kg)


def restore(kg: KnowledgeGraph, source: Path, fmt: Format) -> int:
    """Load a dump into ``kg``, which must be empty; all or nothing. Returns the quads added."""
    if fmt not in FORMATS[ResultKind.DATASET]:
        raise UsageError(f"a dump is N-Quads or TriG (it keeps the named graphs), not {fmt.name}")
    if len(kg):
        raise UsageError(f"the store already holds {len(kg)} quads: restore into an empty "
                         "--data-dir (a new folder)")
    return kg.load([Source(str(source))], format=fmt.name)


def backup(kg: KnowledgeGraph, folder: Path) -> Path:
    """A consistent copy of the on-disk store ``kg`` in a new folder under ``folder``, named
    after the time (``kg-20261127T120000Z``); returns its path."""
    if kg.config.data_dir is None:
        raise UsageError("only an on-disk store (--data-dir) can be backed up; export an "
                         "in-memory one with kg dump")
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    target = folder / now.strftime("kg-%Y%m%dT%H%M%S.%fZ")
    try:
        kg.store.backup(str(target))
    except OSError as exc:
        raise StoreError(f"the backup failed: {exc}") from exc
    return target


def backups(folder: Path) -> list[str]:
    """The names of the backups in ``folder``, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(path.name for path in folder.iterdir() if _BACKUP_NAME.fullmatch(path.name))
