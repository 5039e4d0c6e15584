"""Gated writes: every change is a delta, validated, then committed whole or not at all.

:class:`Writer` is the one way data changes while the server runs (SPARQL Update, the Graph
Store Protocol, the review queue) and behind ``kg update`` and ``kg review``. Under one lock,
so that concurrent writes are serialised and each is validated against the store it is
committed to, a write:

1. computes its :class:`~kg.delta.Delta` against the store (nothing written yet);
2. is refused (403) if it touches a curated graph without ``allow_curated_writes``, or the
   server's own graphs (change log, review queue);
3. is validated incrementally (:class:`kg.validation.incremental.Checker`) against the graph as it would
   be after it: new violations refuse it (422 with the report), or, with
   ``on_invalid="quarantine"``, keep it in the review graph instead;
4. is committed together with its change-log record (one transaction decides it, see
   :meth:`kg.store.KnowledgeGraph.apply`) and sent to the query workers
   (:meth:`kg.engine.engine.Engine.dataset_changed`).

A refused or failed write leaves the store exactly as it was.
"""

from __future__ import annotations

import threading
from typing import Callable, Iterable

from pyoxigraph import DefaultGraph, NamedNode, Quad, Store
from rdflib import Graph

from . import changelog
from ..config import Config
from ..delta import Delta, effective
from ..errors import ProtectedGraphError, UsageError, ValidationFailedError
from ..engine import Engine
from ..sparql.guard import check_query
from ..sparql.request import QueryLimits
from ..validation.entail import Schema
from ..sparql import pinned
from ..validation.incremental import Checker
from ..namespaces import CHANGE_NS, CURATED_GRAPHS, GRAPHS, REVIEW_NS, SERVER_GRAPHS
from ..validation.report import render
from ..store.graph import KnowledgeGraph
from ..store.sources import Source, read_sources
from ..store.lock import holding
from .fetch import load_addresses, load_quads
from .lane import WriteLane
from .outcome import Outcome
from .review import ReviewQueue
from ..sparql.update import update_delta
from ..validation.findings import combined
from ..validation.validate import ValidationResult, load_turtle

ON_INVALID = ("reject", "quarantine")
USER = GRAPHS["user"]
_EXCLUDE = frozenset(NamedNode(g) for g in SERVER_GRAPHS)


