"""Shared fixtures: real stores, real files, the real ``kg`` command, and the app, its test
client and the command's runner, built from a clean environment (helpers live in
``helpers.py``)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings as hypothesis_settings

from helpers import (SETTING_VARIABLES, STANDIN_FILES, clean_config, free_port,
                     kg_environment, wait_until_up)
from kg import KnowledgeGraph
from kg.web.app import close_app, create_app

# hypothesis: CI runs a fixed set of examples (derandomised: the same every run, no example
# database); locally the examples are random, so each run explores new ones
hypothesis_settings.register_profile("ci", derandomize=True, database=None, deadline=None,
                                     max_examples=60, print_blob=True)
hypothesis_settings.register_profile("dev", deadline=None, max_examples=60, database=None)
# KG_HYPOTHESIS_PROFILE=thorough: a long hunt, by hand
hypothesis_settings.register_profile("thorough", deadline=None, max_examples=1500,
                                     database=None)
hypothesis_settings.load_profile(os.environ.get("KG_HYPOTHESIS_PROFILE")
                                 or ("ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session", autouse=True)
def _no_settings_from_the_environment():
    """The developer's own ``KG_*`` settings (KG_DATA_DIR, KG_UPDATE_TOKEN…) reach no test:
    an app, a Config.load() or a subprocess sees the defaults unless a test sets one."""
    with pytest.MonkeyPatch.context() as patch:
        for name in SETTING_VARIABLES & set(os.environ):
            patch.delenv(name)
        yield


@pytest.fixture(scope="session")
def bundled() -> KnowledgeGraph:
    """The in-memory graph of the bundled files (read-only use: shared by the session)."""
    return KnowledgeGraph.open(clean_config())


@pytest.fixture
def empty() -> KnowledgeGraph:
    """An empty in-memory graph."""
    return KnowledgeGraph.open(clean_config(), load_bundled=False)


def _app_factory():
    apps = []

    def make(**settings):
        app = create_app(clean_config(settings))
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield make
    for app in apps:
        close_app(app)


@pytest.fixture
def make_app():
    """Build apps from settings over the defaults (never the environment's); their query
    workers are stopped when the test is done."""
    yield from _app_factory()


@pytest.fixture(scope="module")
def make_shared_app():
    """:func:`make_app` for a module's shared fixtures: the apps live until the module's
    tests are done."""
    yield from _app_factory()


@pytest.fixture(scope="module")
def app(make_shared_app):
    """The endpoint's app over the bundled graph, queries in this process (no workers);
    shared by a module's tests, so only for tests that do not write."""
    return make_shared_app(workers=0)


@pytest.fixture
def client(app):
    """A test client of :func:`app`."""
    return app.test_client()


@pytest.fixture
def runner():
    """Runs ``kg`` commands in this process (click's runner) with no KG_* setting."""
    return CliRunner(env={name: None for name in SETTING_VARIABLES})


@pytest.fixture
def run_kg(tmp_path):
    """Run the ``kg`` command in a subprocess; returns the CompletedProcess."""

    def run(*args: str, input: bytes | None = None, env: dict | None = None):
        return subprocess.run([sys.executable, "-m", "kg", *args], input=input,
                              capture_output=True, cwd=tmp_path, env=kg_environment(env),
                              timeout=120)

    return run


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
