"""Which ``SERVICE`` endpoints a query may call, and where each call really goes.

Oxigraph evaluates ``SERVICE <iri>`` with its own HTTP client and would contact any URL,
loopback and private addresses included. So, before a query reaches the engine, its
``SERVICE`` targets are found by the guard's scanner (strings, comments and IRIs
elsewhere are never touched) and each one is checked:

1. a target in the **map** (``service_map``: ``IRI=URL`` pairs) is rewritten to the URL
   the operator chose — a Wikidata mirror, or a local stand-in in tests. The map is the
   only way to reach a loopback or private address, because only the operator writes it;
2. otherwise the target must be in the **allowlist** (``service_allowlist``; default:
   Wikidata's two query-service URLs), use http or https, and its host must not resolve
   to a loopback, private, link-local or otherwise reserved address. The name is resolved
   once: the call goes through this process's relay (:mod:`kg.sparql.relay`) to the
   addresses that were checked (:mod:`kg.sparql.pinned`), so that a DNS answer that
   changes between the check and the connection (DNS rebinding) cannot lead it elsewhere;
3. everything else is refused (400) before any request is made.

A ``SERVICE`` nested inside an allowed one is part of the remote query (Wikidata's
``SERVICE wikibase:label`` is the common case) and is left to the remote endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping
from urllib.parse import urlsplit

from ..config import WIKIDATA_SERVICES
from ..errors import ForbiddenFeatureError, RemoteServiceError
from .guard import tokens, unescape
from .pinned import first_non_public, literal_address, resolve_host
from .relay import redact as _relay_redact
from .relay import relay


@dataclass(frozen=True)
class ServicePolicy:
    """The allowlist and map of SERVICE targets.

    >>> policy = ServicePolicy(mapping={WIKIDATA_SERVICES[0]: "http://127.0.0.1:9/q"})
    >>> policy.rewrite('SELECT * { SERVICE <https://query.wikidata.org/sparql> { ?s ?p "<x>" } }')
    'SELECT * { SERVICE <http://127.0.0.1:9/q> { ?s ?p "<x>" } }'
    >>> policy.rewrite("SELECT * { SERVICE <http://example.org/sparql> { } }")
    Traceback (most recent call last):
    ...
    kg.errors.ForbiddenFeatureError: SERVICE <http://example.org/sparql> is not allowed on this endpoint; allowed: <https://query.wikidata.org/sparql>, <https://query.wikidata.org/bigdata/namespace/wdq/sparql> (the operator adds endpoints with --service-allowlist)
    """

    allowlist: tuple[str, ...] = WIKIDATA_SERVICES
    mapping: Mapping[str, str] = field(default_factory=dict)
    #: How host names are resolved (the system's resolver; tests put their own here).
    resolve: Callable[[str], tuple[str, ...]] = field(default=resolve_host, repr=False,
                                                      compare=False)

    @classmethod
    def from_config(cls, config) -> "ServicePolicy":
        """The policy of a :class:`kg.config.Config`."""
        return cls(tuple(config.service_allowlist), dict(config.service_map))

    def rewrite(self, text: str) -> str:
        """``text`` with every allowed SERVICE IRI replaced by the URL to call.

        An allowed target named by a host name is replaced by a URL of this process's
        relay, which calls it at the addresses checked now. Raises ForbiddenFeatureError
        for a target that is not allowed, a variable or prefixed-name target, or an
        allowed host that resolves to a non-public address.
        """
        # SPARQL decodes \\u escapes before parsing; decode them first so that an escaped
        # SERVICE or IRI cannot slip past the check
        text = unescape(text)
        pieces, start = [], 0
        for match in _service_iris(text):
            target = self._target(match.group()[1:-1])
            pieces.append(text[start:match.start()] + f"<{target}>")
            start = match.end()
        return "".join(pieces) + text[start:]

    def failure(self, text: str, detail: str) -> RemoteServiceError:
        """The error of a query ``text`` (as the client wrote it) whose SERVICE call failed
        with ``detail`` (Oxigraph's message): one line that names the SERVICE IRI, never
        a URL of the map or the relay.

        >>> ServicePolicy(mapping={"https://q.example/sparql": "http://10.0.0.7:9/q"}).failure(
        ...     "ASK { SERVICE <https://q.example/sparql> { } }",
        ...     "Error 500 returned by http://10.0.0.7:9/q with payload:\\nbusy").message
        'SERVICE <https://q.example/sparql> failed: Error 500 returned by https://q.example/sparql with payload: busy'
        """
        iris = list(dict.fromkeys(match.group()[1:-1] for match in _service_iris(unescape(text))))
        named = (f"SERVICE <{iris[0]}>" if len(iris) == 1 else "a SERVICE call" + (
            " (one of " + ", ".join(f"<{iri}>" for iri in iris) + ")" if iris else ""))
        return RemoteServiceError(f"{named} failed: {' '.join(self.redact(detail).split())}")

    def redact(self, message: str) -> str:
        """``message`` with every URL of the map or the relay replaced by the SERVICE IRI
        it stands for (the map is the operator's configuration, not for clients).

        >>> ServicePolicy(mapping={"https://q.example/sparql": "http://10.0.0.7:9/q"}).redact(
        ...     "error while connecting to http://10.0.0.7:9/q")
        'error while connecting to https://q.example/sparql'
        """
        for iri, url in sorted(self.mapping.items(), key=lambda item: -len(item[1])):
            message = message.replace(url, iri)
        return _relay_redact(message)

    def _target(self, iri: str) -> str:
        if iri in self.mapping:
            return self.mapping[iri]
        if iri not in self.allowlist:
            allowed = ", ".join(f"<{url}>" for url in self.allowlist) or "none"
            raise ForbiddenFeatureError(
                f"SERVICE <{iri}> is not allowed on this endpoint; allowed: {allowed} "
                "(the operator adds endpoints with --service-allowlist)")
        parts = urlsplit(iri)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ForbiddenFeatureError(f"SERVICE <{iri}>: only http and https URLs are "
                                        "called")
        literal = literal_address(parts.hostname)
        addresses = (literal,) if literal else self.resolve(parts.hostname)
        bad = first_non_public(addresses)
        if bad:
            raise ForbiddenFeatureError(
                f"SERVICE <{iri}>: its host resolves to {bad}, a non-public address; "
                "only the operator's --service-map may point a SERVICE there")
        # an address is called as written; a name, at the addresses just checked (no
        # second look-up: see the module's docstring)
        return iri if literal else relay().url(iri, addresses)


def _service_iris(text: str):
    """The IRI tokens (matches) of the SERVICE targets of ``text`` that this endpoint calls
    (not those nested in a remote body); ForbiddenFeatureError for a target that is not
    an IRI."""
    depth, remote_until = 0, None  # remote_until: depth at which a remote body ends
    expect_target = False
    for match in tokens(text):
        kind, token = match.lastgroup, match.group()
        if kind == "bracket":
            depth += token in "{(["
            depth -= token in "})]"
            if remote_until is not None and depth <= remote_until and token == "}":
                remote_until = None
            continue
        if kind == "comment" or remote_until is not None and not expect_target:
            continue
        if kind == "word" and token.upper() == "SERVICE":
            expect_target = True
            continue
        if expect_target and kind == "word" and token.upper() == "SILENT":
            continue
        if expect_target:
            expect_target = False
            if remote_until is not None:
                continue  # a SERVICE inside a remote body is the remote's business
            if kind != "iri":
                raise ForbiddenFeatureError(_not_an_iri(token))
            yield match
            remote_until = depth


def _not_an_iri(token: str) -> str:
    if token.lower() == "wikibase:label":
        return ("SERVICE wikibase:label runs inside Wikidata's query service only: put it "
                "inside SERVICE <https://query.wikidata.org/sparql> { … }, or ask for "
                "rdfs:label")
    return (f"SERVICE {token}: write the endpoint as a full IRI <https://…> (variables "
            "and prefixed names are not accepted as SERVICE targets)")

