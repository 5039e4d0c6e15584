"""Serialisation formats and the one content-negotiation function every route uses.

Formats are chosen by the *kind* of result (solutions of SELECT/ASK, a graph from
CONSTRUCT/DESCRIBE, or a whole dataset), never by route.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Sequence

from pyoxigraph import QueryResultsFormat, RdfFormat

from ..errors import NotAcceptableError, UsageError


class ResultKind(Enum):
    """What a query or route produces, which decides the formats it can be written in."""

    SOLUTIONS = "solutions"  # SELECT and ASK
    GRAPH = "graph"  # CONSTRUCT, DESCRIBE, one named graph
    DATASET = "dataset"  # several graphs (export)
    REPORT = "report"  # a SHACL validation report (kg validate, /validate, a refused write)


@dataclass(frozen=True)
class Format:
    """One serialisation: a short name for flags, its media types, and the engine's format."""

    name: str
    media_type: str
    engine: RdfFormat | QueryResultsFormat | None
    aliases: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()

    @property
    def media_types(self) -> tuple[str, ...]:
        """The canonical media type followed by the other names clients use for it."""
        return (self.media_type, *self.aliases)

    def __reduce__(self):
        # pyoxigraph's format objects do not pickle: a format crosses to a query worker
        # as its name and media type and is looked up there
        return (_known, (self.name, self.media_type))


JSON = Format("json", "application/sparql-results+json", QueryResultsFormat.JSON,
              ("application/json",), (".srj", ".json"))
XML = Format("xml", "application/sparql-results+xml", QueryResultsFormat.XML,
             ("application/xml", "text/xml"), (".srx", ".xml"))
CSV = Format("csv", "text/csv", QueryResultsFormat.CSV, (), (".csv",))
TSV = Format("tsv", "text/tab-separated-values", QueryResultsFormat.TSV, (), (".tsv",))
TABLE = Format("table", "text/plain", None)
#: Web pages for browsers, offered as an ``extra`` format by the routes that have a page.
HTML = Format("html", "text/html", None, ("application/xhtml+xml",))

TURTLE = Format("turtle", "text/turtle", RdfFormat.TURTLE, ("application/x-turtle",), (".ttl",))
NTRIPLES = Format("ntriples", "application/n-triples", RdfFormat.N_TRIPLES,
                  ("text/plain",), (".nt",))
NQUADS = Format("nquads", "application/n-quads", RdfFormat.N_QUADS, ("text/x-nquads",), (".nq",))
TRIG = Format("trig", "application/trig", RdfFormat.TRIG, ("application/x-trig",), (".trig",))
RDFXML = Format("rdfxml", "application/rdf+xml", RdfFormat.RDF_XML, (),
                (".rdf", ".owl", ".xml"))
JSONLD = Format("jsonld", "application/ld+json", RdfFormat.JSON_LD, (), (".jsonld", ".json"))

#: A validation report for scripts (see kg.validation.report) and for people.
REPORT_JSON = Format("json", "application/json", None, (), (".json",))
REPORT_TEXT = Format("text", "text/plain", None, (), (".txt",))

#: Formats by result kind, in order of preference (the first is the default).
FORMATS: dict[ResultKind, tuple[Format, ...]] = {
    ResultKind.SOLUTIONS: (JSON, XML, CSV, TSV),
    ResultKind.GRAPH: (TURTLE, NTRIPLES, RDFXML, JSONLD, NQUADS, TRIG),
    ResultKind.DATASET: (NQUADS, TRIG, JSONLD),
    # text/plain means the readable text (listed before N-Triples, whose alias it is)
    ResultKind.REPORT: (REPORT_JSON, TURTLE, JSONLD, REPORT_TEXT, NTRIPLES, RDFXML),
}

#: RDF formats that name graphs; the others hold triples of one graph.
QUAD_FORMATS: tuple[Format, ...] = (NQUADS, TRIG)

#: Every RDF format the loader reads.
RDF_INPUT_FORMATS: tuple[Format, ...] = (TURTLE, NTRIPLES, NQUADS, TRIG, RDFXML, JSONLD)


#: The parameters SPARQL clients name the format with: Virtuoso reads ``format``, Fuseki
#: ``output``, and SPARQLWrapper sends all three, each with its own token and, for some
#: formats, the media type as a second value.
FORMAT_PARAMETERS: tuple[str, ...] = ("format", "output", "results")

#: The tokens those clients send where they differ from our short names, by result kind:
#: ``xml`` for a graph is RDF/XML and ``json`` JSON-LD (as Fuseki, Virtuoso and Oxigraph's
#: server read them); ``n3`` gets Turtle, which is N3 too.
CLIENT_TOKENS: dict[ResultKind, dict[str, Format]] = {
    ResultKind.SOLUTIONS: {"srj": JSON, "srx": XML},
    ResultKind.GRAPH: {"xml": RDFXML, "rdf": RDFXML, "rdf+xml": RDFXML, "owl": RDFXML,
                       "json": JSONLD, "json-ld": JSONLD, "ttl": TURTLE, "n3": TURTLE,
                       "text/n3": TURTLE, "nt": NTRIPLES, "n-triples": NTRIPLES,
                       "nq": NQUADS, "n-quads": NQUADS},
    ResultKind.DATASET: {"json": JSONLD, "json-ld": JSONLD, "nq": NQUADS, "n-quads": NQUADS},
}


