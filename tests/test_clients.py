"""Every client, every format: the SPARQL clients researchers use, against one real
`kg serve` process.

* SPARQLWrapper: each query form × each ``returnFormat`` × GET, POST form and POST direct
  (it sends ``format=``, ``output=`` and ``results=`` with its own tokens beside Accept);
* rdflib's SPARQLStore, each form, GET and POST;
* curl with the ``format``/``output``/``results`` parameters Virtuoso and Fuseki users type;
* bytes that are not UTF-8, wherever a query or an update can come from.

A graph result asked for as ``xml`` is RDF/XML, as ``json`` JSON-LD; only what cannot hold
the result (a SELECT as Turtle, a CONSTRUCT as CSV) is 406.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.parse
import warnings
from xml.dom.minidom import Document

import pytest
import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import (CSV, JSON, JSONLD, N3, POSTDIRECTLY, RDF, RDFXML, TSV, TURTLE,
                           URLENCODED, XML, SPARQLWrapper)

from helpers import KGServer, http_get

DCSD = rdflib.URIRef("https://w3id.org/fr-indopacific/id/dcsd")
QUERIES = {
    "SELECT": "SELECT ?label WHERE { fipid:dcsd rdfs:label ?label }",
    "ASK": "ASK { fipid:dcsd rdfs:label ?label }",
    "CONSTRUCT": "CONSTRUCT WHERE { fipid:dcsd rdfs:label ?label }",
    "DESCRIBE": "DESCRIBE fipid:dcsd",
}
RETURN_FORMATS = [JSON, XML, TURTLE, N3, RDF, RDFXML, CSV, TSV, JSONLD]
METHODS = {"GET": ("GET", URLENCODED), "POST form": ("POST", URLENCODED),
           "POST direct": ("POST", POSTDIRECTLY)}
GRAPH_FORMS = ("CONSTRUCT", "DESCRIBE")
#: What cannot hold the result: solutions as RDF, a graph as a table.
UNSERVABLE = {(form, fmt) for form in ("SELECT", "ASK")
              for fmt in (TURTLE, N3, RDF, RDFXML, JSONLD)} | {
             (form, fmt) for form in GRAPH_FORMS for fmt in (CSV, TSV)}
#: The media type each servable returnFormat is answered in, by kind of result.
SOLUTION_TYPES = {JSON: "application/sparql-results+json", XML: "application/sparql-results+xml",
                  CSV: "text/csv", TSV: "text/tab-separated-values"}
GRAPH_TYPES = {JSON: "application/ld+json", JSONLD: "application/ld+json", TURTLE: "text/turtle",
               N3: "text/turtle", XML: "application/rdf+xml", RDF: "application/rdf+xml",
               RDFXML: "application/rdf+xml"}
#: Warnings that are the client's own and say nothing of the server: SPARQLWrapper's
#: Accept */* for a returnFormat it has no media type for, rdflib's deprecations.
CLIENT_WARNINGS = ("Sending Accept header '*/*'", "ConjunctiveGraph is deprecated",
                   "Dataset.default_context", "JSON-LD")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One `kg serve` for the whole matrix (one query worker)."""
    kg = KGServer(tmp_path_factory.mktemp("clients"), env={"KG_WORKERS": "1"}).wait()
    yield kg.url
    kg.stop()


@pytest.fixture(scope="module")
def labels(server) -> set[str]:
    """The labels of the DCSD, as the plain JSON answer gives them."""
    status, body = http_get(server + "sparql?" + urllib.parse.urlencode(
        {"query": QUERIES["SELECT"]}), Accept="application/sparql-results+json")
    assert status == 200
    found = {row["label"]["value"] for row in json.loads(body)["results"]["bindings"]}
    assert len(found) >= 2  # English and French at least
    return found


def _wrapper(server: str, form: str, return_format: str, method: str) -> SPARQLWrapper:
    client = SPARQLWrapper(server + "sparql")
    client.setQuery(QUERIES[form])
    client.setReturnFormat(return_format)
    client.setMethod(METHODS[method][0])
    client.setRequestMethod(METHODS[method][1])
    return client


def _graph_labels(result) -> set[str]:
    if isinstance(result, bytes):
        result = rdflib.Graph().parse(data=result, format="turtle")
    return {str(o) for o in result.objects(DCSD, rdflib.RDFS.label)}


