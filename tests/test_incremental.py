"""Incremental validation gives the verdict a full pySHACL validation gives.

The reference is :meth:`Checker.full`: pySHACL on the whole graph after the change (RDFS
inference) minus the results it already gives before. It is slow, so it runs once, on the
bundled graph plus every case of ``tests/cases`` at once (plus a few removals of existing
triples); each case's share of it is the results on the nodes the case mentions. The
incremental check runs on each case alone, and must find the same violations: same verdict
for every case, same focus nodes and shapes. The SPARQL checks of ``shapes/checks/`` are part
of both: run on the change's surroundings incrementally, on the whole graph in the reference.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, parse

from kg import Config, KnowledgeGraph
from kg.delta import Delta
from kg.validation.entail import Schema, View
from kg.validation.incremental import Checker
from kg.namespaces import GRAPHS, ID_NS, ONTOLOGY_NS, PREFIXES, SERVER_GRAPHS
from kg.validation.scope import analyse

from test_shapes import (CASE_FILES, CASES_DIR, INVALID_CASES, WARNING_CASES, case_graph,
                         parse_expectations, shape_matches)

pytestmark = pytest.mark.slow  # full pySHACL validation of every change

USER = NamedNode(GRAPHS["user"])
#: As the writer does: the inferred graph, the change log and the review queue are not data.
EXCLUDE = frozenset(NamedNode(graph) for graph in SERVER_GRAPHS)
FACTSHEET = NamedNode(GRAPHS["factsheet"])
CURATION = NamedNode(GRAPHS["curation"])
FIP, ORG = ONTOLOGY_NS, PREFIXES["org"]


def _case_delta(path: Path) -> Delta:
    graph = NamedNode(case_graph(path))
    return Delta(added=frozenset(Quad(q.subject, q.predicate, q.object, graph)
                                 for q in parse(path=str(path), format=RdfFormat.TURTLE)))


def _removal(store, subject: str, predicate: str, graph: NamedNode | None = FACTSHEET,
             obj: str | None = None) -> Delta:
    """The removal of ``fipid:subject predicate [obj]`` from ``graph`` (None: every graph)."""
    quads = store.quads_for_pattern(NamedNode(ID_NS + subject), NamedNode(predicate),
                                    NamedNode(obj) if obj else None, graph)
    removed = frozenset(quads)
    assert removed, f"fipid:{subject} has no <{predicate}> to remove"
    return Delta(removed=removed)


def _label_of_another(store, subject: str, other: str) -> Delta:
    """``fipid:subject`` given the English label of ``fipid:other`` (one entity, two IRIs?)."""
    label = next(q.object for q in store.quads_for_pattern(
        NamedNode(ID_NS + other), NamedNode(PREFIXES["rdfs"] + "label"), None)
        if q.object.language == "en")
    return Delta(added=frozenset({Quad(NamedNode(ID_NS + subject),
                                       NamedNode(PREFIXES["rdfs"] + "label"), label, USER)}))


@pytest.fixture(scope="module")
def store():
    return KnowledgeGraph.open(Config.load({}, environ={})).store


@pytest.fixture(scope="module")
def checker():
    return Checker()


@pytest.fixture(scope="module")
def changes(store) -> dict[str, Delta]:
    """Every case as an addition, and removals that break existing nodes."""
    found = {str(path.relative_to(CASES_DIR)): _case_delta(path) for path in CASE_FILES}
    # removals: a unit loses its parent; a link loses its provider; a place its label
    found["removal/unit-loses-parent"] = _removal(store, "ocrvp", ORG + "subOrganizationOf",
                                                CURATION)  # background: the curators' graph
    found["removal/link-loses-provider"] = _removal(store, "coop-fle-lecturers", FIP + "provider")
    # removals that SPARQL checks see: a curated assertion's triple goes (its assertion stays);
    # a sentence loses its only use; the curators' note is no longer typed as one (the
    # assertions derived from it lose their note: a pattern with no projected variable)
    found["removal/asserted-triple-goes"] = _removal(store, "indonesia", FIP + "partOf", None,
                                                     ID_NS + "south-east-asia")
    found["removal/sentence-loses-its-only-use"] = _removal(
        store, "legend-rescue-coordination-centre", PREFIXES["prov"] + "wasDerivedFrom", None,
        ID_NS + "fs5-s067")
    found["removal/curator-note-loses-its-class"] = _removal(
        store, "note-french-police-structure", PREFIXES["rdf"] + "type", None,
        FIP + "CuratorNote")
    # a hub (a country every link points at) given another country's name
    found["addition/hub-named-as-another-country"] = _label_of_another(store, "thailand",
                                                                       "vietnam")
    # changes only a check over named graphs sees: a curated triple moved to the sheet's
    # graph (the union of the graphs is unchanged), and an assertion of the sheet marked
    # curated (its triple, in the sheet's graph, is reached through the assertion)
    moved = _removal(store, "oclaesp", ORG + "subOrganizationOf", CURATION)
    found["move/curated-triple-to-the-sheet"] = Delta(
        removed=moved.removed, added=frozenset(Quad(q.subject, q.predicate, q.object, FACTSHEET)
                                               for q in moved.removed))
    found["addition/sheet-assertion-marked-curated"] = Delta(added=frozenset({Quad(
        NamedNode(ID_NS + "assert-dcsd-unit-of-meae"), NamedNode(FIP + "curatorAssertion"),
        Literal("true", datatype=NamedNode(PREFIXES["xsd"] + "boolean")), CURATION)}))
    return found


def _key(finding) -> tuple[str, str]:
    """A violation as the focus node and the shape (a property shape: a blank node); a row
    of a SPARQL check as its message (which names every node of the row) and the check."""
    if str(finding.source_shape).endswith("Check"):
        return finding.message, str(finding.source_shape)
    return str(finding.focus_node), str(finding.source_shape)


@pytest.fixture(scope="module")
def full(store, checker, changes):
    """The full validation of all the changes at once (two pySHACL runs on the whole graph)."""
    combined = Delta()
    for delta in changes.values():
        combined = combined.then(delta)
    return checker.full(store, combined, exclude=EXCLUDE)


NAMES = sorted([str(p.relative_to(CASES_DIR)) for p in CASE_FILES]
               + ["removal/unit-loses-parent", "removal/link-loses-provider",
                  "removal/asserted-triple-goes", "removal/sentence-loses-its-only-use",
                  "removal/curator-note-loses-its-class",
                  "addition/hub-named-as-another-country",
                  "move/curated-triple-to-the-sheet", "addition/sheet-assertion-marked-curated"])


@pytest.fixture(scope="module")
def results(store, checker, changes) -> dict:
    """Each change checked on its own, incrementally."""
    return {name: checker.check(store, delta, exclude=EXCLUDE)
            for name, delta in changes.items()}


@pytest.fixture(scope="module")
def incremental(results) -> dict[str, set]:
    """The violations of each change checked on its own, as (focus, shape)."""
    return {name: {_key(f) for f in result.violations} for name, result in results.items()}


#: Checks over named graphs (``GRAPH ?g``): the incremental run keeps the graph of each
#: triple it collects for them, so a triple moved between graphs is seen.
GRAPH_CHECKS = {path.stem.removesuffix("-violation")
                for path in (Path(__file__).parents[1] / "shapes" / "checks").glob("*.rq")
                if "GRAPH ?" in path.read_text(encoding="utf-8")}


def _expected_to_fail(name: str) -> bool:
    """True for an invalid case (of the shapes or of the SPARQL checks) or a change made
    here (each breaks something), False for a valid case."""
    if name.startswith(("removal/", "addition/", "move/")):
        return True
    return any(e.kind in ("violation", "check") for e in parse_expectations(CASES_DIR / name))


def _check_iri_name(check: str) -> str:
    """The local name of a check's IRI (``curator-triple-outside-curation`` ->
    ``CuratorTripleOutsideCurationCheck``), as kg.validation.checks names it."""
    return "".join(word.capitalize() for word in check.split("-")) + "Check"


def test_the_checks_over_named_graphs_are_the_known_ones():
    """The changes below that only a check over named graphs sees test this one: a new
    check over named graphs needs changes of its own here."""
    assert GRAPH_CHECKS == {"curator-triple-outside-curation"}


@pytest.mark.parametrize("name", NAMES)
def test_incremental_verdict_is_the_expected_one(name, incremental):
    assert bool(incremental[name]) == _expected_to_fail(name), incremental[name]


@pytest.mark.parametrize("name", NAMES)
def test_what_the_incremental_check_finds_the_full_validation_finds(name, incremental, full):
    assert incremental[name] <= {_key(f) for f in full.violations}


def test_the_full_validation_finds_nothing_more(incremental, full):
    """Together with the test above: incremental and full find the same violations."""
    found = set().union(*incremental.values())
    missed = {_key(f) for f in full.violations} - found
    assert not missed, sorted(missed)


@pytest.mark.parametrize("name, check", [
    ("removal/asserted-triple-goes", "assertion-not-asserted"),
    ("removal/sentence-loses-its-only-use", "orphan-sentence"),
    ("removal/curator-note-loses-its-class", "curator-provenance"),
    ("addition/hub-named-as-another-country", "duplicate-entity"),
    ("move/curated-triple-to-the-sheet", "curator-triple-outside-curation"),
    ("addition/sheet-assertion-marked-curated", "curator-triple-outside-curation"),
    ("checks/curator-triple-in-another-graph.ttl", "curator-triple-outside-curation")])
def test_a_change_made_here_is_caught_by_its_check(name, check, results):
    """The changes above each break one SPARQL check, found incrementally (the curator
    note's class is read by a pattern whose variable no row names: found by walking from it
    to the assertions derived from the note; a triple moved between graphs leaves the
    union of the graphs as it was: found by keeping each triple's graph)."""
    assert any(str(f.source_shape).endswith(_check_iri_name(check))
               for f in results[name].violations), [str(f) for f in results[name].results]


@pytest.mark.parametrize("path", INVALID_CASES + WARNING_CASES,
                         ids=lambda p: str(p.relative_to(CASES_DIR)))
def test_incremental_check_names_the_expected_shape_and_focus(path, results, checker):
    result = results[str(path.relative_to(CASES_DIR))]
    for expected in parse_expectations(path):
        if expected.kind in ("violation", "warning"):
            assert any(shape_matches(checker.shapes, f, expected.shape)
                       and f.severity == expected.kind.capitalize()
                       and str(f.focus_node) == expected.focus for f in result.results), \
                [str(f) for f in result.results]


def test_a_change_that_an_other_graph_already_holds_changes_nothing(store, checker):
    quad = next(iter(store.quads_for_pattern(NamedNode(ID_NS + "dcsd"), None, None, FACTSHEET)))
    copy = Quad(quad.subject, quad.predicate, quad.object, USER)
    before = View(store, exclude=frozenset())
    after = View(store, Delta(added=frozenset({copy})))
    schema = Schema.from_store(store)
    assert checker.focus(before, after, Delta(added=frozenset({copy})), schema) == set()


def test_a_new_cycle_is_found_from_the_node_that_closes_it(store, checker):
    # Madagascar is part of the Indian Ocean, itself part of the Indo-Pacific
    delta = Delta(added=frozenset({Quad(NamedNode(ID_NS + "indo-pacific"),
                                        NamedNode(FIP + "partOf"),
                                        NamedNode(ID_NS + "madagascar"), USER)}))
    result = checker.check(store, delta, exclude=EXCLUDE, lint=False)
    cyclic = {str(f.focus_node) for f in result.violations if "part of itself" in f.message}
    assert {ID_NS + "indo-pacific", ID_NS + "madagascar"} <= cyclic


def test_the_shapes_scope_is_bounded_and_shallow(checker):
    scope = analyse(checker.shapes)
    assert scope.bounded and scope.depth <= 2
    assert (NamedNode(FIP + "partOf"), True) in scope.transitive


def test_a_change_to_the_schema_is_validated_in_full():
    """A new rdfs:subClassOf retypes every instance: the focus would be the whole class."""
    import rdflib

    shapes = rdflib.Graph().parse(format="turtle", data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> .
        <http://e/OrgShape> a sh:NodeShape ; sh:targetClass <http://e/Org> ;
            sh:property [ sh:path <http://e/name> ; sh:minCount 1 ] .""")
    kg = KnowledgeGraph.open(Config.load({}, environ={}), load_bundled=False)
    kg.store.add(Quad(NamedNode("http://e/x"), NamedNode(PREFIXES["rdf"] + "type"),
                      NamedNode("http://e/Kind"), USER))
    checker = Checker(shapes=shapes, ontology=rdflib.Graph())
    subclass = Quad(NamedNode("http://e/Kind"), NamedNode(PREFIXES["rdfs"] + "subClassOf"),
                    NamedNode("http://e/Org"), USER)
    result = checker.check(kg.store, Delta(added=frozenset({subclass})), lint=False)
    assert [str(f.focus_node) for f in result.violations] == ["http://e/x"]
