"""Folders the engine keeps while it runs: the spool, where answers over 1 MB wait until
they are sent, and (on disk) the query host's checkpoints of the store.

Each is named after the process that made it, so that the next engine to start removes the
folders of servers that were killed (SIGKILL, a power cut) before they could remove their
own: a checkpoint holds on to store files the live store has compacted away.
:func:`process_ended` tells whether such a process has gone (a query host asks it of its
server where there is no pidfd to wait on).
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
        if not name.startswith(prefix):
            continue
        pid = name[len(prefix):].split("-", 1)[0]
        path = os.path.join(parent, name)
        try:
            # another user's folder is not ours to remove (and only ours name our processes)
            if not pid.isdigit() or os.stat(path).st_uid != os.getuid() \
                    or not process_ended(int(pid)):
                continue
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)


def process_ended(pid: int) -> bool:
    """Whether process ``pid``, one of this user's, has ended (a zombie has: it only waits
    for its parent to hear of it; a number now another user's is another process)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):  # no /proc: alive, as far as can be told
        return False
