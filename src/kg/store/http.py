"""The HTTP exchanges with a remote SPARQL server (no Flask here).

Queries go over a connection each thread keeps open to the server (HTTP/1.1 keep-alive):
opening a TCP connection for every request cost about as much as a small query itself.
A connection goes back to its thread only once its answer was read to the end; one closed
early (a client that left) is closed. A query sent on a connection the server had closed
meanwhile is sent once more on a new one — a query changes nothing, so sending it twice is
harmless. Writes never reuse a connection: an update is not sent twice. Where a proxy is
configured (``http_proxy``), every request goes through urllib, which honours it.
"""

from __future__ import annotations

import http.client
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
import weakref
from dataclasses import dataclass, field
from typing import Callable, Iterator

from ..errors import KGError, QuerySyntaxError, QueryTimeoutError

#: The errors of a connection the server closed while it was idle.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class RemoteStoreError(KGError):
    """The remote store failed or could not be reached (502 Bad Gateway)."""

    status = 502


@dataclass
class Reply:
    """A remote answer: status, media type, length (if sent) and the body, unread."""

    status: int
    media_type: str
    length: int | None
    response: http.client.HTTPResponse
    release: Callable[[bool], None] = field(default=lambda complete: None, repr=False)

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of the body (all of it by default)."""
        return self.response.read(size) if size >= 0 else self.response.read()

    def chunks(self, size: int = 64 * 1024) -> Iterator[bytes]:
        """The body in pieces, as it arrives; the reply is closed at the end."""
        try:
            while chunk := self.response.read(size):
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        """Done with it: its connection is kept if the body was read to the end."""
        complete = self.response.isclosed()
        self.response.close()
        self.release(complete)


class Client:
    """Requests to one server's URLs; ``heard`` is told each answer's ``Server`` header."""

    def __init__(self, user_agent: str, heard: Callable[[str | None], None]) -> None:
        self.user_agent, self.heard = user_agent, heard
        self._idle = threading.local()  # per thread: {(scheme, netloc): HTTPConnection}
        self._open: set[http.client.HTTPConnection] = set()  # kept ones, of every thread
        weakref.finalize(self, _close_all, self._open)
        self._proxies: dict[tuple, bool] = {}  # (scheme, host): whether a proxy is configured

    def _proxied(self, parts: urllib.parse.SplitResult) -> bool:
        # read once per host: urllib reads the proxies from the whole environment each time
        key = (parts.scheme, parts.hostname)
        if key not in self._proxies:
            self._proxies[key] = parts.scheme in urllib.request.getproxies() and \
                not urllib.request.proxy_bypass(parts.hostname or "")
        return self._proxies[key]

    def close(self) -> None:
        """Close the connections kept open (a thread may open new ones afterwards)."""
        _close_all(self._open)

    def exchange(self, url: str, body: bytes | None, content_type: str, accept: str,
                 timeout: float, *, method: str = "POST", keep: bool = False) -> Reply:
        """Send one request; the reply with its body unread. An error status raises the
        KGError that fits, with the server's message. ``keep``: over a kept-alive
        connection (for queries only)."""
        headers = {"Accept": accept, "User-Agent": self.user_agent}
        if body is not None:
            headers["Content-Type"] = content_type
        parts = urllib.parse.urlsplit(url)
        try:
            if keep and parts.scheme in ("http", "https") and not self._proxied(parts):
                response, release = self._kept(parts, method, body, headers, timeout)
            else:
                request = urllib.request.Request(url, body, method=method, headers=headers)
                response, release = urllib.request.urlopen(request, timeout=timeout), _ignore
        except urllib.error.HTTPError as exc:
            self.heard(exc.headers.get("Server"))
            message = _message(exc.read().decode("utf-8", "replace"))
            exc.close()
            raise _refusal(url, exc.code, message) from None
        except (socket.timeout, TimeoutError):
            raise QueryTimeoutError(f"no answer from the store at {url} within "
                                    f"{timeout:g} s") from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise RemoteStoreError(f"cannot reach the store at {url}: "
                                   f"{getattr(exc, 'reason', exc)}") from None
        self.heard(response.headers.get("Server"))
        if response.status >= 400:
            message = _message(response.read().decode("utf-8", "replace"))
            response.close()
            release(True)
            raise _refusal(url, response.status, message)
        length = response.headers.get("Content-Length")
        return Reply(response.status, response.headers.get_content_type(),
                     int(length) if length and length.isdigit() else None, response, release)

    def _kept(self, parts: urllib.parse.SplitResult, method: str, body: bytes | None,
              headers: dict, timeout: float):
        idle = self._idle.__dict__.setdefault("connections", {})
        key = (parts.scheme, parts.netloc)
        target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        for attempt in (1, 2):
            connection = idle.pop(key, None)
            if connection not in self._open:  # closed by close() since it was kept
                connection = None
            reused = connection is not None
            if connection is None:
                kind = http.client.HTTPSConnection if parts.scheme == "https" \
                    else http.client.HTTPConnection
                connection = kind(parts.netloc, timeout=timeout)
                self._open.add(connection)
            else:
                connection.timeout = timeout  # for a connection it opens again
                if connection.sock is not None:
                    connection.sock.settimeout(timeout)
            try:
                connection.request(method, target, body, headers)
                response = connection.getresponse()
            except _STALE:
                self._drop(connection)
                if reused and attempt == 1:
                    continue  # the server closed it while idle: once more on a new one
                raise
            except BaseException:
                self._drop(connection)
                raise
            return response, self._releaser(connection, key)
        raise AssertionError("unreachable")

    def _releaser(self, connection: http.client.HTTPConnection, key: tuple):
        def release(complete: bool) -> None:
            idle = self._idle.__dict__.setdefault("connections", {})
            if complete and key not in idle:
                idle[key] = connection
            else:
                self._drop(connection)
        return release

    def _drop(self, connection: http.client.HTTPConnection) -> None:
        connection.close()
        self._open.discard(connection)


def _close_all(connections: set) -> None:
    for connection in list(connections):
        connection.close()
    connections.clear()


def _ignore(complete: bool) -> None:
    """A urllib connection is not kept: nothing to give back."""


def _refusal(url: str, status: int, message: str) -> KGError:
    if status in (400, 422):
        return QuerySyntaxError(f"the store at {url} refused it: {message}")
    if status in (503, 504):
        return QueryTimeoutError(f"the store at {url} gave up: {message}")
    return RemoteStoreError(f"the store at {url} answered {status}: {message}")


def _message(body: str) -> str:
    """The useful part of a server's error body: Virtuoso repeats the whole request after
    its message (megabytes, for a large update), and says SR186 when SPARQL Update was not
    granted to the user it runs anonymous requests as."""
    message = body.split("\n\nSPARQL query:", 1)[0].strip()[:2000]
    if "SR186" in message and "SPARQL" in message:
        message += (" — allow SPARQL Update on that endpoint (in Virtuoso's isql: "
                    "GRANT SPARQL_UPDATE TO \"SPARQL\";)")
    return message
