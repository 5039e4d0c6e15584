"""The web pages in a real browser: Debian's Chromium, driven by Playwright, against a real
`kg serve` process.

The server holds the bundled data plus two test files: Wikidata-shaped ISO codes and
coordinates, cities included (tests/fixtures/web/wikidata-snapshot.ttl) and hostile labels
(tests/fixtures/web/hostile.ttl). Every page is checked for console errors, failed
requests and script that should not run.

Without Chromium (/usr/bin/chromium) or Playwright these tests are skipped with a message;
KG_REQUIRE_BROWSER=1 (set by .ci/run) turns the skip into a failure. KG_SCREENSHOTS=DIR saves
the README's screenshots there (docs/screenshots).
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from helpers import LocalHTTP, free_port, wait_until_up, web_bundle

pytestmark = pytest.mark.slow  # a browser

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "web"
CHROMIUM = os.environ.get("KG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
SCREENSHOTS = os.environ.get("KG_SCREENSHOTS")


def _unavailable(reason: str):
    message = (f"browser tests need {reason}: apt-get install chromium chromium-driver; "
               "pip install -e '.[test]' (never `playwright install`)")
    if os.environ.get("KG_REQUIRE_BROWSER") == "1":
        pytest.fail(message + " — KG_REQUIRE_BROWSER=1 makes them mandatory", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium under Playwright, or a skip (a failure with KG_REQUIRE_BROWSER=1)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Python package playwright")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"Chromium at {CHROMIUM}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A `kg serve` process over the bundled files plus the test fixtures; yields its URL."""
    # the README's pictures show the real data only
    bundle = web_bundle(tmp_path_factory.mktemp("bundle"), hostile=not SCREENSHOTS)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "kg", "serve", "--port", str(port), "--workers", "1"],
        env={**os.environ, "KG_BUNDLE_DIR": str(bundle),  # and the code of this checkout
             "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"),
                                                         os.environ.get("PYTHONPATH")]))},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, cwd=bundle)
    url = f"http://127.0.0.1:{port}/"
    wait_until_up(url + "sparql?query=ASK%7B%7D", process, what="kg serve")
    yield url
    process.terminate()
    process.communicate(timeout=30)


class Watched:
    """A page with everything that went wrong on it: console errors, uncaught exceptions,
    failed requests, HTTP errors and dialogs (alert/confirm: an injected script ran)."""

    def __init__(self, page, base: str) -> None:
        self.page, self.base, self.problems = page, base, []
        page.on("console", lambda msg: msg.type == "error" and self.problems.append(
            f"console: {msg.text}"))
        page.on("pageerror", lambda exc: self.problems.append(f"exception: {exc}"))
        page.on("requestfailed", lambda req: self.problems.append(
            f"failed: {req.url} {req.failure}"))
        page.on("response", lambda res: res.status >= 400 and self.problems.append(
            f"HTTP {res.status}: {res.request.method} {res.url}"))
        page.on("dialog", lambda dialog: (self.problems.append(f"dialog: {dialog.message}"),
                                          dialog.dismiss()))

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path.lstrip("/"))
        self.page.wait_for_load_state("networkidle")

    def assert_clean(self, *expected: str) -> None:
        """No problem but the ``expected`` ones (regular expressions)."""
        unexpected = [p for p in self.problems if not any(re.search(e, p) for e in expected)]
        assert not unexpected, "\n".join(unexpected)
        assert self.page.evaluate("window.__kgPwned") is None

    def screenshot(self, name: str, **options) -> None:
        folder = Path(SCREENSHOTS) if SCREENSHOTS else None
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(folder / name), **options)


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield Watched(context.new_page(), site)
    context.close()


