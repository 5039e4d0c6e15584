"""Folders the engine keeps while it runs: the spool, where answers over 1 MB wait until
they are sent, and (on disk) the query workers' checkpoints of the store.

Each is named after the process that made it, so that the next engine to start removes the
folders of servers that were killed (SIGKILL, a power cut) before they could remove their
own: a checkpoint holds on to store files the live store has compacted away.
"""

from __future__ import annotations

import os
import shutil
import tempfile


def private_folder(prefix: str, parent: str | os.PathLike[str] | None = None) -> str:
    """A new folder ``<prefix><pid>-<random>`` in ``parent`` (the system's temporary folder
    by default), after removing the ones there whose process has ended."""
    parent = parent or tempfile.gettempdir()
    _sweep(prefix, parent)
    return tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent)


def _sweep(prefix: str, parent: str | os.PathLike[str]) -> None:
    try:
        names = os.listdir(parent)
    except OSError:  # unreadable: nothing to sweep
        return
    for name in names:
        pid = name[len(prefix):].split("-", 1)[0]
        if not (name.startswith(prefix) and pid.isdigit()) or not _ended(int(pid)):
            continue
        path = os.path.join(parent, name)
        try:
            if os.stat(path).st_uid != os.getuid():  # another user's: not ours to remove
                continue
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)


def _ended(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    try:  # a zombie has ended too: it only waits for its parent to hear of it
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):  # no /proc: alive, as far as can be told
        return False
