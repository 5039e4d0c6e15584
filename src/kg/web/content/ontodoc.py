"""Documentation of the ontology, generated from the ontology graph (no Flask, no HTML here).

:func:`document` reads the ontology's header, classes, properties and SKOS vocabularies
from the ``…/graph/ontology`` named graph; :func:`diagram` lays out its classes and their
main relations (the object properties with a declared domain or range) as boxes and arrows
for an SVG the template draws. pyLODE, the field's generator, was weighed and left out: it
brings nine more packages (httpx, dominate, markdown, html5lib…), writes inline styles that a
strict Content-Security-Policy refuses, and draws no diagram.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pyoxigraph import NamedNode

from ...namespaces import GRAPHS, ONTOLOGY_IRI, ONTOLOGY_NS, PREFIXES, compact
from .present import Value, labels_of, value_of
from .reader import Reader

_G = f"<{GRAPHS['ontology']}>"
_HEADER = ("dcterms:title", "dcterms:description", "owl:versionInfo", "owl:versionIRI",
           "dcterms:license", "dcterms:creator", "dcterms:contributor", "dcterms:issued",
           "dcterms:modified", "vann:preferredNamespacePrefix", "vann:preferredNamespaceUri",
           "rdfs:comment", "rdfs:seeAlso")


@dataclass
class Term:
    """A class or property of the ontology with what its documentation shows."""

    iri: str
    label: str
    kind: str  #: "class", "object property", "datatype property"
    definition: str = ""
    comment: str = ""
    relations: list[tuple[str, list[Value]]] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        """The fragment of the term's IRI (``CooperationLink``), its id on the page."""
        return self.iri.rsplit("#", 1)[-1]


@dataclass
class Scheme:
    """A SKOS concept scheme with its concepts as a tree of (concept, children)."""

    iri: str
    label: str
    tree: list[tuple[Value, list]]


@dataclass
class OntologyDoc:
    """The header, terms and vocabularies of the ontology."""

    iri: str
    header: list[tuple[Value, list[Value]]]
    title: str
    classes: list[Term]
    properties: list[Term]
    schemes: list[Scheme]


def document(kg: Reader) -> OntologyDoc | None:
    """The documentation of the loaded ontology; None when it is not loaded."""
    header_rows = list(kg.query(f"""SELECT ?p ?o WHERE {{ GRAPH {_G} {{
        <{ONTOLOGY_IRI}> ?p ?o VALUES ?p {{ {' '.join(_HEADER)} }} }} }}""").solutions)
    if not header_rows:
        return None
    order = [PREFIXES[name.split(":")[0]] + name.split(":")[1] for name in _HEADER]
    labels = labels_of(kg, order + [r["o"].value for r in header_rows
                                    if isinstance(r["o"], NamedNode)])
    header: dict[str, list[Value]] = {}
    for row in header_rows:
        header.setdefault(row["p"].value, []).append(value_of(row["o"], labels))
    titles = header.get(PREFIXES["dcterms"] + "title", [])
    title = next((v.value for v in titles if v.language == "en"), ONTOLOGY_IRI)
    return OntologyDoc(
        ONTOLOGY_IRI,
        [(Value("iri", p, labels.get(p, "")), header[p]) for p in order if p in header],
        title, _terms(kg, "class"), _terms(kg, "property"), _schemes(kg))


_TERMS = {
    "class": ("?t a ?k FILTER(?k = owl:Class)",
              [("subclass of", "?t rdfs:subClassOf ?v FILTER(isIRI(?v))"),
               ("superclass of", "?v rdfs:subClassOf ?t"),
               ("in the domain of", "?v rdfs:domain ?t"),
               ("in the range of", "?v rdfs:range ?t"),
               ("equivalent to", "?t owl:equivalentClass ?v FILTER(isIRI(?v))"),
               ("disjoint with", "?t owl:disjointWith ?v")]),
    "property": ("?t a ?k FILTER(?k IN (owl:ObjectProperty, owl:DatatypeProperty))",
                 [("domain", "?t rdfs:domain ?v"), ("range", "?t rdfs:range ?v"),
                  ("subproperty of", "?t rdfs:subPropertyOf ?v"),
                  ("inverse of", "{ ?t owl:inverseOf ?v } UNION { ?v owl:inverseOf ?t }"),
                  ("characteristics", "?t a ?v FILTER(?v IN (owl:TransitiveProperty, "
                   "owl:FunctionalProperty, owl:SymmetricProperty, owl:InverseFunctionalProperty))"),
                  ("equivalent to", "?t owl:equivalentProperty ?v")]),
}


