"""The embedded Oxigraph store: open it, fill it from the bundled files, load, export, count.

Each source lives in its own named graph (see ``namespaces.GRAPHS``); queries see the
union of all graphs as their default graph. Nothing here knows about HTTP.
"""

from __future__ import annotations

import logging
from typing import IO, TYPE_CHECKING, Sequence

from pyoxigraph import (BlankNode, DefaultGraph, Literal, NamedNode, Quad, RdfFormat, Store,
                        parse, serialize)

from .. import reasoning
from ..config import Config
from ..delta import effective
from ..errors import StoreError, UsageError
from ..namespaces import GRAPHS
from ..sparql import execute as sparql
from ..sparql.federation import ServicePolicy
from ..sparql.formats import Format
from ..sparql.request import QueryLimits, make_request
from .lock import ReadWriteLock, holding
from .export import write_dataset
from .loading import bulk_load, bulk_sized, load_remote
from .sources import (BUNDLED_SOURCES, ProgressCallback, Source, bundle_root, bundled_files,
                      read_sources, release_memory)
from .stats import Stats, read_stats

if TYPE_CHECKING:
    import rdflib

log = logging.getLogger("kg")

#: The graph where :meth:`KnowledgeGraph.apply` notes, in the transaction that adds a change,
#: the quads the change removes; empty but while a change is written.
JOURNAL = NamedNode("urn:x-kg:journal")


