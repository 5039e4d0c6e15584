"""Virtuoso (Debian's ``virtuoso-opensource-7-bin``) started for a test or a bench run: a
throw-away database in a temporary folder, on free loopback ports, never a system service.

SPARQL Update is allowed at ``/sparql`` by granting ``SPARQL_UPDATE`` to the ``SPARQL`` user
(the one Virtuoso runs anonymous requests as), with Virtuoso's own ``isql``; a server open to
others would rather keep ``/sparql`` read-only and give kg an account at ``/sparql-auth``,
which kg does not speak (HTTP digest authentication). Without the package the callers skip,
or fail when ``KG_REQUIRE_VIRTUOSO=1`` (set by ``.ci/run``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from helpers import free_port

#: The settings that matter here; the rest are Virtuoso's defaults.
INI = """\
[Database]
DatabaseFile = {dir}/virtuoso.db
ErrorLogFile = {dir}/virtuoso.log
LockFile = {dir}/virtuoso.lck
TransactionFile = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {dir}/virtuoso-temp.db
TransactionFile = {dir}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
; 2, as in the virtuoso.ini Virtuoso ships: with another value it answers ASK as a table
CaseMode = 2
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty}
DirsAllowed = ., {dir}
CheckpointInterval = 60

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {dir}
ServerThreads = 8
MaxClientConnections = 8
KeepAliveTimeout = 10
MaxKeepAlives = 8

[SPARQL]
; Virtuoso cuts every answer at this many rows, silently; the row limit is kg's to set
ResultSetMaxRows = 100000000
MaxQueryExecutionTime = 0
MaxQueryCostEstimationTime = 0
"""


def missing() -> str | None:
    """Why Virtuoso cannot be run here, or None."""
    for program in ("virtuoso-t", "isql-vt"):
        if shutil.which(program) is None:
            return (f"{program} not found: apt-get install virtuoso-opensource-7-bin "
                    "(KG_REQUIRE_VIRTUOSO=1 makes the Virtuoso cases mandatory)")
    return None


def required() -> bool:
    """Whether a missing Virtuoso fails the run instead of skipping (CI)."""
    return os.environ.get("KG_REQUIRE_VIRTUOSO") == "1"


@dataclass
class Virtuoso:
    """A running Virtuoso: its process, its folder and its SPARQL URL."""

    process: subprocess.Popen
    folder: Path
    sql_port: int
    http_port: int

    @property
    def sparql(self) -> str:
        """The SPARQL endpoint (queries and, once granted, updates)."""
        return f"http://127.0.0.1:{self.http_port}/sparql"

    def isql(self, statement: str) -> str:
        """Run one SQL statement as ``dba`` with Virtuoso's ``isql``; its output."""
        done = subprocess.run(["isql-vt", str(self.sql_port), "dba", "dba", f"exec={statement}"],
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0 or "Error" in done.stdout:
            raise RuntimeError(f"isql {statement!r} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def log(self) -> str:
        """Virtuoso's log, for a failure message."""
        path = self.folder / "virtuoso.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        """Stop it by its process id (a clean shutdown, then a kill if it hangs)."""
        self.process.terminate()
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def start(folder: Path, *, buffers: int = 20000, timeout: float = 120,
          http_port: int = 0) -> Virtuoso:
    """Start Virtuoso on a new database in ``folder`` and allow SPARQL Update at /sparql.

    ``buffers`` are 8 KB pages of cache (Virtuoso's advice: about 2/3 of the memory it may
    use). ``http_port``: the SPARQL endpoint's port (0: a free one). The ``virtuoso.ini`` left
    in ``folder`` starts the same database again. Waits until its SPARQL endpoint answers, up
    to ``timeout`` seconds.
    """
    folder.mkdir(parents=True, exist_ok=True)
    sql_port, http_port = free_port(), http_port or free_port()
    (folder / "virtuoso.ini").write_text(INI.format(
        dir=folder, sql_port=sql_port, http_port=http_port, buffers=buffers,
        dirty=buffers * 3 // 4))
    process = subprocess.Popen(["virtuoso-t", "+foreground", "+configfile",
                                str(folder / "virtuoso.ini")], cwd=folder,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = Virtuoso(process, folder, sql_port, http_port)
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(server.sparql + "?query=ASK%7B%7D", timeout=5).read()
            break
        except (urllib.error.URLError, OSError):
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"Virtuoso did not start:\n{server.log()}") from None
            time.sleep(0.2)
    server.isql('GRANT SPARQL_UPDATE TO "SPARQL";')
    return server
