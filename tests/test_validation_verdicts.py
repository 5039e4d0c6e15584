"""One validator behind every door: `kg validate`, `POST /validate` and a gated write agree.

For a case of each class of mistake (#20) — a SPARQL check, an ill-typed literal, a typo in
the project's namespaces, a dangling project IRI, a shape gap — and for valid additions
beside them, the three entry points give the same verdict. Also: an ill-typed literal
brings no traceback on stderr, and `kg validate --shapes` adds a researcher's shapes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyoxigraph import RdfFormat, parse

from kg import Config, KnowledgeGraph
from kg.cli import main
from kg.errors import UsageError, ValidationFailedError
from kg.namespaces import GRAPHS
from kg.writes.writer import Writer

from test_shapes import CASES_DIR, case_graph

pytestmark = pytest.mark.slow  # the three doors: the command, the endpoint and the API, for every case

CLASSES = {
    "SPARQL check": "checks/sentence-position-taken.ttl",
    "SPARQL check (duplicate)": "checks/same-organisation-twice.ttl",
    "SPARQL check over named graphs": "checks/curator-triple-in-another-graph.ttl",
    "ill-typed literal under a shape": "invalid/beyond-the-shapes/year-month-out-of-range.ttl",
    "ill-typed literal where no shape looks":
        "invalid/beyond-the-shapes/date-out-of-range-where-no-shape-looks.ttl",
    "misspelt fip: class": "invalid/beyond-the-shapes/misspelt-fip-class.ttl",
    "undescribed fipid: IRI": "invalid/beyond-the-shapes/undescribed-project-iri.ttl",
    "a property named for its value": "invalid/beyond-the-shapes/property-named-for-its-value.ttl",
    "a place's property on an organisation":
        "invalid/beyond-the-shapes/place-property-on-an-organisation.ttl",
    "negative bound": "invalid/quantities/negative-lower-bound.ttl",
    "markup in a name": "invalid/text-and-identifiers/name-with-markup.ttl",
    "valid: another fact sheet's link": "valid/another-fact-sheet-link-with-its-sentence.ttl",
    "valid: a third language": "valid/label-in-a-third-language.ttl",
    "valid: a new place": "valid/new-place-part-of-a-country.ttl",
    "valid: a new quantity": "valid/new-quantity-with-unit-and-hedge.ttl",
    "valid: well-typed dates": "valid/well-typed-dates.ttl",
    "valid: a name in its language": "valid/name-tagged-in-its-language.ttl",
    "valid: a curator's statement in the curators' graph":
        "valid/curated-organisation-with-french-name.ttl",
    "warning only: a French name tagged @en":
        "invalid/text-and-identifiers/french-name-tagged-english.ttl",
}


@pytest.fixture(scope="module")
def client(make_shared_app):
    app = make_shared_app(workers=0)
    return app.test_client()


def _cli_conforms(runner, path: Path) -> bool:
    done = runner.invoke(main, ["-q", "validate", "--format", "json", "--graph",
                                case_graph(path), str(path)], catch_exceptions=False)
    assert done.exit_code in (0, 1), done.output
    assert json.loads(done.stdout)["conforms"] == (done.exit_code == 0)
    return done.exit_code == 0


def _endpoint_conforms(client, path: Path) -> bool:
    response = client.post("/validate", query_string={"graph": case_graph(path)},
                           data=path.read_bytes(), headers={"Content-Type": "text/turtle"})
    assert response.status_code == 200
    return response.get_json()["conforms"]


def _write_conforms(path: Path) -> bool:
    # a curator's case goes to the curators' graph, as a server that allows it writes there
    config = Config.load({"allow_curated_writes": True}, environ={})
    kg = KnowledgeGraph.open(config)
    writer = Writer(kg, config=config)
    before = len(kg)
    try:
        writer.add_to_graph(case_graph(path), parse(path=str(path), format=RdfFormat.TURTLE),
                            agent="test")
    except ValidationFailedError:
        assert len(kg) == before  # a refused write loses nothing and adds nothing
        return False
    return True


@pytest.mark.parametrize("name", CLASSES)
def test_the_three_doors_give_one_verdict(name, client, runner):
    path = CASES_DIR / CLASSES[name]
    expected = name.startswith(("valid", "warning"))
    assert _cli_conforms(runner, path) == expected
    assert _endpoint_conforms(client, path) == expected
    assert _write_conforms(path) == expected


def test_an_ill_typed_literal_gives_the_report_and_no_traceback(run_kg):
    case = CASES_DIR / "invalid/beyond-the-shapes/date-out-of-range-where-no-shape-looks.ttl"
    done = run_kg("-q", "validate", str(case))
    assert done.returncode == 1
    assert done.stderr == b"", done.stderr.decode()
    assert b'"2026-13-45" is not a valid xsd:date' in done.stdout
    assert b"Traceback" not in done.stdout


@pytest.mark.parametrize("case, shapes", [
    # the lexical check and pySHACL's sh:datatype: the lexical check names the datatype
    ("invalid/beyond-the-shapes/year-month-out-of-range.ttl", ["fipsh:LexicalFormCheck"]),
    # a shape, the text-without-language check and the lint's language-tag warning
    ("invalid/text-and-identifiers/label-without-language.ttl", ["fipsh:LabelShape"]),
    # the lint (with its suggestion) and the undeclared-fip-term check
    ("invalid/beyond-the-shapes/misspelt-fip-class.ttl", ["fipsh:UndeclaredTermCheck"])],
    ids=["literal", "shape and check", "lint and check"])
def test_each_problem_is_reported_once(client, runner, case, shapes):
    """A mistake that two parts of the validator see is one result, by the one that says
    most (or that the case names)."""
    posted = client.post("/validate", data=(CASES_DIR / case).read_bytes(),
                         headers={"Content-Type": "text/turtle"}).get_json()["results"]
    done = runner.invoke(main, ["-q", "validate", "--format", "json", str(CASES_DIR / case)],
                         catch_exceptions=False)
    for results in (posted, json.loads(done.stdout)["results"]):
        assert [r["shape"] for r in results] == shapes, results


#: Problems already in the store, in nodes that a submission does not touch but that the
#: validator reads because they point at what it adds: a city (untagged name, ill-typed
#: year) part of a province the submission describes, and a curator's statement derived
#: from a sentence of the sheet and from the note the submission describes.
UNTOUCHED = """@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix schema: <http://schema.org/> .
@prefix fip: <https://w3id.org/fr-indopacific/ontology#> .
@prefix fipid: <https://w3id.org/fr-indopacific/id/> .
fipid:case-untouched-city a schema:City ; rdfs:label "Khon Kaen" ;
    fip:partOf fipid:case-isan ; schema:foundingDate "17x7"^^xsd:gYear .