def _terms(kg: Reader, what: str) -> list[Term]:
    pattern, relations = _TERMS[what]
    rows = kg.query(f"""SELECT ?t ?k (SAMPLE(?l) AS ?label) (SAMPLE(?d) AS ?definition)
        (SAMPLE(?c) AS ?comment) WHERE {{ GRAPH {_G} {{
        {pattern}
        FILTER(STRSTARTS(STR(?t), "{ONTOLOGY_NS}"))
        OPTIONAL {{ ?t rdfs:label ?l FILTER(LANG(?l) = "en") }}
        OPTIONAL {{ ?t skos:definition ?d FILTER(LANG(?d) IN ("en", "")) }}
        OPTIONAL {{ ?t rdfs:comment ?c FILTER(LANG(?c) IN ("en", "")) }}
    }} }} GROUP BY ?t ?k ORDER BY ?t""").solutions
    terms = {}
    for row in rows:
        kind = {"Class": "class", "ObjectProperty": "object property",
                "DatatypeProperty": "datatype property"}[row["k"].value.rsplit("#", 1)[-1]]
        terms[row["t"].value] = Term(
            row["t"].value, row["label"].value if row["label"] else compact(row["t"].value),
            kind, row["definition"].value if row["definition"] else "",
            row["comment"].value if row["comment"] else "")
    found: dict[tuple[str, str], list] = {}
    for name, where in relations:
        for row in kg.query(f"SELECT ?t ?v WHERE {{ GRAPH {_G} {{ {pattern} {where} }} }} "
                            "ORDER BY ?t ?v").solutions:
            if row["t"].value in terms:
                found.setdefault((row["t"].value, name), []).append(row["v"])
    labels = labels_of(kg, {term.value for terms_ in found.values() for term in terms_
                            if isinstance(term, NamedNode)})
    for term in terms.values():
        term.relations = [(name, [value_of(v, labels) for v in found[(term.iri, name)]])
                          for name, _ in relations if (term.iri, name) in found]
    return sorted(terms.values(), key=lambda t: t.anchor.lower())


def _schemes(kg: Reader) -> list[Scheme]:
    rows = list(kg.query(f"""SELECT ?scheme ?concept ?broader WHERE {{ GRAPH {_G} {{
        ?scheme a skos:ConceptScheme . ?concept skos:inScheme ?scheme .
        OPTIONAL {{ ?concept skos:broader ?broader . ?broader skos:inScheme ?scheme }}
    }} }} ORDER BY ?scheme ?concept""").solutions)
    labels = labels_of(kg, {row[k].value for row in rows for k in ("scheme", "concept")})
    schemes: dict[str, dict[str, list[str]]] = {}
    for row in rows:
        children = schemes.setdefault(row["scheme"].value, {})
        parent = row["broader"].value if row["broader"] is not None else ""
        children.setdefault(parent, []).append(row["concept"].value)

    def tree(children: dict[str, list[str]], parent: str, seen: frozenset) -> list:
        kids = sorted(set(children.get(parent, [])), key=lambda c: labels.get(c, c).lower())
        return [(Value("iri", c, labels.get(c, "")), tree(children, c, seen | {c}))
                for c in kids if c not in seen]

    return [Scheme(iri, labels.get(iri, compact(iri)), tree(children, "", frozenset()))
            for iri, children in sorted(schemes.items(), key=lambda s: labels.get(s[0], s[0]))]


# -- the class diagram ---------------------------------------------------------------------

@dataclass(frozen=True)
class Box:
    """A class drawn as a box centred on (x, y)."""

    iri: str
    name: str
    x: float
    y: float
    width: float
    height: float = 28.0


@dataclass(frozen=True)
class Arrow:
    """The properties from one class to another, drawn as one arrow (``path``: SVG path data)
    labelled with their names, one a line."""

    names: tuple[str, ...]
    path: str
    label_x: float
    label_y: float
    anchor: str = "middle"  #: text-anchor of the label: beside steep arrows, above flat ones


@dataclass(frozen=True)
class Diagram:
    """The class diagram: its size, boxes and arrows."""

    width: int
    height: int
    boxes: tuple[Box, ...]
    arrows: tuple[Arrow, ...]


