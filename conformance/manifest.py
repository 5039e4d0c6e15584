"""Read W3C test manifests into plain test records.

Relative IRIs in the suites resolve against the suites' canonical locations on w3.org;
the files themselves are read from the local copy. ``Suites`` maps one to the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pyoxigraph import BlankNode, NamedNode, RdfFormat, parse

MF = "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#"
QT = "http://www.w3.org/2001/sw/DataAccess/tests/test-query#"
DAWGT = "http://www.w3.org/2001/sw/DataAccess/tests/test-dawg#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"

#: Canonical location of each suite family, keyed by its folder under ``sparql/``.
CANONICAL = {
    "sparql10": "http://www.w3.org/2001/sw/DataAccess/tests/data-r2/",
    "sparql11": "http://www.w3.org/2009/sparql/docs/tests/data-sparql11/",
}

#: The SPARQL 1.1 query-evaluation suites the issue asks for, in report order.
SPARQL11_SUITES = ("aggregates", "bind", "bindings", "cast", "construct", "csv-tsv-res",
                   "exists", "functions", "grouping", "json-res", "negation",
                   "project-expression", "property-path", "subquery")

#: Test types that are run as query tests (evaluation, CSV results, negative syntax).
QUERY_TEST_TYPES = (MF + "QueryEvaluationTest", MF + "CSVResultFormatTest",
                    MF + "NegativeSyntaxTest11")


@dataclass(frozen=True)
class QueryTest:
    """One query test: what to load, what to send, what to expect (IRIs are canonical)."""

    iri: str
    suite: str
    type: str
    name: str
    query: str
    data: tuple[str, ...] = ()
    graph_data: tuple[str, ...] = ()
    result: str | None = None
    approval: str | None = None

    @property
    def short_id(self) -> str:
        """``suite/name-of-entry``, stable across runs, used in reports and baselines."""
        return f"{self.suite}/{self.iri.rsplit('#', 1)[-1]}"

    @property
    def is_syntax_test(self) -> bool:
        """A test whose query must be refused as malformed."""
        return self.type.endswith("NegativeSyntaxTest11")


@dataclass
class Suites:
    """The local copy of the W3C suites (``.../w3c``) and its IRI mapping."""

    root: Path

    @property
    def sparql(self) -> Path:
        """The ``sparql/`` folder of the copy."""
        return self.root / "sparql"

    def local_path(self, iri: str) -> Path | None:
        """The local file for a canonical IRI, or None if it is not one of ours."""
        for family, base in CANONICAL.items():
            if iri.startswith(base):
                return self.sparql / family / iri[len(base):]
        return None

    def canonical_iri(self, path: Path) -> str:
        """The canonical IRI of a local file of the copy."""
        relative = path.resolve().relative_to(self.sparql.resolve())
        family, *rest = relative.parts
        return CANONICAL[family] + "/".join(rest)

    def manifests(self) -> list[Path]:
        """Every query-evaluation manifest, SPARQL 1.0 ones first, in the W3C's order."""
        top = self.sparql / "sparql10" / "manifest-evaluation.ttl"
        index = _Graph.load(top, self.canonical_iri(top))
        sparql10 = [self.local_path(iri) for iri in index.list(index.one(index.root, MF + "include"))]
        sparql11 = [self.sparql / "sparql11" / name / "manifest.ttl" for name in SPARQL11_SUITES]
        return [path for path in sparql10 + sparql11 if path is not None]

    def query_tests(self) -> list[QueryTest]:
        """Every query test of every manifest, in manifest order."""
        return [test for path in self.manifests() for test in read_manifest(self, path)]


def read_manifest(suites: Suites, path: Path) -> list[QueryTest]:
    """The query tests listed in ``mf:entries`` of one manifest (others are ignored)."""
    graph = _Graph.load(path, suites.canonical_iri(path))
    family = path.parent.parent.name
    suite = f"{'1.0' if family == 'sparql10' else '1.1'}/{path.parent.name}"
    tests = []
    for entry in graph.list(graph.one(graph.root, MF + "entries")):
        kind = graph.one(entry, RDF + "type")
        if kind not in QUERY_TEST_TYPES:
            continue
        action = graph.one(entry, MF + "action")
        if kind.endswith("NegativeSyntaxTest11"):
            query, data, graph_data = action, (), ()
        else:
            query = graph.one(action, QT + "query")
            data = tuple(sorted(graph.all(action, QT + "data")))
            graph_data = tuple(sorted(graph.all(action, QT + "graphData")))
        tests.append(QueryTest(
            iri=entry, suite=suite, type=kind, name=graph.one(entry, MF + "name") or entry,
            query=query, data=data, graph_data=graph_data,
            result=graph.one(entry, MF + "result"), approval=graph.one(entry, DAWGT + "approval")))
    return tests


@dataclass
class _Graph:
    """Just enough of a triple index to walk a manifest (values as strings)."""

    root: str
    edges: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, base_iri: str) -> "_Graph":
        graph = cls(root=base_iri)
        for quad in parse(path=str(path), format=RdfFormat.TURTLE, base_iri=base_iri):
            subject, predicate, value = _key(quad.subject), quad.predicate.value, _key(quad.object)
            graph.edges.setdefault((subject, predicate), []).append(value)
            if predicate == RDF + "type" and value == MF + "Manifest":
                # some manifests are `<>`, others a blank node `[]`: the type tells
                graph.root = subject
        return graph

    def all(self, subject: str | None, predicate: str) -> list[str]:
        return list(self.edges.get((subject, predicate), [])) if subject else []

    def one(self, subject: str | None, predicate: str) -> str | None:
        values = self.all(subject, predicate)
        return values[0] if values else None

    def list(self, head: str | None) -> list[str]:
        """The members of an RDF collection starting at ``head``."""
        items = []
        while head and head != RDF + "nil":
            items.append(self.one(head, RDF + "first"))
            head = self.one(head, RDF + "rest")
        return items


def _key(term) -> str:
    # blank nodes get a prefix no IRI or literal value in these manifests starts with
    if isinstance(term, BlankNode):
        return "_:" + term.value
    if isinstance(term, NamedNode):
        return term.value
    return term.value
