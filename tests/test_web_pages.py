"""The web pages through Flask's test client: content negotiation, escaping, the
Content-Security-Policy, and what each page and the map's JSON hold. (The same pages in a real
browser: tests/test_browser.py.)"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from markupsafe import escape

from kg.web.content import geo
from kg.web.content.examples import examples
from kg.config import Config
from kg import KnowledgeGraph, Source

from helpers import web_bundle

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "web"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
ID = "https://w3id.org/fr-indopacific/id/"


@pytest.fixture(scope="module")
def client(tmp_path_factory, make_shared_app):
    """The app over the bundled files, the stand-in Wikidata snapshot and hostile labels."""
    bundle = web_bundle(tmp_path_factory.mktemp("bundle"))
    app = make_shared_app(workers=0, bundle_dir=str(bundle))
    return app.test_client()


def _text(response) -> str:
    return response.get_data(as_text=True)


@pytest.mark.parametrize("path, accept, expected", [
    ("/id/mongolia", BROWSER, "text/html"),
    ("/id/mongolia", "text/turtle", "text/turtle"),
    ("/id/mongolia", "*/*", "text/turtle"),
    ("/id/mongolia", "application/ld+json, text/html;q=0.5", "application/ld+json"),
    ("/ontology", BROWSER, "text/html"),
    ("/ontology", "application/rdf+xml", "application/rdf+xml"),
    ("/dataset", BROWSER, "text/html"),
    ("/dataset", "text/turtle", "text/turtle"),
    ("/sparql", BROWSER, "text/html"),
    ("/sparql", "", "text/turtle"),  # the service description
    ("/sparql?query=ASK%7B%7D", BROWSER, "text/html"),
    ("/sparql?query=ASK%7B%7D", "*/*", "application/sparql-results+json"),
    ("/sparql?query=ASK%7B%7D", "application/sparql-results+xml, text/html;q=0.1",
     "application/sparql-results+xml"),
    ("/id/mongolia?format=html", "text/turtle", "text/html"),
    ("/id/mongolia?format=turtle", BROWSER, "text/turtle"),
])
def test_browsers_get_pages_and_clients_get_data(client, path, accept, expected):
    response = client.get(path, headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.mimetype == expected
    assert "Accept" in response.headers.get("Vary", "")


@pytest.mark.parametrize("path", ["/", "/map", "/validate", "/dataset", "/ontology",
                                  "/id/dcsd", "/nothing-here", "/reconcile/preview?id=dcsd"])
def test_pages_forbid_inline_scripts(client, path):
    response = client.get(path, headers={"Accept": BROWSER})
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "'unsafe-inline'" not in policy
    assert "default-src 'none'" in policy and "'unsafe-eval'" not in policy
    page = _text(response)
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)  # every script is a file
    assert not re.search(r"<[^>]*\son[a-z]+=", page)  # no event-handler attributes
    assert not re.search(r"<[^>]*\sstyle=", page)


def test_the_editor_style_nonce_is_fresh_for_each_response(client):
    first, second = (client.get("/", headers={"Accept": BROWSER}) for _ in range(2))
    nonces = [re.search(r"'nonce-([^']+)'", r.headers["Content-Security-Policy"])[1]
              for r in (first, second)]
    assert nonces[0] != nonces[1] and len(nonces[0]) >= 20
    assert f'nonce="{nonces[0]}"' in _text(first)


def test_errors_are_pages_for_browsers_and_text_for_clients(client):
    page = client.get("/id/no-such-thing", headers={"Accept": BROWSER})
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "no entity &lt;https://w3id.org/fr-indopacific/id/no-such-thing&gt;" in _text(page)
    assert client.get("/id/no-such-thing", headers={"Accept": "*/*"}).mimetype == "text/plain"


def test_hostile_labels_are_escaped_everywhere(client):
    for path in ("/id/hostile-place", "/id/coop-hostile", "/id/mongolia", "/map"):
        page = _text(client.get(path, headers={"Accept": BROWSER}))
        assert "<img src=x" not in page and "</script><script>" not in page, path
        assert "<svg onload" not in page and "</textarea><svg" not in page, path
    page = _text(client.get("/id/hostile-place", headers={"Accept": BROWSER}))
    assert str(escape("<img src=x onerror=\"window.__kgPwned='img';alert(1)\">")) in page
    assert 'href="javascript:' not in page  # a javascript: IRI is shown, not linked
    data = client.get("/map.json").get_json()
    hostile = next(p for p in data["places"] if p["iri"] == ID + "hostile-place")
    assert hostile["label"].startswith("<img src=x")  # JSON keeps the text; the script sets textContent


def test_query_page_offers_the_competency_questions(client):
    page = _text(client.get("/"))
    assert page.count('data-query="') == len(examples(Config.load({}, environ={}))) >= 90
    assert "cq-24 — Under which agreement does France help build Mongolia&#39;s" in page
    prefixes = re.search(r"data-prefixes='([^']*)'", page)[1]
    assert json.loads(html.unescape(prefixes))["fipid"] == ID


def test_a_browser_url_with_a_query_puts_it_in_the_editor(client):
    page = _text(client.get("/sparql?query=SELECT+%3Cx%3E+%7B%7D", headers={"Accept": BROWSER}))
    assert 'data-run="yes"' in page
    assert "SELECT &lt;x&gt; {}</textarea>" in page


@pytest.mark.parametrize("path", ["/", "/sparql"])
def test_a_shared_link_keeps_its_dataset_on_the_page(client, path):
    ontology, factsheet = (f"https://w3id.org/fr-indopacific/graph/{g}" for g in
                           ("ontology", "factsheet"))
    page = _text(client.get(path, headers={"Accept": BROWSER}, query_string=[
        ("query", "ASK {}"), ("default-graph-uri", ontology), ("named-graph-uri", factsheet),
        ("inference", "false"), ("format", "html")]))
    # sent with the query by the script, and by the form without script
    for name, value in (("default-graph-uri", ontology), ("named-graph-uri", factsheet),
                        ("inference", "false")):
        assert f'<input type="hidden" name="{name}" value="{value}" data-dataset>' in page
        assert f"<li><code>{name}</code>: <code>{value}</code></li>" in page  # shown
    assert '<a href="/?query=ASK+%7B%7D">Query the whole knowledge graph instead</a>' in page
    assert 'id="dataset"' not in _text(client.get("/?query=ASK+%7B%7D"))


def test_entity_page_content(client):
    page = _text(client.get("/id/nema", headers={"Accept": BROWSER}))
    assert "<h1>Mongolian Emergency Management Agency</h1>" in page
    assert '<span lang="fr">Agence mongole de gestion des urgences</span>' in page
    assert "An advisor is also seconded to the Director of the Mongolian Emergency" in page
    sentence = re.sub(r"<[^>]+>|\s+", " ", page[page.index('<ol class="cooperation">'):])
    assert re.sub(r"\s+", " ", sentence).startswith(
        " France — expert secondment — Mongolia (NEMA) , in Mongolia : civil protection details")
    assert 'href="?format=turtle"' in page and 'href="?format=jsonld"' in page
    assert '<link rel="alternate" type="text/turtle" href="?format=turtle"' in page


def test_entity_page_marks_inferred_values(client):
    """Entailed types and values are marked; asserted ones are not."""
    page = _text(client.get("/id/ssi-singapore", headers={"Accept": BROWSER}))
    chips = re.findall(r'<span class="chip( inferred)?">(.*?)</span> ', page)
    marked = {re.sub(r"<[^>]+>", "", text).split(" inferred")[0]: bool(flag)
              for flag, text in chips}
    assert marked["embassy service"] is False  # stated in the data
    assert marked["org:Organization"] is True  # entailed through org:OrganizationalUnit
    assert 'title="entailed by the ontology (OWL 2 RL), not stated in the data">inferred' in page
    assert 'href="?format=trig"' in page and "asserted only" in page
    plain = _text(client.get("/id/fact-sheet-5", headers={"Accept": BROWSER}))
    assert ("Values marked" in plain) is ('class="inferred"' in plain)


def test_ontology_page_documents_every_term_and_draws_a_diagram(client):
    page = _text(client.get("/ontology", headers={"Accept": BROWSER}))
    for term in ("CooperationLink", "provider", "thematicDomain", "SourceSentence", "partOf"):
        assert f'id="{term}"' in page
    diagram = re.search(r"<svg class=\"diagram\".*?</svg>", page, re.S)[0]
    assert diagram.count('class="node"') >= 10 and diagram.count('class="edge"') >= 12
    assert ">fip:provider<" in diagram and ">prov:Activity<" in diagram
    assert "thematic domains" in page  # the SKOS vocabularies


def test_dataset_page(client):
    page = _text(client.get("/dataset", headers={"Accept": BROWSER}))
    assert "https://w3id.org/fr-indopacific/graph/wikidata" in page
    assert "https://creativecommons.org/licenses/by/4.0/" in page
    assert "@misc{fr_indopacific_kg," in page and "Antoine Bondaz" in page
    assert "No change recorded" in page


def test_map_json_places_countries_and_points(client):
    data = client.get("/map.json").get_json()
    assert [h["key"] for h in data["headings"]] == list(geo.HEADINGS)
    places = {p["iri"][len(ID):]: p for p in data["places"]}
    assert places["mongolia"]["iso"] == "MN" and places["mongolia"]["heading"] == "civil-security"
    assert places["mongolia"]["href"] == "/id/mongolia"
    assert places["tahiti"]["x"] is not None  # coordinates on the place itself
    assert places["bangkok"]["iso"] is None and places["bangkok"]["y"] is not None
    shapes = json.loads((REPO / "src/kg/web/static/vendor/countries.json").read_text())
    missing = {p["iso"] for p in places.values() if p["iso"]} - set(shapes["countries"])
    assert not missing  # every code of the snapshot has a shape


def test_the_cities_the_sheet_names_are_on_the_map_from_the_bundled_snapshot(bundled):
    """Every city the sheet names is a place of the map; Papeete and Fort-Dauphin are drawn
    at Natural Earth's points, which the bundled snapshot carries on their Wikidata items."""
    named = {row["c"].value for row in bundled.query(
        "SELECT DISTINCT ?c { ?c a schema:City ; fip:mentionedIn ?s }").solutions}
    places = {p.iri: p for p in geo.places(bundled)}
    assert len(named) >= 9 and named <= set(places)
    for city in named:
        assert places[city].unplaced is None and places[city].x is not None, city
    assert (places[ID + "papeete"].x, places[ID + "papeete"].y) == geo.project(-149.566669,
                                                                              -17.533363)
    assert (places[ID + "fort-dauphin"].x, places[ID + "fort-dauphin"].y) == geo.project(
        46.990041, -25.026807)
    # a city without a link it hosts or receives takes the headings of what happens there
    assert places[ID + "papeete"].heading == "environmental-crime"
    assert "not linked to Wikidata" in places[ID + "tahiti"].unplaced


