"""What the tests share besides fixtures: the repository, the environment of a ``kg``
subprocess, free ports and waiting for a server, HTTP by hand, a `kg serve` process, a
stand-in web site, and the runaway query."""

from __future__ import annotations

import dataclasses
import http.server
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable

import pytest

from kg import Config, KnowledgeGraph
from kg.config import SETTINGS
from kg.engine import Engine

REPO = Path(__file__).resolve().parents[1]

#: A query that runs until it is stopped: the cross product of four copies of the store.
RUNAWAY = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"

#: The environment variables of the settings (KG_DATA_DIR…): a developer's own never reach
#: a test (the variables that tell the tests what is mandatory, KG_REQUIRE_*, stay).
SETTING_VARIABLES = frozenset(setting.env_var for setting in SETTINGS)


def clean_environ(extra: dict | None = None) -> dict:
    """``os.environ`` without the settings' variables, plus ``extra``."""
    return {**{name: value for name, value in os.environ.items()
               if name not in SETTING_VARIABLES}, **(extra or {})}


def clean_config(settings: dict | None = None) -> Config:
    """The Config of ``settings`` over the defaults, whatever the environment says."""
    return Config.load(settings or {}, environ={})


def kg_environment(extra: dict | None = None) -> dict:
    """The environment of a ``kg`` subprocess: this checkout's sources first on the path
    (an absolute path: the subprocess runs in another folder, where ``PYTHONPATH=src``
    would find nothing and an installed copy would be tested instead)."""
    path = os.pathsep.join(p for p in (str(REPO / "src"), os.environ.get("PYTHONPATH")) if p)
    return clean_environ({"PYTHONPATH": path, **(extra or {})})


def engine_for(kg: KnowledgeGraph, **settings) -> Engine:
    """An engine over ``kg`` with these settings over its own (``workers=0``: in process)."""
    return Engine.from_config(kg, dataclasses.replace(kg.config, **settings))


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


def web_bundle(folder: Path, *, hostile: bool = True, test_snapshot: bool = True) -> Path:
    """A bundle folder (for KG_BUNDLE_DIR) with the bundled files, if ``test_snapshot``
    Wikidata-shaped ISO codes and coordinates of every country of the map, and, if ``hostile``,
    labels that would run script if a page did not escape them (tests/fixtures/web/)."""
    fixtures = REPO / "tests" / "fixtures" / "web"
    for name in ("ontology", "shapes", "queries"):
        (folder / name).symlink_to(REPO / name)
    (folder / "data" / "wikidata").mkdir(parents=True)
    (folder / "data" / "curation").symlink_to(REPO / "data" / "curation")  # the curators' graph
    for path in [*(REPO / "data").glob("*.ttl"), *(REPO / "data" / "wikidata").glob("*.ttl")]:
        (folder / path.relative_to(REPO)).symlink_to(path)
    if test_snapshot:
        (folder / "data" / "wikidata" / "zz-test.ttl").symlink_to(
            fixtures / "wikidata-snapshot.ttl")
    if hostile:
        (folder / "data" / "99-hostile.ttl").symlink_to(fixtures / "hostile.ttl")
    return folder


class KGServer:
    """A `kg serve` process on a loopback port: its URL, process and output (a file)."""

    def __init__(self, folder: Path, *args: str, env: dict | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = folder / "server.log"
        self._output = self.log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kg", *args, "serve", "--port", str(self.port)],
            env=kg_environment(env),
            stdout=self._output, stderr=subprocess.STDOUT, cwd=folder,
            start_new_session=True)  # its own process group: kill() ends every process

    def kill(self) -> None:
        """SIGKILL the server and all its processes at once, as a power cut would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self._output.close()

    def wait(self, timeout: float = 60) -> "KGServer":
        """Wait until it answers (fail the test with its log if it never does)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(self.url + "sparql?query=ASK%7B%7D", timeout=5).read()
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"kg serve did not start:\n{self.output()}")
                time.sleep(0.1)

    def output(self) -> str:
        """What it logged so far."""
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        """End it (SIGTERM) and wait."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._output.close()


def http_get(url: str, timeout: float = 60, data: bytes | None = None,
             **headers) -> tuple[int, bytes]:
    """(status, body) of a GET (a POST with ``data``), errors included."""
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def raw_exchange(url: str, data: bytes, *, timeout: float = 30) -> tuple[int, bytes]:
    """Send ``data`` as it is on a new connection to the server of ``url``; return the status
    and the bytes of the answer (the connection is closed by the caller's end of writing)."""
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(data)
        return read_answer(sock)


def post_refused(url: str, data: bytes, *, timeout: float = 60, **headers) -> tuple[int, bytes]:
    """(status, body) of a POST the server may answer (413) before it has read the whole body.

    urllib raises BrokenPipeError when the server closes while the body is still being sent
    (it happens under load), and the answer is lost with it; here the answer already sent
    is read whatever became of the rest of the body."""
    parts = urllib.parse.urlsplit(url)
    head = "".join(f"{name.replace('_', '-')}: {value}\r\n" for name, value in headers.items())
    request = (f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n{head}"
               f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        try:
            sock.sendall(request + data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the end: the answer is in the socket's buffer
        return read_answer(sock)


def read_answer(sock: socket.socket) -> tuple[int, bytes]:
    """Read one HTTP answer from ``sock`` (up to the end of its body or of the connection)."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), None)
    while length is None or len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, body


def run_together(function: Callable[[], object], times: int, *, timeout: float = 60) -> None:
    """Run ``function`` in ``times`` threads at once and wait for them all."""
    threads = [threading.Thread(target=function) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)


class LocalHTTP:
    """A threaded HTTP server on a loopback port (a stand-in for another site) that answers
    every GET and POST with ``respond(request)`` -> (status, content type, body), or with
    a fourth item, a dict of more headers, and keeps each request it got as a dict: method,
    path, headers, body.

    With ``tls`` (the PEM files of a certificate and its key) it speaks https and keeps
    the name each client asked for by SNI in ``server_names``.
    """

    def __init__(self, respond, *, tls: tuple[Path, Path] | None = None) -> None:
        self.requests: list[dict] = []
        self.server_names: list[str | None] = []
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the name http.server calls
                length = int(self.headers.get("Content-Length") or 0)
                request = {"method": self.command, "path": self.path,
                           "headers": self.headers, "body": self.rfile.read(length)}
                stand_in.requests.append(request)
                status, content_type, body, *more = respond(request)
                self.send_response(status)
                for name, value in (more[0] if more else {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}/"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            context.sni_callback = lambda sock, name, _: self.server_names.append(name)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
