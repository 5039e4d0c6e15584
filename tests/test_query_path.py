"""One query path: ``kg query``, the Python API and ``/sparql`` make the same request,
pass the same guard and limits, and refuse the same queries with the same message."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from kg import Config, KnowledgeGraph
from kg.errors import KGError

LIMITS = {"max_query_length": "200", "max_nesting": "20", "max_rows": "5"}

REFUSED = {
    "too long": ("ASK { ?s ?p ?o }" + " " * 200, 413),
    "nested too deep": ("ASK " + "{" * 30 + "}" * 30, 400),
    "SERVICE off the allowlist": ("SELECT * { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", 400),
    "LOAD in a query": ("LOAD <http://example.org/x>", 400),
    "more rows than the limit": ("SELECT * { ?s ?p ?o }", 400),
    "a syntax error": ("SELECT * WHERE { ?s ?p }", 400),
}


@pytest.fixture(scope="module")
def client(make_shared_app):
    app = make_shared_app(workers=1, **LIMITS)
    return app.test_client()


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_kg_query_refuses_what_sparql_refuses(case, client, run_kg):
    text, status = REFUSED[case]
    answer = client.get("/sparql?" + urllib.parse.urlencode({"query": text}),
                        headers={"Accept": "application/json"})
    assert answer.status_code == status, answer.data
    message = json.loads(answer.data)["message"]

    done = run_kg("query", "--format", "json", text,
                  env={f"KG_{name.upper()}": value for name, value in LIMITS.items()})
    assert done.returncode != 0 and not done.stdout
    assert done.stderr.decode().splitlines()[-1] == f"kg: error: {message}"


@pytest.mark.parametrize("case", sorted(set(REFUSED) - {"more rows than the limit"}))
def test_the_python_api_refuses_it_too(case):
    """The Python API gives lazy solutions (no row limit): every other check holds."""
    text, status = REFUSED[case]
    kg = KnowledgeGraph.open(Config.load(LIMITS, environ={}))
    with pytest.raises(KGError) as refused:
        kg.query(text)
    assert refused.value.status == status


def test_a_format_that_cannot_hold_the_result_is_refused_alike(client, run_kg):
    query = "SELECT * { ?s ?p ?o } LIMIT 1"
    answer = client.get("/sparql?" + urllib.parse.urlencode({"query": query,
                                                              "format": "turtle"}),
                        headers={"Accept": "application/json"})
    assert answer.status_code == 406
    done = run_kg("query", "--format", "turtle", query)
    assert done.returncode == 2
    # the same refusal; the command offers its text table besides the endpoint's formats
    assert done.stderr.decode().splitlines()[-1] == \
        f"kg: error: {json.loads(answer.data)['message']}, table"


@pytest.mark.slow
def test_the_same_request_gives_the_same_bytes(client, run_kg):
    query = "SELECT ?label WHERE { fipid:dcsd rdfs:label ?label } ORDER BY ?label"
    for name, media_type in (("json", "application/sparql-results+json"), ("csv", "text/csv"),
                             ("xml", "application/sparql-results+xml")):
        answer = client.get("/sparql?" + urllib.parse.urlencode({"query": query}),
                            headers={"Accept": media_type})
        assert answer.status_code == 200
        assert run_kg("query", "--format", name, query).stdout == answer.data