@pytest.mark.parametrize("facts, reason", [
    ("", "not linked to Wikidata"),
    ("fipid:x owl:sameAs wd:Q900000123 .", "linked to Q900000123, but the offline snapshot"),
    ("fipid:x owl:sameAs wd:Q900000123 . wd:Q900000123 wdt:P625 'Point(-30 0)'^^geo:wktLiteral .",
     "outside the frame of the map"),
    ("fipid:x wdt:P297 'ZZ' .", "no country with the code ZZ"),
])
def test_a_place_the_map_cannot_draw_says_why(empty, facts, reason):
    empty.load([Source("city.ttl", (
        "@prefix fipid: <https://w3id.org/fr-indopacific/id/> . @prefix fip: "
        "<https://w3id.org/fr-indopacific/ontology#> . @prefix schema: <http://schema.org/> . "
        "@prefix owl: <http://www.w3.org/2002/07/owl#> . @prefix wd: "
        "<http://www.wikidata.org/entity/> . @prefix wdt: <http://www.wikidata.org/prop/direct/> . "
        "@prefix geo: <http://www.opengis.net/ont/geosparql#> . "
        "fipid:x a schema:City ; fip:mentionedIn fipid:s1 . " + facts).encode())])
    [place] = geo.places(empty)
    assert reason in place.unplaced and place.heading == "none"