fipid:case-untouched-statement fip:curatorAssertion true ; rdfs:label "A statement"@en ;
    prov:wasDerivedFrom fipid:case-note-isan , fipid:fs5-s047 .
"""
UNTOUCHED_WORDS = ("case-untouched", "Khon Kaen", "17x7")
#: The submission, in the curators' graph: the province and the note.
SUBMISSION = """@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix fip: <https://w3id.org/fr-indopacific/ontology#> .
@prefix fipid: <https://w3id.org/fr-indopacific/id/> .
fipid:case-isan a fip:Region ; rdfs:label "Isan"@en , "Isan"@fr ; fip:partOf fipid:thailand .
fipid:case-note-isan a fip:CuratorNote ; rdfs:label "Curator note: Isan"@en ;
    rdfs:comment "Isan is the north-east region of Thailand; background knowledge."@en ;
    dcterms:source <https://en.wikipedia.org/wiki/Isan> .
"""


@pytest.fixture(scope="module")
def flawed_bundle(tmp_path_factory) -> Path:
    """The bundled data with the problems of UNTOUCHED loaded as if they had always been there."""
    from helpers import web_bundle

    folder = web_bundle(tmp_path_factory.mktemp("flawed"), hostile=False, test_snapshot=False)
    (folder / "data" / "98-untouched-problems.ttl").write_text(UNTOUCHED, encoding="utf-8")
    return folder


def test_a_report_says_nothing_of_problems_the_submission_does_not_touch(
        flawed_bundle, tmp_path, runner, make_app):
    """The validator reads the flawed nodes (they point at what the submission adds) and
    finds their problems before and after the change alike: none is the submission's."""
    case = tmp_path / "isan.ttl"
    case.write_text(SUBMISSION, encoding="utf-8")
    curation = GRAPHS["curation"]
    config = Config.load({"bundle_dir": flawed_bundle, "allow_curated_writes": True},
                         environ={})
    done = runner.invoke(main, ["-q", "validate", "--format", "json", "--graph", curation,
                                str(case)], env={"KG_BUNDLE_DIR": str(flawed_bundle)},
                         catch_exceptions=False)
    app = make_app(workers=0, bundle_dir=flawed_bundle)
    posted = app.test_client().post("/validate", query_string={"graph": curation},
                                    data=case.read_bytes(),
                                    headers={"Content-Type": "text/turtle"}).get_json()
    written = Writer(KnowledgeGraph.open(config), config=config).add_to_graph(
        curation, parse(path=str(case), format=RdfFormat.TURTLE), agent="test")
    reports = {"kg validate": json.loads(done.stdout), "POST /validate": posted,
               "gated write": {"conforms": written.status == "committed", "results": [
                   f.as_dict() for f in (written.result.results if written.result else ())]}}
    for door, report in reports.items():
        assert report["conforms"], (door, report)
        said = json.dumps(report["results"], ensure_ascii=False)
        assert not any(word in said for word in UNTOUCHED_WORDS), (door, said)


