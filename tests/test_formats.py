"""Content negotiation: one function, a table of Accept headers."""

from __future__ import annotations

import pytest

from kg.errors import NotAcceptableError
from kg.sparql.formats import ResultKind, negotiate


@pytest.mark.parametrize("accept, kind, expected", [
    (None, ResultKind.SOLUTIONS, "json"),
    ("", ResultKind.GRAPH, "turtle"),
    ("*/*", ResultKind.SOLUTIONS, "json"),
    ("application/sparql-results+xml", ResultKind.SOLUTIONS, "xml"),
    ("application/json", ResultKind.SOLUTIONS, "json"),
    ("text/csv;q=0.9, text/tab-separated-values", ResultKind.SOLUTIONS, "tsv"),
    ("text/*;q=0.5, application/sparql-results+xml;q=0.4", ResultKind.SOLUTIONS, "csv"),
    ("text/*", ResultKind.SOLUTIONS, "csv"),
    ("text/xml", ResultKind.SOLUTIONS, "xml"),
    ("application/n-triples, text/turtle;q=0.8", ResultKind.GRAPH, "ntriples"),
    ("application/ld+json", ResultKind.GRAPH, "jsonld"),
    ("application/rdf+xml;q=1, */*;q=0.1", ResultKind.GRAPH, "rdfxml"),
    ("text/turtle;q=0, */*", ResultKind.GRAPH, "ntriples"),
    ("application/trig", ResultKind.DATASET, "trig"),
    ("APPLICATION/SPARQL-RESULTS+JSON", ResultKind.SOLUTIONS, "json"),
])
def test_accept_header_table(accept, kind, expected):
    assert negotiate(accept, kind).name == expected


@pytest.mark.parametrize("accept, kind", [
    ("text/turtle", ResultKind.SOLUTIONS),
    ("application/sparql-results+json", ResultKind.GRAPH),
    ("image/png", ResultKind.GRAPH),
    ("text/csv;q=0", ResultKind.SOLUTIONS),
])
def test_nothing_acceptable_is_406(accept, kind):
    with pytest.raises(NotAcceptableError) as error:
        negotiate(accept, kind)
    assert error.value.status == 406 and error.value.available


def test_format_parameter_overrides_accept():
    assert negotiate("application/sparql-results+json", ResultKind.SOLUTIONS,
                     override="csv").name == "csv"
    assert negotiate(None, ResultKind.GRAPH, override="application/ld+json").name == "jsonld"
    with pytest.raises(NotAcceptableError):
        negotiate(None, ResultKind.GRAPH, override="csv")


@pytest.mark.parametrize("override, kind, expected", [
    ("xml", ResultKind.GRAPH, "rdfxml"),  # xml for a graph is RDF/XML
    ("json", ResultKind.GRAPH, "jsonld"),  # json for a graph is JSON-LD
    ("xml", ResultKind.SOLUTIONS, "xml"),
    ("json", ResultKind.SOLUTIONS, "json"),
    ("rdf+xml", ResultKind.GRAPH, "rdfxml"),
    ("json-ld", ResultKind.GRAPH, "jsonld"),
    ("n3", ResultKind.GRAPH, "turtle"),
    ("ttl", ResultKind.GRAPH, "turtle"),
    ("text/turtle; charset=utf-8", ResultKind.GRAPH, "turtle"),
    ("application/sparql-results+xml", ResultKind.SOLUTIONS, "xml"),
    (("tsv", "text/tab-separated-values"), ResultKind.SOLUTIONS, "tsv"),
    (("json-ld", ""), ResultKind.GRAPH, "jsonld"),
    (("csv", "application/rdf+xml"), ResultKind.GRAPH, "rdfxml"),  # the first that fits
    (("", ""), ResultKind.SOLUTIONS, "json"),  # empty values: Accept decides
    ("json", ResultKind.DATASET, "jsonld"),
])
def test_client_tokens(override, kind, expected):
    assert negotiate(None, kind, override=override).name == expected


@pytest.mark.parametrize("override, kind", [
    ("turtle", ResultKind.SOLUTIONS), ("csv", ResultKind.GRAPH),
    (("rdf+xml", "application/rdf+xml"), ResultKind.SOLUTIONS), ("srj", ResultKind.GRAPH),
])
def test_client_tokens_that_cannot_hold_the_result_are_406(override, kind):
    with pytest.raises(NotAcceptableError) as error:
        negotiate("*/*", kind, override=override)
    assert "cannot hold" in str(error.value) and error.value.available
