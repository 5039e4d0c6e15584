"""Materialised entailments: what the ontology implies over the data, in its own named graph.

The rules are those of the OWL 2 RL profile (https://www.w3.org/TR/owl2-profiles/#OWL_2_RL,
section 4.3, named as there) that help queries and do not explode: subclass and
subproperty (cax-sco, prp-spo1), domain and range (prp-dom, prp-rng), inverse, symmetric
and transitive properties (prp-inv1/2, prp-symp, prp-trp), equivalent classes and
properties (cax-eqc1/2, prp-eqp1/2), and the schema rules that close the ontology itself
(scm-sco, scm-spo, scm-eqc1/2, scm-eqp1/2, scm-dom1/2, scm-rng1/2). Each rule is a basic
graph pattern evaluated by Oxigraph's SPARQL engine (:mod:`kg.rules`), as materialising
stores (GraphDB, RDFox) compile their rule sets onto their own store;
``tests/test_reasoning.py`` checks the result against owlrl, the reference OWL 2 RL
implementation for rdflib.

Left out on purpose: the equality rules (eq-*), because ``owl:sameAs`` links the project's
IRIs to Wikidata's and smushing would copy every statement onto the Wikidata IRIs (and,
with a Wikidata snapshot loaded, Wikidata's statements onto ours); the rules that only
produce ``owl:sameAs`` (prp-fp, prp-ifp, prp-key); triples every class or property gets
(``rdfs:subClassOf owl:Thing``, reflexive subclass axioms, datatype typing of literals).

The inferred graph holds only triples that are not asserted: entailments minus the
asserted union. :func:`recompute` builds it from scratch by semi-naive evaluation in a
scratch store (Oxigraph's in-memory store keeps removed quads as tombstones that slow
later scans, so work in progress never touches the real one), then writes the difference.
:func:`update` keeps it right after a write, incrementally, with the changed triples
passed to each rule as a ``VALUES`` block: added triples start semi-naive rounds; removed
ones go through DRed (Gupta, Mumick & Subrahmanian, 1993): over-delete what had a
derivation using them, re-derive what still holds, propagate. ``VALUES`` cannot name a
blank node, so a change whose work reaches one is recomputed in full instead.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Iterator

from pyoxigraph import DefaultGraph, NamedNode, Quad, RdfFormat, Store, Triple, parse

from .namespaces import GRAPHS
from .rules import IN_GRAPH, RULES, BlankNodeInChange, Evaluator, Rows

if TYPE_CHECKING:
    from .store import KnowledgeGraph

log = logging.getLogger("kg")

#: The named graph of the entailments.
INFERRED = GRAPHS["inferred"]
_INFERRED = NamedNode(INFERRED)
__all__ = ["INFERRED", "RULES", "Outcome", "asserted_graphs", "closure", "ensure",
           "inferred_count", "is_asserted_graph", "is_small", "recompute", "update"]


@dataclass
class Outcome:
    """What a run of the reasoner did."""

    added: int = 0  #: inferred triples added
    removed: int = 0  #: inferred triples removed
    rounds: int = 0  #: evaluation rounds
    queries: int = 0  #: rule queries run
    seconds: float = 0.0
    inferred: int | None = None  #: triples in the inferred graph after a full run
    #: the quads of the inferred graph added and removed, for whoever mirrors the store
    #: (query workers applying deltas)
    added_quads: list[Quad] = field(default_factory=list)
    removed_quads: list[Quad] = field(default_factory=list)


# -- the graphs ----------------------------------------------------------------------------

def is_asserted_graph(graph) -> bool:
    """Whether a graph of the store holds asserted triples (every one but the inferred)."""
    return not (isinstance(graph, NamedNode) and graph.value == INFERRED)


def asserted_graphs(store: Store) -> list:
    """The store's default graph and every named graph of asserted triples.

    >>> store = Store()
    >>> store.add(Quad(NamedNode("http://e/s"), NamedNode("http://e/p"), NamedNode("http://e/o"),
    ...                _INFERRED))
    >>> asserted_graphs(store)
    [<DefaultGraph>]
    """
    return [DefaultGraph()] + sorted(
        (graph for graph in store.named_graphs() if is_asserted_graph(graph)), key=str)


def inferred_count(store: Store) -> int:
    """How many triples the inferred graph holds."""
    return sum(1 for _ in store.quads_for_pattern(None, None, None, _INFERRED))


def _inferred(store: Store) -> set[Triple]:
    return {quad.triple for quad in store.quads_for_pattern(None, None, None, _INFERRED)}


def _quads(triples: Iterable[Triple], graph) -> Iterator[Quad]:
    for triple in triples:
        yield Quad(triple.subject, triple.predicate, triple.object, graph)


# -- the operations ------------------------------------------------------------------------

_IN_INFERRED = IN_GRAPH.format(graph=INFERRED)


def _saturate(store: Store) -> tuple[set[Triple], Outcome]:
    """The closure of ``store``'s asserted graphs, computed in a scratch store."""
    scratch = Store()
    for graph in asserted_graphs(store):
        # through N-Triples: parsed in Rust (blank node labels kept), half the time of
        # rebuilding each quad in Python (bench/peers.py: most of a 1M-triple `kg load`)
        scratch.extend(parse(store.dump(format=RdfFormat.N_TRIPLES, from_graph=graph),
                             RdfFormat.N_TRIPLES))
    evaluator, outcome = Evaluator(scratch), Outcome()
    derived: set[Triple] = set()
    fresh = evaluator.derive_all()
    while fresh:
        outcome.rounds += 1
        derived |= fresh
        delta = NamedNode(f"urn:x-kg:delta:{outcome.rounds}")  # a new graph each round:
        scratch.extend(_quads(fresh, delta))  # no tombstones to skip when scanning it
        fresh = evaluator.derive(Rows(fresh), graph=delta)
    outcome.queries = evaluator.queries
    return derived, outcome


