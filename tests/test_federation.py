"""SERVICE: the allowlist and the map, through the API, the engine and the HTTP endpoint,
with a real local stand-in for Wikidata and a listener that records every connection."""

from __future__ import annotations

import json
import time

import pytest

from kg import Config, KnowledgeGraph
from kg.web.app import close_app, create_app
from kg.config import WIKIDATA_SERVICES
from kg.errors import ForbiddenFeatureError
from kg.sparql.federation import ServicePolicy

WIKIDATA = WIKIDATA_SERVICES[0]
JOIN = f"""SELECT ?country ?iso WHERE {{
  VALUES ?country {{ fipid:france fipid:madagascar }}
  ?country owl:sameAs ?item .
  SERVICE <{WIKIDATA}> {{ ?item wdt:P297 ?iso }}
}} ORDER BY ?iso"""


@pytest.fixture(scope="module")
def mapped(wikidata_standin):
    """The bundled graph with Wikidata's URL mapped to the stand-in."""
    return KnowledgeGraph.open(Config.load({"service_map": {WIKIDATA: wikidata_standin}},
                                           environ={}))


def test_a_service_query_joins_the_graph_with_wikidata(mapped):
    rows = [(row["country"].value.rsplit("/", 1)[1], row["iso"].value)
            for row in mapped.query(JOIN).solutions]
    assert rows == [("france", "FR"), ("madagascar", "MG")]


def test_a_service_nested_in_an_allowed_one_is_left_to_the_remote():
    # Wikidata's own label service, as queries copied from its query service use it: it is
    # part of the remote query, so it is neither refused nor rewritten (not run here: the
    # stand-in would try to fetch it)
    query = f"""SELECT ?item ?label WHERE {{
      SERVICE <{WIKIDATA}> {{
        ?item wdt:P297 "FR" .
        SERVICE wikibase:label {{ bd:serviceParam wikibase:language "en" }}
      }} }}"""
    rewritten = ServicePolicy(mapping={WIKIDATA: "http://127.0.0.1:9/query"}).rewrite(query)
    assert "SERVICE <http://127.0.0.1:9/query>" in rewritten
    assert "SERVICE wikibase:label" in rewritten


def test_the_endpoint_federates_through_the_map(wikidata_standin):
    app = create_app({"workers": 1, "service_map": {WIKIDATA: wikidata_standin}})
    try:
        response = app.test_client().get("/sparql", query_string={"query": JOIN},
                                         headers={"Accept": "application/sparql-results+json"})
        assert response.status_code == 200, response.data
        bindings = json.loads(response.data)["results"]["bindings"]
        assert [b["iso"]["value"] for b in bindings] == ["FR", "MG"]
    finally:
        close_app(app)


@pytest.mark.parametrize("template", [
    "SELECT * {{ SERVICE <{target}> {{ ?s ?p ?o }} }}",
    "SELECT * {{ SERVICE SILENT <{target}> {{ ?s ?p ?o }} }}",
    "SELECT * {{ \\u0053ERVICE <{target}> {{ ?s ?p ?o }} }}",
    "SELECT * {{ SERVICE <{wikidata}> {{ SERVICE <{target}> {{ ?s ?p ?o }} }} }}",
])
def test_a_service_off_the_allowlist_is_refused_before_any_request(listener, template):
    port, connections = listener
    target = f"http://127.0.0.1:{port}/sparql"
    kg = KnowledgeGraph.open(Config.load({}, environ={}), load_bundled=False)
    query = template.format(target=target, wikidata="http://example.org/not-allowed")
    with pytest.raises(ForbiddenFeatureError, match="not allowed"):
        kg.query(query)
    time.sleep(0.3)
    assert connections == []


