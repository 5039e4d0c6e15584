"""The Reconciliation Service API over real HTTP, in the shape OpenRefine sends it: the
manifest by GET, batches of queries in a ``queries`` form field by POST, preview, suggest."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest

from helpers import free_port, kg_environment, wait_until_up


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The base URL of a `kg serve` process (queries in the server process: --workers 0)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "kg", "serve", "--port", str(port), "--workers", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=kg_environment(),
        cwd=tmp_path_factory.mktemp("reconcile"))
    url = f"http://127.0.0.1:{port}/"
    wait_until_up(url + "reconcile", process, what="kg serve")
    yield url
    process.terminate()
    process.wait(30)


def _call(url: str, form: dict | None = None) -> tuple[int, str, bytes]:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    # OpenRefine posts application/x-www-form-urlencoded with its own User-Agent
    request = urllib.request.Request(url, data=data, headers={"User-Agent": "OpenRefine/3.8"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers["Content-Type"], error.read()


def test_manifest(server):
    status, content_type, body = _call(server + "reconcile")
    assert status == 200 and content_type.startswith("application/json")
    manifest = json.loads(body)
    assert manifest["versions"] == ["0.2"]
    assert manifest["identifierSpace"] == "https://w3id.org/fr-indopacific/id/"
    assert manifest["view"]["url"] == server + "id/{{id}}"
    assert any(t["id"] == "org:Organization" for t in manifest["defaultTypes"])
    assert manifest["suggest"]["entity"]["service_path"] == "/reconcile/suggest/entity"
    preview = manifest["preview"]["url"].replace("{{id}}", "dcsd")
    status, content_type, body = _call(preview)
    assert status == 200 and content_type.startswith("text/html")
    assert b"Directorate for Security and Defence Cooperation" in body


def test_a_batch_of_queries_as_openrefine_sends_it(server):
    queries = {
        "q0": {"query": "DCSD", "type": "org:Organization", "type_strict": "should", "limit": 3},
        "q1": {"query": "Madagascar", "type": "schema:Country"},
        "q2": {"query": "Information Fusion Centre", "type": "org:Organization",
               "properties": [{"pid": "fip:basedIn", "v": "Singapore"}]},
        "q3": {"query": "Fusion centre"},
        "q4": {"query": "Madagascar", "type": "org:Organization"},
    }
    status, content_type, body = _call(server + "reconcile",
                                       {"queries": json.dumps(queries)})
    assert status == 200, body
    answers = json.loads(body)
    assert set(answers) == set(queries)
    best = answers["q0"]["result"][0]
    assert (best["id"], best["match"], best["score"]) == ("dcsd", True, 100.0)
    assert {"id": "fip:Directorate", "name": "directorate"} in best["type"]
    assert len(answers["q0"]["result"]) <= 3
    assert answers["q1"]["result"][0]["id"] == "madagascar"
    assert answers["q1"]["result"][0]["match"] is True
    assert answers["q2"]["result"][0]["id"] == "ifc-singapore"
    assert answers["q2"]["result"][0]["match"] is True
    # a vague name gets candidates but no match: the curator decides
    assert answers["q3"]["result"] and not any(c["match"] for c in answers["q3"]["result"])
    # the type constraint keeps the country out of an organisation column
    assert all(c["id"] != "madagascar" for c in answers["q4"]["result"])
    scores = [c["score"] for c in answers["q3"]["result"]]
    assert scores == sorted(scores, reverse=True)


def test_suggest_services(server):
    status, _, body = _call(server + "reconcile/suggest/entity?prefix=ocr")
    assert status == 200 and json.loads(body)["result"][0]["id"] == "ocrvp"
    status, _, body = _call(server + "reconcile/suggest/type?prefix=direct")
    assert any(hit["id"] == "fip:Directorate" for hit in json.loads(body)["result"])
    status, _, body = _call(server + "reconcile/suggest/property?prefix=based")
    assert json.loads(body)["result"][0] == {"id": "fip:basedIn", "name": "based in",
                                             "description": "fip:basedIn"}


@pytest.mark.parametrize("form, status, message", [
    ({"queries": "{not json"}, 400, b"not JSON"),
    ({"queries": '["DCSD"]'}, 400, b"JSON object"),
    ({"queries": '{"q0": {"query": 3}}'}, 400, b"'query' string"),
    ({"queries": '{"q0": {"query": "x", "limit": "many"}}'}, 400, b"limit"),
])
def test_bad_queries_get_a_clear_400(server, form, status, message):
    code, content_type, body = _call(server + "reconcile", form)
    assert code == status and message in body


def test_unknown_preview_and_suggest_kind_are_404(server):
    assert _call(server + "reconcile/preview?id=nobody")[0] == 404
    assert _call(server + "reconcile/suggest/nothing?prefix=a")[0] == 404


def _headers(url: str):
    request = urllib.request.Request(url, headers={"Accept": "text/html"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.headers
    except urllib.error.HTTPError as error:
        with error:
            return error.headers


def test_openrefine_may_frame_the_preview_and_nothing_else(server):
    # OpenRefine shows the preview in an iframe on its own origin (http://127.0.0.1:3333)
    for path in ("reconcile/preview?id=dcsd", "reconcile/preview?id=nobody"):
        headers = _headers(server + path)
        assert "frame-ancestors *" in headers["Content-Security-Policy"], path
        assert "X-Frame-Options" not in headers, path
    for path in ("", "sparql?query=ASK%7B%7D", "id/dcsd", "reconcile", "map", "ontology",
                 "reconcile/suggest/entity?prefix=D", "no-such-page"):
        headers = _headers(server + path)
        assert headers["Content-Security-Policy"].endswith("frame-ancestors 'none'"), path
        assert headers["X-Frame-Options"] == "DENY", path


def test_the_preview_is_styled_within_its_content_security_policy(server):
    status, _, body = _call(server + "reconcile/preview?id=dcsd")
    headers = _headers(server + "reconcile/preview?id=dcsd")
    nonce = re.search(r"'nonce-([^']+)'", headers["Content-Security-Policy"])
    page = body.decode()
    assert status == 200 and nonce and " style=" not in page  # attributes are refused
    assert re.search(r'<style nonce="[^"]+">body\{', page)
