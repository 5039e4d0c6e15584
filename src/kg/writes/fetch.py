"""``LOAD <iri>`` in an update: which URLs may be fetched, from which addresses, and the fetch.

Only http(s) URLs of the hosts in ``--load-allowlist`` are fetched, never ``file:``, never
a redirect; a host name is resolved once and every address it gives must be public, and
the fetch connects to those addresses only (:mod:`kg.sparql.pinned`), so that a DNS answer
that changes afterwards cannot lead it to a loopback or private address.
"""

from __future__ import annotations

import http.client
import urllib.parse
from typing import Callable, Sequence

from pyoxigraph import Quad

from ..errors import LoadRefusedError, QueryEvaluationError, UsageError
from ..namespaces import GRAPHS
from ..sparql import pinned
from ..sparql.formats import RDF_INPUT_FORMATS, for_path
from ..store.sources import Source, read_sources

_LOAD_LIMIT = 16 * 1024 * 1024  # bytes a LOAD may read
_LOAD_TIMEOUT = 10.0  # seconds a LOAD waits to connect, and for each read

#: Looks a host name up: its addresses (``pinned.resolve_host``, or a test's own).
Resolver = Callable[[str], tuple[str, ...]]


def load_addresses(iri: str, allowlist: Sequence[str], resolve: Resolver) -> tuple[str, ...]:
    """The addresses a ``LOAD <iri>`` fetches from: an http(s) URL of a host in
    ``allowlist``, its name resolved once and every address public (an address written in
    the URL is the operator's choice). Raises LoadRefusedError otherwise.
    """
    parts = urllib.parse.urlsplit(iri)
    host = (parts.hostname or "").lower()
    hostport = f"{host}:{parts.port}" if parts.port else host
    if parts.scheme not in ("http", "https") or not (
            host in allowlist or hostport in allowlist):
        raise LoadRefusedError(
            f"LOAD <{iri}> is refused: only http(s) URLs of the hosts in --load-allowlist "
            f"({', '.join(allowlist) or 'none'}) are fetched, never file: URLs")
    literal = pinned.literal_address(host)
    if literal:  # an operator who means a private address writes the address itself
        return (literal,)
    addresses = resolve(host)
    bad = pinned.first_non_public(addresses)
    if bad:
        raise LoadRefusedError(
            f"LOAD <{iri}> is refused: {host} resolves to {bad}, a non-public address")
    return addresses


def load_quads(iri: str, silent: bool, allowlist: Sequence[str],
               resolve: Resolver) -> list[Quad]:
    """The quads of a LOAD source fetched from an allowed host (never file:, never
    redirected), in the user graph; none if it fails and ``silent`` (``LOAD SILENT``)."""
    addresses = load_addresses(iri, allowlist, resolve)
    try:
        data, media_type = fetch(iri, addresses)
        fmt = next((f for f in RDF_INPUT_FORMATS if media_type in f.media_types), None)
        name = urllib.parse.urlsplit(iri).path or "document"
        staging = read_sources([Source(name, data)], graph=GRAPHS["user"],
                               format=fmt.name if fmt else for_path(name).name)
    except (UsageError, QueryEvaluationError):
        if silent:
            return []
        raise
    return list(staging)


def fetch(iri: str, addresses: tuple[str, ...]) -> tuple[bytes, str]:
    """The body and media type of ``iri`` fetched from ``addresses``; QueryEvaluationError
    when it cannot be fetched, redirects (not followed: it could lead anywhere), answers
    an error or is too large."""
    accept = ", ".join(f.media_type for f in RDF_INPUT_FORMATS)
    try:
        with pinned.request(iri, addresses, headers={"Accept": accept},
                            timeout=_LOAD_TIMEOUT) as response:
            if 300 <= response.status < 400:
                raise QueryEvaluationError(
                    f"LOAD <{iri}> failed: redirected to {response.getheader('Location')} "
                    "(redirects are not followed)")
            if response.status >= 400:
                raise QueryEvaluationError(f"LOAD <{iri}> failed: HTTP {response.status} "
                                           f"{response.reason}")
            data = response.read(_LOAD_LIMIT + 1)
            media_type = response.headers.get_content_type()
    except (OSError, http.client.HTTPException) as exc:
        raise QueryEvaluationError(f"LOAD <{iri}> failed: {exc}") from None
    if len(data) > _LOAD_LIMIT:
        raise QueryEvaluationError(f"LOAD <{iri}>: the document is over {_LOAD_LIMIT} bytes")
    return data, media_type
