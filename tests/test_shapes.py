"""SHACL shapes, the validation facade and the SPARQL quality checks.

* The bundled graph conforms to ``shapes/`` (validated once per session, RDFS inference).
* Every ``tests/cases/**/*.ttl`` states what it expects in header comments::

      # why: a cooperation link without a provider cannot answer "who does this?"
      # expect: violation fipsh:CooperationLinkShape fip:provider fipid:case-link
      # expect: conforms
      # expect: check undeclared-fip-term

  ``violation SHAPE PATH [FOCUS]``: validating *bundled data + case* yields a result whose
  sh:sourceShape is SHAPE (or one of its property shapes), whose sh:resultPath is PATH
  (``-`` for none, ``a|b`` for an alternative path, ``^p`` for an inverse path) and, if
  given, whose focus node is FOCUS. ``conforms``: no result has a focus node from the case.
  ``check NAME``: ``shapes/checks/NAME-violation.rq`` returns a row once the case is added.

  A case is added to the user graph, as ``kg validate`` adds a file, unless a header line
  ``# graph: fipg:NAME`` names the project's graph its triples belong in (a curator's
  background statements belong in ``fipg:curation``).
* Every ``shapes/checks/*-violation.rq`` returns no row on the bundled graph.

Cases are validated efficiently: the bundled graph is closed under RDFS once (RDFS instance
rules are local, so cases can be closed on their own and added, see
:func:`kg.validation.validate.rdfs_closure`), then validated without inference. The invalid cases go
through one pySHACL run together (each expectation names its focus node, so attribution stays
exact); each valid case gets a run of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import rdflib
from rdflib import RDF, Graph, URIRef

from kg import Config, KnowledgeGraph, Source
from kg.namespaces import GRAPHS, PREFIXES, compact
from kg.store.sources import bundle_root
from kg.validation.validate import (SH, Finding, ValidationResult, as_graph, load_ontology,
                                    load_shapes, load_turtle, rdfs_closure, shapes_dir, validate)

pytestmark = pytest.mark.slow  # full pySHACL validation of every case

REPO = Path(__file__).resolve().parents[1]
CASES_DIR = Path(__file__).parent / "cases"
CHECKS_DIR = REPO / "shapes" / "checks"
CASE_FILES = sorted(CASES_DIR.rglob("*.ttl"))
CHECK_FILES = sorted(CHECKS_DIR.glob("*-violation.rq"))
ALL_PREFIXES = {**PREFIXES, "fipsh": "https://w3id.org/fr-indopacific/shapes#"}

#: Known defects of the bundled data, reported to the data's authors in
#: /work/scratch/data-defects.md: (source shape, regex on the focus node, why). Results that
#: match make the conformance test xfail; any other result fails it. Empty the list once fixed.
KNOWN_DATA_DEFECTS: list[tuple[str, str, str]] = []


# -- expectations in case headers -------------------------------------------------------------

@dataclass(frozen=True)
class Expectation:
    kind: str  # "violation", "warning", "conforms" or "check"
    shape: str | None = None
    path: str | None = None
    focus: str | None = None
    check: str | None = None


_EXPECT = re.compile(r"^#\s*expect:\s*(.+?)\s*$")
_GRAPH = re.compile(r"^#\s*graph:\s*(\S+)\s*$")
_WHY = re.compile(r"^#\s*why:\s*\S")


def _expand(token: str) -> str:
    prefix, _, local = token.partition(":")
    if token.startswith("<") and token.endswith(">"):
        return token[1:-1]
    if prefix in ALL_PREFIXES:
        return ALL_PREFIXES[prefix] + local
    raise ValueError(f"unknown prefix in {token!r}")


def parse_expectations(path: Path) -> list[Expectation]:
    """The ``# expect:`` lines of a case; a case must also say ``# why:``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if not any(_WHY.match(line) for line in lines):
        raise ValueError(f"{path.name}: no '# why:' line explaining the case")
    expectations = []
    for line in lines:
        match = _EXPECT.match(line)
        if not match:
            continue
        kind, *args = match.group(1).split()
        if kind in ("violation", "warning") and len(args) in (2, 3):
            expectations.append(Expectation(
                kind, shape=_expand(args[0]),
                path=None if args[1] == "-" else _render_expected_path(args[1]),
                focus=_expand(args[2]) if len(args) == 3 else None))
        elif kind == "conforms" and not args:
            expectations.append(Expectation("conforms"))
        elif kind == "check" and len(args) == 1:
            expectations.append(Expectation("check", check=args[0]))
        else:
            raise ValueError(f"{path.name}: cannot read expectation {match.group(1)!r}")
    if not expectations:
        raise ValueError(f"{path.name}: no '# expect:' line")
    return expectations


