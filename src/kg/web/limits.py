"""Limits every request meets before a view runs: body and header sizes, requests in progress
per client (a WSGI middleware; the refusals are KGErrors answered by the app's one handler).

* A body whose declared ``Content-Length`` is over ``max_body_size`` is refused (413) without
  being used (read and dropped when at most 16 MB, so that the client sees the answer; else
  answered before it is sent); a chunked body (no length) is counted as it is read and refused the
  moment it passes the limit, never cut short and used.
* A request line over 8190 bytes is refused (414: long queries are POSTed), headers larger
  than ``max_header_size`` in total (431).
* A client with ``client_requests`` requests in progress gets 429 for the next one (a
  request is in progress until its complete answer is ready to send). The client is the
  connecting address, or, behind ``proxy_hops`` trusted reverse proxies, the
  address they forward (werkzeug's ProxyFix reads ``X-Forwarded-For``).

A refusal is put in the WSGI environ and raised by a ``before_request`` hook of the app, so
that it is answered like every other error (JSON, text or HTML), without running the view.
"""

from __future__ import annotations

import io
import threading
from urllib.parse import quote
from typing import Callable

from werkzeug.middleware.proxy_fix import ProxyFix

from ..config import Config
from ..errors import (HeadersTooLargeError, KGError, TooLargeError, TooManyRequestsError,
                      URITooLongError)

#: The longest request line (method, URL, version) read: longer URLs get 414 (send long
#: queries with POST).
MAX_REQUEST_LINE = 8190

#: The environ key holding the refusal of a request, if any.
REFUSAL = "kg.refusal"


class LimitedInput(io.RawIOBase):
    """``wsgi.input`` that raises TooLargeError as soon as more than ``limit`` bytes are read.

    >>> stream = LimitedInput(io.BytesIO(b"x" * 10), 4)
    >>> stream.read(3)
    b'xxx'
    >>> stream.read(3)
    Traceback (most recent call last):
    ...
    kg.errors.TooLargeError: the request body is over 4 bytes; at most 4 are accepted
    """

    def __init__(self, raw, limit: int) -> None:
        super().__init__()
        self._raw, self._limit, self._count = raw, limit, 0

    def readable(self) -> bool:
        return True

    def _counted(self, data: bytes) -> bytes:
        self._count += len(data)
        if self._count > self._limit:
            raise TooLargeError(f"the request body is over {self._limit} bytes; at most "
                                f"{self._limit} are accepted")
        return data

    def read(self, size: int = -1) -> bytes:
        # never ask for more than one byte past the limit: that is enough to know
        room = self._limit + 1 - self._count
        return self._counted(self._raw.read(room if size is None or size < 0
                                            else min(size, room)))

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def readline(self, size: int = -1) -> bytes:
        room = self._limit + 1 - self._count
        return self._counted(self._raw.readline(room if size is None or size < 0
                                                else min(size, room)))


class Limits:
    """The WSGI middleware (see the module docstring)."""

    def __init__(self, wsgi_app: Callable, config: Config) -> None:
        self.wsgi_app, self.config = wsgi_app, config
        self._lock = threading.Lock()
        self._in_progress: dict[str, int] = {}

    @classmethod
    def wrap(cls, wsgi_app: Callable, config: Config) -> Callable:
        """``wsgi_app`` behind the limits (and behind ProxyFix when proxies are trusted)."""
        limited = cls(wsgi_app, config)
        hops = config.proxy_hops
        return ProxyFix(limited, x_for=hops, x_proto=hops) if hops > 0 else limited

    def __call__(self, environ, start_response):
        client = environ.get("REMOTE_ADDR") or "?"
        refusal = self._refusal(environ)
        counted = False
        if refusal is None:
            with self._lock:
                busy = self._in_progress.get(client, 0)
                if busy >= self.config.client_requests:
                    refusal = TooManyRequestsError(
                        f"{busy} requests from {client} are in progress already, the most "
                        "one client may have at once; wait for their answers")
                else:
                    self._in_progress[client] = busy + 1
                    counted = True
        if refusal is not None:
            environ[REFUSAL] = refusal
            _drain(environ, refusal)
        else:
            environ["wsgi.input"] = LimitedInput(environ["wsgi.input"],
                                                 self.config.max_body_size)

        try:
            # an answer is complete (in memory or a spool file) when the app returns it, so
            # the request stops counting then, not when the last byte reaches the client
            return self.wsgi_app(environ, start_response)
        finally:
            if counted:
                with self._lock:
                    left = self._in_progress.pop(client) - 1
                    if left:
                        self._in_progress[client] = left

    def _refusal(self, environ) -> KGError | None:
        limit = self.config.max_body_size
        try:
            declared = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0  # werkzeug answers a malformed length itself
        if declared > limit:
            return TooLargeError(f"the request body is {declared} bytes; at most {limit} "
                                 "are accepted")
        line = (len(environ.get("REQUEST_METHOD", "")) + len(quote(environ.get("PATH_INFO", "")))
                + len(environ.get("QUERY_STRING", "")) + len(" ? HTTP/1.1"))
        if line > MAX_REQUEST_LINE:
            return URITooLongError(f"the request line is {line} bytes; at most "
                                   f"{MAX_REQUEST_LINE} are read: send long queries with POST")
        size = sum(len(key) - 5 + len(value) + 4 for key, value in environ.items()
                   if key.startswith("HTTP_") and isinstance(value, str))
        if size > self.config.max_header_size:
            return HeadersTooLargeError(
                f"the request headers are {size} bytes; at most "
                f"{self.config.max_header_size} are accepted")
        return None


#: A body refused for its declared length is read and dropped first when it is at most this
#: long: clients that send the whole body before they read (most do) then get the 413
#: instead of a connection closed under them. A longer one is answered at once.
DRAIN_AT_MOST = 16 * 1024 * 1024


def _drain(environ, refusal: KGError) -> None:
    if not isinstance(refusal, TooLargeError):
        return
    try:
        declared = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if declared > DRAIN_AT_MOST:
        return
    stream, left = environ["wsgi.input"], declared
    while left > 0 and (chunk := stream.read(min(65536, left))):
        left -= len(chunk)


def refuse_if_limited(environ) -> None:
    """Raise the refusal :class:`Limits` left for this request, if any (a before_request
    hook)."""
    refusal = environ.get(REFUSAL)
    if refusal is not None:
        raise refusal
