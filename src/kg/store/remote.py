"""Any SPARQL 1.1 server as the store, through the SPARQL 1.1 Protocol (no Flask here).

:class:`RemoteStore` speaks the part of ``pyoxigraph.Store``'s interface the project uses
(``query``, ``update``, ``load``, ``dump``, ``quads_for_pattern``, graphs, ``len``), so the
knowledge graph, its statistics, descriptions and pages run unchanged over QLever,
Virtuoso, GraphDB, Fuseki or Oxigraph's own server. Internal queries are small: their
answers are parsed into pyoxigraph objects. The endpoint does not parse: :meth:`send`
passes a client's query through and its answer back as bytes (see
:class:`kg.engine.remote.RemoteExecutor`). Every write is one update request, which SPARQL 1.1
servers apply atomically. The server should use the union of its named graphs as its
default graph, as the embedded store does (Oxigraph: ``--union-default-graph``).
"""

from __future__ import annotations

import functools
import logging
import socket
import urllib.parse
from typing import IO, Iterable, Iterator, Sequence

from pyoxigraph import (BlankNode, DefaultGraph, NamedNode, Quad, QueryResultsFormat, RdfFormat,
                        Store, Triple, parse, parse_query_results, serialize)

from ..errors import KGError, QueryTimeoutError
from ..sparql.guard import Shape, read
from .dialect import Dialect, dialect_for
from .http import Client, Reply
from .staging import Staging, update_operations

log = logging.getLogger("kg")

_JSON = "application/sparql-results+json"
_NOTHING = "urn:x-kg:no-graph"  # the dataset of a query while the project has no graph there
_NQUADS = "application/n-quads"
_NTRIPLES = "application/n-triples"


def prologue(prefixes: dict[str, str] | None, base_iri: str | None) -> str:
    """The PREFIX (and BASE) declarations that stand for pyoxigraph's ``prefixes`` and
    ``base_iri`` options; the query's own declarations, after them, win."""
    lines = [f"BASE <{base_iri}>"] if base_iri else []
    lines += [f"PREFIX {name}: <{iri}>" for name, iri in (prefixes or {}).items()]
    return "".join(line + "\n" for line in lines)