def test_the_map_page_lists_the_places_it_cannot_draw(make_app, tmp_path):
    app = make_app(workers=0, bundle_dir=str(web_bundle(
        tmp_path, hostile=False, test_snapshot=False)))
    page = _text(app.test_client().get("/map", headers={"Accept": BROWSER}))
    unplaced = page.split('id="unplaced-h"', 1)[1]
    assert 'href="/id/tahiti">Tahiti</a>' in unplaced and "not linked to Wikidata" in unplaced
    assert "Papeete" not in unplaced and "Fort-Dauphin" not in unplaced


def test_projection_agrees_with_d3():
    for check in geo.projection()["checks"]:
        x, y = geo.project(check["lon"], check["lat"])
        assert abs(x - check["xy"][0]) < 0.01 and abs(y - check["xy"][1]) < 0.01
    assert geo.project(-30.0, 0.0) is None  # the Atlantic is outside the frame


def test_validation_form_reports_by_focus_node_and_stores_nothing(client):
    planted = (FIXTURES / "planted-error.ttl").read_text()
    response = client.post("/validate/form", data={"data": planted, "format": "turtle"})
    page = _text(response)
    assert response.status_code == 200
    assert "Does not conform: 1 problem in 1 node" in page
    assert "<code>fipid:case-link-no-provenance</code>" in page
    assert "needs provenance" in page
    check = client.get("/sparql", query_string={"query": "ASK { fipid:case-link-no-provenance ?p ?o }"},
                       headers={"Accept": "application/sparql-results+json"})
    assert check.get_json()["boolean"] is False


