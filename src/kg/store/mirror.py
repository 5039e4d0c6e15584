"""A local copy of what one validation reads of a remote store (see :class:`Mirror`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyoxigraph import Literal, NamedNode, Quad, Store

if TYPE_CHECKING:
    from .remote import RemoteStore


class Mirror:
    """A local copy of the parts of a remote store that one validation reads.

    The validator (:mod:`kg.validation.incremental`, :mod:`kg.validation.entail`,
    :mod:`kg.validation.lint`) reads the store around a change pattern by pattern; over HTTP
    each read would be a request. A mirror
    fetches, the first time a node is read, every quad about it (as subject, or as object)
    in one CONSTRUCT-like SELECT that keeps the graph names, then answers that node's
    patterns locally; a predicate-only pattern (the schema: subclass, domain...) fetches that
    predicate's quads, a graph-only pattern that graph's. Whole-store queries go to the
    server. A mirror lives for one write: it is not kept up to date.
    """

    def __init__(self, remote: RemoteStore) -> None:
        self.remote, self.local = remote, Store()
        self._fetched: set[tuple] = set()
        self._graphs: list | None = None

    def _fetch(self, key: tuple, where: str) -> None:
        if key in self._fetched:
            return
        self._fetched.add(key)
        rows = self.remote.query(f"SELECT ?s ?p ?o ?g WHERE {{ GRAPH ?g {{ {where} }} }}")
        self.local.extend(Quad(row["s"], row["p"], row["o"], row["g"]) for row in rows)

    def quads_for_pattern(self, subject=None, predicate=None, object=None, graph_name=None):
        """The quads matching the pattern, fetched first if they were not yet."""
        # blank nodes cannot be named in a request: data about them is not mirrored
        if isinstance(subject, NamedNode):
            self._fetch(("s", subject), f"{subject} ?p ?o BIND({subject} AS ?s)")
        elif isinstance(object, NamedNode) or isinstance(object, Literal) and \
                self.remote.dialect.can_match(object):
            self._fetch(("o", object), f"?s ?p {object} BIND({object} AS ?o)")
        elif isinstance(object, Literal):  # a literal the server cannot be asked about
            return iter(())
        elif isinstance(graph_name, NamedNode):
            self._fetch(("g", graph_name), f"?s ?p ?o FILTER(?g = {graph_name})")
        elif isinstance(predicate, NamedNode):
            self._fetch(("p", predicate), f"?s {predicate} ?o BIND({predicate} AS ?p)")
        else:
            return iter(self.remote.quads_for_pattern(subject, predicate, object, graph_name))
        return self.local.quads_for_pattern(subject, predicate, object, graph_name)

    def __contains__(self, quad: Quad) -> bool:
        return next(iter(self.quads_for_pattern(quad.subject, quad.predicate, quad.object,
                                                quad.graph_name)), None) is not None

    def named_graphs(self) -> list:
        """The server's named graphs (asked once)."""
        if self._graphs is None:
            self._graphs = self.remote.named_graphs()
        return self._graphs

    def contains_named_graph(self, graph) -> bool:
        """Whether the server has that named graph."""
        return graph in self.named_graphs()

    def query(self, text: str, *, substitutions: dict | None = None, **options):
        """A whole-store query, asked of the server (``substitutions`` as a VALUES block)."""
        if substitutions:
            names = " ".join(f"?{variable.value}" for variable in substitutions)
            terms = " ".join(str(term) for term in substitutions.values())
            text += f"\nVALUES ({names}) {{ ({terms}) }}"
        return self.remote.query(text, **options)

    def dump(self, *args, **kwargs):
        """The whole store, from the server."""
        return self.remote.dump(*args, **kwargs)

    def __iter__(self):
        return iter(self.remote)

    def __len__(self) -> int:
        return len(self.remote)