class Writer(ReviewQueue):
    """Validated, serialised writes to a knowledge graph (see the module docstring); the
    review queue's methods are in :class:`kg.writes.review.ReviewQueue`."""

    def __init__(self, kg: KnowledgeGraph, *, config: Config | None = None,
                 checker: Checker | None = None, engine: Engine | None = None,
                 resolve: Callable[[str], tuple[str, ...]] = pinned.resolve_host) -> None:
        """``engine`` answers the queries of the same store (one in this process when not
        given); ``resolve`` looks host names of LOAD URLs up (the system's resolver; tests
        put their own here)."""
        config = config or kg.config
        self.kg = kg
        self.engine = engine or Engine(kg, limits=QueryLimits.from_config(config))
        self._checker = checker
        self.allow_curated = config.allow_curated_writes
        self.allowlist = config.load_allowlist
        self._resolve = resolve
        self._lock = threading.Lock()  # one write at a time
        self.lane = WriteLane(config.write_niceness)
        self._checker_lock = threading.Lock()
        self._schema_cache: tuple[int, Schema] | None = None
        #: The graphs of researchers' own (the graph_shapes setting), each with a checker of
        #: its shapes alone; read now, so that a bad shapes file stops the start.
        self.own_graphs = {graph: own_checker(load_turtle(paths))
                           for graph, paths in config.graph_shapes.items()}
        # the project's validation leaves those graphs out (their data, their vocabulary)
        self._exclude = _EXCLUDE | frozenset(NamedNode(g) for g in self.own_graphs)

    def _reading(self):
        """The store a validation reads: the embedded one, or, over a remote server (a
        --store URL), a :class:`kg.store.mirror.Mirror` of it that fetches each node read once
        instead of sending a request per look-up."""
        if isinstance(self.kg.store, Store):
            return self.kg.store
        from ..store.mirror import Mirror

        return Mirror(self.kg.store)

    @property
    def checker(self) -> Checker:
        """The validator (its shapes are read on first use, not at start-up)."""
        if self._checker is None:
            with self._checker_lock:
                if self._checker is None:
                    self._checker = Checker.bundled()
        return self._checker

    # -- validating without writing ----------------------------------------------------------

    @holding("reading", "kg.lock")
    def validate(self, sources: Iterable[Source], *, graph: str | None = None,
                 format: str | None = None, shapes: Graph | None = None
                 ) -> tuple[Delta, ValidationResult]:
        """What adding the triples of ``sources`` (to ``graph``, default the user graph) would
        break or leave lacking, with the change it stands for; nothing is written.

        ``shapes`` are a researcher's own: added to the project's shapes, or, for a graph
        of their own (``graph`` other than the project's graphs), used alone, on that graph
        alone (their data, their vocabulary: the project's checks do not apply)."""
        store = self._reading()
        added = frozenset(read_sources(list(sources), graph=graph, format=format))
        delta = effective(store, added, ())
        if shapes is None:
            return delta, self.check(delta, store)
        if graph is None or graph in GRAPHS.values():
            checker = Checker(shapes=self.checker.shapes + shapes, checks=self.checker.checks)
            return delta, checker.check(store, delta, exclude=self._exclude)
        return delta, _check_own(own_checker(shapes), graph, store, delta)

    @holding("reading", "kg.lock")
    def check(self, delta: Delta, store=None) -> ValidationResult:
        """The validation of ``delta`` against the store as it is (or ``store``, a view of
        it: see :meth:`_reading`): its triples in a graph of the researchers' own against
        that graph's shapes, the others against the project's."""
        store = self._reading() if store is None else store
        parts = {graph: part for graph in self.own_graphs
                 if (part := delta.restricted({graph}))}
        rest = delta.restricted(set(self.own_graphs), keep=False) if parts else delta
        results = [_check_own(self.own_graphs[graph], graph, store, part)
                   for graph, part in parts.items()]
        if rest or not parts:
            results.insert(0, self.checker.check(store, rest, exclude=self._exclude,
                                                 schema=self._schema(store)))
        return combined(results)

    def _schema(self, store) -> Schema:
        # the schema changes only with the store: kept while the engine's version stays
        # (every write through this writer bumps it)
        version = self.engine.version
        if self._schema_cache is None or self._schema_cache[0] != version:
            self._schema_cache = (version, Schema.from_store(store, exclude=self._exclude))
        return self._schema_cache[1]

    @holding("reading", "kg.lock")
    def labels(self, result: ValidationResult, delta: Delta | None = None) -> dict:
        """English labels of the focus nodes of ``result`` (from the store and ``delta``)."""
        from ..validation.entail import View
        from ..validation.report import labels_for
        from ..terms import to_ox, to_rdflib

        view = View(self.kg.store, delta, exclude=_EXCLUDE)  # a graph of one's own names too
        label = NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
        return labels_for(result, lambda node: [to_rdflib(o)
                                                for o in view.objects(to_ox(node), label)])

    def report(self, result: ValidationResult, fmt, *, delta: Delta | None = None,
               message: str | None = None) -> bytes:
        """``result`` rendered in ``fmt``, with labels and shape names."""
        return render(result, fmt, labels=self.labels(result, delta),
                      shapes=self.checker.shapes, message=message)

    # -- writing -----------------------------------------------------------------------------

    def update(self, text: str, *, agent: str, base_iri: str | None = None,
               using_graphs: Iterable[str] = (), using_named_graphs: Iterable[str] = (),
               on_invalid: str = "reject") -> Outcome:
        """Run a SPARQL 1.1 update (see :mod:`kg.sparql.update` for its dataset).

        It passes the guard queries pass (length, nesting, SERVICE refused); LOAD is this
        writer's to allow (``--load-allowlist``)."""
        limits = self.engine.limits
        check_query(text, max_length=limits.max_query_length, max_nesting=limits.max_nesting,
                    allow=frozenset({"LOAD"}))

        def compute(store: Store) -> Delta:
            return update_delta(store, text, write_default=USER, base_iri=base_iri,
                                using_graphs=list(using_graphs),
                                using_named_graphs=list(using_named_graphs),
                                keep=SERVER_GRAPHS, loader=self._load)
        return self._write(compute, agent=agent, description="SPARQL Update",
                           on_invalid=on_invalid)

    def replace_graph(self, graph: str | None, quads: Iterable[Quad], *, agent: str,
                      on_invalid: str = "reject") -> Outcome:
        """Graph Store PUT: the graph holds exactly the given triples afterwards."""
        target = NamedNode(graph or USER)
        new = frozenset(Quad(q.subject, q.predicate, q.object, target) for q in quads)
        return self._write(
            lambda store: effective(store, new, store.quads_for_pattern(None, None, None, target)),
            agent=agent, description=f"Graph Store PUT <{target.value}>", on_invalid=on_invalid)

    def add_to_graph(self, graph: str | None, quads: Iterable[Quad], *, agent: str,
                     on_invalid: str = "reject") -> Outcome:
        """Graph Store POST: merge the given triples into the graph."""
        target = NamedNode(graph or USER)
        new = frozenset(Quad(q.subject, q.predicate, q.object, target) for q in quads)
        return self._write(lambda store: effective(store, new, ()), agent=agent,
                           description=f"Graph Store POST <{target.value}>", on_invalid=on_invalid)

    def drop_graph(self, graph: str | None, *, agent: str) -> Outcome:
        """Graph Store DELETE: remove every triple of the graph."""
        target = NamedNode(graph or USER)
        return self._write(
            lambda store: effective(store, (), store.quads_for_pattern(None, None, None, target)),
            agent=agent, description=f"Graph Store DELETE <{target.value}>")

    @holding("reading", "kg.lock")
    def graph_exists(self, graph: str | None) -> bool:
        """Whether the graph holds at least one triple."""
        target = NamedNode(graph or USER)
        return next(iter(self.kg.store.quads_for_pattern(None, None, None, target)), None) is not None

    # -- the one path of every write ---------------------------------------------------------

    def _write(self, compute: Callable[[Store], Delta], **options) -> Outcome:
        if self.kg.lock.held():  # a reader or writer of the store: not on another thread
            return self._write_now(compute, **options)
        return self.lane.run(lambda: self._write_now(compute, **options))

    def _write_now(self, compute: Callable[[Store], Delta], *, agent: str, description: str,
                   on_invalid: str = "reject", used: str | None = None,
                   also_remove: frozenset[Quad] = frozenset()) -> Outcome:
        if on_invalid not in ON_INVALID:
            raise UsageError(f"on-invalid={on_invalid!r}: use one of {', '.join(ON_INVALID)}")
        started = changelog.now()
        with self._lock:
            with self.kg.lock.reading():  # no write comes between: writes take self._lock
                store = self._reading()
                delta = compute(store)
                self._protect(delta)
                if not delta and not also_remove:
                    return Outcome("unchanged")
                result = self.check(delta, store)
            counts = {"added": len(delta.added), "removed": len(delta.removed)}
            if not result.conforms:
                if on_invalid == "reject":
                    raise ValidationFailedError(_refusal(result), result=result, delta=delta)
                pending_id = changelog.new_id()
                turtle = render(result, _turtle()).decode()
                self._commit(Delta(added=frozenset(changelog.pending_record(
                    pending_id, delta, agent=agent, description=description,
                    report_turtle=turtle))))
                return Outcome("quarantined", iri=REVIEW_NS + pending_id, result=result, **counts)
            change_id = changelog.new_id()
            record = changelog.change_record(
                change_id, agent=agent, graphs=sorted(g for g in delta.graphs if g),
                outcome="conforms with warnings" if result.results else "conforms",
                description=description, started=started, used=used, **counts)
            self._commit(Delta(delta.added | frozenset(record), delta.removed | also_remove))
            return Outcome("committed", iri=CHANGE_NS + change_id, result=result, **counts)

    def _commit(self, delta: Delta) -> None:
        """Write ``delta`` and the inferred triples it changes; tell the query workers."""
        # readers in this process wait for the whole change; the engine hears of it before
        # they go on (a query worker forked meanwhile is then given the right version)
        with self.kg.lock.writing():
            outcome = self.kg.apply(delta.added, delta.removed)
            self.engine.dataset_changed(Delta(delta.added | frozenset(outcome.added_quads),
                                              delta.removed | frozenset(outcome.removed_quads)))

    def _protect(self, delta: Delta) -> None:
        graphs = delta.graphs
        server = sorted(g for g in graphs if g in SERVER_GRAPHS)
        if server:
            raise ProtectedGraphError(
                f"<{server[0]}> is written by the server only (the reasoner's entailments, the "
                "change log and the review queue are not data one writes); leave it out")
        curated = sorted(g for g in graphs if g in CURATED_GRAPHS)
        if curated and not self.allow_curated:
            raise ProtectedGraphError(
                f"the change writes to the curated graph <{curated[0]}>; write to the user "
                f"graph <{USER}> instead (triples without GRAPH go there), or start the server "
                "with --allow-curated-writes")

    # -- LOAD ----------------------------------------------------------------------------------

    def load_addresses(self, iri: str) -> tuple[str, ...]:
        """The addresses a ``LOAD <iri>`` fetches from, checked against --load-allowlist
        (see :func:`kg.writes.fetch.load_addresses`); LoadRefusedError otherwise."""
        return load_addresses(iri, self.allowlist, self._resolve)

    def _load(self, iri: str, silent: bool) -> list[Quad]:
        # the loader :func:`kg.sparql.update.update_delta` calls for each LOAD of an update
        return load_quads(iri, silent, self.allowlist, self._resolve)


def _turtle():
    from ..sparql.formats import TURTLE

    return TURTLE


def own_checker(shapes: Graph) -> Checker:
    """The checker of a graph of a researcher's own: their shapes alone, no ontology, no
    project checks, no lint (their vocabulary is theirs)."""
    return Checker(shapes=shapes, ontology=Graph(), checks=())


def _check_own(checker: Checker, graph: str, store, delta: Delta) -> ValidationResult:
    """``delta`` (in ``graph`` only) validated on that graph alone."""
    own = NamedNode(graph)
    others = frozenset(g for g in store.named_graphs() if g != own) | {DefaultGraph()}
    return checker.check(store, delta, exclude=others, lint=False)


def _refusal(result: ValidationResult) -> str:
    count = len(result.violations)
    return (f"the change was not applied: it breaks {count} constraint"
            f"{'s' if count != 1 else ''} of the shapes (see the report); fix the triples, or "
            "send them with on-invalid=quarantine to keep them for review")


def open_writer(config: Config | None = None) -> Writer:
    """A Writer on the store ``config`` describes (for the CLI)."""
    return Writer(KnowledgeGraph.open(config or Config.load()), config=config)
