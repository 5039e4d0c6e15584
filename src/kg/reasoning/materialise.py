"""The inferred graph: what the ontology implies over the data, materialised in the store.

The entailments are computed by well-kept reasoners (owlrl; reasonable for full runs) with
the OWL 2 RL rules that help queries and do not explode (:mod:`kg.reasoning.reasoner`):
subclass and subproperty, domain and range, inverse, symmetric and transitive properties,
equivalent classes and properties, and the schema rules that close the ontology itself. Left out on purpose: the equality rules, so
``owl:sameAs`` to Wikidata is not smushed, and the triples every class or property gets
(``rdfs:subClassOf owl:Thing``, reflexive axioms, typing of literals).

The inferred graph holds only triples that are not asserted: entailments minus the asserted
union. :func:`recompute` runs the reasoner over every premise of the store and writes the
difference with what is stored. :func:`update` keeps it right after a write by running owlrl
only on what the change touches: the changed triples, the stored triples they can join with
(for a chain of a transitive property, the triples that extend it at either end; the stored
graph is closed, so one hop reaches every node of the chain) and the axioms that apply. Added
triples start semi-naive rounds; removed ones go through DRed (Gupta, Mumick & Subrahmanian,
1993): over-delete the inferred triples whose derivation needed them, re-derive those that
still follow, propagate. A change to the axioms themselves is recomputed in full.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Protocol

from pyoxigraph import Literal, NamedNode, Quad, Store, Triple

from ..graphs import INFERRED, asserted_graphs, is_asserted_graph
from ..namespaces import RDF_TYPE
from .reasoner import AXIOM_PREDICATES, PROPERTY_KINDS, Schema, entail, entail_in_bulk, is_axiom

log = logging.getLogger("kg")

__all__ = ["INFERRED", "Outcome", "asserted_graphs", "closure", "ensure", "inferred_count",
           "is_asserted_graph", "is_small", "recompute", "update"]


class KnowledgeGraph(Protocol):
    """What the reasoner needs of a :class:`kg.KnowledgeGraph`, which sits a floor above and
    calls it on every write: its store (embedded, or a remote one with ``write``)."""

    store: Store

_INFERRED = NamedNode(INFERRED)


@dataclass
class Outcome:
    """What a run of the reasoner did."""

    added: int = 0  #: inferred triples added
    removed: int = 0  #: inferred triples removed
    rounds: int = 0  #: runs of the reasoner
    seconds: float = 0.0
    inferred: int | None = None  #: triples in the inferred graph after a full run
    #: the quads of the inferred graph added and removed, for whoever mirrors the store
    #: (query workers applying deltas)
    added_quads: list[Quad] = field(default_factory=list)
    removed_quads: list[Quad] = field(default_factory=list)


# -- the graphs ----------------------------------------------------------------------------

def inferred_count(store: Store) -> int:
    """How many triples the inferred graph holds."""
    return sum(1 for _ in store.quads_for_pattern(None, None, None, _INFERRED))


def _inferred(store: Store) -> set[Triple]:
    return {quad.triple for quad in store.quads_for_pattern(None, None, None, _INFERRED)}


def _quads(triples: Iterable[Triple], graph) -> Iterator[Quad]:
    for triple in triples:
        yield Quad(triple.subject, triple.predicate, triple.object, graph)


# -- the model ---------------------------------------------------------------------------

def _axioms(store: Store, keep=lambda graph: True) -> set[Triple]:
    found: set[Triple] = set()
    patterns = [(None, predicate, None) for predicate in AXIOM_PREDICATES]
    patterns += [(None, RDF_TYPE, kind) for kind in PROPERTY_KINDS]
    for subject, predicate, obj in patterns:
        found |= {quad.triple for quad in store.quads_for_pattern(subject, predicate, obj)
                  if keep(quad.graph_name)}
    return found


def _premises(store: Store, schema: Schema) -> set[Triple]:
    """Every asserted triple a rule can use."""
    found = set(schema.axioms)
    patterns = [(None, prop, None) for prop in schema.properties if not isinstance(prop, Literal)]
    patterns += [(None, RDF_TYPE, cls) for cls in schema.classes if not isinstance(cls, Literal)]
    for subject, predicate, obj in patterns:
        found |= {quad.triple for quad in store.quads_for_pattern(subject, predicate, obj)
                  if is_asserted_graph(quad.graph_name)}
    return found


def _in_model(store: Store, triple: Triple) -> bool:
    return any(True for _ in store.quads_for_pattern(
        triple.subject, triple.predicate, triple.object))


def _ends(triples: Iterable[Triple]) -> set:
    """The subjects and objects (not literals) of ``triples``."""
    return {term for triple in triples for term in (triple.subject, triple.object)
            if not isinstance(term, Literal)}


def _around(store: Store, schema: Schema, nodes: Iterable) -> set[Triple]:
    """The stored triples (asserted or inferred) with a node of ``nodes`` at one end that a
    rule can use."""
    found: set[Triple] = set()
    typings_of_classes = RDF_TYPE in schema.properties  # else no rule reads ``?x a node``
    for node in nodes:
        found |= {quad.triple for quad in store.quads_for_pattern(node, None, None)}
        found |= {quad.triple for quad in store.quads_for_pattern(None, None, node)
                  if quad.predicate != RDF_TYPE or typings_of_classes}
    return {triple for triple in found if schema.is_premise(triple)}


def _chain_partners(store: Store, schema: Schema, triples: Iterable[Triple]) -> set[Triple]:
    """The stored triples that extend a chain of a transitive property through one of
    ``triples``: for ``x p y``, every ``y p z`` and ``w p x``. The stored graph is closed, so
    these reach every node of the chain in one hop."""
    found: set[Triple] = set()
    for triple in triples:
        if triple.predicate in schema.transitive:
            found |= {quad.triple for quad in store.quads_for_pattern(
                triple.object, triple.predicate, None)}
            found |= {quad.triple for quad in store.quads_for_pattern(
                None, triple.predicate, triple.subject)}
    return found


def _entail(schema: Schema, triples: set[Triple]) -> set[Triple]:
    return entail(triples | schema.axioms_for(triples))


# -- the operations ------------------------------------------------------------------------

def closure(store: Store) -> set[Triple]:
    """The entailments of the asserted graphs of ``store`` that are not asserted, computed
    from scratch without changing it (``kg reason``, start-up, checks)."""
    schema = Schema.of(_axioms(store, is_asserted_graph))
    entailed = entail_in_bulk(_premises(store, schema))
    return set(entailed) - _asserted_among(store, entailed)


def recompute(kg: "KnowledgeGraph", copy: Store | None = None,
              before_writing: Callable[[], object] = lambda: None) -> Outcome:
    """Rebuild the inferred graph from the asserted graphs (``kg reason``, start-up).

    Only the difference with the stored inferred graph is written. ``copy``: a local
    store holding what a remote store holds (else it is read from the server);
    ``before_writing`` is called once the closure is computed (a load still under way
    is waited for there).
    """
    store = kg.store
    started = time.perf_counter()
    # over a remote server, the reasoner reads a local copy: one pass over the quads instead
    # of a query per rule and a request per 500 entailments (at 1M, 57 s of a 78 s load)
    source = store if not hasattr(store, "write") else copy if copy is not None \
        else _local_copy(store)
    derived = closure(source)
    old = _inferred(source)
    stale = list(_quads(old - derived, _INFERRED))
    before_writing()
    if hasattr(store, "write"):  # a remote store: one request, not one per quad
        store.write(removed=stale)
    else:
        for quad in stale:
            store.remove(quad)
    store.extend(_quads(derived - old, _INFERRED))
    outcome = Outcome(added_quads=list(_quads(derived - old, _INFERRED)),
                      removed_quads=list(_quads(old - derived, _INFERRED)), rounds=1,
                      inferred=len(derived))
    outcome.added, outcome.removed = len(outcome.added_quads), len(outcome.removed_quads)
    outcome.seconds = time.perf_counter() - started
    log.info("reasoning: %d inferred triples in %.3f s", outcome.inferred, outcome.seconds)
    return outcome


def _local_copy(store) -> Store:
    local = Store()
    local.extend(store.all_quads())
    return local


def update(kg: "KnowledgeGraph", added: Iterable[Quad | Triple] = (),
           removed: Iterable[Quad | Triple] = ()) -> Outcome:
    """Bring the inferred graph up to date after a write that is already in the store.

    ``added`` and ``removed`` are the quads (or triples) the write added to and removed from
    the asserted graphs; quads of the inferred graph are ignored. A removed triple still
    asserted in another graph counts as kept.
    """
    store = kg.store
    removed_triples = set(_as_triples(removed))
    gone = removed_triples - _asserted_among(store, removed_triples)
    new = set(_as_triples(added))
    if not is_small(store, len(gone) + len(new)):
        return recompute(kg)
    if any(is_axiom(triple) for triple in gone | new):
        log.info("reasoning: the change touches the axioms; recomputing in full")
        return recompute(kg)
    outcome = _update(store, new, gone)
    log.debug("reasoning: +%d -%d inferred triples in %.3f s (%d rounds)",
              outcome.added, outcome.removed, outcome.seconds, outcome.rounds)
    return outcome


def _update(store: Store, new: set[Triple], gone: set[Triple]) -> Outcome:
    started = time.perf_counter()
    schema = Schema.of(_axioms(store))  # closed: the inferred axioms are stored too
    outcome = Outcome()
    lost = _overdelete(store, schema, gone, outcome) if gone else set()
    for triple in lost:
        store.remove(Quad(triple.subject, triple.predicate, triple.object, _INFERRED))
    rederived: set[Triple] = set()
    if gone:
        # what still follows from what remains around the lost and the removed triples
        around = _around(store, schema, _ends(lost | gone))
        rederived = _entail(schema, around) & (lost | gone)
        store.extend(_quads(rederived, _INFERRED))
    stale = {triple for triple in new  # now asserted: no longer inferred
             if Quad(triple.subject, triple.predicate, triple.object, _INFERRED) in store}
    for triple in stale:
        store.remove(Quad(triple.subject, triple.predicate, triple.object, _INFERRED))
    derived = _propagate(store, schema, new | rederived, outcome)
    outcome.seconds = time.perf_counter() - started
    kept = rederived | derived
    outcome.added_quads = list(_quads(kept - lost - stale, _INFERRED))
    outcome.removed_quads = list(_quads((lost - kept) | stale, _INFERRED))
    outcome.added, outcome.removed = len(outcome.added_quads), len(outcome.removed_quads)
    return outcome


def _overdelete(store: Store, schema: Schema, gone: set[Triple], outcome: Outcome) -> set[Triple]:
    """The inferred triples that had a derivation needing a removed triple, round by round
    from the triples lost in the round before: what follows from them alone, and what
    follows from them and their chain partners but not from the partners alone."""
    lost: set[Triple] = set()
    fresh = gone
    while fresh:
        outcome.rounds += 1
        alone = fresh | _entail(schema, fresh)
        partners = _chain_partners(store, schema, alone) - alone - lost - gone
        found = alone | _entail(schema, alone | partners)
        if partners:
            found -= _entail(schema, partners)
        fresh = {triple for triple in found - lost
                 if Quad(triple.subject, triple.predicate, triple.object, _INFERRED) in store}
        lost |= fresh
    return lost


def _propagate(store: Store, schema: Schema, fresh: set[Triple], outcome: Outcome) -> set[Triple]:
    """Semi-naive rounds: what follows from a round's new triples and their chain partners
    that is not stored yet goes into the inferred graph and starts the next round."""
    derived: set[Triple] = set()
    while fresh:
        outcome.rounds += 1
        alone = fresh | _entail(schema, fresh)
        partners = _chain_partners(store, schema, alone) - alone
        found = alone | _entail(schema, alone | partners) if partners else alone
        fresh = {triple for triple in found if not _in_model(store, triple)}
        store.extend(_quads(fresh, _INFERRED))
        derived |= fresh
    return derived


def is_small(store: Store, changes: int) -> bool:
    """Whether a change of ``changes`` triples is cheaper to follow incrementally than to
    recompute in full: up to 50 triples, or one per hundred stored (measured in
    ``bench/reasoning.md``: a removed triple costs about 2 ms, a full run 25 µs a triple)."""
    return changes <= max(50, len(store) // 100)


def ensure(kg: "KnowledgeGraph") -> Outcome | None:
    """Compute the inferred graph when the store has asserted triples but no inferred graph
    (a new store, or one written before reasoning existed)."""
    store = kg.store
    if store.contains_named_graph(_INFERRED) or not any(True for _ in store):
        return None
    return recompute(kg)


def _as_triples(items: Iterable[Quad | Triple]) -> Iterator[Triple]:
    for item in items:
        if isinstance(item, Quad):
            if is_asserted_graph(item.graph_name):
                yield item.triple
        else:
            yield item


def _asserted_among(store: Store, triples: Iterable[Triple]) -> set[Triple]:
    """Those of ``triples`` that an asserted graph of ``store`` holds (a remote store is
    asked in batches, the embedded one triple by triple)."""
    if hasattr(store, "quads_of"):
        quads = store.quads_of(triples)
    else:
        quads = [quad for triple in triples for quad in store.quads_for_pattern(
            triple.subject, triple.predicate, triple.object, None)]
    return {quad.triple for quad in quads if is_asserted_graph(quad.graph_name)}
