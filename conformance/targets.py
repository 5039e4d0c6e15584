"""The endpoints the harness drives: Oxigraph's server, our Flask app, our core.

Each target can be emptied, loaded with N-Quads (outside the protocol) and sent SPARQL
Protocol requests. Requests are (method, path, query
parameters, headers, body) so the protocol tests can send malformed ones too.
"""

from __future__ import annotations

import http.client
import shutil
import socket
import subprocess
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Sequence
from urllib.parse import parse_qsl, urlencode

Params = Sequence[tuple[str, str]]


@dataclass
class Response:
    """What came back: status, media type (without parameters) and body."""

    status: int
    content_type: str
    body: bytes


class Target(ABC):
    """An endpoint under test."""

    #: Short name used in reports.
    name: str
    #: Path of the SPARQL query endpoint.
    query_path: str
    #: Path of the SPARQL update endpoint (the protocol lets it differ from the query one).
    update_path: str

    @abstractmethod
    def reset(self) -> None:
        """Empty the dataset."""

    @abstractmethod
    def load(self, nquads: bytes) -> None:
        """Add N-Quads to the dataset."""

    @abstractmethod
    def request(self, method: str, path: str, *, params: Params = (),
                headers: dict[str, str] | None = None, body: bytes | None = None) -> Response:
        """Send one HTTP request; ``params`` go in the query string."""

    def close(self) -> None:
        """Free what the target holds (processes, stores)."""

    def __enter__(self) -> "Target":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _media_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HttpTarget(Target):
    """A server reached over a real loopback socket (one kept-alive connection)."""

    def __init__(self, host: str, port: int, *, timeout: float = 30.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._connection: http.client.HTTPConnection | None = None

    def request(self, method, path, *, params=(), headers=None, body=None) -> Response:
        target = path + ("?" + urlencode(list(params)) if params else "")
        for attempt in (1, 2):  # a kept-alive connection the server closed is retried once
            if self._connection is None:
                self._connection = http.client.HTTPConnection(self.host, self.port,
                                                              timeout=self.timeout)
            try:
                self._connection.request(method, target, body=body, headers=headers or {})
                answer = self._connection.getresponse()
                data = answer.read()
            except (http.client.HTTPException, ConnectionError):
                self._connection.close()
                self._connection = None
                if attempt == 2:
                    raise
                continue
            if answer.getheader("Connection", "").lower() == "close":
                self._connection.close()
                self._connection = None
            return Response(answer.status, _media_type(answer.getheader("Content-Type")), data)
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class OxigraphServer(HttpTarget):
    """``oxigraph serve`` (PyPI package ``oxigraph``), in memory, on a loopback port.

    Started on construction, stopped by :meth:`close` (terminate, then kill after a
    bounded wait), so a ``with`` block or a fixture finalizer never leaks the process.
    """

    name = "oxigraph"
    query_path = "/query"
    update_path = "/update"

    def __init__(self, *, executable: str | None = None, startup_timeout: float = 20.0) -> None:
        executable = executable or shutil.which("oxigraph")
        if executable is None:
            raise FileNotFoundError("the `oxigraph` command is not installed (pip install oxigraph)")
        port = free_port()
        super().__init__("127.0.0.1", port)
        self.process = subprocess.Popen(
            [executable, "serve", "--bind", f"127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_until_up(startup_timeout)

    def _wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise RuntimeError(f"oxigraph serve exited with {self.process.returncode}: {error}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.close()
        raise TimeoutError(f"oxigraph serve did not listen on port {self.port} in {timeout} s")

    def reset(self) -> None:
        self._check(self.request("POST", "/update", body=b"DROP SILENT ALL",
                                 headers={"Content-Type": "application/sparql-update"}))

    def load(self, nquads: bytes) -> None:
        if nquads:
            self._check(self.request("POST", "/store", body=nquads,
                                     headers={"Content-Type": "application/n-quads"}))

    @staticmethod
    def _check(response: Response) -> None:
        if response.status >= 300:
            raise RuntimeError(f"oxigraph refused a set-up request: {response.status} "
                               f"{response.body[:200]!r}")

    def close(self) -> None:
        super().close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process.stderr:
            self.process.stderr.close()


class KgAppTarget(Target):
    """Our endpoint: ``kg.web.app.create_app`` driven through Flask's test client.

    The whole HTTP layer runs (routing, protocol parsing, negotiation, the query engine and
    its worker processes, the validated writes); only the socket is missing. The store
    starts empty (the bundle directory is an empty folder) and is filled between tests
    through the core (outside the protocol, like Oxigraph's through its Graph Store);
    ``Engine.dataset_changed`` makes the query workers reload it. Updates are sent with a
    bearer token the app is configured with. :meth:`close` stops the workers.
    """

    name = "kg"
    query_path = "/sparql"
    update_path = "/sparql"  # the protocol allows one path for both
    TOKEN = "conformance-harness-token"

    def __init__(self, *, empty_bundle: str, settings: dict | None = None) -> None:
        from kg.web.app import create_app

        self.app = create_app({"bundle_dir": empty_bundle,
                               "update_token": f"conformance:{self.TOKEN}", **(settings or {})})
        self.client = self.app.test_client()
        self._state = self.app.extensions["kg"]

    def reset(self) -> None:
        self._state.kg.store.clear()
        self._state.engine.dataset_changed()

    def load(self, nquads: bytes) -> None:
        from pyoxigraph import RdfFormat

        if nquads:
            self._state.kg.store.load(nquads, RdfFormat.N_QUADS)
            self._state.engine.dataset_changed()

    def request(self, method, path, *, params=(), headers=None, body=None) -> Response:
        headers = {"Authorization": f"Bearer {self.TOKEN}", **(headers or {})}
        answer = self.client.open(path + ("?" + urlencode(list(params)) if params else ""),
                                  method=method, headers=headers, data=body)
        try:
            return Response(answer.status_code, _media_type(answer.headers.get("Content-Type")),
                            answer.get_data())
        finally:
            answer.close()

    def close(self) -> None:
        from kg.web.app import close_app

        close_app(self.app)


class CoreTarget(Target):
    """``kg.KnowledgeGraph`` called directly, with a minimal protocol shim.

    Not the HTTP layer: it exists to prove the comparison logic before the Flask endpoint
    lands, and to tell an engine failure from an HTTP-layer one. It reads ``query``,
    ``default-graph-uri`` and ``named-graph-uri`` from a form POST or a GET and answers
    in the format the Accept header names.
    """

    name = "kg-core"
    query_path = "/sparql"
    update_path = "/sparql"

    def __init__(self) -> None:
        from kg import Config, KnowledgeGraph

        self.kg = KnowledgeGraph.open(Config.load({}, environ={}), load_bundled=False)

    def reset(self) -> None:
        self.kg.store.clear()

    def load(self, nquads: bytes) -> None:
        from pyoxigraph import RdfFormat

        if nquads:
            self.kg.store.load(nquads, RdfFormat.N_QUADS)

    def request(self, method, path, *, params=(), headers=None, body=None) -> Response:
        from kg.errors import KGError
        from kg.sparql.formats import negotiate

        headers = {k.lower(): v for k, v in (headers or {}).items()}
        path, _, query_string = path.partition("?")
        fields = list(params) + parse_qsl(query_string, keep_blank_values=True)
        content_type = _media_type(headers.get("content-type"))
        if method == "POST" and content_type == "application/x-www-form-urlencoded":
            fields += parse_qsl((body or b"").decode(), keep_blank_values=True)
        elif method == "POST" and content_type == "application/sparql-query":
            try:
                fields.append(("query", (body or b"").decode("utf-8")))
            except UnicodeDecodeError:
                return Response(400, "text/plain", b"the query is not UTF-8")
        elif method == "POST":
            return Response(415, "text/plain", b"unsupported media type")
        queries = [value for key, value in fields if key == "query"]
        if method not in ("GET", "POST") or len(queries) != 1:
            return Response(400, "text/plain", b"exactly one query parameter is needed")
        try:
            result = self.kg.query(
                queries[0],
                default_graphs=[v for k, v in fields if k == "default-graph-uri"],
                named_graphs=[v for k, v in fields if k == "named-graph-uri"])
            fmt = negotiate(headers.get("accept"), result.kind)
            return Response(200, fmt.media_type, result.serialize(fmt))
        except KGError as exc:
            return Response(getattr(exc, "status", 500), "text/plain", str(exc).encode())

    def close(self) -> None:
        self.kg.store.clear()