def _known(name: str, media_type: str) -> Format:
    return next(fmt for fmt in (*FORMATS[ResultKind.SOLUTIONS], *FORMATS[ResultKind.GRAPH],
                                *FORMATS[ResultKind.REPORT], TABLE, HTML)
                if fmt.name == name and fmt.media_type == media_type)


def by_name(name: str, choices: tuple[Format, ...]) -> Format:
    """Find a format by short name or media type among ``choices``.

    >>> by_name("turtle", RDF_INPUT_FORMATS).media_type
    'text/turtle'
    """
    wanted = name.strip().lower()
    for fmt in choices:
        if wanted == fmt.name or wanted in fmt.media_types:
            return fmt
    names = ", ".join(fmt.name for fmt in choices)
    raise UsageError(f"unknown format {name!r}; choose one of: {names}")


def for_path(path: str, choices: tuple[Format, ...] = RDF_INPUT_FORMATS) -> Format:
    """Tell a file's RDF format from its extension (``.ttl``, ``.nq``, ``.jsonld``, …)."""
    lowered = path.lower()
    for fmt in choices:
        if any(lowered.endswith(ext) for ext in fmt.extensions):
            return fmt
    known = " ".join(ext for fmt in choices for ext in fmt.extensions)
    raise UsageError(f"{path}: cannot tell the RDF format from the extension "
                     f"(known: {known}); pass --format")


def _parse_accept(accept: str) -> list[tuple[str, float]]:
    ranges = []
    for part in accept.split(","):
        media_range, *params = (piece.strip() for piece in part.split(";"))
        if not media_range:
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = max(0.0, min(1.0, float(value)))
                except ValueError:
                    quality = 0.0
        ranges.append((media_range.lower(), quality))
    return ranges


def _quality(media_type: str, ranges: list[tuple[str, float]]) -> tuple[int, float] | None:
    """(specificity, q-value) of the most specific range matching ``media_type``, or None."""
    main_type = media_type.split("/")[0]
    best: tuple[int, float] | None = None
    for media_range, quality in ranges:
        if media_range == media_type:
            specificity = 2
        elif media_range == f"{main_type}/*":
            specificity = 1
        elif media_range == "*/*":
            specificity = 0
        else:
            continue
        if best is None or specificity > best[0]:
            best = (specificity, quality)
    return best


def _overridden(values: tuple[str, ...], kind: ResultKind,
                choices: tuple[Format, ...]) -> Format:
    """The first of the ``values`` of the format parameters that names a format of ``kind``."""
    tokens = CLIENT_TOKENS.get(kind, {})
    for value in values:
        # a media type may come with parameters (text/turtle; charset=utf-8)
        wanted = value.split(";")[0].strip().lower()
        if wanted in tokens and tokens[wanted] in choices:
            return tokens[wanted]
        try:
            return by_name(wanted, choices)
        except UsageError:
            continue
    asked = " or ".join(repr(value) for value in values)
    raise NotAcceptableError(f"format {asked} cannot hold a {kind.value} result",
                             available=[fmt.name for fmt in choices])


def negotiate(accept: str | None, kind: ResultKind, *,
              override: str | Sequence[str] | None = None,
              extra: tuple[Format, ...] = ()) -> Format:
    """Choose the format for a result of ``kind`` from an Accept header.

    ``override`` (the values of the ``format=``, ``output=`` or ``results=`` parameters: short
    names, client tokens of :data:`CLIENT_TOKENS` or media types) wins over Accept: the first
    value that names a format of ``kind`` is taken, and when none does the answer is 406.
    ``extra`` formats (e.g. HTML pages) are offered after the kind's own formats.
    An empty Accept gets the kind's default; nothing acceptable raises NotAcceptableError.

    >>> negotiate("text/csv;q=0.5, application/sparql-results+xml", ResultKind.SOLUTIONS).name
    'xml'
    >>> negotiate("text/*", ResultKind.GRAPH).name
    'turtle'
    >>> negotiate(None, ResultKind.SOLUTIONS).name
    'json'
    >>> browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    >>> negotiate(browser, ResultKind.GRAPH, extra=(HTML,)).name
    'html'
    >>> negotiate("*/*", ResultKind.GRAPH, extra=(HTML,)).name
    'turtle'
    >>> negotiate(None, ResultKind.GRAPH, override=("rdf+xml", "application/rdf+xml")).name
    'rdfxml'
    >>> negotiate(None, ResultKind.SOLUTIONS, override="xml").name
    'xml'
    """
    choices = FORMATS[kind] + extra
    values = (override,) if isinstance(override, str) else tuple(override or ())
    values = tuple(value for value in values if value and value.strip())
    if values:
        return _overridden(values, kind, choices)
    if not accept or not accept.strip():
        return choices[0]
    ranges = _parse_accept(accept)
    best: tuple[float, Format] | None = None
    for fmt in choices:
        # wildcards match the canonical media type only (text/* means CSV or TSV, not SPARQL
        # XML through its alias text/xml); aliases count when named exactly
        matches = [match for media_type in fmt.media_types
                   if (match := _quality(media_type, ranges)) is not None
                   and (match[0] == 2 or media_type == fmt.media_type)]
        if not matches:
            continue
        quality = max(matches)[1]
        if quality > 0 and (best is None or quality > best[0]):
            best = (quality, fmt)
    if best is None:
        raise NotAcceptableError(f"cannot serve a {kind.value} result as {accept!r}",
                                 available=[fmt.media_type for fmt in choices])
    return best[1]
