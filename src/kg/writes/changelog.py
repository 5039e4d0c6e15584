"""The server's own records, as RDF: the change log and the review queue.

Each accepted change becomes one ``prov:Activity`` (a ``fip:Change``) in the change-log graph:
when, by which agent (the token's name), how many triples added and removed, which graphs,
the validation outcome. A change kept for review (quarantined) becomes a ``fip:PendingChange``
in the review graph, its quads and report stored as text so that nothing of it is asserted.
The terms are defined in ``ontology/fip-changes.ttl``.

>>> quads = change_record("20260101T000000Z-abc", agent="alice", added=3, removed=1,
...                       graphs=["https://w3id.org/fr-indopacific/graph/user"],
...                       outcome="conforms", description="SPARQL Update",
...                       started="2026-01-01T00:00:00Z")
>>> sorted({q.predicate.value.rsplit("#", 1)[-1].rsplit("/", 1)[-1] for q in quads})[:6]
['changedGraph', 'description', 'endedAtTime', 'label', 'startedAtTime', 'triplesAdded']
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from pyoxigraph import Literal, NamedNode, Quad, Store

from ..delta import Delta
from ..namespaces import AGENT_NS, CHANGE_NS, GRAPHS, ONTOLOGY_NS, PREFIXES, REVIEW_NS

_RDF, _RDFS, _XSD = PREFIXES["rdf"], PREFIXES["rdfs"], PREFIXES["xsd"]
_PROV, _DCT, _FIP = PREFIXES["prov"], PREFIXES["dcterms"], ONTOLOGY_NS
CHANGES, REVIEW = NamedNode(GRAPHS["changes"]), NamedNode(GRAPHS["review"])


def new_id() -> str:
    """A sortable, unique identifier: UTC time and a random suffix."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)