def closure(store: Store) -> set[Triple]:
    """The entailments of the asserted graphs of ``store``, computed from scratch without
    changing it (for checks and tests)."""
    return _saturate(store)[0]


def recompute(kg: "KnowledgeGraph") -> Outcome:
    """Rebuild the inferred graph from the asserted graphs (``kg reason``, start-up).

    Only the difference with the stored inferred graph is written.
    """
    store = kg.store
    started = time.perf_counter()
    derived, outcome = _saturate(store)
    old = _inferred(store)
    for triple in old - derived:
        store.remove(Quad(triple.subject, triple.predicate, triple.object, _INFERRED))
    store.extend(_quads(derived - old, _INFERRED))
    outcome.added_quads = list(_quads(derived - old, _INFERRED))
    outcome.removed_quads = list(_quads(old - derived, _INFERRED))
    outcome.added, outcome.removed = len(outcome.added_quads), len(outcome.removed_quads)
    outcome.seconds = time.perf_counter() - started
    outcome.inferred = len(derived)
    log.info("reasoning: %d inferred triples in %.3f s (%d rounds, %d rule queries)",
             outcome.inferred, outcome.seconds, outcome.rounds, outcome.queries)
    return outcome


def update(kg: "KnowledgeGraph", added: Iterable[Quad | Triple] = (),
           removed: Iterable[Quad | Triple] = ()) -> Outcome:
    """Bring the inferred graph up to date after a write that is already in the store.

    ``added`` and ``removed`` are the quads (or triples) the write added to and removed from
    the asserted graphs; quads of the inferred graph are ignored. A removed triple still
    asserted in another graph counts as kept.
    """
    store = kg.store
    gone = {triple for triple in _as_triples(removed) if not _asserted(store, triple)}
    new = set(_as_triples(added))
    if not is_small(store, len(gone) + len(new)):
        return recompute(kg)
    try:
        outcome = _update(store, new, gone)
    except BlankNodeInChange:
        log.info("reasoning: the change reaches a blank node; recomputing in full")
        return recompute(kg)
    log.debug("reasoning: +%d -%d inferred triples in %.3f s (%d rule queries)",
              outcome.added, outcome.removed, outcome.seconds, outcome.queries)
    return outcome


def _update(store: Store, new: set[Triple], gone: set[Triple]) -> Outcome:
    started = time.perf_counter()
    evaluator, outcome = Evaluator(store), Outcome()
    rederived: set[Triple] = set()
    lost: set[Triple] = set()
    if gone:
        # over-delete: inferred triples with a derivation using a removed triple; the
        # other premises may be anywhere in the old model, which is what is stored plus
        # the removed triples (the over-deleted ones stay stored until the end)
        removed = Rows(gone)
        fresh = gone
        while fresh:
            outcome.rounds += 1
            fresh = evaluator.derive(Rows(fresh), removed, keep=_IN_INFERRED)
            fresh -= lost
            lost |= fresh
        for triple in lost:
            store.remove(Quad(triple.subject, triple.predicate, triple.object, _INFERRED))
        # re-derive: what still follows in one step from what remains
        rederived = evaluator.rederive(Rows(lost | gone))
        store.extend(_quads(rederived, _INFERRED))
    stale = {triple for triple in new  # now asserted: no longer inferred
             if Quad(triple.subject, triple.predicate, triple.object, _INFERRED) in store}
    for triple in stale:
        store.remove(Quad(triple.subject, triple.predicate, triple.object, _INFERRED))
    derived: set[Triple] = set()
    fresh = new | rederived
    while fresh:
        fresh = evaluator.derive(Rows(fresh))
        if fresh:
            outcome.rounds += 1
            store.extend(_quads(fresh, _INFERRED))
            derived |= fresh
    outcome.queries, outcome.seconds = evaluator.queries, time.perf_counter() - started
    kept = rederived | derived
    outcome.added_quads = list(_quads(kept - lost - stale, _INFERRED))
    outcome.removed_quads = list(_quads((lost - kept) | stale, _INFERRED))
    outcome.added, outcome.removed = len(outcome.added_quads), len(outcome.removed_quads)
    return outcome


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


def _asserted(store: Store, triple: Triple) -> bool:
    return any(is_asserted_graph(quad.graph_name) for quad in store.quads_for_pattern(
        triple.subject, triple.predicate, triple.object, None))
