"""The servers the benchmark compares: how each starts, when it is ready, what it costs.

Every server runs on loopback, on a free port, in its own process group; :class:`Server`
samples the resident memory of its whole process tree while it runs and stops the group
(SIGTERM, then SIGKILL) when asked or when the benchmark ends.
"""

from __future__ import annotations

import http.client
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))

import virtuoso  # noqa: E402  (tests/virtuoso.py: a throw-away Virtuoso)

RDFLIB_ENDPOINT = HERE / ".venv-rdflib-endpoint" / "bin" / "rdflib-endpoint"
READY_TIMEOUT = 900.0  # seconds a server may take to load 1M triples (rdflib-endpoint: minutes)
TOKEN = "bench:" + "0" * 32  # the update token kg serves with: the validation gate is on


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tree(root: int) -> list[int]:
    """``root`` and every descendant."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                children.setdefault(int(stat.read().rsplit(")", 1)[1].split()[1]), []).append(
                    int(entry))
        except OSError:
            continue
    found, stack = [], [root]
    while stack:
        found.append(stack.pop())
        stack += children.get(found[-1], [])
    return found


def tree_pss(root: int) -> int:
    """Proportional memory (bytes) of ``root`` and every descendant: each shared page
    counted once in all, split between the processes sharing it (the RSS sum counts it in
    each). From /proc/<pid>/smaps_rollup."""
    total = 0
    for pid in tree(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as rollup:
                total += next(int(line.split()[1]) for line in rollup
                              if line.startswith("Pss:")) * 1024
        except (OSError, StopIteration):
            continue
    return total


def tree_rss(root: int) -> int:
    """Resident memory (bytes) of ``root`` and every descendant, from /proc."""
    total = 0
    for pid in tree(root):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                total += int(stat.read().rsplit(")", 1)[1].split()[21]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            continue
    return total


class MemorySampler:
    """Samples the RSS of a process tree in a thread; ``peak`` is the largest seen, and
    ``peak_pss`` the largest PSS (sampled every fifth time: reading it costs more)."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid, self.interval, self.peak, self.peak_pss = pid, interval, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for tick in itertools.count():
            if self._stop.is_set():
                return
            self.peak = max(self.peak, tree_rss(self.pid))
            if tick % 5 == 0:
                self.peak_pss = max(self.peak_pss, tree_pss(self.pid))
            self._stop.wait(self.interval)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def run_measured(command: list[str], **options) -> tuple[float, int]:
    """Run a command to its end; (seconds, peak RSS of its process tree). Fails loudly."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True, **options)
    sampler = MemorySampler(process.pid, 0.05)
    _, err = process.communicate(timeout=3600)
    seconds = time.perf_counter() - started
    peak = sampler.stop()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}): "
                           f"{err.decode(errors='replace')[-2000:]}")
    return seconds, peak


@dataclass
class Server:
    """One server under test."""

    name: str  #: e.g. "kg (memory)"
    mode: str  #: "memory" or "disk"
    command: list[str]
    path: str  #: the query endpoint's path, e.g. /sparql
    env: dict = field(default_factory=dict)
    upload: Path | None = None  #: N-Quads to POST to /store once up (Oxigraph in memory)
    #: a server kg stores in: the settings that point kg at it (KG_STORE, KG_STORE_UPDATE)
    store: dict = field(default_factory=dict)
    behind: str = ""  #: kg serve --store: the name of the server it passes queries to
    params: dict = field(default_factory=dict)  #: sent with every query, e.g. a dataset
    port: int = 0
    process: subprocess.Popen | None = None
    sampler: MemorySampler | None = None
    ready_seconds: float = 0.0
    log: Path | None = None

    def start(self, log_dir: Path) -> None:
        """Start the server and wait until it answers a query over its data."""
        self.port = self.port or free_port()
        command = [part.format(port=self.port) for part in self.command]
        self.log = log_dir / (self.name.replace(" ", "-").replace("(", "").replace(")", "")
                              + ".log")
        started = time.perf_counter()
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                            env={**os.environ, **self.env},
                                            start_new_session=True, cwd=REPO)
        self.sampler = MemorySampler(self.process.pid)
        self._wait_up(started)
        if self.upload is not None:
            with open(self.upload, "rb") as body:
                status, _ = self.request("POST", "/store", body.read(),
                                         {"Content-Type": "application/n-quads"}, timeout=3600)
            if status not in (200, 201, 204):
                raise RuntimeError(f"{self.name}: loading the data answered {status}")
        self.ready_seconds = time.perf_counter() - started

    def _wait_up(self, started: float) -> None:
        probe = "ASK { ?s ?p ?o }"
        while time.perf_counter() - started < READY_TIMEOUT:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}); see {self.log}")
            try:
                status, _ = self.query(probe, "application/sparql-results+json", timeout=5)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"{self.name} was not ready after {READY_TIMEOUT:g} s; see {self.log}")

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None, timeout: float = 120) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body, headers or {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def query(self, text: str, accept: str, timeout: float = 120,
              connection: http.client.HTTPConnection | None = None,
              headers: dict | None = None) -> tuple[int, bytes]:
        """GET the query (on ``connection`` when given, kept alive), return status and body."""
        target = self.path + "?" + urllib.parse.urlencode({"query": text, **self.params},
                                                          doseq=True)
        if connection is None:
            return self.request("GET", target, None, {"Accept": accept, **(headers or {})},
                                timeout)
        connection.request("GET", target, headers={"Accept": accept, **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read()

    def connect(self, timeout: float) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def stop(self) -> tuple[int, int]:
        """Stop the process group; return the peak RSS and PSS of the tree while it ran."""
        peak = (self.sampler.stop(), self.sampler.peak_pss) if self.sampler else (0, 0)
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(15)
            except ProcessLookupError:
                pass
        self.process = None
        return peak


def kg_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "kg", *args]


def servers(data: Path, work: Path, *, which: set[str], compare_src: Path | None = None,
            remote: Path | None = None) -> list[Server]:
    """The servers to compare on the dataset folder ``data`` (from bench/generate.py);
    ``work`` holds their on-disk stores (prepared by :func:`prepare_disk`). With
    ``compare_src`` (another checkout's ``src``), ``kg-compare (memory)`` runs that code too,
    interleaved with the others: a before and after in the same run.

    The servers of mode "remote" are picked by their full names or all by ``remote``:
    Virtuoso and Oxigraph's server on disk, each with its database in ``remote`` (filled
    by :func:`prepare_remote`), and a ``kg serve --store`` in front of each."""
    nquads = data / "dataset.nq"
    kg_env = {"PYTHONPATH": str(REPO / "src"), "KG_UPDATE_TOKEN": TOKEN,
              "KG_BUNDLE_DIR": str(data / "bundle")}
    kg_serve = ["serve", "--port", "{port}", "--timeout", "30"]
    oxigraph = shutil.which("oxigraph") or "oxigraph"
    remote = remote or work / "remote"
    virtuoso_port, oxigraph_port = free_port(), free_port()
    on_virtuoso = {"KG_STORE": f"http://127.0.0.1:{virtuoso_port}/sparql"}
    on_oxigraph = {"KG_STORE": f"http://127.0.0.1:{oxigraph_port}/query",
                   "KG_STORE_UPDATE": f"http://127.0.0.1:{oxigraph_port}/update"}
    all_servers = [
        Server("kg (memory)", "memory", kg_command(*kg_serve), "/sparql", kg_env),
        Server("oxigraph (memory)", "memory",
               [oxigraph, "serve", "--bind", "127.0.0.1:{port}", "--union-default-graph",
                "--timeout-s", "30"], "/query", upload=nquads),
        Server("kg (disk)", "disk", kg_command("--data-dir", str(work / "kg-store"), *kg_serve),
               "/sparql", kg_env),
        Server("oxigraph (disk)", "disk",
               [oxigraph, "serve", "--location", str(work / "oxigraph-store"), "--bind",
                "127.0.0.1:{port}", "--union-default-graph", "--timeout-s", "30"], "/query"),
        # the floor of kg's stack: Flask on granian over pyoxigraph, nothing of kg's own
        Server("floor (memory)", "memory",
               [sys.executable, str(REPO / "bench" / "floor.py"), str(nquads), "--port",
                "{port}"], "/sparql"),
        Server("rdflib-endpoint", "memory",
               [str(RDFLIB_ENDPOINT), "serve", str(nquads), "--host", "127.0.0.1",
                "--port", "{port}"], "/"),
        Server("virtuoso", "remote", ["virtuoso-t", "+foreground", "+configfile",
                                      str(remote / "virtuoso" / "virtuoso.ini")], "/sparql",
               port=virtuoso_port, store=on_virtuoso),
        Server("kg --store virtuoso", "remote", kg_command(*kg_serve), "/sparql",
               {**kg_env, **on_virtuoso}, behind="virtuoso"),
        Server("oxigraph server", "remote",
               [oxigraph, "serve", "--location", str(remote / "oxigraph"), "--bind",
                "127.0.0.1:{port}", "--union-default-graph", "--timeout-s", "30"], "/query",
               port=oxigraph_port, store=on_oxigraph),
        Server("kg --store oxigraph", "remote", kg_command(*kg_serve), "/sparql",
               {**kg_env, **on_oxigraph}, behind="oxigraph server"),
    ]
    if compare_src is not None:
        all_servers.insert(1, Server("kg-compare (memory)", "memory", kg_command(*kg_serve),
                                     "/sparql", {**kg_env, "PYTHONPATH": str(compare_src)}))
        which = which | {"kg-compare"}
    return [server for server in all_servers if server.name in which or server.mode in which
            or server.name.split()[0] in which and server.mode != "remote"]


def prepare_disk(data: Path, work: Path) -> dict[str, tuple[float, int]]:
    """Bulk-load the dataset into fresh on-disk stores with ``kg load`` and ``oxigraph
    load``; return (seconds, peak RSS) of each."""
    nquads = data / "dataset.nq"
    results = {}
    for name in ("kg-store", "oxigraph-store"):
        shutil.rmtree(work / name, ignore_errors=True)
    # a fresh store gets the bundled files at its first opening, then the dataset (as users do)
    env = {**{k: v for k, v in os.environ.items() if k != "KG_BUNDLE_DIR"},
           "PYTHONPATH": str(REPO / "src")}
    results["kg load"] = run_measured(
        kg_command("--quiet", "--data-dir", str(work / "kg-store"), "load", str(nquads)),
        env=env, cwd=REPO)
    results["oxigraph load"] = run_measured(
        [shutil.which("oxigraph") or "oxigraph", "load", "--location",
         str(work / "oxigraph-store"), "--file", str(nquads)])
    return results


def prepare_remote(data: Path, running: list[Server], log_dir: Path,
                   ) -> dict[str, tuple[float, int]]:
    """Fill each server kg stores in (``Server.store``) with ``kg load`` through ``--store``,
    on a new database, then stop it; return (seconds, peak RSS of kg) of each load.

    Virtuoso's database is made by tests/virtuoso.py (SPARQL Update granted), and its
    direct queries then name the project's graphs as their dataset, as kg's do (Virtuoso's
    own graphs are in its default graph: see kg.store.remote)."""
    from kg.store.remote import RemoteStore

    env = {**{k: v for k, v in os.environ.items() if k != "KG_BUNDLE_DIR"},
           "PYTHONPATH": str(REPO / "src")}
    results = {}
    for server in running:
        if not server.store:
            continue
        if server.name == "virtuoso":
            folder = Path(server.command[-1]).parent
            shutil.rmtree(folder, ignore_errors=True)
            started = virtuoso.start(folder, buffers=340_000, http_port=server.port)
        else:
            shutil.rmtree(server.command[server.command.index("--location") + 1],
                          ignore_errors=True)
            server.start(log_dir)
            started = server
        try:
            results[f"kg load → {server.name}"] = run_measured(
                kg_command("--quiet", "load", str(data / "dataset.nq")),
                env={**env, **server.store}, cwd=REPO)
            if server.name == "virtuoso":
                graphs = RemoteStore(server.store["KG_STORE"]).project_graphs()
                server.params = {"default-graph-uri": graphs, "named-graph-uri": graphs}
        finally:
            started.stop()
    return results
