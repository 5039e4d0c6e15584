"""Shared fixtures: real stores, real files, the real ``kg`` command."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from kg import Config, KnowledgeGraph

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def bundled() -> KnowledgeGraph:
    """The in-memory graph of the bundled files (read-only use: shared by the session)."""
    return KnowledgeGraph.open(Config.load({}, environ={}))


@pytest.fixture
def empty() -> KnowledgeGraph:
    """An empty in-memory graph."""
    return KnowledgeGraph.open(Config.load({}, environ={}), load_bundled=False)


@pytest.fixture
def run_kg(tmp_path):
    """Run the ``kg`` command in a subprocess; returns the CompletedProcess."""

    def run(*args: str, input: bytes | None = None, env: dict | None = None):
        return subprocess.run([sys.executable, "-m", "kg", *args], input=input,
                              capture_output=True, cwd=tmp_path, env=env, timeout=120)

    return run


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, *, what: str,
                  timeout: float = 60) -> None:
    """Poll ``url`` until it answers; fail the test (and end ``process``) if it never does.

    ``process``'s output, when piped, goes into the failure message.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                stream = process.stdout or process.stderr
                output = stream.read().decode(errors="replace") if stream else ""
                pytest.fail(f"{what} did not start:\n{output}")
            time.sleep(0.1)


#: Files the Wikidata stand-in serves: the bundled snapshot (P297, P625, labels) and the
#: test dataset (P31, P279, aliases, a redirect, planted candidates).
STANDIN_FILES = (REPO / "data" / "wikidata" / "snapshot.ttl",
                 REPO / "tests" / "wikidata" / "standin.ttl")


@pytest.fixture(scope="session")
def wikidata_standin():
    """The query URL of a local stand-in for Wikidata's query service: Oxigraph's own
    server (PyPI ``oxigraph``) on a loopback port, loaded with a Wikidata-shaped dataset."""
    executable = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([executable, "serve", "--bind", f"127.0.0.1:{port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_until_up(base + "/query?query=ASK%7B%7D", process, what="the Oxigraph stand-in")
    for path in STANDIN_FILES:
        request = urllib.request.Request(base + "/store?default", data=path.read_bytes(),
                                         headers={"Content-Type": "text/turtle"})
        urllib.request.urlopen(request, timeout=30).read()
    yield base + "/query"
    process.terminate()
    process.wait(10)
    process.stderr.close()


@pytest.fixture
def listener():
    """A loopback socket that records every connection made to it: (port, connections)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.settimeout(0.1)
    connections: list = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                connection, _ = sock.accept()
            except socket.timeout:
                continue
            connections.append(connection)
            connection.close()

    thread = threading.Thread(target=accept)
    thread.start()
    yield sock.getsockname()[1], connections
    stop.set()
    thread.join()
    sock.close()


def web_bundle(folder: Path, *, hostile: bool = True) -> Path:
    """A bundle folder (for KG_BUNDLE_DIR) with the bundled files, Wikidata-shaped ISO codes
    and coordinates of every place of the map, and, if ``hostile``, labels that would run
    script if a page did not escape them (tests/fixtures/web/)."""
    fixtures = REPO / "tests" / "fixtures" / "web"
    for name in ("ontology", "shapes", "queries"):
        (folder / name).symlink_to(REPO / name)
    (folder / "data" / "wikidata").mkdir(parents=True)
    for path in [*(REPO / "data").glob("*.ttl"), *(REPO / "data" / "wikidata").glob("*.ttl")]:
        (folder / path.relative_to(REPO)).symlink_to(path)
    (folder / "data" / "wikidata" / "zz-test.ttl").symlink_to(fixtures / "wikidata-snapshot.ttl")
    if hostile:
        (folder / "data" / "99-hostile.ttl").symlink_to(fixtures / "hostile.ttl")
    return folder