class KnowledgeGraph:
    """The knowledge graph: an Oxigraph store with the project's graphs and prefixes.

    >>> kg = KnowledgeGraph.open(load_bundled=False)
    >>> kg.load([Source("a.ttl", b"<http://e/a> a <http://e/C> .")])
    1
    >>> kg.query("ASK { ?s a ?c }").boolean
    True
    """

    #: Files from this total size on are loaded into an on-disk store by the bulk loader.
    bulk_load_bytes = 8 * 1024 * 1024

    def __init__(self, store: Store, *, config: Config) -> None:
        self.store = store
        self.config = config
        #: Held by every reader (as one of many) and writer (alone) of :attr:`store` in this
        #: process; code that reads :attr:`store` itself holds ``lock.reading()`` meanwhile.
        self.lock = ReadWriteLock()

    @classmethod
    def open(cls, config: Config | None = None, *, load_bundled: bool = True) -> "KnowledgeGraph":
        """Open the store ``config`` describes and fill it with the bundled files.

        In memory (no ``data_dir``) the bundled files are loaded at every start. On disk,
        or in a remote SPARQL server (``store``, see :mod:`kg.store.remote`), they are loaded on
        the first start only; later starts reuse what is stored.
        """
        config = config or Config.load()
        if config.store:
            from .remote import RemoteStore

            store = RemoteStore(config.store, update_url=config.store_update or None,
                                timeout=config.timeout, user_agent=config.user_agent)
        elif config.data_dir is None:
            store = Store()
        else:
            try:
                config.data_dir.mkdir(parents=True, exist_ok=True)
                store = Store(str(config.data_dir))
            except OSError as exc:
                raise StoreError(f"cannot open the store in {config.data_dir}: {exc}") from exc
        kg = cls(store, config=config)
        if not config.store:
            kg._finish_interrupted()
        if load_bundled:
            kg._load_bundled()
        reasoning.ensure(kg)
        release_memory()
        return kg

    def _load_bundled(self) -> None:
        persistent = self.config.store or self.config.data_dir
        if persistent and any(self.store.contains_named_graph(NamedNode(graph))
                              for _, graph in BUNDLED_SOURCES):
            log.info("reusing the store in %s (%d triples); bundled files not reloaded",
                     persistent, len(self.store))
            return
        root = bundle_root(self.config)
        files = bundled_files(root)
        if not files:
            log.warning("no bundled RDF files found under %s", root)
        for path, graph in files:
            self.load([Source(str(path))], graph=graph, reason=False)
        log.info("loaded %d bundled files from %s (%d triples)", len(files), root, len(self.store))

    # -- loading ---------------------------------------------------------------------------

    @holding("writing")
    def load(self, sources: Sequence[Source], *, graph: str | None = None,
             format: str | None = None, progress: ProgressCallback | None = None,
             reason: bool = True) -> int:
        """Load RDF files into the store, all or nothing; return how many quads were added.

        Triples go to ``graph`` (default: the user-additions graph); quad formats keep their
        own graphs. A syntax error in any source raises InputSyntaxError with the source,
        line and column, and leaves the store unchanged. The inferred graph is brought up
        to date (``reason=False`` leaves that to a later :func:`kg.reasoning.recompute`);
        quads addressed to it (a dump reloaded) are skipped: the reasoner computes it.
        """
        if graph is not None and not reasoning.is_asserted_graph(NamedNode(graph)):
            raise UsageError(f"<{graph}> is computed by the reasoner and cannot be loaded "
                             f"into; load into another graph (default {GRAPHS['user']})")
        target = NamedNode(graph or GRAPHS["user"])
        if reason and bulk_sized(self, sources):
            return bulk_load(self, sources, target, format, progress)
        # every source parses before anything reaches the store
        staging = read_sources(sources, graph=target.value, format=format, progress=progress)
        inferred = NamedNode(reasoning.INFERRED)
        if staging.contains_named_graph(inferred):
            log.warning("skipped the quads addressed to <%s>: the reasoner computes that graph",
                        reasoning.INFERRED)
            staging.remove_graph(inferred)
        # the store names a loaded blank node anew, so the reasoner cannot be told which
        # quads a file with blank nodes added: that load is followed by a full run
        incremental = reason and reasoning.is_small(self.store, len(staging)) and not any(
            isinstance(term, BlankNode) for quad in staging for term in quad.triple)
        added = [quad for quad in staging if quad not in self.store] if incremental else []
        if reason and not incremental and hasattr(self.store, "add_document") \
                and not staging.query(_ANY_BLANK):
            return load_remote(self, staging)
        before = len(self.store)
        try:
            self.store.load(staging.dump(format=RdfFormat.N_QUADS), RdfFormat.N_QUADS)
        except OSError as exc:
            raise StoreError(f"cannot write to the store: {exc}") from exc
        if added:
            reasoning.update(self, added=added)
        elif reason and not incremental:
            reasoning.recompute(self)
        return len(self.store) - before


    # -- SPARQL ----------------------------------------------------------------------------

    def query(self, text: str, *, default_graphs: Sequence[str] = (),
              named_graphs: Sequence[str] = (), base_iri: str | None = None,
              inference: bool = True) -> sparql.QueryResult:
        """Run a SPARQL query in Oxigraph's engine; see :func:`kg.sparql.execute.execute_query`
        (``inference=False`` answers from the asserted graphs only). The answer is complete
        when it is returned (evaluated under :attr:`lock`, then read from memory).

        The query passes the endpoint's checks first (:func:`kg.sparql.request.make_request`
        with the configuration's limits): SERVICE calls obey the allowlist and map of the
        configuration (:mod:`kg.sparql.federation`); one that fails raises
        RemoteServiceError, naming its SERVICE IRI.
        """
        services = ServicePolicy.from_config(self.config)
        request = make_request(text, limits=QueryLimits.from_config(self.config),
                               services=services, default_graphs=default_graphs,
                               named_graphs=named_graphs, base_iri=base_iri,
                               inference=inference)
        failed = ((lambda exc: services.failure(text, str(exc)))
                  if "SERVICE" in request.shape.keywords else None)
        with self.lock.reading():
            return sparql.execute_request(self.store, request, service_error=failed).detached()

    @holding("writing")
    def update(self, text: str) -> reasoning.Outcome:
        """Run a SPARQL update in Oxigraph's engine (see :func:`kg.sparql.execute.execute_update`),
        then bring the inferred graph up to date with what it added and removed.

        The change is found by comparing the quads before and after, which reads the whole
        store: a write path that knows its delta calls :func:`kg.reasoning.update` itself.
        An update that wrote into the inferred graph is undone there by a full recomputation.
        """
        before = self._lines()
        sparql.execute_update(self.store, text)
        after = self._lines()
        added, removed = (list(parse(b"\n".join(lines), RdfFormat.N_QUADS))
                          for lines in (after - before, before - after))
        if not all(reasoning.is_asserted_graph(q.graph_name) for q in (*added, *removed)):
            log.warning("the update changed <%s>, which the reasoner computes: recomputing it",
                        reasoning.INFERRED)
            return reasoning.recompute(self)
        return reasoning.update(self, added=added, removed=removed)

    def _lines(self) -> set[bytes]:
        # the store as a set of N-Quads lines: the serialisation (in Rust) and hashing bytes
        # cost half of what building a set of Quad objects does
        return set(self.store.dump(format=RdfFormat.N_QUADS).splitlines())

    @holding("writing")
    def apply(self, added: Sequence[Quad] = (), removed: Sequence[Quad] = ()) -> reasoning.Outcome:
        """Write a change known as quads removed and added, then bring the inferred graph up
        to date from that change alone (no comparison of the store).

        The hook for a write path that computes and validates its delta first (SPARQL
        Update, Graph Store Protocol): call it under the write lock, then tell the query
        engine (:meth:`kg.engine.engine.Engine.dataset_changed`). Quads of the inferred graph are
        refused: the reasoner computes it.
        """
        if not all(reasoning.is_asserted_graph(quad.graph_name) for quad in (*added, *removed)):
            raise UsageError(f"<{reasoning.INFERRED}> is computed by the reasoner and cannot "
                             "be written; write to another graph")
        delta = effective(self.store, added, removed)
        if self.config.store:  # a remote server: one update request, all or nothing
            try:
                self.store.write(added=delta.added, removed=delta.removed)
            except OSError as exc:
                raise StoreError(f"cannot write to the store: {exc}") from exc
            return reasoning.update(self, added=delta.added, removed=delta.removed)
        # one transaction decides the change: its additions and, in the journal, the quads
        # it removes (blank nodes included, which one SPARQL update could not name); a change
        # cut short by a crash after it is finished at the next open
        journal = Quad(JOURNAL, JOURNAL, Literal(serialize(delta.removed, None,
                                                           RdfFormat.N_QUADS).decode()), JOURNAL)
        try:
            self.store.extend([*delta.added, journal])
            for quad in delta.removed:
                self.store.remove(quad)
            outcome = reasoning.update(self, added=delta.added, removed=delta.removed)
            self.store.remove(journal)
        except OSError as exc:
            raise StoreError(f"cannot write to the store: {exc}") from exc
        return outcome

    def _finish_interrupted(self) -> None:
        """Finish a change that a crash cut short in :meth:`apply` (see its journal)."""
        entries = list(self.store.quads_for_pattern(JOURNAL, JOURNAL, None, JOURNAL))
        if not entries:
            return
        for entry in entries:
            for quad in parse(entry.object.value.encode(), RdfFormat.N_QUADS):
                self.store.remove(quad)
            self.store.remove(entry)
        log.warning("finished %d change(s) a crash had interrupted; recomputing the inferred "
                    "graph", len(entries))
        reasoning.recompute(self)

    # -- export and views ------------------------------------------------------------------

    @holding("reading")
    def export(self, output: IO[bytes], fmt: Format, *, graph: str | None = None,
               materialised: bool = False) -> None:
        """Write the whole dataset, or one named graph, to ``output``.

        ``materialised`` writes one graph instead: the asserted triples of every graph but the
        server's bookkeeping (change log, review queue) plus the inferred graph, without
        duplicates, so a store with no reasoner answers the queries that need the inferred
        graph (in a quad format, as the default graph).
        """
        write_dataset(self.store, output, fmt, graph=graph, materialised=materialised)

    @holding("reading")
    def graph_names(self) -> list[str]:
        """The IRIs of the named graphs in the store."""
        return sorted(graph.value for graph in self.store.named_graphs()
                      if isinstance(graph, NamedNode))

    @holding("reading")
    def stats(self) -> Stats:
        """Triples per named graph and counts of classes, properties and typed entities."""
        return read_stats(self.query, self._default_graph_size())

    @holding("reading")
    def default_graph_size(self) -> int:
        """The triples of the store's default graph (as opposed to its named graphs)."""
        return self._default_graph_size()

    def _default_graph_size(self) -> int:
        return sum(1 for _ in self.store.quads_for_pattern(None, None, None, DefaultGraph()))

    def rdflib_dataset(self) -> "rdflib.Dataset":
        """An rdflib ``Dataset`` over the same store (through oxrdflib), for rdflib and pyshacl.

        It shares the store: what one writes the other sees. Prefer :meth:`query` for SPARQL,
        which runs in Oxigraph's engine instead of rdflib's.
        """
        import rdflib
        from oxrdflib import OxigraphStore

        return rdflib.Dataset(store=OxigraphStore(store=self.store), default_union=True)

    @holding("reading")
    def __len__(self) -> int:
        return len(self.store)


_ANY_BLANK = "ASK { GRAPH ?g { ?s ?p ?o } FILTER(isBlank(?s) || isBlank(?o)) }"
