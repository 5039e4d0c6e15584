"""A loopback relay that makes each allowlisted SERVICE call reach the address that was
checked, not whatever the host name resolves to a moment later.

Oxigraph calls a SERVICE endpoint with its own HTTP client, which resolves the host name
when it connects. Checking the name beforehand (:mod:`kg.sparql.federation`) would leave a
window: a hostile DNS server can answer a public address to the check and a loopback or
private one to the connection (DNS rebinding). So the check resolves the name once and
registers the endpoint here with the addresses it checked; the query calls this relay
(``http://127.0.0.1:<port>/<token>``) instead, and the relay connects to those addresses
only, sending the original ``Host`` header and, for https, the original name for SNI and
certificate verification (:func:`kg.sparql.pinned.request`, which LOAD uses too). The relay
never resolves a name.

One relay per process, started on first use; a route is only reachable by its random
token, and leads only to an address that passed the check.
"""

from __future__ import annotations

import http.client
import http.server
import os
import secrets
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from . import pinned

#: Seconds the relay waits for the remote endpoint to connect or send (per read).
TIMEOUT = 60.0
#: Request headers passed on to the remote endpoint (Oxigraph's client sends these).
_PASSED_ON = ("Accept", "Content-Type", "User-Agent")
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Route:
    """Where one relay URL leads: the SERVICE ``target`` and the checked ``addresses``
    (empty when the name did not resolve: the call fails, as it would have)."""

    target: str
    addresses: tuple[str, ...]


class Relay:
    """The relay of this process: routes by token, served on a loopback port."""

    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}
        self._tokens: dict[Route, str] = {}
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.relay = self
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}/"
        threading.Thread(target=self._server.serve_forever, name="kg-service-relay",
                         daemon=True).start()

    def url(self, target: str, addresses: tuple[str, ...]) -> str:
        """The relay URL that calls ``target`` at ``addresses`` (the same URL each time for
        the same pair, so that cached answers still match)."""
        route = Route(target, tuple(addresses))
        with self._lock:
            token = self._tokens.get(route)
            if token is None:
                token = secrets.token_urlsafe(16)
                self._tokens[route], self._routes[token] = token, route
        return self.base + token

    def route(self, url: str) -> Route | None:
        """The route of a relay URL, or None."""
        return self._routes.get(url[len(self.base):]) if url.startswith(self.base) else None

    def by_token(self, token: str) -> Route | None:
        """The route of a token, or None."""
        return self._routes.get(token)

    def redact(self, message: str) -> str:
        """``message`` with every relay URL replaced by the SERVICE IRI it stands for."""
        if self.base not in message:
            return message
        for token, route in list(self._routes.items()):
            message = message.replace(self.base + token, route.target)
        return message


_RELAY: tuple[int, Relay] | None = None
_START = threading.Lock()


def relay() -> Relay:
    """This process's relay, started on first use (and again in a forked child, whose
    copy has no thread serving it)."""
    global _RELAY
    with _START:
        if _RELAY is None or _RELAY[0] != os.getpid():
            _RELAY = (os.getpid(), Relay())
        return _RELAY[1]


def redact(message: str) -> str:
    """``message`` with the URLs of this process's relay, if any, replaced by their
    SERVICE IRIs."""
    current = _RELAY
    return current[1].redact(message) if current and current[0] == os.getpid() else message


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # answers are chunked: Oxigraph reads no close-delimited body

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def _forward(self) -> None:
        token, _, query = self.path[1:].partition("?")
        route = self.server.relay.by_token(token)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if route is None:
            return self._fail(404, "no such route")
        parts = urlsplit(route.target)
        url = urlunsplit(parts._replace(query="&".join(filter(None, (parts.query, query))),
                                        fragment=""))
        headers = {name: self.headers[name] for name in _PASSED_ON if self.headers[name]}
        try:
            with pinned.request(url, route.addresses, method=self.command, body=body,
                                headers=headers, timeout=TIMEOUT) as response:
                try:
                    self._pass_back(response)
                except (OSError, http.client.HTTPException):
                    self.close_connection = True  # the caller or the remote went away
        except pinned.UnreachableError as exc:
            self._fail(502, str(exc))  # the query's error names the SERVICE IRI

    def _pass_back(self, response: http.client.HTTPResponse) -> None:
        # the status and body as they are; no Location (a redirect is not followed: it
        # could lead anywhere), chunked so that the caller knows where the body ends
        self.send_response(response.status, response.reason)
        for name in ("Content-Type", "Content-Encoding"):
            if response.getheader(name):
                self.send_header(name, response.getheader(name))
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        while chunk := response.read1(_CHUNK):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")

    def _fail(self, status: int, message: str) -> None:
        body = message.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        pass  # the query's own error says what failed
