"""The update requests a write to a remote store is made of (no HTTP here).

:func:`update_operations` writes quads as DELETE DATA and INSERT DATA, in GRAPH blocks a
server accepts; :class:`Staging` names the staging graphs where a write too large for one
request waits until one last request moves it into place (see
:meth:`kg.store.remote.RemoteStore.write`).
"""

from __future__ import annotations

import uuid
from typing import Iterable, Iterator

from pyoxigraph import BlankNode, DefaultGraph, NamedNode, Quad


def update_operations(removed: Iterable[Quad], added: Iterable[Quad], block: int) -> list[str]:
    """The update operations that remove then add quads: DELETE DATA and INSERT DATA, their
    GRAPH blocks of at most ``block`` triples (0: any number). Quads with a blank node are
    added by one ``INSERT {…} WHERE {}``: a blank node stands for a new node there, the same
    one throughout the template, where some servers (Virtuoso) refuse it in INSERT DATA."""
    removed, added = list(removed), list(added)
    blank = [q for q in added if _has_blank(q)]
    ground = [q for q in added if not _has_blank(q)]
    operations = [f"DELETE DATA {{ {_data_body(removed, block)} }}"] if removed else []
    if ground:
        operations.append(f"INSERT DATA {{ {_data_body(ground, block)} }}")
    if blank:
        operations.append(f"INSERT {{ {_data_body(blank, block)} }} WHERE {{}}")
    return operations


def _has_blank(quad: Quad) -> bool:
    return isinstance(quad.subject, BlankNode) or isinstance(quad.object, BlankNode)


def _data_body(quads: Iterable[Quad], block: int = 0) -> str:
    """Quads as the body of INSERT DATA / DELETE DATA (N-Triples syntax, by graph, in GRAPH
    blocks of at most ``block`` triples)."""
    graphs: dict[str, list[str]] = {}
    for quad in quads:
        graph = "" if isinstance(quad.graph_name, DefaultGraph) else str(quad.graph_name)
        graphs.setdefault(graph, []).append(f"{quad.subject} {quad.predicate} {quad.object} .")
    parts = []
    for graph, lines in graphs.items():
        size = block or len(lines)
        for start in range(0, len(lines), size):
            text = " ".join(lines[start:start + size])
            parts.append(f"GRAPH {graph} {{ {text} }}" if graph else text)
    return " ".join(parts)


class Staging:
    """Where a large write waits until its last request: one staging graph per target graph,
    named ``urn:x-kg:staging:<random>:<n>``."""

    def __init__(self, quads: list[Quad]) -> None:
        self.quads = quads
        token = uuid.uuid4().hex
        self.graphs: dict[str, str] = {}  # target (as written in SPARQL; "" default) -> staging
        for quad in quads:
            target = "" if isinstance(quad.graph_name, DefaultGraph) else str(quad.graph_name)
            if target not in self.graphs:
                self.graphs[target] = f"<urn:x-kg:staging:{token}:{len(self.graphs)}>"

    def _staged(self, quad: Quad) -> Quad:
        target = "" if isinstance(quad.graph_name, DefaultGraph) else str(quad.graph_name)
        return Quad(quad.subject, quad.predicate, quad.object,
                    NamedNode(self.graphs[target][1:-1]))

    def batches(self, size: int) -> Iterator[list[Quad]]:
        """The quads in their staging graphs, ``size`` at a time; those with a blank node
        all in the last batch (a blank node is one node within one request only)."""
        ground, blank = [], []
        for quad in self.quads:
            (blank if _has_blank(quad) else ground).append(quad)
        for start in range(0, len(ground), size):
            yield [self._staged(q) for q in ground[start:start + size]]
        if blank:
            yield [self._staged(q) for q in blank]

    def count(self, size: int) -> int:
        """How many batches :meth:`batches` makes (for progress)."""
        return -(-len(self.quads) // size)

    def moves(self) -> list[str]:
        """The operations that move every staged quad into its graph."""
        return [f"ADD {staging} TO {target or 'DEFAULT'} ; DROP SILENT GRAPH {staging}"
                for target, staging in self.graphs.items()]

    def drops(self) -> list[str]:
        """The operations that drop the staging graphs."""
        return [f"DROP SILENT GRAPH {staging}" for staging in self.graphs.values()]