def test_an_allowlisted_service_on_a_private_address_is_refused(listener):
    port, connections = listener
    target = f"http://127.0.0.1:{port}/sparql"
    kg = KnowledgeGraph.open(Config.load({"service_allowlist": (target,)}, environ={}),
                             load_bundled=False)
    with pytest.raises(ForbiddenFeatureError, match="non-public address"):
        kg.query(f"SELECT * {{ SERVICE <{target}> {{ ?s ?p ?o }} }}")
    time.sleep(0.3)
    assert connections == []


def test_only_the_operators_map_reaches_loopback(listener):
    port, connections = listener
    kg = KnowledgeGraph.open(Config.load(
        {"service_map": {WIKIDATA: f"http://127.0.0.1:{port}/sparql"}}, environ={}),
        load_bundled=False)
    with pytest.raises(Exception):  # the listener hangs up: the query fails, but it was sent
        list(kg.query(f"SELECT * {{ SERVICE <{WIKIDATA}> {{ ?s ?p ?o }} }}").solutions)
    deadline = time.monotonic() + 5
    while not connections and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(connections) == 1


def test_the_endpoint_refuses_a_service_off_the_allowlist(listener):
    port, connections = listener
    app = create_app({"workers": 0})
    try:
        response = app.test_client().get("/sparql", query_string={
            "query": f"SELECT * {{ SERVICE <http://127.0.0.1:{port}/> {{ ?s ?p ?o }} }}"})
        assert response.status_code == 400 and b"not allowed" in response.data
    finally:
        close_app(app)
    assert connections == []


@pytest.mark.parametrize("query, refused", [
    ("SELECT * { SERVICE ?endpoint { ?s ?p ?o } }", "full IRI"),
    ("SELECT * { SERVICE wd:Q42 { ?s ?p ?o } }", "full IRI"),
    ('SELECT * { SERVICE wikibase:label { bd:serviceParam wikibase:language "en" } }',
     "runs inside Wikidata's query service"),
    ("SELECT * { SERVICE <file:///etc/passwd> { ?s ?p ?o } }", "not allowed"),
])
def test_service_targets_that_are_not_iris_or_files_are_refused(query, refused):
    with pytest.raises(ForbiddenFeatureError, match=refused):
        ServicePolicy().rewrite(query)


def test_the_rewrite_touches_service_iris_only():
    policy = ServicePolicy(mapping={WIKIDATA: "http://mirror.example/sparql"})
    query = (f'SELECT * {{ ?s ?p "SERVICE <{WIKIDATA}>" . # SERVICE <{WIKIDATA}>\n'
             f"  ?s ?q <{WIKIDATA}> . SERVICE <{WIKIDATA}> {{ ?s ?p ?o }} }}")
    rewritten = policy.rewrite(query)
    assert rewritten.count("http://mirror.example/sparql") == 1
    assert rewritten.count(WIKIDATA) == 3  # the string, the comment and the object IRI
    # an allowlisted target that is not mapped is called as written (an IP literal here, so
    # that the address check needs no DNS look-up)
    public = ServicePolicy(allowlist=("http://8.8.8.8/sparql",))
    assert public.rewrite("ASK { SERVICE <http://8.8.8.8/sparql> {} }") == \
        "ASK { SERVICE <http://8.8.8.8/sparql> {} }"


def test_federation_can_be_switched_off():
    kg = KnowledgeGraph.open(Config.load({}, environ={"KG_SERVICE_ALLOWLIST": "none"}),
                             load_bundled=False)
    with pytest.raises(ForbiddenFeatureError, match="allowed: none"):
        kg.query(f"SELECT * {{ SERVICE <{WIKIDATA}> {{ ?s ?p ?o }} }}")


def test_wikidata_prefixes_are_predeclared(empty):
    query = ("SELECT * { ?item p:P31 ?statement . ?statement ps:P31 wd:Q6256 ; "
             "pq:P580 ?start . ?item wikibase:sitelinks ?n ; schema:name ?name . "
             "?x bd:serviceParam ?y ; wdt:P297 ?iso }")
    assert list(empty.query(query).solutions) == []