def _solution_labels(form: str, return_format: str, result) -> set[str] | bool:
    if return_format == JSON:
        if form == "ASK":
            return result["boolean"]
        return {row["label"]["value"] for row in result["results"]["bindings"]}
    if return_format == XML:
        assert isinstance(result, Document)
        if form == "ASK":
            return result.getElementsByTagName("boolean")[0].firstChild.data == "true"
        return {node.firstChild.data for node in result.getElementsByTagName("literal")}
    lines = result.decode().splitlines()
    if form == "ASK":
        return lines[-1] == "true"
    return {line.strip('"') for line in lines[1:]} if return_format == CSV else {
        line.rsplit("@", 1)[0].strip('"') for line in lines[1:]}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("return_format", RETURN_FORMATS)
@pytest.mark.parametrize("form", QUERIES)
def test_sparqlwrapper(server, labels, form, return_format, method):
    client = _wrapper(server, form, return_format, method)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        if (form, return_format) in UNSERVABLE:
            with pytest.raises(urllib.error.HTTPError) as refused:
                client.query()
            message = refused.value.read().decode()
            assert refused.value.code == 406 and "cannot hold" in message, message
            assert "available" in message
            return
        response = client.query()
        content_type = response.info()["content-type"]
        result = response.convert()
    unexplained = [str(w.message) for w in seen
                   if not any(known in str(w.message) for known in CLIENT_WARNINGS)]
    assert not unexplained  # e.g. "Format requested was X, but Y has been returned"
    if form in GRAPH_FORMS:
        assert content_type.startswith(GRAPH_TYPES[return_format])
        assert _graph_labels(result) == labels
    else:
        assert content_type.startswith(SOLUTION_TYPES[return_format])
        assert _solution_labels(form, return_format, result) == (
            True if form == "ASK" else labels)


@pytest.mark.parametrize("method", ["GET", "POST", "POST_FORM"])
@pytest.mark.parametrize("form", QUERIES)
def test_rdflib_sparqlstore(server, labels, form, method):
    store = SPARQLStore(server + "sparql", method=method)
    graph = rdflib.Graph(store=store)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # rdflib's own ConjunctiveGraph
        result = graph.query(QUERIES[form], initNs={
            "fipid": "https://w3id.org/fr-indopacific/id/", "rdfs": str(rdflib.RDFS)})
        if form == "ASK":
            assert result.askAnswer is True
        elif form == "SELECT":
            assert {str(row[0]) for row in result} == labels
        else:
            assert {str(o) for s, p, o in result.graph if p == rdflib.RDFS.label
                    and s == DCSD} == labels


def _curl(server: str, *args: str) -> tuple[int, str, bytes]:
    done = subprocess.run(["curl", "-sS", "--noproxy", "*", "-o", "-", "-w",
                           "\n%{http_code} %{content_type}", *args, server + "sparql"],
                          capture_output=True, timeout=60, check=True)
    body, _, status = done.stdout.rpartition(b"\n")
    code, _, content_type = status.decode().partition(" ")
    return int(code), content_type, body


@pytest.mark.parametrize("form, parameter, value, media_type", [
    ("CONSTRUCT", "format", "xml", "application/rdf+xml"),
    ("CONSTRUCT", "output", "xml", "application/rdf+xml"),
    ("CONSTRUCT", "format", "json", "application/ld+json"),
    ("CONSTRUCT", "output", "json-ld", "application/ld+json"),
    ("CONSTRUCT", "results", "rdf+xml", "application/rdf+xml"),
    ("CONSTRUCT", "format", "application/rdf+xml", "application/rdf+xml"),
    ("CONSTRUCT", "format", "text/turtle; charset=utf-8", "text/turtle"),
    ("CONSTRUCT", "output", "ttl", "text/turtle"),
    ("CONSTRUCT", "output", "nt", "application/n-triples"),
    ("DESCRIBE", "format", "application/ld+json", "application/ld+json"),
    ("DESCRIBE", "output", "rdf", "application/rdf+xml"),
    ("SELECT", "format", "json", "application/sparql-results+json"),
    ("SELECT", "output", "xml", "application/sparql-results+xml"),
    ("SELECT", "format", "application/sparql-results+json", "application/sparql-results+json"),
    ("SELECT", "format", "text/csv", "text/csv"),
    ("SELECT", "output", "tsv", "text/tab-separated-values"),
    ("SELECT", "results", "csv", "text/csv"),
    ("ASK", "format", "xml", "application/sparql-results+xml"),
])
@pytest.mark.parametrize("post", [False, True], ids=["GET", "POST form"])
def test_curl_format_parameters(server, form, parameter, value, media_type, post):
    code, content_type, body = _curl(server, *([] if post else ["-G"]), "--data-urlencode",
                                     f"query={QUERIES[form]}", "--data-urlencode",
                                     f"{parameter}={value}")
    assert code == 200, body
    assert content_type.split(";")[0] == media_type and body