def test_validation_form_reports_syntax_errors_with_their_line(client):
    response = client.post("/validate/form", data={"data": "@prefix ex: <http://e/> .\nex:a ex:b .",
                                                   "format": "turtle"})
    assert response.status_code == 400
    assert "line 2" in _text(response) or ":2:" in _text(response)


def test_static_files_need_no_network(client):
    for name in ("vendor/codemirror.js", "vendor/countries.json", "js/query.js", "js/map.js",
                 "css/site.css", "favicon.svg"):
        response = client.get("/static/" + name)
        assert response.status_code == 200, name
        assert not re.search(rb"https?://(?!www\.w3\.org|w3id\.org|purl\.org|schema\.org|"
                             rb"xmlns\.com|rdfs\.org|www\.wikidata\.org|creativecommons)"
                             rb"[a-z0-9.-]+\.[a-z]{2,}/[^\s\"']*\.(js|css|woff2?|png|json)",
                             response.data), name  # nothing fetched from elsewhere
        response.close()
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    icon.close()


@pytest.mark.parametrize("path, accept", [
    *[(path, BROWSER) for path in ("/id/dcsd", "/ontology", "/map", "/map.json", "/dataset",
                                   "/network", "/network.json")],
    ("/.well-known/void", "text/turtle"), ("/sparql", "text/turtle"),  # VoID, service
    ("/reconcile?queries=%7B%22q0%22%3A%7B%22query%22%3A%22DCSD%22%7D%7D", "*/*")])
def test_pages_read_through_the_engine_never_the_live_store(client, monkeypatch, path, accept):
    """Every page, description and index queries through the executor of /sparql (its
    timeout, its cache), never KnowledgeGraph.query in the server thread."""
    def live(*args, **kwargs):
        raise AssertionError(f"{path} queried the live store")

    monkeypatch.setattr(KnowledgeGraph, "query", live)
    answer = client.get(path, headers={"Accept": accept})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:2000]
