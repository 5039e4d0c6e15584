"""HTTP requests made to the addresses a host name was checked at, never to a second answer.

``SERVICE`` (through :mod:`kg.sparql.relay`) and ``LOAD`` (through :mod:`kg.writes.fetch`)
fetch URLs whose host must not be a loopback, private or otherwise reserved address.
Checking the name and then letting an HTTP client resolve it again when it connects would
leave a window: a hostile DNS server can answer a public address to the check and a
loopback or private one to the connection (DNS rebinding). So the name is resolved once
(:func:`resolve_host`), every address is checked (:func:`first_non_public`), and
:func:`request` connects to those addresses only, sending the original ``Host`` header and,
for https, the original name for SNI and certificate verification. Nothing here follows a
redirect: a 3xx answer is handed to the caller as it is.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from contextlib import contextmanager
from typing import Iterable, Iterator, Mapping
from urllib.parse import urlsplit


class UnreachableError(OSError):
    """No checked address of the host took the request (or the name did not resolve)."""


def resolve_host(host: str) -> tuple[str, ...]:
    """The addresses ``host`` resolves to, in the resolver's order; none when it does not
    resolve."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return ()
    return tuple(dict.fromkeys(info[4][0].split("%", 1)[0] for info in infos))


def literal_address(host: str) -> str | None:
    """``host`` as an address when it is written as one (``127.0.0.1``, ``::1``), else None.

    >>> literal_address("::ffff:127.0.0.1"), literal_address("example.org")
    ('::ffff:7f00:1', None)
    """
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def first_non_public(addresses: Iterable[str]) -> str | None:
    """The first of ``addresses`` that is not a public unicast address, or None.

    >>> first_non_public(("8.8.8.8", "10.0.0.7", "::1"))
    '10.0.0.7'
    """
    for text in addresses:
        address = ipaddress.ip_address(text)
        if not address.is_global or address.is_multicast:
            return str(address)
    return None


class _PinnedConnection(http.client.HTTPSConnection):
    """A connection to ``host`` (its Host header, SNI and certificate name) made to one
    already checked ``address``; plain HTTP when ``tls`` is false."""

    def __init__(self, host: str, port: int, address: str, *, tls: bool,
                 timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address, self.tls = address, tls
        self.default_port = 443 if tls else 80  # Host names a port unless it is this one

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host) \
            if self.tls else sock


@contextmanager
def request(url: str, addresses: Iterable[str], *, method: str = "GET",
            body: bytes | None = None, headers: Mapping[str, str] | None = None,
            timeout: float) -> Iterator[http.client.HTTPResponse]:
    """The response to ``method url`` from the first of ``addresses`` that takes it (an
    http or https ``url``); the connection closes when the ``with`` block ends.

    The name in ``url`` is never looked up. Raises :class:`UnreachableError`, naming the
    host (and the address tried last), when no address answers or there is none.
    """
    parts = urlsplit(url)
    tls = parts.scheme == "https"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    problem = f"{parts.hostname} does not resolve"
    for address in addresses:
        connection = _PinnedConnection(parts.hostname, parts.port or (443 if tls else 80),
                                       address, tls=tls, timeout=timeout)
        try:
            connection.request(method, path, body, dict(headers or {}))
            response = connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            problem = f"{parts.hostname} ({address}): {exc}"
            continue
        try:
            yield response
        finally:
            connection.close()
        return
    raise UnreachableError(problem)