@pytest.mark.parametrize("case, loop", [
    ("invalid/places/place-part-of-itself.ttl",
     "fipid:indo-pacific fip:partOf fipid:madagascar . fipid:madagascar fip:partOf "
     "fipid:indian-ocean . fipid:indian-ocean fip:partOf fipid:indo-pacific ."),
    ("invalid/organisations/organisation-own-ancestor.ttl",
     "fipid:meae org:subOrganizationOf fipid:dcsd . fipid:dcsd org:unitOf fipid:meae .")])
def test_a_cycle_is_reported_with_the_triples_that_form_it(client, case, loop):
    results = client.post("/validate", data=(CASES_DIR / case).read_bytes(),
                          headers={"Content-Type": "text/turtle"}).get_json()["results"]
    focus = loop.split()[0].replace("fipid:", "https://w3id.org/fr-indopacific/id/")
    messages = [r["message"] for r in results if r["focusNode"] == focus]
    assert any(m.endswith("The loop: " + loop) for m in messages), messages


SHAPES = """@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <https://example.org/> .
ex:BookShape a sh:NodeShape ; sh:targetClass ex:Book ;
    sh:property [ sh:path ex:title ; sh:minCount 1 ; sh:message "A book needs an ex:title."@en ] .
"""


@pytest.mark.parametrize("args, expect_fip_warning", [
    ([], True), (["--graph", "https://example.org/my-graph"], False)],
    ids=["added to the project's shapes", "alone, on a graph of one's own"])
def test_validate_with_ones_own_shapes(runner, tmp_path, args, expect_fip_warning):
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text(SHAPES, encoding="utf-8")
    data = tmp_path / "books.ttl"
    data.write_text("@prefix ex: <https://example.org/> .\nex:b1 a ex:Book ; ex:about "
                    "<https://w3id.org/fr-indopacific/id/dcsd> .\nex:b2 a ex:Book ; "
                    'ex:title "A title" .\n', encoding="utf-8")
    done = runner.invoke(main, ["-q", "validate", "--format", "json", "--shapes", str(shapes),
                                *args, str(data)], catch_exceptions=False)
    assert done.exit_code == 1, done.output
    report = json.loads(done.stdout)
    violations = [r for r in report["results"] if r["severity"] == "Violation"]
    assert [(r["focusNode"], r["message"]) for r in violations] == \
        [("https://example.org/b1", "A book needs an ex:title.")]
    # the project's lint speaks about the project's graph only, not about one's own
    assert any("UndeclaredTermCheck" in r["shape"] for r in report["results"]) == \
        expect_fip_warning
    fixed = tmp_path / "fixed.ttl"
    fixed.write_text('@prefix ex: <https://example.org/> .\nex:b1 a ex:Book ; ex:title "T" .\n',
                     encoding="utf-8")
    done = runner.invoke(main, ["-q", "validate", "--shapes", str(shapes), *args, str(fixed)],
                         catch_exceptions=False)
    assert done.exit_code == 0, done.output


# -- a graph of one's own, declared in the server's settings ------------------------------------

OWN = "https://example.org/my-graph"
BAD_BOOKS = ("@prefix ex: <https://example.org/> .\nex:b1 a ex:Book ; ex:about "
             "<https://w3id.org/fr-indopacific/id/dcsd> .\n")
GOOD_BOOKS = '@prefix ex: <https://example.org/> .\nex:b1 a ex:Book ; ex:title "T" .\n'


