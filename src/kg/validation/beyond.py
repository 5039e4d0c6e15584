"""What a change breaks beyond the shapes: SPARQL checks, ill-typed literals, lint.

:meth:`kg.validation.incremental.Checker.check` runs the shapes (pySHACL, incrementally),
then this: the quality checks of ``shapes/checks/`` on the change (:mod:`kg.validation.checks`),
the lexical form of every XSD-typed literal the change adds (:mod:`kg.validation.literals`),
and the lint of the added triples (:mod:`kg.validation.lint`). Where two of them, or a
shape, see the same problem, it is reported once, by the one that says most:

* an ill-typed literal: the lexical check (it names the datatype and gives an example),
  not pySHACL's ``sh:datatype`` result on the same value;
* an undeclared ``fip:`` property or class: the lint (it suggests the nearest term), not the
  ``undeclared-fip-term`` check;
* an untagged text or a Wikidata link that a shape or check already refuses: not the lint's
  warning too;
* a triple that a shape refuses and a check names too (an untagged ``rdfs:label``): the
  shape's result, which the shape cases name, not the check's row as well.
"""

from __future__ import annotations

import rdflib
from pyoxigraph import Store

from . import lint as kg_lint
from .documented import Documented
from .entail import View
from .lint import SHAPES_NS
from .literals import literal_problems
from .validate import SH, Finding
from ..delta import Delta
from ..terms import to_ox, to_rdflib

LEXICAL_FORM = SHAPES_NS + "LexicalFormCheck"
_UNDECLARED_CHECK = SHAPES_NS + "UndeclaredFipTermCheck"
_TEXT_CHECK = SHAPES_NS + "TextWithoutLanguageCheck"


def beyond_shapes(store: Store, delta: Delta, shape_results: tuple[Finding, ...],
                  checked: list[Finding], *, ontology_terms, exclude: frozenset,
                  lint: bool, documented: Documented | None = None
                  ) -> tuple[list[Finding], set]:
    """The findings of the literals and (with ``lint``) the lint for ``delta``, with
    ``checked`` (the rows of the SPARQL checks), each problem once; and the keys
    ``(focus, path, value)`` of the shape results they replace. ``documented`` gives the
    lint its hints about misplaced properties."""
    added = [(q.subject, q.predicate, q.object) for q in delta.added
             if q.graph_name not in exclude]
    found = [Finding(focus_node=to_rdflib(s), path=to_rdflib(p), value=to_rdflib(o),
                     message=why, severity="Violation",
                     source_shape=rdflib.URIRef(LEXICAL_FORM))
             for s, p, o, why in literal_problems(added)]
    replaced = {(f.focus_node, f.path, f.value) for f in found}
    linted = []
    if lint:
        view = View(store, delta, exclude=exclude)
        linted = [w.as_finding() for w in kg_lint.lint(
            {q for q in delta.added if q.graph_name not in exclude}, view,
            ontology_terms=ontology_terms(store), documented=documented)]
    named = {f.value if f.value is not None else f.path for f in linted
             if str(f.source_shape) == kg_lint.UNDECLARED_TERM}
    checked = [f for f in checked if not (str(f.source_shape) == _UNDECLARED_CHECK and f.focus_node in named)]
    refused = {_value_key(f) for f in shape_results if f.severity == "Violation"}
    checked = [f for f in checked if f.path is None or _value_key(f) not in refused]
    violated = {(f.focus_node, f.path) for f in shape_results if f.severity == "Violation"}
    violated |= {(f.focus_node, None) for f in checked}
    for warning in linted:
        mirrored = str(warning.source_shape) in kg_lint.MIRRORED
        if not mirrored or ((warning.focus_node, warning.path) not in violated
                            and (warning.focus_node, None) not in violated):
            found.append(warning)
    return found + checked, replaced


def _value_key(finding: Finding) -> tuple:
    """Focus, path and value, the value as pyoxigraph compares it (``"x"`` is ``"x"^^xsd:string``)."""
    value = to_ox(finding.value) if finding.value is not None else None
    return finding.focus_node, finding.path, value


def datatype_results(report: rdflib.Graph, keys: set) -> list:
    """The pySHACL ``sh:datatype`` results of ``report`` on the values of ``keys``."""
    return [node for node in report.subjects(SH.sourceConstraintComponent,
                                             SH.DatatypeConstraintComponent)
            if (report.value(node, SH.focusNode), report.value(node, SH.resultPath),
                report.value(node, SH.value)) in keys]
