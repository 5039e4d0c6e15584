"""A change of the store as data: the quads it adds and the quads it removes.

Every write (SPARQL Update, Graph Store request, reviewed change) is first computed as a
:class:`Delta` against the store as it is, then validated, then committed with
:func:`commit` — so what is validated is exactly what is written, and a delta can be sent
as is to the query workers (:meth:`kg.engine.engine.Engine.dataset_changed`).

>>> from pyoxigraph import NamedNode, Quad, Store
>>> store = Store()
>>> quad = Quad(NamedNode("http://e/a"), NamedNode("http://e/p"), NamedNode("http://e/b"),
...             NamedNode("http://e/g"))
>>> delta = Delta(added=frozenset({quad}))
>>> commit(store, delta)
>>> len(store), Delta.from_nquads(*delta.to_nquads()) == delta
(1, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from pyoxigraph import BlankNode, DefaultGraph, Quad, RdfFormat, Store, parse, serialize

from .errors import StoreError


@dataclass(frozen=True)
class Delta:
    """Quads added and quads removed, each a set (a quad is in at most one of them)."""

    added: frozenset[Quad] = field(default_factory=frozenset)
    removed: frozenset[Quad] = field(default_factory=frozenset)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)

    @property
    def graphs(self) -> set[str | None]:
        """The graphs the change writes to (None: the default graph)."""
        return {None if isinstance(q.graph_name, DefaultGraph) else q.graph_name.value
                for q in self.added | self.removed}

    def restricted(self, graphs: set[str], *, keep: bool = True) -> "Delta":
        """The part of the change in ``graphs`` (IRIs), or with ``keep=False`` outside them.

        >>> from pyoxigraph import NamedNode, Quad
        >>> q = Quad(NamedNode("http://e/a"), NamedNode("http://e/p"), NamedNode("http://e/b"),
        ...          NamedNode("http://e/g"))
        >>> bool(Delta(added=frozenset({q})).restricted({"http://e/g"}, keep=False))
        False
        """
        def inside(quad: Quad) -> bool:
            named = not isinstance(quad.graph_name, DefaultGraph)
            return (named and quad.graph_name.value in graphs) == keep

        return Delta(frozenset(filter(inside, self.added)), frozenset(filter(inside, self.removed)))

    def then(self, other: "Delta") -> "Delta":
        """This change followed by ``other`` (computed against the store after this one),
        as one change against the store before both.

        >>> from pyoxigraph import NamedNode, Quad
        >>> q = Quad(NamedNode("http://e/a"), NamedNode("http://e/p"), NamedNode("http://e/b"))
        >>> Delta(removed=frozenset({q})).then(Delta(added=frozenset({q})))
        Delta(added=frozenset(), removed=frozenset())
        """
        return Delta(frozenset((self.added - other.removed) | (other.added - self.removed)),
                     frozenset((self.removed - other.added) | (other.removed - self.added)))

    def to_nquads(self) -> tuple[bytes, bytes]:
        """(added, removed) as N-Quads, blank node labels kept."""
        return (serialize(sorted(self.added, key=str), None, RdfFormat.N_QUADS),
                serialize(sorted(self.removed, key=str), None, RdfFormat.N_QUADS))

    @classmethod
    def from_nquads(cls, added: bytes, removed: bytes) -> "Delta":
        """The delta written by :meth:`to_nquads`."""
        return cls(frozenset(parse(added, RdfFormat.N_QUADS)),
                   frozenset(parse(removed, RdfFormat.N_QUADS)))


def effective(store: Store, added: Iterable[Quad], removed: Iterable[Quad]) -> Delta:
    """The delta that really changes ``store``: quads to add that are not there yet, quads
    to remove that are; a quad both removed and added stays (insert wins, as in SPARQL)."""
    wanted = set(added)
    removed = {q for q in removed if q not in wanted and q in store}
    return Delta(frozenset(q for q in wanted if q not in store), frozenset(removed))


def commit(store: Store, delta: Delta) -> None:
    """Write ``delta`` to ``store``, in one transaction when it holds no blank node.

    SPARQL ``DELETE DATA`` cannot name a stored blank node and ``INSERT DATA`` would mint new
    ones, so a delta with blank nodes is written in two transactions (removals, additions)
    and undone if the second fails. Raises StoreError when the store refuses the write.
    """
    if not delta:
        return
    try:
        if not any(_has_blank(q) for q in delta.added | delta.removed):
            store.update(_data_update(delta))
            return
        for quad in delta.removed:
            store.remove(quad)
        try:
            store.extend(delta.added)
        except OSError:
            store.extend(delta.removed)  # put back what was removed
            raise
    except OSError as exc:
        raise StoreError(f"cannot write to the store: {exc}") from exc


def _has_blank(quad: Quad) -> bool:
    return isinstance(quad.subject, BlankNode) or isinstance(quad.object, BlankNode)


def _data_update(delta: Delta) -> str:
    def block(quads: frozenset[Quad]) -> str:
        lines = []
        for q in sorted(quads, key=str):
            triple = f"{q.subject} {q.predicate} {q.object} ."
            lines.append(triple if isinstance(q.graph_name, DefaultGraph)
                         else f"GRAPH {q.graph_name} {{ {triple} }}")
        return "\n".join(lines)

    parts = []
    if delta.removed:
        parts.append("DELETE DATA {\n" + block(delta.removed) + "\n}")
    if delta.added:
        parts.append("INSERT DATA {\n" + block(delta.added) + "\n}")
    return " ;\n".join(parts)
