"""Repeated queries: answers cached by dataset version, query and format; ETag, the
dataset-version header and If-None-Match (304) on the endpoint."""

from __future__ import annotations

import pytest

from kg import Config, KnowledgeGraph, Source
from helpers import engine_for

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
JSON = "application/sparql-results+json"


@pytest.fixture
def app(make_app):
    """An endpoint over a store of its own (the test writes to it), one query worker."""
    return make_app(workers=1, timeout=20)


def _get(client, accept=JSON, **headers):
    return client.get("/sparql", query_string={"query": COUNT},
                      headers={"Accept": accept, **headers})


def test_answers_carry_an_etag_and_the_dataset_version(app):
    client = app.test_client()
    first, again = _get(client), _get(client)
    assert first.status_code == again.status_code == 200
    assert first.headers["ETag"] == again.headers["ETag"]
    assert first.headers["KG-Dataset-Version"] == app.extensions["kg"].engine.dataset_version
    assert first.headers["ETag"].strip('"').startswith(first.headers["KG-Dataset-Version"])
    assert first.headers["Cache-Control"] == "no-cache"
    assert again.data == first.data


def test_if_none_match_answers_304_without_running_the_query(app):
    client = app.test_client()
    engine = app.extensions["kg"].engine
    etag = _get(client).headers["ETag"]
    hits, misses = engine.cache.hits, engine.cache.misses
    response = _get(client, **{"If-None-Match": f'"other", {etag}'})
    assert response.status_code == 304 and response.data == b""
    assert response.headers["ETag"] == etag
    assert (engine.cache.hits, engine.cache.misses) == (hits, misses)  # nothing looked up


def test_each_negotiated_format_has_its_own_tag(app):
    client = app.test_client()
    json_tag = _get(client).headers["ETag"]
    csv = _get(client, "text/csv", **{"If-None-Match": json_tag})
    assert csv.status_code == 200 and csv.data.startswith(b"n\r\n")
    assert csv.headers["ETag"] != json_tag
    # the same format asked for another way is the same answer
    assert _get(client, "application/json").headers["ETag"] == json_tag


def test_a_write_bumps_the_version_and_the_old_tag_no_longer_matches(app):
    client = app.test_client()
    state = app.extensions["kg"]
    before = _get(client)
    state.kg.load([Source("new.ttl", b"<http://e/new> <http://e/p> 1 .")])
    state.engine.dataset_changed()
    after = _get(client, **{"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["KG-Dataset-Version"] != before.headers["KG-Dataset-Version"]
    assert after.data != before.data  # one more triple counted: not the cached answer


def test_repeated_queries_are_served_from_the_cache(bundled):
    engine = engine_for(bundled, workers=0, cache_size=1)
    first = engine.query(COUNT)
    second = engine.query(COUNT)  # asked again: computed again, and now kept
    assert second is not first and engine.cache.misses == 2
    assert engine.query(COUNT) is second and engine.cache.hits == 1
    assert engine.query(COUNT, accept="text/csv") is not second  # another format
    assert engine.query(COUNT + " # another text") is not second  # another query
    engine.close()


def test_a_query_asked_once_costs_the_cache_nothing(bundled):
    engine = engine_for(bundled, workers=0, cache_size=1)
    for i in range(20):
        engine.query(f"{COUNT} # distinct text {i}")
    assert engine.cache._size == 0 and not engine.cache._entries
    engine.close()


def test_no_cache_still_tags_answers():
    kg = KnowledgeGraph.open(Config.load({}, environ={}), load_bundled=False)
    engine = engine_for(kg, workers=0, cache_size=0)
    assert engine.cache is None
    assert engine.query(COUNT).tag == engine.query(COUNT).tag
    # told before running it, from the request alone
    assert engine.tag(engine.request(COUNT)) == engine.query(COUNT).tag
    engine.close()
