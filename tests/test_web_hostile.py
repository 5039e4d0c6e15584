"""Every page that shows data, over a graph full of hostile text: labels, definitions, change-log
entries, graph names, queries and paths written to run script. Each page is parsed as HTML
and must hold no script but the site's own files, no event-handler attribute and no
``javascript:`` link, and carry the Content-Security-Policy. (The browser tests check, in
Chromium, that nothing runs on the entity pages and the map.)"""

from __future__ import annotations

import html.parser
import urllib.parse

import pytest

from helpers import REPO, web_bundle
from kg import Source
from kg.web.extensions import get_store
from kg.namespaces import GRAPHS

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
PAYLOAD = "\"'><script>alert(1)</script><img src=x onerror=alert(2)><svg onload=alert(3)>"

HOSTILE_ONTOLOGY = f"""@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix fip: <https://w3id.org/fr-indopacific/ontology#> .
fip:HostileClass a owl:Class ; rdfs:label {PAYLOAD!r}@en ;
    skos:definition {PAYLOAD!r}@en ; rdfs:comment {PAYLOAD!r} ;
    rdfs:isDefinedBy <https://w3id.org/fr-indopacific/ontology> ;
    rdfs:subClassOf <javascript:alert(4)> .
fip:hostileProperty a owl:ObjectProperty ; rdfs:label {PAYLOAD!r}@en ;
    rdfs:domain fip:HostileClass ; rdfs:range fip:HostileClass ;
    rdfs:isDefinedBy <https://w3id.org/fr-indopacific/ontology> .
"""
HOSTILE_CHANGES = f"""@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<urn:x-change:1> a prov:Activity ; prov:endedAtTime "2026-01-01T00:00:00Z"^^xsd:dateTime ;
    rdfs:label {PAYLOAD!r} ; prov:wasAssociatedWith <javascript:alert(5)> .
<https://w3id.org/fr-indopacific/id/hostile-place> rdfs:label {PAYLOAD!r}@en .
"""


class _Audit(html.parser.HTMLParser):
    """Collects what could run: inline scripts, event handlers, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self._in_script = True
            if not (attributes.get("src") or "").startswith("/static/"):
                self.problems.append(f"inline or foreign script {attrs}")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler {name}={value!r} on <{tag}>")
            if name in ("href", "src", "action", "formaction", "data") and value and \
                    value.strip().lower().startswith(("javascript:", "data:text/html")):
                self.problems.append(f"{name}={value!r} on <{tag}>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append(f"script body {data[:60]!r}")


@pytest.fixture(scope="module")
def client(tmp_path_factory, make_shared_app):
    """The app over the bundled files, hostile labels, a hostile ontology term and a hostile
    change-log entry in the user graph."""
    bundle = web_bundle(tmp_path_factory.mktemp("bundle"))
    (bundle / "ontology").unlink()
    (bundle / "ontology").mkdir()
    for path in (REPO / "ontology").glob("*.ttl"):
        (bundle / "ontology" / path.name).symlink_to(path)
    (bundle / "ontology" / "zz-hostile.ttl").write_text(HOSTILE_ONTOLOGY, encoding="utf-8")
    app = make_shared_app(workers=0, bundle_dir=str(bundle))
    with app.app_context():
        get_store().load([Source("changes.ttl", HOSTILE_CHANGES.encode())],
                         graph=GRAPHS["user"])
    return app.test_client()


def _quoted(text: str) -> str:
    return urllib.parse.quote(text, safe="")


PAGES = ["/", "/?query=" + _quoted("SELECT * { ?s ?p " + PAYLOAD + " }"),
         "/?query=ASK%7B%7D&default-graph-uri=" + _quoted(PAYLOAD),
         "/sparql?query=" + _quoted("</textarea>" + PAYLOAD), "/id/hostile-place",
         "/id/coop-hostile", "/ontology", "/map", "/dataset", "/validate",
         "/id/" + _quoted(PAYLOAD), "/" + _quoted(PAYLOAD), "/static/" + _quoted(PAYLOAD),
         "/reconcile/preview?id=hostile-place", "/reconcile/preview?id=" + _quoted(PAYLOAD)]


@pytest.mark.parametrize("path", PAGES)
def test_no_page_runs_hostile_text(client, path):
    response = client.get(path, headers={"Accept": BROWSER})
    assert response.status_code in (200, 400, 404), path
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "'unsafe-inline'" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    if response.mimetype != "text/html":
        assert "<script>" not in response.get_data(as_text=True)
        return
    audit = _Audit()
    audit.feed(response.get_data(as_text=True))
    assert audit.problems == [], path


def test_the_hostile_text_is_shown_as_text(client):
    for path in ("/id/hostile-place", "/ontology", "/dataset"):
        page = client.get(path, headers={"Accept": BROWSER}).get_data(as_text=True)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path


def test_the_validation_report_escapes_what_was_pasted(client):
    data = ("@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
            f"<https://w3id.org/fr-indopacific/id/new> a <https://w3id.org/fr-indopacific/ontology#CooperationLink> ; rdfs:label {PAYLOAD!r} .")
    for text in (data, data[:-2] + PAYLOAD):  # a report, and a syntax error quoting the input
        response = client.post("/validate/form", data={"data": text, "format": "turtle"},
                               headers={"Accept": BROWSER})
        assert response.status_code in (200, 400)
        audit = _Audit()
        audit.feed(response.get_data(as_text=True))
        assert audit.problems == []