@pytest.fixture
def own_shapes(tmp_path) -> str:
    """The graph_shapes setting: OWN validated against the book shapes."""
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text(SHAPES, encoding="utf-8")
    return f"{OWN}={shapes}"


def _violations(results: list[dict]) -> list[tuple]:
    return [(r["focusNode"], r["message"]) for r in results if r["severity"] == "Violation"]


def test_the_endpoint_validates_a_declared_graph_against_its_shapes_only(make_app, own_shapes):
    app = make_app(workers=0, graph_shapes=own_shapes)
    client = app.test_client()

    def post(text: str, query: str = f"?graph={OWN}") -> dict:
        response = client.post("/validate" + query, data=text.encode(),
                               headers={"Content-Type": "text/turtle"})
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    report = post(BAD_BOOKS)
    assert not report["conforms"]
    # their shapes only: no word from the project's shapes, checks or lint
    assert _violations(report["results"]) == [("https://example.org/b1",
                                               "A book needs an ex:title.")]
    assert len(report["results"]) == 1
    assert post(GOOD_BOOKS)["conforms"]
    # elsewhere (the user graph) the book shapes do not apply, the project's do
    elsewhere = post(BAD_BOOKS, query="")
    assert not any("ex:title" in r["message"] for r in elsewhere["results"])
    assert client.post("/validate?graph=not%20an%20iri", data=GOOD_BOOKS.encode(),
                       headers={"Content-Type": "text/turtle"}).status_code == 400


def test_a_write_to_a_declared_graph_is_gated_by_its_shapes(own_shapes):
    config = Config.load({"graph_shapes": own_shapes}, environ={})
    kg = KnowledgeGraph.open(config)
    writer = Writer(kg, config=config)
    before = len(kg)
    with pytest.raises(ValidationFailedError) as refused:
        writer.add_to_graph(OWN, parse(BAD_BOOKS.encode(), RdfFormat.TURTLE), agent="test")
    assert [str(f.focus_node) for f in refused.value.result.violations] == \
        ["https://example.org/b1"]
    assert len(kg) == before
    assert writer.add_to_graph(OWN, parse(GOOD_BOOKS.encode(), RdfFormat.TURTLE),
                               agent="test").status == "committed"
    # one update writing to both: each part is validated its own way, in one report
    with pytest.raises(ValidationFailedError) as refused:
        writer.update(f"""PREFIX ex: <https://example.org/>
            INSERT DATA {{ GRAPH <{OWN}> {{ ex:b2 a ex:Book }}
                           fipid:case-typo a fip:CooperationLinc . }}""", agent="test")
    focus = {str(f.focus_node) for f in refused.value.result.violations}
    assert focus == {"https://example.org/b2", "https://w3id.org/fr-indopacific/id/case-typo"}


def test_kg_validate_uses_the_declared_shapes_of_a_graph(runner, own_shapes, tmp_path):
    data = tmp_path / "books.ttl"
    data.write_text(BAD_BOOKS, encoding="utf-8")
    done = runner.invoke(main, ["-q", "validate", "--format", "json", "--graph", OWN,
                                str(data)], env={"KG_GRAPH_SHAPES": own_shapes},
                         catch_exceptions=False)
    assert done.exit_code == 1, done.output
    assert _violations(json.loads(done.stdout)["results"]) == [
        ("https://example.org/b1", "A book needs an ex:title.")]


@pytest.mark.parametrize("value, says", [
    ("https://example.org/g", "GRAPH-IRI=SHAPES-FILE"),
    ("https://w3id.org/fr-indopacific/graph/user=shapes.ttl", "one of the project's graphs")])
def test_a_bad_graph_shapes_setting_is_a_clear_error(value, says):
    with pytest.raises(UsageError, match=says):
        Config.load({"graph_shapes": value}, environ={})


def test_a_missing_shapes_file_stops_the_start(tmp_path):
    config = Config.load({"graph_shapes": f"{OWN}={tmp_path / 'none.ttl'}"}, environ={})
    with pytest.raises(UsageError, match="none.ttl"):
        Writer(KnowledgeGraph.open(config), config=config)


def test_kg_serve_with_a_missing_shapes_file_says_so_and_does_not_start(run_kg, tmp_path):
    done = run_kg("serve", "--port", "0", "--graph-shapes", f"{OWN}={tmp_path / 'none.ttl'}")
    assert done.returncode == 2
    assert b"none.ttl: No such file" in done.stderr and b"Traceback" not in done.stderr