def case_graph(path: Path) -> str:
    """The graph a case's triples go to: its ``# graph:`` line, else the user graph."""
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _GRAPH.match(line)
        if match:
            return _expand(match.group(1))
    return GRAPHS["user"]


def _render_expected_path(text: str) -> str:
    parts = []
    for part in text.split("|"):
        inverse = part.startswith("^")
        parts.append(("^" if inverse else "") + _expand(part.lstrip("^")))
    return "|".join(parts)


def render_path(shapes: Graph, path) -> str | None:
    """A result path as text: an IRI, ``^iri`` (inverse) or ``a|b`` (alternative)."""
    if path is None:
        return None
    if isinstance(path, URIRef):
        return str(path)
    inverse = shapes.value(path, SH.inversePath)
    if inverse is not None:
        return "^" + str(inverse)
    alternatives = shapes.value(path, SH.alternativePath)
    if alternatives is not None:
        return "|".join(render_path(shapes, item) or "?"
                        for item in rdflib.collection.Collection(shapes, alternatives))
    return f"<complex path {path}>"


def shape_matches(shapes: Graph, finding: Finding, expected_shape: str) -> bool:
    """The finding comes from the expected shape or from one of its property shapes."""
    expected = URIRef(expected_shape)
    return (finding.source_shape == expected
            or (expected, SH.property, finding.source_shape) in shapes)


def describe(shapes: Graph, findings) -> str:
    return "\n".join(
        f"  {compact(str(f.source_shape), ALL_PREFIXES) if isinstance(f.source_shape, URIRef) else _parent(shapes, f)}"
        f" path={render_path(shapes, f.path)} focus={f.focus_node}: {f.message}"
        for f in findings) or "  (no results)"


def _parent(shapes: Graph, finding: Finding) -> str:
    parent = shapes.value(predicate=SH.property, object=finding.source_shape)
    return (compact(str(parent), ALL_PREFIXES) + "/property") if parent else str(finding.source_shape)


# -- session fixtures ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def shapes() -> Graph:
    return load_shapes()


@pytest.fixture(scope="session")
def ontology() -> Graph:
    return load_ontology()


@pytest.fixture(scope="session")
def bundled_graph(bundled: KnowledgeGraph) -> Graph:
    """The bundled dataset as one in-memory rdflib graph (the union of its named graphs)."""
    return as_graph(bundled.rdflib_dataset())


@pytest.fixture(scope="session")
def bundled_report(bundled_graph, shapes, ontology) -> ValidationResult:
    """The bundled graph validated once, as pySHACL does it (RDFS inference)."""
    return validate(bundled_graph, shapes=shapes, ontology=ontology)


@pytest.fixture(scope="session")
def closed_bundle(bundled_graph, ontology) -> Graph:
    """The bundled graph closed under RDFS once; cases are added to copies of it."""
    return rdfs_closure(bundled_graph, ontology)


# -- the bundled graph --------------------------------------------------------------------------

def _known_defect(finding: Finding) -> str | None:
    for shape, focus, why in KNOWN_DATA_DEFECTS:
        if str(finding.source_shape) == shape and re.search(focus, str(finding.focus_node)):
            return why
    return None


