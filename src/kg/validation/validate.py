"""SHACL validation of the knowledge graph: ``validate(...) -> ValidationResult``.

A thin facade over pySHACL. The data graph is checked against the bundled shapes
(``shapes/*.ttl``, found beside ``ontology/`` and ``data/``, see
:func:`kg.store.sources.bundle_root`) with RDFS inference over the bundled ontology, so a
``fip:Directorate`` is checked as the ``org:Organization`` it is. The result is a small
frozen object that the CLI and the HTTP layer turn into exit codes and responses; nothing
here knows about either.

>>> import rdflib
>>> shapes = rdflib.Graph().parse(format="turtle", data='''
...     @prefix sh: <http://www.w3.org/ns/shacl#> .
...     <http://e/PersonShape> a sh:NodeShape ; sh:targetClass <http://e/Person> ;
...         sh:property [ sh:path <http://e/name> ; sh:minCount 1 ;
...                       sh:message "A person needs a name." ] .''')
>>> data = rdflib.Graph().parse(format="turtle", data="<http://e/ann> a <http://e/Person> .")
>>> result = validate(data, shapes=shapes, ontology=rdflib.Graph())
>>> result.conforms, result.exit_code
(False, 1)
>>> [(str(r.focus_node), str(r.path), r.message, r.severity) for r in result.results]
[('http://e/ann', 'http://e/name', 'A person needs a name.', 'Violation')]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import rdflib
from rdflib import RDF, Graph, Namespace
from rdflib.term import Node

from ..config import Config
from ..errors import EXIT_FAILURE, EXIT_OK, InputSyntaxError, UsageError
from ..store.sources import bundle_root

SH = Namespace("http://www.w3.org/ns/shacl#")

#: The inference pySHACL runs before validating (see pySHACL's ``inference`` option).
INFERENCE_MODES = ("rdfs", "none")


class ShapesError(UsageError):
    """A shapes graph that pySHACL cannot use (an ill-formed shape or SPARQL constraint)."""


@dataclass(frozen=True)
class Finding:
    """One ``sh:ValidationResult`` of a report.

    ``path`` and ``value`` are None when the report has none (e.g. a node-level SPARQL
    constraint); ``severity`` is the local name of the ``sh:Severity`` ("Violation",
    "Warning" or "Info").
    """

    focus_node: Node
    path: Node | None
    value: Node | None
    message: str
    severity: str
    source_shape: Node
    constraint: Node | None = None

    def __str__(self) -> str:
        where = f" ({self.path.n3()})" if self.path is not None else ""
        return f"{self.severity}: {self.focus_node.n3()}{where}: {self.message}"

    def as_dict(self) -> dict[str, str | None]:
        """Plain values for JSON, named as in SHACL (terms in N-Triples form, None if absent)."""
        return {"focusNode": _n3(self.focus_node), "resultPath": _n3(self.path),
                "value": _n3(self.value), "resultMessage": self.message,
                "resultSeverity": self.severity, "sourceShape": _n3(self.source_shape),
                "sourceConstraintComponent": _n3(self.constraint)}


def _n3(term: Node | None) -> str | None:
    return term.n3() if term is not None else None


@dataclass(frozen=True)
class ValidationResult:
    """The outcome of :func:`validate`: does the data conform, and why not."""

    conforms: bool
    results: tuple[Finding, ...]
    report: Graph = field(repr=False, compare=False)
    text: str = field(default="", repr=False, compare=False)

    @property
    def exit_code(self) -> int:
        """0 when the data conforms, 1 when it does not (the ``kg`` command's exit codes)."""
        return EXIT_OK if self.conforms else EXIT_FAILURE

    def as_dict(self) -> dict:
        """``{"conforms": bool, "results": [Finding.as_dict(), ...]}``, ready for JSON."""
        return {"conforms": self.conforms, "results": [r.as_dict() for r in self.results]}

    @property
    def violations(self) -> tuple[Finding, ...]:
        """The results of severity ``sh:Violation``."""
        return tuple(result for result in self.results if result.severity == "Violation")


def shapes_dir(config: Config | None = None) -> Path:
    """The bundled ``shapes/`` folder (beside ``ontology/`` and ``data/``)."""
    return bundle_root(config or Config.load({}, environ={})) / "shapes"


def load_turtle(paths: Iterable[Path]) -> Graph:
    """Parse Turtle files into one graph; a syntax error keeps its file, line and column."""
    graph = Graph()
    for path in paths:
        try:
            graph.parse(path, format="turtle")
        except SyntaxError as exc:  # rdflib's BadSyntax subclasses SyntaxError
            line = getattr(exc, "lines", None)
            raise InputSyntaxError(str(getattr(exc, "message", exc)), source=str(path),
                                   line=line + 1 if isinstance(line, int) else None) from None
        except OSError as exc:
            raise UsageError(f"{path}: {exc.strerror or exc}") from exc
    return graph


def load_shapes(config: Config | None = None) -> Graph:
    """The bundled shapes: every ``shapes/*.ttl`` file (``shapes/checks/`` holds SPARQL)."""
    return load_turtle(sorted(shapes_dir(config).glob("*.ttl")))


def load_ontology(config: Config | None = None) -> Graph:
    """The bundled ontology: every ``ontology/*.ttl`` file, for RDFS inference."""
    root = bundle_root(config or Config.load({}, environ={}))
    return load_turtle(sorted((root / "ontology").glob("*.ttl")))


def as_graph(data: Graph) -> Graph:
    """An in-memory copy of ``data``; a Dataset becomes the union of its graphs.

    pySHACL works fastest on rdflib's memory store, and copying keeps the caller's
    store (e.g. :meth:`kg.KnowledgeGraph.rdflib_dataset`) untouched.
    """
    graph = Graph()
    for prefix, namespace in data.namespaces():
        graph.bind(prefix, namespace, override=False)
    if isinstance(data, rdflib.Dataset):
        for s, p, o, _ in data.quads((None, None, None, None)):
            graph.add((s, p, o))
    else:
        graph += data
    return graph


def rdfs_closure(data: Graph, ontology: Graph) -> Graph:
    """``data`` plus the ontology plus everything RDFS entails from them, as pySHACL infers it.

    RDFS instance rules combine one data triple with schema triples, so for data that adds
    no schema the closure of a union is the union of closures: a large graph can be closed
    once and small additions closed on their own, then validated with ``inference="none"``.
    """
    from owlrl import DeductiveClosure
    from pyshacl.inference import CustomRDFSSemantics

    closed = as_graph(data)
    closed += ontology
    DeductiveClosure(CustomRDFSSemantics).expand(closed)
    return closed


def validate(data_graph: Graph, *, shapes: Graph | None = None, ontology: Graph | None = None,
             inference: str = "rdfs") -> ValidationResult:
    """Validate ``data_graph`` against ``shapes`` with RDFS inference over ``ontology``.

    ``shapes`` defaults to the bundled shapes and ``ontology`` to the bundled ontology. Pass
    ``inference="none"`` for a graph that is already closed (see :func:`rdfs_closure`); the
    ontology is then not mixed in either. The data graph is never modified.

    pySHACL's ``focus_nodes`` option is deliberately not offered: pySHACL 0.40 also applies it
    to the value nodes of nested shapes (``sh:node``, ``sh:or``, ``sh:not``), which silently
    turns those constraints off. To report on some nodes only, filter :attr:`ValidationResult.results`.
    """
    import pyshacl
    from pyparsing import ParseException
    from pyshacl.errors import ReportableRuntimeError

    if inference not in INFERENCE_MODES:
        raise UsageError(f"unknown inference {inference!r}; use one of {', '.join(INFERENCE_MODES)}")
    shapes = load_shapes() if shapes is None else shapes
    if inference == "none":
        ontology = None
    elif ontology is None:
        ontology = load_ontology()
    data = as_graph(data_graph)
    try:
        conforms, report, text = pyshacl.validate(
            data, shacl_graph=shapes, ont_graph=ontology, inference=inference,
            advanced=True, inplace=True, allow_warnings=True)
    except ReportableRuntimeError as exc:
        raise ShapesError(f"the shapes cannot be used: {exc.message}") from None
    except ParseException as exc:  # a SPARQL constraint or target that does not parse
        raise ShapesError(f"a SPARQL query in the shapes does not parse: {exc}") from None
    return ValidationResult(conforms=bool(conforms), results=findings(report),
                            report=report, text=text)


def findings(report: Graph) -> tuple[Finding, ...]:
    """The results of a ``sh:ValidationReport`` graph, sorted by focus node and shape."""
    found = []
    for node in report.subjects(RDF.type, SH.ValidationResult):
        severity = report.value(node, SH.resultSeverity)
        found.append(Finding(
            focus_node=report.value(node, SH.focusNode),
            path=report.value(node, SH.resultPath),
            value=report.value(node, SH.value),
            message=str(report.value(node, SH.resultMessage) or ""),
            severity=str(severity).rsplit("#", 1)[-1] if severity is not None else "Violation",
            source_shape=report.value(node, SH.sourceShape),
            constraint=report.value(node, SH.sourceConstraintComponent)))
    found.sort(key=lambda f: (str(f.focus_node), str(f.source_shape), str(f.path), f.message))
    return tuple(found)