@pytest.mark.parametrize("form, parameter, value", [
    ("SELECT", "format", "turtle"),
    ("SELECT", "output", "application/rdf+xml"),
    ("CONSTRUCT", "format", "csv"),
    ("CONSTRUCT", "output", "application/sparql-results+json"),
    ("ASK", "results", "image/png"),
])
def test_curl_what_cannot_hold_the_result_is_406(server, form, parameter, value):
    code, _, body = _curl(server, "-G", "--data-urlencode", f"query={QUERIES[form]}",
                          "--data-urlencode", f"{parameter}={value}")
    assert code == 406 and b"cannot hold" in body and b"available" in body


def test_the_first_parameter_value_that_fits_wins(server):
    # SPARQLWrapper's RDF/XML: its token, then the media type, under each of three names
    code, content_type, _ = _curl(server, "-G", "--data-urlencode",
                                  f"query={QUERIES['CONSTRUCT']}",
                                  "-d", "format=csv", "-d", "output=rdf%2Bxml")
    assert code == 200 and content_type == "application/rdf+xml"


# -- bytes that are not UTF-8 -------------------------------------------------------------

#: "SELECT * WHERE { ?s ?p \"é\" }" with é in Latin-1 (0xE9): byte 24 of the query.
LATIN1_QUERY = b"SELECT%20*%20WHERE%20%7B%20%3Fs%20%3Fp%20%22%E9%22%20%7D"
LATIN1_UPDATE = b"INSERT%20DATA%20%7B%20%3Ca:b%3E%20%3Ca:c%3E%20%22%E9%22%20%7D"


NOT_UTF8 = [
    ("GET query string", "sparql?query=" + LATIN1_QUERY.decode(), None, None,
     "parameter 'query' in the URL is not UTF-8 once percent-decoded: byte 0xE9 at offset 24"),
    ("POST form query", "sparql", b"query=" + LATIN1_QUERY,
     "application/x-www-form-urlencoded",
     "parameter 'query' in the form is not UTF-8 once percent-decoded: byte 0xE9 at offset 24"),
    ("POST form update", "sparql", b"update=" + LATIN1_UPDATE,
     "application/x-www-form-urlencoded",
     "parameter 'update' in the form is not UTF-8 once percent-decoded: byte 0xE9 at offset 27"),
    ("POST direct query", "sparql", urllib.parse.unquote_to_bytes(LATIN1_QUERY),
     "application/sparql-query",
     "the query in the body (application/sparql-query) is not UTF-8: byte 0xE9 at offset 24"),
    ("POST direct update", "sparql", urllib.parse.unquote_to_bytes(LATIN1_UPDATE),
     "application/sparql-update",
     "the update in the body (application/sparql-update) is not UTF-8: byte 0xE9 at offset 27"),
    ("a parameter in the URL of a POST", "sparql?default-graph-uri=a%FFb", b"ASK {}",
     "application/sparql-query",
     "parameter 'default-graph-uri' in the URL is not UTF-8 once percent-decoded: "
     "byte 0xFF at offset 1"),
    ("a parameter name", "sparql?qu%C3ry=ASK%7B%7D", None, None,
     "parameter name 'qu\ufffdry' in the URL is not UTF-8 once percent-decoded: "
     "byte 0xC3 at offset 2"),
]


@pytest.mark.parametrize("where, url, data, content_type, expected", NOT_UTF8,
                         ids=[case[0] for case in NOT_UTF8])
def test_bytes_that_are_not_utf8_are_400(server, where, url, data, content_type, expected):
    headers = {"Content-Type": content_type} if content_type else {}
    status, body = http_get(server + url, data=data, **headers)
    assert status == 400, (where, body)
    assert expected in body.decode(), body


# -- DataFrames for remote users (the README's recipe) -------------------------------------

def test_the_dataframe_recipe_gives_what_the_engine_gives(server, bundled):
    import pandas
    from kg.sparql.frames import from_sparql_json

    query = """SELECT ?link ?domain ?date WHERE { ?link a fip:CooperationLink ;
        fip:thematicDomain ?domain OPTIONAL { ?link dcterms:date ?date } }
        ORDER BY ?link ?domain ?date"""
    client = SPARQLWrapper(server + "sparql")
    client.setQuery(query)
    client.setReturnFormat(JSON)
    remote = from_sparql_json(client.queryAndConvert(), compact=True)
    local = bundled.query(query).to_dataframe(compact=True)
    pandas.testing.assert_frame_equal(remote, local)
    assert len(remote) >= 50 and remote["domain"].str.startswith("fipid:domain-").all()