def test_bundled_data_conforms(bundled_report, shapes):
    result = bundled_report
    unexpected = [f for f in result.results if _known_defect(f) is None]
    assert not unexpected, "the bundled data violates the shapes:\n" + describe(shapes, unexpected)
    known = sorted({_known_defect(f) for f in result.results})
    if known:
        pytest.xfail(f"{len(result.results)} results from known data defects: " + "; ".join(known))
    assert result.conforms


def test_shapes_are_documented(shapes):
    """Every named shape has an English rdfs:label and rdfs:comment; every constraint a message."""
    undocumented = []
    for shape in set(shapes.subjects(RDF.type, SH.NodeShape)):
        if isinstance(shape, URIRef):
            for prop in (rdflib.RDFS.label, rdflib.RDFS.comment):
                if not any(getattr(o, "language", None) == "en" for o in shapes.objects(shape, prop)):
                    undocumented.append(f"{compact(str(shape), ALL_PREFIXES)} lacks {prop.n3()}@en")
    targeted = {s for p in (SH.targetClass, SH.targetSubjectsOf, SH.target)
                for s in shapes.subjects(p, None)}
    for shape in targeted:
        own = shapes.value(shape, SH.message)
        for prop in shapes.objects(shape, SH.property):
            sparql = shapes.value(prop, SH.sparql)
            if shapes.value(prop, SH.message) is None and (
                    sparql is None or shapes.value(sparql, SH.message) is None):
                undocumented.append(f"a property shape of {compact(str(shape), ALL_PREFIXES)} has no sh:message")
        for sparql in shapes.objects(shape, SH.sparql):
            if shapes.value(sparql, SH.message) is None and own is None:
                undocumented.append(f"a SPARQL constraint of {shape} has no sh:message")
        if not any(shapes.objects(shape, SH.property)) and not any(shapes.objects(shape, SH.sparql)) \
                and own is None:
            undocumented.append(f"{compact(str(shape), ALL_PREFIXES)} has no sh:message")
    assert not undocumented, "\n".join(sorted(undocumented))


def test_no_value_class_is_implied_by_the_range(shapes, ontology):
    """Under RDFS inference, ``sh:class C`` on a property whose range entails C always holds."""
    closed = rdfs_closure(Graph(), ontology)
    vacuous = []
    for shape, path in shapes.subject_objects(SH.path):
        if not isinstance(path, URIRef):
            continue
        properties = set(closed.transitive_objects(path, rdflib.RDFS.subPropertyOf))
        ranges = {r for p in properties for r in closed.objects(p, rdflib.RDFS.range)}
        implied = {c for r in ranges for c in closed.transitive_objects(r, rdflib.RDFS.subClassOf)}
        vacuous += [f"{compact(str(path), ALL_PREFIXES)} sh:class {compact(str(c), ALL_PREFIXES)}"
                    for c in shapes.objects(shape, SH["class"]) if c in implied]
    assert not vacuous, "value-class checks that RDFS inference makes always true: " + ", ".join(vacuous)


def test_shapes_are_found_beside_the_bundled_data(tmp_path):
    assert shapes_dir() == bundle_root(Config.load({}, environ={})) / "shapes"
    assert (shapes_dir().parent / "ontology").is_dir() and (shapes_dir() / "fip-shapes.ttl").is_file()
    (tmp_path / "shapes").mkdir()
    (tmp_path / "shapes" / "x.ttl").write_text("<http://e/s> a <http://www.w3.org/ns/shacl#NodeShape> .")
    config = Config.load({"bundle_dir": str(tmp_path)}, environ={})
    assert shapes_dir(config) == tmp_path / "shapes" and len(load_shapes(config)) == 1


# -- the cases ----------------------------------------------------------------------------------

def test_there_are_enough_cases():
    expectations = [e for path in CASE_FILES for e in parse_expectations(path)]
    invalid = {path for path in CASE_FILES
               if any(e.kind == "violation" for e in parse_expectations(path))}
    assert len(invalid) >= 15
    assert any(e.kind == "conforms" for e in expectations)
    assert any(e.kind == "check" for e in expectations)