def diagram(kg: Reader, *, width: int = 960, height: int = 720) -> Diagram:
    """Lay out the classes linked by the ontology's object properties.

    Edges are the ``fip:`` object properties with a declared domain and range; the class
    with the most of them sits in the middle, the others on a circle around it, each
    placed next to the neighbours it shares most properties with.
    """
    rows = kg.query(f"""SELECT ?p ?d ?r WHERE {{ GRAPH {_G} {{
        ?p a owl:ObjectProperty ; rdfs:domain ?d ; rdfs:range ?r
        FILTER(STRSTARTS(STR(?p), "{ONTOLOGY_NS}") && isIRI(?d) && isIRI(?r)) }} }}
        ORDER BY ?p""").solutions
    edges = [(row["p"].value, row["d"].value, row["r"].value) for row in rows]
    if not edges:
        return Diagram(width, height, (), ())
    degree: dict[str, int] = {}
    for _, d, r in edges:
        degree[d] = degree.get(d, 0) + 1
        degree[r] = degree.get(r, 0) + 1
    hub = max(sorted(degree), key=lambda node: degree[node])
    ring = _ring_order([n for n in sorted(degree) if n != hub], edges)
    cx, cy = width / 2, height / 2
    rx, ry = width / 2 - 110, height / 2 - 50
    positions = {hub: (cx, cy)}
    for i, node in enumerate(ring):
        angle = -math.pi / 2 + 2 * math.pi * i / len(ring)
        positions[node] = (cx + rx * math.cos(angle), cy + ry * math.sin(angle))
    boxes = {node: Box(node, compact(node), round(x, 1), round(y, 1),
                       8.0 * len(compact(node)) + 16) for node, (x, y) in positions.items()}
    grouped: dict[tuple[str, str], list[str]] = {}
    for prop, d, r in edges:  # parallel properties share one arrow
        grouped.setdefault((d, r), []).append(compact(prop))
    arrows, seen = [], {}
    for (d, r), names in grouped.items():
        pair = tuple(sorted((d, r)))
        bend = seen.get(pair, 0)  # the way back between the same two classes bends away
        seen[pair] = bend + 1
        arrows.append(_arrow(tuple(names), boxes[d], boxes[r], bend))
    return Diagram(width, height, tuple(boxes.values()), tuple(arrows))


def _ring_order(nodes: list[str], edges) -> list[str]:
    # greedy: start anywhere, then always take the node sharing most edges with the last one
    if not nodes:
        return []
    weight = lambda a, b: sum(1 for _, d, r in edges if {d, r} == {a, b})  # noqa: E731
    order, rest = [nodes[0]], nodes[1:]
    while rest:
        nxt = max(rest, key=lambda n: (weight(order[-1], n), -rest.index(n)))
        order.append(nxt)
        rest.remove(nxt)
    return order


def _edge_point(box: Box, dx: float, dy: float) -> tuple[float, float]:
    # where the line from the box's centre in direction (dx, dy) leaves the box
    scale = min((box.width / 2 + 2) / abs(dx) if dx else math.inf,
                (box.height / 2 + 2) / abs(dy) if dy else math.inf)
    return box.x + dx * scale, box.y + dy * scale


def _arrow(names: tuple[str, ...], start: Box, end: Box, bend: int) -> Arrow:
    lines = len(names)
    if start is end:  # from a class to itself: a loop above the box
        x1, y1 = start.x, start.y - start.height / 2
        lift = 40 + 14 * lines
        path = (f"M{x1 - 24:.1f},{y1:.1f} C{x1 - 44:.1f},{y1 - lift:.1f} "
                f"{x1 + 44:.1f},{y1 - lift:.1f} {x1 + 24:.1f},{y1:.1f}")
        return Arrow(names, path, round(x1, 1), round(y1 - lift + 4 - 14 * (lines - 1), 1))
    dx, dy = end.x - start.x, end.y - start.y
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    offset = 80.0 * bend
    # the control point sits off the straight line for the way back; ends follow it
    mx, my = (start.x + end.x) / 2 - uy * offset, (start.y + end.y) / 2 + ux * offset
    sx, sy = _edge_point(start, mx - start.x, my - start.y)
    ex, ey = _edge_point(end, mx - end.x, my - end.y)
    path = f"M{sx:.1f},{sy:.1f} Q{mx:.1f},{my:.1f} {ex:.1f},{ey:.1f}"
    # the label past the middle: arrows leaving the same class part there
    t = 0.6
    a, b, c = (1 - t) ** 2, 2 * t * (1 - t), t ** 2
    label_x, label_y = a * sx + b * mx + c * ex, a * sy + b * my + c * ey - 7 * (lines - 1)
    anchor = "middle"
    if abs(ex - sx) < abs(ey - sy):  # steep: the label beside the arrow, away from it
        anchor = "end" if ex < sx else "start"
        label_x += -6 if ex < sx else 6
    else:
        label_y -= 6
    return Arrow(names, path, round(label_x, 1), round(label_y, 1), anchor)
