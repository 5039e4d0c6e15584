"""pySHACL's shapes run on chosen focus nodes only (for :mod:`kg.validation.incremental`).

pySHACL 0.40 has no option to validate given focus nodes only (its ``focus_nodes`` option
also filters the value nodes of nested shapes), so :class:`Runner` drives pySHACL's shapes
one by one (``Shape.focus_nodes``, ``Shape.validate``): the pyproject pins pySHACL's minor
version for that reason. :class:`PreparedQueries` is the data graph it runs on, which
parses each SPARQL constraint once.
"""

from __future__ import annotations

import threading
from functools import lru_cache

from rdflib import Graph


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
        self.executor = SHACLExecutor(advanced_mode=True, allow_warnings=True)
        self.lock = threading.Lock()  # pySHACL's shape objects are not made for threads

    def run(self, graph: Graph, focus: set) -> Graph:
        """The report of validating the nodes of ``focus`` (only) in ``graph``."""
        from pyshacl.graph_abstraction import DataGraph
        from pyshacl.validator import Validator

        data = DataGraph.from_rdflib(graph)
        reports, conforms = [], True
        with self.lock:
            for shape in self.shapes:
                targets = [node for node in shape.focus_nodes(data) if node in focus]
                if targets:
                    ok, found = shape.validate(self.executor, data, focus=targets)
                    conforms = conforms and ok
                    reports.extend(found)
            report, _ = Validator.create_validation_report(self.shapes_graph, conforms, reports)
        return report