def test_every_shape_is_tripped_by_a_case(shapes):
    """Each named shape with a target has at least one invalid case that expects it."""
    targeted = {s for p in (SH.targetClass, SH.targetSubjectsOf, SH.target)
                for s in shapes.subjects(p, None) if isinstance(s, URIRef)}
    expected = {URIRef(e.shape) for path in CASE_FILES for e in parse_expectations(path)
                if e.kind in ("violation", "warning")}
    untested = sorted(compact(str(s), ALL_PREFIXES) for s in targeted - expected)
    assert not untested, f"shapes without an invalid case: {', '.join(untested)}"


def _case_id(path: Path) -> str:
    return str(path.relative_to(CASES_DIR).with_suffix(""))


def _kinds(path: Path) -> set[str]:
    return {e.kind for e in parse_expectations(path)}


def beyond_the_shapes(expected: Expectation) -> bool:
    """A result of the validator's checks beyond SHACL (lexical forms, lint: ``fipsh:…Check``)."""
    return bool(expected.shape) and expected.shape.endswith("Check")


SHACL_CASES = [p for p in CASE_FILES if _kinds(p) - {"check"}]
VALID_CASES = [p for p in SHACL_CASES if "conforms" in _kinds(p)]
#: Cases that conform but must bring a warning.
WARNING_CASES = [p for p in SHACL_CASES if _kinds(p) == {"warning"}]
INVALID_CASES = [p for p in SHACL_CASES if "violation" in _kinds(p)]
#: Cases whose expectations pySHACL alone can meet (the others need the whole validator).
PYSHACL_CASES = [p for p in INVALID_CASES + WARNING_CASES
                 if not any(beyond_the_shapes(e) for e in parse_expectations(p))]


def _validate_with(closed_bundle: Graph, ontology: Graph, shapes: Graph,
                   additions: list[Graph]) -> ValidationResult:
    """Validate the bundled graph plus ``additions``: the additions are closed under RDFS on
    their own and added to a copy of the closed bundle, then validated without inference."""
    added = Graph()
    for addition in additions:
        added += addition
    graph = Graph()
    graph += closed_bundle
    graph += rdfs_closure(added, ontology)
    return validate(graph, shapes=shapes, inference="none")


def _case_graph(path: Path) -> Graph:
    return Graph().parse(path, format="turtle")


@pytest.fixture(scope="session")
def invalid_cases_report(closed_bundle, ontology, shapes) -> ValidationResult:
    """The invalid cases validated in one run over bundled data + all of them.

    One pySHACL run instead of one per case keeps the module fast. Attribution stays exact:
    each expectation names the shape, the path and the focus node, and every case describes
    its own nodes (fipid:case-...) or an existing node in a way no other case does.
    """
    return _validate_with(closed_bundle, ontology, shapes, [_case_graph(p) for p in PYSHACL_CASES])


@pytest.mark.parametrize("case", PYSHACL_CASES, ids=_case_id)
def test_invalid_case_is_rejected_for_its_reason(case, invalid_cases_report, shapes):
    result = invalid_cases_report
    for expected in parse_expectations(case):
        if expected.kind not in ("violation", "warning"):
            continue
        assert expected.focus, f"{case.name}: an invalid case must name the focus node it expects"
        matches = [f for f in result.results
                   if shape_matches(shapes, f, expected.shape)
                   and render_path(shapes, f.path) == expected.path
                   and str(f.focus_node) == expected.focus]
        at_focus = [f for f in result.results if str(f.focus_node) == expected.focus]
        assert matches, (
            f"{case.name}: expected a violation of {compact(expected.shape, ALL_PREFIXES)} "
            f"on path {expected.path} at {expected.focus}; results at that node:\n"
            + describe(shapes, at_focus))
        assert all(f.message and f.severity == expected.kind.capitalize() for f in matches)


@pytest.mark.parametrize("case", VALID_CASES, ids=_case_id)
def test_valid_case_conforms(case, closed_bundle, ontology, shapes):
    addition = _case_graph(case)
    result = _validate_with(closed_bundle, ontology, shapes, [addition])
    case_nodes = set(addition.subjects())
    from_case = [f for f in result.results if f.focus_node in case_nodes]
    assert not from_case, f"{case.name} should conform:\n" + describe(shapes, from_case)


