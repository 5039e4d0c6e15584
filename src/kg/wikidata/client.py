"""Talking to Wikidata: a polite SPARQL client, the facts of items, the offline snapshot.

:class:`WikidataClient` sends SPARQL queries to a configurable endpoint (Wikidata's query
service by default; a mirror, or a local stand-in in the tests) with a User-Agent that
names the project, in batches, retrying with exponential backoff on 429/5xx and network
errors and honouring ``Retry-After``. Its HTTP opener is injectable. Nothing here knows
about the command line or Flask; :mod:`kg.wikidata.linking` uses it to check and suggest links.

The facts kept for an item are those of the offline snapshot: labels and descriptions
(en, fr), aliases, instance of (P31), part of (P361), country (P17), ISO 3166-1 alpha-2
(P297), coordinates (P625), and ``owl:sameAs`` (how Wikidata's RDF marks a redirect).
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Sequence

from ..errors import EXIT_REMOTE, KGError

log = logging.getLogger("kg")

WD = "http://www.wikidata.org/entity/"
WDT = "http://www.wikidata.org/prop/direct/"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS_ALT = "http://www.w3.org/2004/02/skos/core#altLabel"
SCHEMA_DESCRIPTION = "http://schema.org/description"
OWL_SAMEAS = "http://www.w3.org/2002/07/owl#sameAs"
LANGUAGES = ("en", "fr")
#: Item-valued and literal properties the snapshot keeps, by their wdt: local name.
PROPERTIES = ("P31", "P361", "P17", "P297", "P625")

_QID = re.compile(r"Q[1-9][0-9]*")
_RETRY_STATUS = {429, 500, 502, 503, 504}
_MAX_WAIT = 120.0  # seconds: never sleep longer than this on one Retry-After


class RemoteError(KGError):
    """The Wikidata endpoint could not be reached or gave no usable answer."""

    status = 502
    exit_code = EXIT_REMOTE


def qid(iri: str) -> str | None:
    """The Q-id of a Wikidata entity IRI, else None.

    >>> qid("http://www.wikidata.org/entity/Q142"), qid("https://www.wikidata.org/wiki/Q142")
    ('Q142', None)
    """
    if iri.startswith(WD) and _QID.fullmatch(iri[len(WD):]):
        return iri[len(WD):]
    return None


@dataclass
class Item:
    """What the endpoint says about one item (languages: en and fr)."""

    qid: str
    labels: dict[str, str] = field(default_factory=dict)  # language -> label
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (language, alias)
    descriptions: dict[str, str] = field(default_factory=dict)
    claims: dict[str, list[str]] = field(default_factory=dict)  # P-id -> values (IRIs, text)
    redirect: str | None = None  # the Q-id this one redirects to

    @property
    def exists(self) -> bool:
        """Whether the endpoint knows the item at all."""
        return bool(self.labels or self.aliases or self.claims or self.redirect)

    def names(self) -> list[tuple[str, str]]:
        """Every (language, label or alias)."""
        return list(self.labels.items()) + self.aliases


class WikidataClient:
    """SPARQL over HTTP to a Wikidata(-shaped) endpoint, politely.

    ``opener`` is :func:`urllib.request.urlopen` unless a test injects another; ``sleep``
    likewise. Queries go by POST (form-encoded), answers are SPARQL JSON results.
    """

    def __init__(self, endpoint: str, *, user_agent: str, batch_size: int = 50,
                 retries: int = 4, backoff: float = 1.0, timeout: float = 60.0,
                 opener: Callable | None = None, sleep: Callable[[float], None] = time.sleep
                 ) -> None:
        self.endpoint, self.user_agent = endpoint, user_agent
        self.batch_size, self.retries, self.backoff = batch_size, retries, backoff
        self.timeout = timeout
        self._open = opener or urllib.request.urlopen
        self._sleep = sleep
        self.requests = 0  #: HTTP requests sent (retries included)

    @classmethod
    def from_config(cls, config, **options) -> "WikidataClient":
        """A client for the ``wikidata_endpoint`` and ``user_agent`` of ``config``."""
        return cls(config.wikidata_endpoint, user_agent=config.user_agent, **options)

    # -- HTTP ----------------------------------------------------------------------------

    def fetch(self, url: str, data: bytes | None = None, accept: str = "application/json"
              ) -> bytes:
        """GET (or POST ``data``) ``url`` with retries; the body of the answer."""
        headers = {"User-Agent": self.user_agent, "Accept": accept}
        if data is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in range(self.retries + 1):
            request = urllib.request.Request(url, data=data, headers=headers)
            self.requests += 1
            try:
                with self._open(request, timeout=self.timeout) as response:
                    return response.read()
            except urllib.error.HTTPError as exc:
                with exc:
                    detail = exc.read(500).decode("utf-8", "replace").strip()
                if exc.code not in _RETRY_STATUS or attempt == self.retries:
                    raise RemoteError(f"{url} answered {exc.code} {exc.reason}: "
                                      f"{detail[:300]}") from None
                wait = _retry_after(exc.headers.get("Retry-After"))
            except (urllib.error.URLError, OSError) as exc:
                if attempt == self.retries:
                    reason = getattr(exc, "reason", exc)
                    raise RemoteError(f"cannot reach {url}: {reason}") from None
                wait = None
            wait = min(_MAX_WAIT, wait if wait is not None else self.backoff * 2 ** attempt)
            log.info("retrying %s in %.1f s (attempt %d of %d)", url, wait, attempt + 2,
                     self.retries + 1)
            self._sleep(wait)
        raise AssertionError("unreachable")

    def select(self, query: str) -> list[dict[str, dict]]:
        """The bindings of a SELECT query (each a dict of SPARQL JSON terms)."""
        body = self.fetch(self.endpoint, urllib.parse.urlencode({"query": query}).encode(),
                          accept="application/sparql-results+json")
        try:
            return json.loads(body)["results"]["bindings"]
        except (ValueError, KeyError, TypeError) as exc:
            raise RemoteError(f"{self.endpoint} did not answer with SPARQL JSON results: "
                              f"{exc}") from None

    # -- Wikidata's data -----------------------------------------------------------------

    def items(self, qids: Iterable[str]) -> dict[str, Item]:
        """The facts of each item, in batches of ``batch_size``."""
        items = {q: Item(q) for q in dict.fromkeys(qids)}
        for batch in _batches(list(items), self.batch_size):
            for row in self.select(_ITEMS_QUERY % _values(batch)):
                _add_fact(items[qid(row["item"]["value"])], row["p"]["value"], row["o"])
        return items

    def instances_of(self, qids: Iterable[str], classes: Iterable[str]) -> dict[str, set[str]]:
        """For each item, the classes among ``classes`` it is an instance of (P31/P279*)."""
        classes = sorted(set(classes))
        found: dict[str, set[str]] = {q: set() for q in qids}
        if not classes:
            return found
        for batch in _batches(list(found), self.batch_size):
            query = _TYPES_QUERY % (_values(batch), _values(classes))
            for row in self.select(query):
                found[qid(row["item"]["value"])].add(qid(row["class"]["value"]))
        return found

    def by_label(self, labels: Sequence[tuple[str, str]]) -> dict[tuple[str, str], set[str]]:
        """Items whose label or alias is exactly one of ``labels`` ((text, language) pairs)."""
        found: dict[tuple[str, str], set[str]] = {label: set() for label in labels}
        for batch in _batches(list(found), self.batch_size):
            values = " ".join(f"{_literal(text)}@{lang}" for text, lang in batch)
            for row in self.select(_LABEL_QUERY % values):
                key = (row["label"]["value"], row["label"].get("xml:lang", ""))
                if key in found and qid(row["item"]["value"]):
                    found[key].add(qid(row["item"]["value"]))
        return found

    def search(self, api_url: str, text: str, language: str, limit: int = 7) -> list[str]:
        """Q-ids that MediaWiki's ``wbsearchentities`` finds for ``text``."""
        params = urllib.parse.urlencode({"action": "wbsearchentities", "search": text,
                                         "language": language, "type": "item",
                                         "limit": limit, "format": "json"})
        try:
            answer = json.loads(self.fetch(f"{api_url}?{params}"))
            return [hit["id"] for hit in answer.get("search", []) if _QID.fullmatch(hit["id"])]
        except (ValueError, KeyError, TypeError) as exc:
            raise RemoteError(f"{api_url} gave no usable search answer: {exc}") from None