def now() -> str:
    """The current UTC time as an xsd:dateTime lexical form."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _n(iri: str) -> NamedNode:
    return NamedNode(iri)


def _int(value: int) -> Literal:
    return Literal(str(value), datatype=_n(_XSD + "nonNegativeInteger"))


def _time(value: str) -> Literal:
    return Literal(value, datatype=_n(_XSD + "dateTime"))


def agent_iri(name: str) -> NamedNode:
    """The IRI of the agent a token name (or ``cli``) stands for."""
    return _n(AGENT_NS + name)


def _agent_quads(name: str, graph: NamedNode) -> list[Quad]:
    node = agent_iri(name)
    return [Quad(node, _n(_RDF + "type"), _n(_PROV + "Agent"), graph),
            Quad(node, _n(_RDFS + "label"), Literal(name), graph)]


def change_record(change_id: str, *, agent: str, added: int, removed: int, graphs: list[str],
                  outcome: str, description: str, started: str,
                  used: str | None = None) -> list[Quad]:
    """The quads recording one accepted change in the change-log graph."""
    node, g = _n(CHANGE_NS + change_id), CHANGES
    quads = [Quad(node, _n(_RDF + "type"), _n(_PROV + "Activity"), g),
             Quad(node, _n(_RDF + "type"), _n(_FIP + "Change"), g),
             Quad(node, _n(_RDFS + "label"),
                  Literal(f"change {change_id}: {added} triples added, {removed} removed",
                          language="en"), g),
             Quad(node, _n(_DCT + "description"), Literal(description), g),
             Quad(node, _n(_PROV + "startedAtTime"), _time(started), g),
             Quad(node, _n(_PROV + "endedAtTime"), _time(now()), g),
             Quad(node, _n(_PROV + "wasAssociatedWith"), agent_iri(agent), g),
             Quad(node, _n(_FIP + "triplesAdded"), _int(added), g),
             Quad(node, _n(_FIP + "triplesRemoved"), _int(removed), g),
             Quad(node, _n(_FIP + "validationOutcome"), Literal(outcome), g)]
    quads += [Quad(node, _n(_FIP + "changedGraph"), _n(iri), g) for iri in sorted(graphs)]
    if used:
        quads.append(Quad(node, _n(_PROV + "used"), _n(REVIEW_NS + used), g))
    return quads + _agent_quads(agent, g)


# -- the review queue -------------------------------------------------------------------------

@dataclass(frozen=True)
class Pending:
    """A change kept for review."""

    id: str
    agent: str
    time: str
    description: str
    added: int
    removed: int
    delta: Delta
    report: str  # Turtle of the sh:ValidationReport when it was kept

    @property
    def iri(self) -> str:
        """The IRI of the pending change."""
        return REVIEW_NS + self.id


def pending_record(pending_id: str, delta: Delta, *, agent: str, description: str,
                   report_turtle: str) -> list[Quad]:
    """The quads keeping a change for review in the review graph."""
    node, g = _n(REVIEW_NS + pending_id), REVIEW
    added, removed = delta.to_nquads()
    violations = report_turtle.count("sh:Violation")
    quads = [Quad(node, _n(_RDF + "type"), _n(_FIP + "PendingChange"), g),
             Quad(node, _n(_RDFS + "label"),
                  Literal(f"pending change {pending_id}: {len(delta.added)} triples to add, "
                          f"{len(delta.removed)} to remove", language="en"), g),
             Quad(node, _n(_DCT + "description"), Literal(description), g),
             Quad(node, _n(_PROV + "generatedAtTime"), _time(now()), g),
             Quad(node, _n(_PROV + "wasAttributedTo"), agent_iri(agent), g),
             Quad(node, _n(_FIP + "triplesAdded"), _int(len(delta.added)), g),
             Quad(node, _n(_FIP + "triplesRemoved"), _int(len(delta.removed)), g),
             Quad(node, _n(_FIP + "validationOutcome"),
                  Literal("violations" if violations else "conforms with warnings"), g),
             Quad(node, _n(_FIP + "addedQuads"), Literal(added.decode()), g),
             Quad(node, _n(_FIP + "removedQuads"), Literal(removed.decode()), g),
             Quad(node, _n(_FIP + "validationReport"), Literal(report_turtle), g)]
    return quads  # the agent is described in the change log; removing this entry is clean


def pending_changes(store: Store) -> list[Pending]:
    """Every change waiting in the review graph, oldest first."""
    nodes = {q.subject for q in store.quads_for_pattern(
        None, _n(_RDF + "type"), _n(_FIP + "PendingChange"), REVIEW)}
    found = [_read_pending(store, node) for node in nodes]
    return sorted(found, key=lambda p: (p.time, p.id))


def pending_change(store: Store, pending_id: str) -> Pending | None:
    """The pending change ``pending_id``, or None."""
    node = _n(REVIEW_NS + pending_id)
    if not any(True for _ in store.quads_for_pattern(node, None, None, REVIEW)):
        return None
    return _read_pending(store, node)


def pending_quads(store: Store, pending_id: str) -> list[Quad]:
    """The quads of the review graph about ``pending_id`` (to remove it from the queue)."""
    return list(store.quads_for_pattern(_n(REVIEW_NS + pending_id), None, None, REVIEW))


def _read_pending(store: Store, node: NamedNode) -> Pending:
    values = {q.predicate.value: q.object for q in store.quads_for_pattern(node, None, None, REVIEW)}

    def text(predicate: str) -> str:
        term = values.get(predicate)
        return term.value if term is not None else ""

    attributed = values.get(_PROV + "wasAttributedTo")
    delta = Delta.from_nquads(text(_FIP + "addedQuads").encode(),
                              text(_FIP + "removedQuads").encode())
    return Pending(id=node.value[len(REVIEW_NS):],
                   agent=attributed.value[len(AGENT_NS):] if attributed is not None else "",
                   time=text(_PROV + "generatedAtTime"), description=text(_DCT + "description"),
                   added=len(delta.added), removed=len(delta.removed), delta=delta,
                   report=text(_FIP + "validationReport"))