@pytest.fixture
def phone(browser, site):
    context = browser.new_context(viewport={"width": 375, "height": 800}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    yield Watched(context.new_page(), site)
    context.close()


def _needs_hostile_data() -> None:
    if SCREENSHOTS:
        pytest.skip("KG_SCREENSHOTS is set: the server runs without the hostile data")


def _editor_text(page) -> str:
    return page.locator(".cm-content").inner_text()


def test_query_page_runs_an_example(page):
    page.goto("/")
    assert page.page.locator(".cm-editor").is_visible()
    page.page.select_option("#examples", "cq-24")
    assert "Under which agreement" in page.page.locator("#question").inner_text()
    assert "fip:underAgreement" in _editor_text(page.page)
    page.page.locator(".cm-content").press("Control+Enter")
    page.page.wait_for_selector(".results-table tbody tr")
    rows = page.page.locator(".results-table tbody tr").all_inner_texts()
    assert sorted(re.sub(r"\s+", " ", row).strip() for row in rows) == [
        "2020-01-01 xsd:date time:unitYear fipid:france",
        "2020-01-01 xsd:date time:unitYear fipid:mongolia"]
    assert page.page.locator("#status").inner_text().startswith("2 rows in ")
    link = page.page.locator(".results-table a", has_text="fipid:mongolia").first
    assert link.get_attribute("href") == "/id/mongolia"
    downloads = page.page.locator("#downloads a").all_inner_texts()
    assert downloads == ["JSON", "CSV", "TSV", "XML"]
    csv = page.page.evaluate("url => fetch(url).then(r => r.text())",
                             page.page.locator("#downloads a", has_text="CSV").get_attribute("href"))
    assert csv.splitlines()[0] == "signed,precision,party"
    page.screenshot("query.png")
    page.assert_clean()


def test_a_shared_link_with_a_dataset_answers_as_the_endpoint_does(page):
    # a link someone shares: a query and the SPARQL protocol's dataset parameters
    graph = "https://w3id.org/fr-indopacific/graph/"
    params = [("query", "SELECT ?in (COUNT(*) AS ?n) WHERE { { ?s ?p ?o BIND(\"default\" AS ?in) }"
                        " UNION { GRAPH ?g { ?s ?p ?o } BIND(STR(?g) AS ?in) } } GROUP BY ?in"),
              ("default-graph-uri", graph + "ontology"), ("named-graph-uri", graph + "factsheet")]
    with urllib.request.urlopen(urllib.request.Request(
            page.base + "sparql?" + urllib.parse.urlencode(params),
            headers={"Accept": "application/sparql-results+json"}), timeout=60) as response:
        bindings = json.load(response)["results"]["bindings"]
    expected = sorted(f"{row['in']['value']} {row['n']['value']}" for row in bindings)
    assert [row.split()[0] for row in expected] == ["default", graph + "factsheet"]
    page.goto("/?" + urllib.parse.urlencode(params))
    page.page.wait_for_selector(".results-table tbody tr")
    rows = page.page.locator(".results-table tbody tr").all_inner_texts()
    assert sorted(re.sub(r"\s+", " ", row).strip().replace(" xsd:integer", "")
                  for row in rows) == expected
    assert graph + "ontology" in page.page.locator("#dataset").inner_text()
    csv = page.page.locator("#downloads a", has_text="CSV").get_attribute("href")
    assert urllib.parse.parse_qs(csv.split("?", 1)[1])["default-graph-uri"] == [graph + "ontology"]
    page.assert_clean()


def test_query_errors_show_the_parser_position(page):
    page.goto("/")
    editor = page.page.locator(".cm-content")
    editor.click()
    page.page.keyboard.press("Control+A")
    # (typing over a selection makes Chromium's editing engine try an inline style
    # attribute, which the CSP blocks with a console message; delete first, as many do)
    page.page.keyboard.press("Backspace")
    page.page.keyboard.insert_text("SELECT ?s WHERE {\n  ?s ?p ?o\n  FILTER(\n}")
    page.page.get_by_role("button", name="Run query").click()
    error = page.page.locator("#error")
    error.wait_for()
    assert "line 4" in error.inner_text()
    assert page.page.locator(".cm-sparql-error").count() == 1
    page.assert_clean(r"HTTP 400: POST .*/sparql", r"console: Failed to load resource.*400")


def test_literals_keep_their_language_tags(page):
    page.goto("/sparql?query=" + urllib.request.quote(
        "SELECT ?l WHERE { fipid:mongolia rdfs:label ?l } ORDER BY ?l"))
    page.page.wait_for_selector(".results-table tbody tr")
    cells = page.page.locator(".results-table td").all_inner_texts()
    assert [re.sub(r"\s+", " ", c) for c in cells] == ["Mongolia @en", "Mongolie @fr"]
    assert page.page.locator(".results-table td span[lang=fr]").inner_text() == "Mongolie"
    page.assert_clean()


def test_entity_page_shows_quotes_and_cooperation(page):
    page.goto("/id/mongolia")
    assert page.page.locator("h1").inner_text() == "Mongolia"
    assert page.page.locator(".alt-label [lang=fr]").inner_text() == "Mongolie"
    quotes = page.page.locator("figure.quote blockquote").all_inner_texts()
    assert any("following an agreement signed in 2020" in q for q in quotes)
    assert any("Mongolian Emergency Management Agency (NEMA)" in q for q in quotes)
    sentences = [re.sub(r"\s+", " ", s) for s in
                 page.page.locator("ol.cooperation li").all_inner_texts()]
    assert any(s.startswith("France — expert secondment — Mongolia (NEMA)") and
               s.endswith(": civil protection details") for s in sentences), sentences
    assert any("— Mongolia, Mongolia (Mongolian rescue teams), in Mongolia, 2020: civil "
               "protection" in s for s in sentences), sentences
    assert page.page.locator("a.wikidata").get_attribute("href") == \
        "http://www.wikidata.org/entity/Q711"
    assert page.page.locator("a[type='text/turtle']").get_attribute("href") == "?format=turtle"
    page.screenshot("entity.png", full_page=True)
    page.page.locator("a[type='text/turtle']").click()
    page.page.wait_for_load_state()
    assert '"Mongolie"@fr' in page.page.content()
    page.assert_clean()


def test_validation_form_reports_a_planted_error(page):
    page.goto("/validate")
    planted = FIXTURES / "planted-error.ttl"
    page.page.fill("#data", planted.read_text(encoding="utf-8"))
    page.page.get_by_role("button", name="Validate").click()
    page.page.wait_for_selector("#report")
    assert page.page.locator("#report-h").inner_text().startswith("Does not conform: 1 problem")
    focus = page.page.locator(".report .focus")
    assert "fipid:case-link-no-provenance" in focus.locator("h3").inner_text()
    assert "prov:wasDerivedFrom" in focus.locator(".finding").inner_text()
    assert "needs provenance" in focus.locator(".message").inner_text()
    # the form keeps the text, and nothing was stored
    assert "case-link-no-provenance" in page.page.input_value("#data")
    page.goto("/id/case-link-no-provenance")
    page.assert_clean(r"HTTP 404: GET .*/id/case-link-no-provenance",
                      r"console: Failed to load resource.*404")


def test_map_draws_and_a_click_navigates(page):
    page.goto("/map")
    page.page.wait_for_selector("#map svg path.country")
    coloured = page.page.locator("#map path.country").count()
    assert coloured >= 25  # the countries of the stand-in snapshot (France's shape included)
    assert page.page.locator("#map a.h-civil-security path[data-iri$='/id/mongolia']").count() == 1
    assert page.page.locator("#map circle.place").count() >= 7  # cities, Tahiti, tiny states
    page.screenshot("map.png", full_page=True)
    page.page.locator("#map path[data-iri$='/id/mongolia']").click(position={"x": 30, "y": 30})
    page.page.wait_for_url("**/id/mongolia")
    assert page.page.locator("h1").inner_text() == "Mongolia"
    assert page.page.locator("ol.cooperation li").count() >= 3
    page.assert_clean()


def test_papeete_and_fort_dauphin_are_on_the_map(page):
    """Their points come from the bundled snapshot (Natural Earth's, on their Wikidata
    items), not from the test fixture: the map draws them with no network."""
    page.goto("/map")
    page.page.wait_for_selector("#map circle.place")
    for slug, label in (("papeete", "Papeete"), ("fort-dauphin", "Fort-Dauphin")):
        circle = page.page.locator(f"#map circle.place[data-iri$='/id/{slug}']")
        assert circle.count() == 1, slug
        assert page.page.locator(f"#map a:has(circle[data-iri$='/id/{slug}'])").get_attribute(
            "aria-label").startswith(label + ": ")
        box = circle.bounding_box()
        assert box is not None and box["width"] > 0
    # Fort-Dauphin lies at the south-eastern tip of Madagascar: south of the island's centre
    fort, island = (page.page.locator(f"#map [data-iri$='/id/{slug}']").bounding_box()
                    for slug in ("fort-dauphin", "madagascar"))
    assert fort["y"] > island["y"] + island["height"] / 2
    assert page.page.locator("#unplaced-h").count() == 0  # the fixture places Tahiti too
    # (Papeete's mark lies under the fixture's Tahiti, 0.6 px away: Fort-Dauphin is clicked)
    page.page.locator("#map circle[data-iri$='/id/fort-dauphin']").click()
    page.page.wait_for_url("**/id/fort-dauphin")
    assert page.page.locator("h1").inner_text() == "Fort-Dauphin"
    page.assert_clean()


@pytest.mark.parametrize("path", ["/id/hostile-place", "/id/coop-hostile", "/id/mongolia", "/map",
                                  "/?query=SELECT+%3Fl+%3Fc+%7B+fipid%3Ahostile-place+rdfs%3Alabel"
                                  "%7Crdfs%3Acomment+%3Fl+OPTIONAL+%7B+%3Fc+%3Fp+%3Fl+%7D+%7D",
                                  "/dataset"])
def test_hostile_labels_run_nothing(page, path):
    _needs_hostile_data()
    page.goto(path)
    if path == "/map":
        page.page.wait_for_selector("#map circle.place")
        page.page.locator("#map circle[data-iri$='/id/hostile-place']").hover()
    if "query=" in path:
        page.page.wait_for_selector(".results-table tbody tr")
    text = page.page.locator("main").inner_text()
    if path != "/dataset":
        assert "<img src=x onerror=" in text or "</textarea><svg onload=" in text
    assert page.page.locator("main img, main script, main svg[onload], main textarea + svg"
                             ).count() == 0
    page.page.locator("main a").first.focus()
    page.assert_clean()


def test_javascript_iris_are_not_links(page):
    _needs_hostile_data()
    page.goto("/id/hostile-place")
    assert page.page.locator("a[href^='javascript:']").count() == 0
    assert page.page.get_by_text("javascript:window.__kgPwned=5").count() >= 1
    page.assert_clean()


@pytest.mark.parametrize("path", ["/ontology", "/dataset", "/validate", "/id/dcsd"])
def test_pages_load_cleanly(page, path):
    page.goto(path)
    assert page.page.locator("h1").count() == 1
    if path == "/ontology":
        assert page.page.locator("svg.diagram a.node").count() >= 10
        page.page.locator("a[href='#CooperationLink']").first.click()
        assert page.page.locator("#CooperationLink h3").is_visible()
    page.assert_clean()


def test_keyboard_reaches_the_editor_and_runs_a_query(page):
    page.goto("/")
    page.page.keyboard.press("Tab")  # the skip link comes first
    assert page.page.evaluate("document.activeElement.className") == "skip"
    page.page.keyboard.press("Enter")
    page.page.locator(".cm-content").focus()
    page.page.keyboard.press("Control+Enter")
    page.page.wait_for_selector(".results-table tbody tr")
    page.assert_clean()


@pytest.mark.parametrize("path, name", [("/", "query-375.png"), ("/id/mongolia", "entity-375.png"),
                                        ("/map", "map-375.png"), ("/ontology", None)])
def test_works_375_pixels_wide(phone, path, name):
    phone.goto(path)
    if path == "/map":
        phone.page.wait_for_selector("#map svg")
    overflow = phone.page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= 375, f"{path} is {overflow}px wide on a 375px screen"
    if name:
        phone.screenshot(name)
    phone.assert_clean()



@pytest.fixture
def other_origin():
    """A local server of another origin whose page shows the ``src`` of each iframe it is
    given, as OpenRefine's page (http://127.0.0.1:3333) shows the preview."""
    def page(request):
        frames = "".join(f'<iframe name="{name}" src="{html.escape(src)}"></iframe>'
                         for name, src in urllib.parse.parse_qsl(request["path"][2:]))
        return 200, "text/html; charset=utf-8", f"<!DOCTYPE html>{frames}".encode()

    site = LocalHTTP(page)
    yield site.url
    site.close()


def test_another_site_may_frame_the_preview_and_no_other_page(page, other_origin):
    page.page.goto(other_origin + "?" + urllib.parse.urlencode(
        {"preview": page.base + "reconcile/preview?id=dcsd", "query": page.base}))
    page.page.wait_for_load_state("networkidle")
    preview = page.page.frame(name="preview")
    assert "Directorate for Security and Defence Cooperation" in preview.inner_text("body")
    assert preview.evaluate("getComputedStyle(document.body).margin") == "4px"  # styled
    assert page.page.frame(name="query").url.startswith("chrome-error:")  # refused
    page.assert_clean(f"console: Framing '{re.escape(page.base)}' violates .*"
                      "\"frame-ancestors 'none'\"",
                      f"failed: {re.escape(page.base)} net::ERR_BLOCKED_BY_RESPONSE")


# -- the network page ----------------------------------------------------------------------

def _network(page) -> dict:
    """Open /network with every request recorded; wait for the picture; return the JSON."""
    page.requests = []
    page.page.on("request", lambda request: page.requests.append(request.url))
    page.goto("/network")
    page.page.wait_for_selector("#network[aria-busy='false'] canvas")
    return page.page.evaluate("fetch('/network.json').then(r => r.json())")


def _node_point(page, iri: str) -> tuple[float, float]:
    box = page.page.locator("#network").bounding_box()
    x, y = page.page.evaluate(
        "iri => { const p = document.getElementById('network').cy.getElementById(iri)"
        ".renderedPosition(); return [p.x, p.y]; }", iri)
    return box["x"] + x, box["y"] + y


def test_network_draws_every_agent_and_link_from_the_server_alone(page):
    data = _network(page)
    holder = page.page.locator("#network")
    assert int(holder.get_attribute("data-nodes")) == len(data["nodes"]) > 50
    assert int(holder.get_attribute("data-edges")) == len(data["edges"]) > 50
    assert page.page.locator("#network canvas").count() >= 1
    # no request leaves the server: no CDN, no tiles, no fonts from elsewhere
    assert page.requests and all(url.startswith(page.base) for url in page.requests)
    page.screenshot("network.png", full_page=False)
    page.assert_clean()


def test_network_filters_by_domain_year_and_type(page):
    data = _network(page)
    holder = page.page.locator("#network")
    for select, value, keep in [
            ("#filter-domain", "civil protection", lambda e: "civil protection" in e["domain"]),
            ("#filter-year", "2019", lambda e: e.get("year") == 2019),
            ("#filter-type", "training", lambda e: "training" in e["cooperation_type"])]:
        page.page.select_option(select, value)
        assert int(holder.get_attribute("data-edges")) == sum(map(keep, data["edges"])) > 0
        page.page.select_option(select, "")
    assert int(holder.get_attribute("data-edges")) == len(data["edges"])
    page.assert_clean()


def test_a_node_opens_its_entity_page(page):
    _network(page)
    x, y = _node_point(page, "https://w3id.org/fr-indopacific/id/mongolia")
    with page.page.expect_navigation():
        page.page.mouse.click(x, y)
    assert page.page.url == page.base + "id/mongolia"
    page.assert_clean()


def test_network_hostile_labels_run_nothing(page):
    _needs_hostile_data()
    data = _network(page)
    hostile = next(i for i, e in enumerate(data["edges"]) if e["link"].endswith("/coop-hostile"))
    # the hostile link's label and sentence go into the detail line; its place is an agent
    page.page.evaluate(f"document.getElementById('network').cy.getElementById('e{hostile}')"
                       ".emit('tap')")
    assert "</textarea><svg onload=" in page.page.locator("#network-detail").inner_text()
    page.page.mouse.move(*_node_point(page, "https://w3id.org/fr-indopacific/id/hostile-place"))
    assert "<img src=x onerror=" in page.page.locator("main").inner_text()
    assert page.page.locator("main img, main script, main svg").count() == 0
    page.assert_clean()


def test_network_works_375_pixels_wide(phone):
    phone.goto("/network")
    phone.page.wait_for_selector("#network[aria-busy='false'] canvas")
    overflow = phone.page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= 375, f"/network is {overflow}px wide on a 375px screen"
    phone.assert_clean()