def _retry_after(value: str | None) -> float | None:
    # Retry-After is either seconds or an HTTP date (RFC 9110 §10.2.3)
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _batches(values: list, size: int) -> Iterable[list]:
    for start in range(0, len(values), max(1, size)):
        yield values[start:start + size]


def _values(qids: Iterable[str]) -> str:
    return " ".join(f"<{WD}{q}>" for q in qids)


def _literal(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid SPARQL string


def _add_fact(item: Item, predicate: str, term: dict) -> None:
    value, lang = term["value"], term.get("xml:lang", "")
    if predicate == RDFS_LABEL:
        item.labels[lang] = value
    elif predicate == SKOS_ALT:
        item.aliases.append((lang, value))
    elif predicate == SCHEMA_DESCRIPTION:
        item.descriptions[lang] = value
    elif predicate == OWL_SAMEAS:
        item.redirect = qid(value) or value
    elif predicate.startswith(WDT):
        item.claims.setdefault(predicate[len(WDT):], []).append(
            qid(value) or value if term["type"] == "uri" else value)


_LANG_FILTER = " || ".join(f'LANG(?o) = "{lang}"' for lang in LANGUAGES)
_ITEMS_QUERY = (
    "SELECT ?item ?p ?o WHERE { VALUES ?item { %s } "
    "{ VALUES ?p { <" + RDFS_LABEL + "> <" + SKOS_ALT + "> <" + SCHEMA_DESCRIPTION + "> } "
    "?item ?p ?o FILTER(" + _LANG_FILTER.replace("%", "%%") + ") } "
    "UNION { VALUES ?p { " + " ".join(f"<{WDT}{p}>" for p in PROPERTIES) + " } ?item ?p ?o } "
    "UNION { VALUES ?p { <" + OWL_SAMEAS + "> } ?item ?p ?o } }")
_TYPES_QUERY = ("SELECT DISTINCT ?item ?class WHERE { VALUES ?item { %s } VALUES ?class { %s } "
                "?item <" + WDT + "P31>/<" + WDT + "P279>* ?class }")
_LABEL_QUERY = ("SELECT DISTINCT ?item ?label WHERE { VALUES ?label { %s } "
                "{ ?item <" + RDFS_LABEL + "> ?label } UNION { ?item <" + SKOS_ALT + "> ?label } }")