@pytest.mark.parametrize("case", [p for p in CASE_FILES
                                  if any(e.kind == "check" for e in parse_expectations(p))],
                         ids=_case_id)
def test_case_against_the_checks(case):
    graph = KnowledgeGraph.open(Config.load({}, environ={}))
    graph.load([Source(str(case))])
    for expected in parse_expectations(case):
        if expected.kind != "check":
            continue
        query = CHECKS_DIR / f"{expected.check}-violation.rq"
        assert query.is_file(), f"{case.name}: no check {query.name}"
        rows = list(graph.query(query.read_text(encoding="utf-8")).solutions)
        assert rows, f"{case.name}: {query.name} should return a row"


# -- SPARQL quality checks ----------------------------------------------------------------------

def test_there_are_checks():
    assert CHECK_FILES


@pytest.mark.parametrize("check", CHECK_FILES, ids=lambda p: p.stem)
def test_check_finds_nothing_in_bundled_data(check, bundled):
    text = check.read_text(encoding="utf-8")
    assert text.startswith("# Check:"), f"{check.name} must start with '# Check:' saying what it checks"
    solutions = bundled.query(text).solutions
    names = [variable.value for variable in solutions.variables]
    rows = [{name: row[name].value for name in names if row[name] is not None} for row in solutions]
    assert not rows, f"{check.name} found {len(rows)} offender(s):\n" + "\n".join(map(str, rows[:20]))


# -- the validation facade ----------------------------------------------------------------------

def test_validate_accepts_a_dataset_and_leaves_it_untouched(empty):
    empty.load([Source("a.ttl", b"""
        @prefix fip: <https://w3id.org/fr-indopacific/ontology#> .
        <https://w3id.org/fr-indopacific/id/link> a fip:CooperationLink .""")])
    before = len(empty)
    result = validate(empty.rdflib_dataset())
    assert not result.conforms and result.exit_code == 1
    assert len(empty) == before
    assert {str(f.focus_node) for f in result.violations} == {"https://w3id.org/fr-indopacific/id/link"}
    assert all(f.severity == "Violation" and f.message for f in result.results)
    assert (None, RDF.type, SH.ValidationReport) in result.report
    as_json = result.as_dict()
    assert as_json["conforms"] is False
    assert {r["focusNode"] for r in as_json["results"]} == {"<https://w3id.org/fr-indopacific/id/link>"}
    assert all(r["resultMessage"] and r["sourceShape"] for r in as_json["results"])


def test_validate_reports_conformance_as_exit_code_zero():
    result = validate(Graph(), shapes=load_shapes(), ontology=Graph())
    assert result.conforms and result.exit_code == 0 and result.results == ()


def test_shapes_with_a_turtle_error_keep_file_and_line(tmp_path):
    from kg.errors import InputSyntaxError

    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix sh: <http://www.w3.org/ns/shacl#> .\n<http://e/S> a sh:NodeShape ;;; oops .\n")
    with pytest.raises(InputSyntaxError) as caught:
        load_turtle([bad])
    assert caught.value.source == str(bad) and caught.value.line == 2


def test_shapes_with_a_broken_sparql_constraint_are_a_usage_error():
    from kg.validation.validate import ShapesError

    shapes = Graph().parse(format="turtle", data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> .
        <http://e/S> a sh:NodeShape ; sh:targetClass <http://e/C> ;
            sh:sparql [ sh:select "SELECT $this WHERE { $this <http://e/p> " ] .""")
    data = Graph().parse(format="turtle", data="<http://e/a> a <http://e/C> .")
    with pytest.raises(ShapesError):
        validate(data, shapes=shapes, ontology=Graph())


def test_validate_rejects_an_unknown_inference():
    from kg.errors import UsageError

    with pytest.raises(UsageError):
        validate(Graph(), inference="owl-dl")
