"""pySHACL's shapes run on chosen focus nodes only (for :mod:`kg.validation.incremental`).

pySHACL 0.40 has no option to validate given focus nodes only (its ``focus_nodes`` option
also filters the value nodes of nested shapes), so :class:`Runner` drives pySHACL's shapes
one by one (``Shape.validate``, on the nodes :class:`Targets` finds): the pyproject pins pySHACL's minor
version for that reason. :class:`PreparedQueries` is the data graph it runs on, which
parses each SPARQL constraint once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

from rdflib import RDF, RDFS, Graph


@lru_cache(maxsize=512)
def _prepared(text: str):
    from rdflib.plugins.sparql import prepareQuery

    return prepareQuery(text)


class PreparedQueries(Graph):
    """An rdflib graph that parses each SPARQL text once (pySHACL sends the same constraint
    text for every focus node, with ``$this`` bound separately)."""

    def query(self, query_object, *args, **kwargs):
        if isinstance(query_object, str):
            query_object = _prepared(query_object)
        return super().query(query_object, *args, **kwargs)


class Runner:
    """pySHACL's shapes, parsed once, run on chosen focus nodes."""

    def __init__(self, shapes: Graph) -> None:
        from pyshacl.pytypes import SHACLExecutor
        from pyshacl.shapes_graph import ShapesGraph

        self.shapes_graph = ShapesGraph(shapes)
        self.shapes = list(self.shapes_graph.shapes)
        for shape in self.shapes:
            shape.set_advanced(True)  # SPARQL-based targets (SHACL-AF)
        # a shape without targets is only ever reached through another (sh:node, sh:property)
        self.targeted = [(shape, Targets.of(shape)) for shape in self.shapes]
        self.targeted = [(shape, targets) for shape, targets in self.targeted if targets]
        self.executor = SHACLExecutor(advanced_mode=True, allow_warnings=True)
        self.lock = threading.Lock()  # pySHACL's shape objects are not made for threads

    def run(self, graph: Graph, focus: set) -> Graph:
        """The report of validating the nodes of ``focus`` (only) in ``graph``."""
        from pyshacl.graph_abstraction import DataGraph
        from pyshacl.validator import Validator

        data = DataGraph.from_rdflib(graph)
        reports, conforms = [], True
        subclasses: dict = {}  # per run: a class and its subclasses in ``graph``
        with self.lock:
            for shape, declared in self.targeted:
                targets = [node for node in shape.focus_nodes(data) if node in focus] \
                    if declared.advanced else declared.among(graph, focus, subclasses)
                if targets:
                    ok, found = shape.validate(self.executor, data, focus=targets)
                    conforms = conforms and ok
                    reports.extend(found)
            report, _ = Validator.create_validation_report(self.shapes_graph, conforms, reports)
        return report


@dataclass(frozen=True)
class Targets:
    """A shape's target declarations, read once: which of some focus nodes it targets is
    then a few look-ups about those nodes, where pySHACL's ``Shape.focus_nodes`` lists
    every instance of every target class in the graph (half the cost of a gated write)."""

    nodes: frozenset
    classes: frozenset  # sh:targetClass, and the shape itself when it is a class
    subjects_of: frozenset
    objects_of: frozenset
    selects: tuple[str, ...]  # SHACL-AF SPARQL targets, their prefixes declared
    advanced: bool  # other SHACL-AF targets: left to pySHACL

    @classmethod
    def of(cls, shape) -> "Targets":
        """The targets ``shape`` declares."""
        from pyshacl.consts import SH_SPARQLTarget

        nodes, classes, implicit, objects_of, subjects_of = shape.target()
        custom = list(shape.advanced_target().values())
        selects = tuple(target["qh"].apply_prefixes(target["qh"].select_text)
                        for target in custom if target.get("type") == SH_SPARQLTarget)
        return cls(frozenset(nodes), frozenset(classes) | frozenset(implicit),
                   frozenset(subjects_of), frozenset(objects_of), selects,
                   len(selects) < len(custom))

    def __bool__(self) -> bool:
        return bool(self.nodes or self.classes or self.subjects_of or self.objects_of
                    or self.selects or self.advanced)

    def among(self, graph: Graph, focus: set, subclasses: dict) -> list:
        """The nodes of ``focus`` this shape targets in ``graph``, as pySHACL finds them
        (instances of a target class or of its subclasses in ``graph``; the ``?this`` of
        a SPARQL target)."""
        found = {node for node in focus
                 if node in self.nodes or any((node, p, None) in graph for p in self.subjects_of)
                 or any((None, p, node) in graph for p in self.objects_of)
                 or self._instance(graph, node, subclasses)}
        for select in self.selects:
            found |= {row["this"] for row in graph.query(select)} & focus
        return list(found)

    def _instance(self, graph: Graph, node, subclasses: dict) -> bool:
        types = set(graph.objects(node, RDF.type)) if self.classes else set()
        if not types or self.classes & types:
            return bool(types)
        for target in self.classes:
            if target not in subclasses:
                subclasses[target] = set(graph.transitive_subjects(RDFS.subClassOf, target))
            if types & subclasses[target]:
                return True
        return False
