"""One ``sh:ValidationReport`` from the validator's parts: shapes, checks, literals, lint.

pySHACL writes its report as a graph; the SPARQL checks, the lexical check of literals and
the lint add their results to it as further ``sh:ValidationResult`` nodes, so every format
of the report (text, JSON, Turtle...) shows them all. Each problem is reported once: two
results with the same focus node, path, value, message and severity are one (pySHACL
gives the same result twice when two shapes reach a node with the same constraint).
"""

from __future__ import annotations

from typing import Iterable

import rdflib
from rdflib import RDF, Graph

from .validate import SH, Finding, ValidationResult, findings


def add(report: Graph, found: Iterable[Finding]) -> None:
    """Add ``found`` to the ``sh:ValidationReport`` of ``report`` (made if missing)."""
    node = _report_node(report)
    for finding in found:
        result = rdflib.BNode()
        report.add((node, SH.result, result))
        report.add((result, RDF.type, SH.ValidationResult))
        report.add((result, SH.focusNode, finding.focus_node))
        for predicate, value in ((SH.resultPath, finding.path), (SH.value, finding.value),
                                 (SH.sourceConstraintComponent, finding.constraint)):
            if value is not None:
                report.add((result, predicate, value))
        report.add((result, SH.resultMessage, rdflib.Literal(finding.message, lang="en")))
        report.add((result, SH.resultSeverity, SH[finding.severity]))
        report.add((result, SH.sourceShape, finding.source_shape))


def result_of(report: Graph) -> ValidationResult:
    """The ValidationResult of a report graph: duplicate results dropped, ``sh:conforms``
    set from what remains."""
    seen = set()
    for node in sorted(report.subjects(RDF.type, SH.ValidationResult), key=str):
        key = tuple(report.value(node, p) for p in (SH.focusNode, SH.resultPath, SH.value,
                                                    SH.resultMessage, SH.resultSeverity))
        if key in seen:
            _remove(report, node)
        seen.add(key)
    results = findings(report)
    conforms = not any(f.severity == "Violation" for f in results)
    report.set((_report_node(report), SH.conforms, rdflib.Literal(conforms)))
    return ValidationResult(conforms=conforms, results=results, report=report)


def combined(results: list[ValidationResult]) -> ValidationResult:
    """One result from the results of parts of a change (validated each its own way)."""
    if len(results) == 1:
        return results[0]
    report = Graph()
    for prefix, namespace in results[0].report.namespaces():
        report.bind(prefix, namespace, override=False)
    add(report, [finding for result in results for finding in result.results])
    return result_of(report)


def difference(new: Graph, old: Graph) -> Graph:
    """The report ``new`` without the results that ``old`` has too."""
    seen = {_key(old, node) for node in old.subjects(RDF.type, SH.ValidationResult)}
    kept = Graph()
    for prefix, namespace in new.namespaces():
        kept.bind(prefix, namespace, override=False)
    report = rdflib.BNode()
    kept.add((report, RDF.type, SH.ValidationReport))
    for node in new.subjects(RDF.type, SH.ValidationResult):
        if _key(new, node) in seen:
            continue
        kept.add((report, SH.result, node))
        for triple in new.cbd(node):
            kept.add(triple)
    return kept


def _key(report: Graph, node) -> tuple:
    return tuple(report.value(node, p) for p in (SH.focusNode, SH.resultPath, SH.value,
                                                 SH.sourceShape, SH.sourceConstraintComponent,
                                                 SH.resultSeverity))


def _report_node(report: Graph):
    node = report.value(predicate=RDF.type, object=SH.ValidationReport)
    if node is None:
        node = rdflib.BNode()
        report.add((node, RDF.type, SH.ValidationReport))
    return node


def _remove(report: Graph, node) -> None:
    report.remove((node, None, None))  # its path, if a blank node, may be shared: kept
    report.remove((None, SH.result, node))
