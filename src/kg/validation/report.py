"""A validation result in words a researcher understands, or as the standard report.

``text`` groups the results by focus node (its English label and IRI), then gives the
property path, the offending value, the message, the severity and the shape; ``json`` is the
same for scripts; Turtle, JSON-LD, N-Triples and RDF/XML give the ``sh:ValidationReport``.

>>> import rdflib
>>> from kg.validation.validate import validate
>>> shapes = rdflib.Graph().parse(format="turtle", data='''
...     @prefix sh: <http://www.w3.org/ns/shacl#> .
...     <http://e/PersonShape> a sh:NodeShape ; sh:targetClass <http://e/Person> ;
...         sh:property [ sh:path <http://e/name> ; sh:minCount 1 ;
...                       sh:message "A person needs a name." ] .''')
>>> data = rdflib.Graph().parse(format="turtle", data="<http://e/ann> a <http://e/Person> .")
>>> result = validate(data, shapes=shapes, ontology=rdflib.Graph())
>>> print(text(result, shapes=shapes))
<http://e/ann>
  Violation  <http://e/name>: A person needs a name.
             (shape <http://e/PersonShape>)
<BLANKLINE>
1 violation, 0 warnings on 1 node: the triples do not conform.
"""

from __future__ import annotations

import json as _json
from collections import defaultdict

import rdflib
from pyoxigraph import Triple, serialize

from ..sparql.formats import REPORT_JSON, REPORT_TEXT, Format
from .lint import SHAPES_NS
from ..namespaces import PREFIXES, compact
from ..terms import to_ox
from .validate import SH, Finding, ValidationResult

_PREFIXES = {**PREFIXES, "fipsh": SHAPES_NS}
Labels = dict  # focus node (rdflib term) -> its English label


def render(result: ValidationResult, fmt: Format, *, labels: Labels | None = None,
           shapes: rdflib.Graph | None = None, message: str | None = None) -> bytes:
    """``result`` in ``fmt`` (a format of ``ResultKind.REPORT``)."""
    if fmt is REPORT_TEXT:
        body = text(result, labels=labels, shapes=shapes)
        return ((message + "\n\n") if message else "").encode() + body.encode()
    if fmt is REPORT_JSON:
        data = as_json(result, labels=labels, shapes=shapes)
        if message:
            data = {"message": message, **data}
        return (_json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode()
    triples = [Triple(to_ox(s), to_ox(p), to_ox(o)) for s, p, o in result.report
               if not isinstance(s, rdflib.Literal)]
    return serialize(triples, None, fmt.engine, prefixes={**_PREFIXES, "sh": str(SH)})


def _term(node, shapes: rdflib.Graph | None = None) -> str:
    if node is None:
        return ""
    if isinstance(node, rdflib.URIRef):
        return compact(str(node), _PREFIXES)
    if isinstance(node, rdflib.BNode):
        parent = shapes.value(predicate=SH.property, object=node) if shapes is not None else None
        if parent is not None:
            return _term(parent, shapes)  # a property shape: name the shape it belongs to
        path = shapes.value(node, SH.path) if shapes is not None else None
        return f"[ sh:path {_path(path, shapes)} ]" if path is not None else "_:" + str(node)
    return node.n3()


def _path(path, shapes: rdflib.Graph | None) -> str:
    """A SHACL path in SPARQL syntax: ``org:unitOf``, ``^org:hasUnit``, ``a|b``."""
    if path is None:
        return ""
    if isinstance(path, rdflib.URIRef) or shapes is None:
        return _term(path)
    inverse = shapes.value(path, SH.inversePath)
    if inverse is not None:
        return "^" + _path(inverse, shapes)
    alternatives = shapes.value(path, SH.alternativePath)
    if alternatives is not None:
        return "|".join(_path(p, shapes) for p in rdflib.collection.Collection(shapes, alternatives))
    if (path, rdflib.RDF.first, None) in shapes:
        return "/".join(_path(p, shapes) for p in rdflib.collection.Collection(shapes, path))
    return _term(path)


def _counts(result: ValidationResult) -> tuple[int, int]:
    violations = sum(f.severity == "Violation" for f in result.results)
    return violations, len(result.results) - violations


def as_json(result: ValidationResult, *, labels: Labels | None = None,
            shapes: rdflib.Graph | None = None) -> dict:
    """The result as plain JSON (IRIs in full, compact forms alongside for reading)."""
    violations, warnings = _counts(result)
    return {"conforms": result.conforms, "violations": violations, "warnings": warnings,
            "results": [_json_finding(f, labels or {}, shapes) for f in result.results]}


def _json_finding(f: Finding, labels: Labels, shapes) -> dict:
    out = {"focusNode": str(f.focus_node), "label": labels.get(f.focus_node),
           "path": _path(f.path, shapes) or None,
           "value": (str(f.value) if isinstance(f.value, rdflib.URIRef) else
                     f.value.n3() if f.value is not None else None),
           "message": f.message, "severity": f.severity,
           "shape": _term(f.source_shape, shapes),
           "constraint": compact(str(f.constraint), _PREFIXES) if f.constraint else None}
    return {key: value for key, value in out.items() if value is not None}


def text(result: ValidationResult, *, labels: Labels | None = None,
         shapes: rdflib.Graph | None = None) -> str:
    """The readable report: results grouped by focus node, then a one-line verdict."""
    labels = labels or {}
    by_node: dict = defaultdict(list)
    for finding in result.results:
        by_node[finding.focus_node].append(finding)
    lines = []
    for node in sorted(by_node, key=lambda n: (str(labels.get(n, "")), str(n))):
        label = labels.get(node)
        lines.append(_term(node) + (f'  "{label}"' if label else ""))
        for f in sorted(by_node[node], key=lambda f: (f.severity != "Violation", str(f.path))):
            where = _path(f.path, shapes)
            if f.value is not None:
                where += (" " if where else "") + "= " + _term(f.value)
            lines.append(f"  {f.severity:<9}  {where + ': ' if where else ''}{f.message}")
            lines.append(f"  {'':<9}  (shape {_term(f.source_shape, shapes)})")
        lines.append("")
    violations, warnings = _counts(result)
    verdict = "the triples conform" if result.conforms else "the triples do not conform"
    nodes = len(by_node)
    lines.append(f"{violations} violation{'s' if violations != 1 else ''}, {warnings} "
                 f"warning{'s' if warnings != 1 else ''} on {nodes} node"
                 f"{'s' if nodes != 1 else ''}: {verdict}.")
    return "\n".join(lines)


def labels_for(result: ValidationResult, lookup) -> Labels:
    """English labels (else any label) of the focus nodes; ``lookup(node)`` gives the
    ``rdfs:label`` literals of a node (rdflib terms)."""
    found = {}
    for node in {f.focus_node for f in result.results}:
        literals = list(lookup(node))
        english = [l for l in literals if getattr(l, "language", None) == "en"]
        if english or literals:
            found[node] = str((english or literals)[0])
    return found