class RemoteStore:
    """A SPARQL 1.1 server used as the store.

    ``query_url`` answers queries; ``update_url`` (default: the same) takes updates.
    """

    #: Writes of more quads than this are sent in batches of this size into staging graphs,
    #: then moved into place by one last request (all or nothing; see :meth:`write`);
    #: None: the dialect's size.
    batch: int | None = None

    #: Seconds a write request may take (a large load's last request moves every quad).
    write_timeout = 3600.0

    def __init__(self, query_url: str, *, update_url: str | None = None,
                 timeout: float = 60.0, user_agent: str = "kg") -> None:
        self.query_url, self.update_url = query_url, update_url or query_url
        self.timeout, self.user_agent = timeout, user_agent
        self._dialect: Dialect | None = None
        self._graphs: list[str] | None = None  # the project's graphs, while nothing is written
        self._client = Client(user_agent, self._know)

    @property
    def dialect(self) -> Dialect:
        """What the server does differently (:mod:`kg.store.dialect`), known from the
        ``Server`` header of its first answer (asked with an empty ASK if none came yet)."""
        if self._dialect is None:
            form = urllib.parse.urlencode({"query": "ASK {}"}).encode()
            b"".join(self._request(self.query_url, form, "application/x-www-form-urlencoded",
                                   "application/sparql-results+json", None, keep=True).chunks())
        return self._dialect or dialect_for(None)

    # -- the protocol --------------------------------------------------------------------

    def send(self, text: str, accept: str, *, default_graphs: Sequence[str] = (),
             named_graphs: Sequence[str] = (), timeout: float | None = None,
             scoped: bool = True, shape: Shape | None = None) -> Reply:
        """POST a query as the SPARQL 1.1 Protocol says; the answer unread. A client
        error (4xx) raises the KGError that fits, with the server's message.

        On a server that keeps graphs of its own (Virtuoso), a query that names no dataset
        is given the project's graphs as its default and named graphs (``scoped``), so that
        it sees what the embedded store would hold; not an ASK, which Virtuoso 7.2 answers
        wrongly once a request names a dataset (true for a graph that does not exist).
        ``shape``: what the guard read of the query already (else it is read here).
        """
        if scoped and self.dialect.system_graphs and not (default_graphs or named_graphs) \
                and not _names_dataset(shape or read(text)):
            default_graphs = named_graphs = self.project_graphs() or [_NOTHING]
        form = urllib.parse.urlencode({"query": text}) + \
            _dataset_form(tuple(default_graphs), tuple(named_graphs))
        return self._request(self.query_url, form.encode(),
                             "application/x-www-form-urlencoded", accept, timeout, keep=True)

    def close(self) -> None:
        """Close the connections kept open to the server."""
        self._client.close()

    def _request(self, url: str, body: bytes | None, content_type: str, accept: str,
                 timeout: float | None, *, method: str = "POST", keep: bool = False) -> Reply:
        return self._client.exchange(url, body, content_type, accept, timeout or self.timeout,
                                     method=method, keep=keep)

    def project_graphs(self) -> list[str]:
        """The named graphs there but the server's own, asked again after each write."""
        if self._graphs is None:
            pattern, hide = self.dialect.graph_pattern, self.dialect.hide("?g")
            text = f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {pattern} {hide} }}"
            self._graphs = [row["g"].value for row in parse_query_results(
                self._read(text, _JSON, scoped=False), QueryResultsFormat.JSON)]
        return self._graphs

    def forget_graphs(self) -> None:
        """Ask for the graphs again next time (something else may have written there)."""
        self._graphs = None

    def _know(self, server: str | None) -> None:
        if self._dialect is None:
            self._dialect = dialect_for(server)

    def _read(self, text: str, accept: str, **options) -> bytes:
        try:
            return self.dialect.repair(b"".join(self.send(text, accept, **options).chunks()))
        except (socket.timeout, TimeoutError):
            raise QueryTimeoutError(f"the store at {self.query_url} stopped answering") from None

    # -- the part of pyoxigraph.Store's interface the project uses -------------------------

    def query(self, text: str, *, prefixes: dict[str, str] | None = None,
              base_iri: str | None = None, use_default_graph_as_union: bool = False,
              default_graph: Sequence = (), named_graphs: Sequence = ()):
        """Run a query there; the answer as pyoxigraph objects (solutions, a boolean, or
        triples), as ``Store.query`` gives them."""
        full = prologue(prefixes, base_iri) + text
        options = {"default_graphs": [g.value for g in default_graph if isinstance(g, NamedNode)],
                   "named_graphs": [g.value for g in named_graphs]}
        if read(text).form in ("CONSTRUCT", "DESCRIBE"):
            scratch = Store()  # the triples again as pyoxigraph's own query answer
            scratch.load(self._read(full, _NTRIPLES, **options), RdfFormat.N_TRIPLES)
            return scratch.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }")
        return parse_query_results(self._read(full, _JSON, **options), QueryResultsFormat.JSON)

    def update(self, text: str, *, prefixes: dict[str, str] | None = None,
               base_iri: str | None = None) -> None:
        """Run an update there, as one request (applied atomically by the server)."""
        body = (prologue(prefixes, base_iri) + text).encode()
        self._graphs = None  # a graph may come or go
        self._request(self.update_url, body, "application/sparql-update", "*/*",
                      self.write_timeout).close()

    def load(self, input: bytes | IO[bytes], format: RdfFormat, **_options) -> None:
        """Add the quads of an N-Quads document, all or nothing (see :meth:`write`)."""
        quads = parse(input, RdfFormat.N_QUADS if format is None else format)
        self.write(added=quads)

    def add_document(self, document: bytes) -> None:
        """Add the quads of an N-Quads document, all or nothing: sent as it is to the
        server's Graph Store endpoint (one transaction there), else as :meth:`write` does."""
        if not self.dialect.graph_store:
            return self.load(document, RdfFormat.N_QUADS)
        self._post_dataset(document)

    def write(self, added: Iterable[Quad] = (), removed: Iterable[Quad] = ()) -> None:
        """Remove then add quads, all or nothing.

        Up to :attr:`batch` quads go in one update request, which SPARQL 1.1 servers apply
        atomically. More are sent in batches into staging graphs of their own, then one
        last request removes ``removed`` and moves the staged quads into their graphs; if
        any request fails the staging graphs are dropped and the store is as it was.
        """
        added, removed = list(added), list(removed)
        size = self.batch or self.dialect.batch
        if len(added) <= size:
            operations = update_operations(removed, added, self.dialect.block)
            if operations:
                self.update(" ;\n".join(operations))
            return
        if self.dialect.graph_store and not removed:
            self._post_dataset(added)
            return
        staging = Staging(added)
        try:
            for number, part in enumerate(staging.batches(size), 1):
                self.update(" ;\n".join(update_operations((), part, self.dialect.block)))
                log.info("sent %d of %d batches (%d quads) to the store at %s",
                         number, staging.count(size), len(part), self.update_url)
            self.update(" ;\n".join(update_operations(removed, (), self.dialect.block) +
                                     staging.moves()))
        except (KGError, OSError):
            self._drop(staging)
            raise

    def _post_dataset(self, quads: list[Quad] | bytes) -> None:
        """Add quads (or an N-Quads document) through the server's Graph Store endpoint, as
        one N-Quads document (one transaction there)."""
        url = urllib.parse.urljoin(self.query_url, self.dialect.graph_store)
        body = quads if isinstance(quads, bytes) else serialize(quads, None, RdfFormat.N_QUADS)
        log.info("sending %d MB of N-Quads to %s", len(body) >> 20, url)
        self._graphs = None
        self._request(url, body, _NQUADS, "*/*", self.write_timeout).close()

    def _drop(self, staging: Staging) -> None:
        try:
            self.update(" ;\n".join(staging.drops()))
        except KGError as exc:  # the first error is the one to report
            log.warning("could not drop the staging graphs %s: %s",
                        ", ".join(staging.graphs.values()), exc)

    def extend(self, quads: Iterable[Quad]) -> None:
        """Add quads (one request)."""
        self.write(added=list(quads))

    def add(self, quad: Quad) -> None:
        """Add one quad."""
        self.write(added=[quad])

    def remove(self, quad: Quad) -> None:
        """Remove one quad."""
        self.write(removed=[quad])

    def quads_for_pattern(self, subject=None, predicate=None, object=None,
                          graph_name=None) -> list[Quad]:
        """The quads matching a pattern (None matches anything)."""
        terms = [str(term) if term is not None else f"?{name}" for term, name in
                 ((subject, "s"), (predicate, "p"), (object, "o"))]
        pattern = " ".join(terms)
        if isinstance(graph_name, DefaultGraph):
            return []  # the remote default graph is the union: no quads of its own here
        graph = str(graph_name) if graph_name is not None else "?g"
        rows = self.query(f"SELECT * WHERE {{ GRAPH {graph} {{ {pattern} }} }}")
        return [Quad(subject or row["s"], predicate or row["p"], object or row["o"],
                     graph_name or row["g"]) for row in rows]

    def all_quads(self) -> list[Quad]:
        """Every quad there: through the server's Graph Store endpoint as one N-Quads
        document where it has one (parsed in Rust), else one SELECT. Either may take
        minutes at a million quads: they wait as long as a write, not a query's timeout."""
        if not self.dialect.graph_store:
            rows = parse_query_results(self._read(
                "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }", _JSON, timeout=self.write_timeout),
                QueryResultsFormat.JSON)
            return [Quad(row["s"], row["p"], row["o"], row["g"]) for row in rows]
        url = urllib.parse.urljoin(self.query_url, self.dialect.graph_store)
        reply = self._request(url, None, "", _NQUADS, self.write_timeout, method="GET")
        try:
            return [quad for quad in parse(reply.response, RdfFormat.N_QUADS)
                    if not isinstance(quad.graph_name, DefaultGraph)]
        finally:
            reply.close()

    def quads_of(self, triples: Iterable[Triple], batch: int = 500) -> list[Quad]:
        """The quads there whose triple is one of ``triples``, in any graph: one query per
        ``batch`` triples instead of one per triple (what a look-up per triple costs over
        HTTP made the inferred graph of 100k triples take 84 s)."""
        named, found = [], []
        for triple in triples:  # a blank node cannot stand in VALUES: asked on its own
            if any(isinstance(term, BlankNode) for term in triple):
                found += self.quads_for_pattern(*triple)
            else:
                named.append(triple)
        wanted = set(named)
        for start in range(0, len(named), batch):
            # asked by subject and predicate, the objects compared here: Virtuoso 7.2 matches
            # no literal in a VALUES block of two rows or more
            pairs = " ".join(sorted({f"({t.subject} {t.predicate})"
                                     for t in named[start:start + batch]}))
            found += [quad for quad in (Quad(row["s"], row["p"], row["o"], row["g"]) for row in
                                        self.query("SELECT * WHERE { VALUES (?s ?p) { "
                                                   f"{pairs} }} GRAPH ?g {{ ?s ?p ?o }} }}"))
                      if quad.triple in wanted]
        return found

    def named_graphs(self) -> list[NamedNode]:
        """The named graphs there."""
        return [NamedNode(graph) for graph in self.project_graphs()]

    def contains_named_graph(self, graph: NamedNode) -> bool:
        """Whether the named graph holds anything there."""
        return bool(self.query(f"ASK {{ GRAPH {graph} {{ ?s ?p ?o }} }}"))

    def dump(self, output: IO[bytes] | None = None, format: RdfFormat = RdfFormat.N_QUADS,
             *, from_graph=None, prefixes=None) -> bytes | None:
        """Every quad (or one graph's triples) in ``format``."""
        quads = self.quads_for_pattern(graph_name=from_graph)
        if from_graph is not None:
            quads = [quad.triple for quad in quads]
        return serialize(quads, output, format, prefixes=prefixes) if prefixes else \
            serialize(quads, output, format)

    def __contains__(self, quad: Quad) -> bool:
        graph = "" if isinstance(quad.graph_name, DefaultGraph) else str(quad.graph_name)
        pattern = f"{quad.subject} {quad.predicate} {quad.object}"
        return bool(self.query(f"ASK {{ GRAPH {graph} {{ {pattern} }} }}" if graph
                               else f"ASK {{ {pattern} }}"))

    def __len__(self) -> int:
        rows = self.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
        return int(next(iter(rows))["n"].value)

    def __iter__(self) -> Iterator[Quad]:
        return iter(self.quads_for_pattern())

    def flush(self) -> None:
        """Nothing to flush: every write was sent."""

    def __repr__(self) -> str:
        return f"RemoteStore({self.query_url!r})"


@functools.lru_cache(maxsize=64)
def _dataset_form(default_graphs: tuple[str, ...], named_graphs: tuple[str, ...]) -> str:
    """The protocol's dataset parameters, form-encoded once for each dataset (on Virtuoso
    every query names the project's graphs)."""
    form = [("default-graph-uri", g) for g in default_graphs] + \
        [("named-graph-uri", g) for g in named_graphs]
    return "&" + urllib.parse.urlencode(form) if form else ""


def _names_dataset(shape: Shape) -> bool:
    """Whether a query is an ASK or names its own dataset (FROM): left unscoped."""
    return shape.form == "ASK" or "FROM" in shape.keywords
