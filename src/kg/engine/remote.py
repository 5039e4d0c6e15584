"""Queries passed through to a SPARQL server used as the store (``--store``).

The server holds the one copy of the data and stops its queries at its own timeout; this
executor sends each checked request in the format the client negotiated and hands the
answer back unparsed (converted only when the server chose another format).
"""

from __future__ import annotations

from typing import Iterator

from pyoxigraph import (NamedNode, Quad, QueryResultsFormat, RdfFormat, parse,
                        parse_query_results, serialize)

from ..errors import QuerySyntaxError
from ..namespaces import PREFIXES
from ..reasoning import is_asserted_graph
from ..sparql.answer import SPOOL_MEMORY, Answer
from ..sparql.formats import Format, ResultKind
from ..sparql.request import QueryRequest
from ..store.delta import Delta
from ..store.remote import RemoteStore, RemoteStoreError, Reply, prologue


class RemoteExecutor:
    """Passes each query through to the remote store in the format the client negotiated,
    and its answer back unparsed.

    The remote server does the work (and stops it at its own timeout); ``timeout`` bounds
    how long the endpoint waits for each piece of the answer. Answers up to 1 MB are read
    whole (counted, cached, sent with their length); larger ones are streamed as they
    come. The row limit is the remote server's to enforce.
    """

    def __init__(self, store: RemoteStore, *, timeout: float = 30.0) -> None:
        self.store, self.timeout = store, timeout
        self.version = 0

    def start(self) -> "RemoteExecutor":
        """Nothing to start."""
        return self

    def close(self) -> None:
        """Nothing to stop."""

    def dataset_changed(self, delta: Delta | None) -> None:
        """Nothing to bring up to date: the server holds the one copy of the data."""
        self.version += 1

    def run(self, request: QueryRequest) -> tuple[Answer, int]:
        """The answer to ``request`` from the server, and the data version asked."""
        version = self.version
        store = self.store
        if request.format is None:
            raise QuerySyntaxError("not a SPARQL query: no SELECT, ASK, CONSTRUCT or DESCRIBE")
        kind, fmt = request.kind, request.format
        graphs = {"default_graphs": request.default_graphs,
                  "named_graphs": request.named_graphs}
        if not request.inference and not (request.default_graphs or request.named_graphs):
            asserted = [g.value for g in store.named_graphs() if is_asserted_graph(g)]
            graphs = {"default_graphs": asserted, "named_graphs": asserted}
        if request.as_quads:  # small: descriptions
            solutions = store.query(request.quads_query, prefixes=PREFIXES, **{
                "default_graph": [NamedNode(g) for g in graphs["default_graphs"]],
                "named_graphs": [NamedNode(g) for g in graphs["named_graphs"]]})
            quads = [Quad(row["s"], row["p"], row["o"], row["g"]) for row in solutions]
            body = serialize(quads, None, fmt.engine, prefixes=PREFIXES)
            return Answer(kind, fmt, len(quads), body), version
        text = prologue(PREFIXES, request.base_iri) + request.run_text
        reply = store.send(text, fmt.media_type, timeout=self.timeout, **graphs)
        head = reply.response.read(SPOOL_MEMORY + 1)
        if len(head) > SPOOL_MEMORY:  # large: pass the rest through as it comes
            return Answer(kind, fmt, -1, stream=_Rest(head, reply)), version
        reply.response.close()
        if reply.media_type not in fmt.media_types:  # the server chose another format
            head = _convert(head, reply.media_type, kind, fmt)
        return Answer(kind, fmt, _count(head, kind, fmt), head), version


class _Rest:
    """The first megabyte of an answer and the rest as it arrives; closing it (also unread,
    when the client left) closes the connection to the server."""

    def __init__(self, head: bytes, reply: Reply) -> None:
        self.head, self.reply = head, reply

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        yield from self.reply.chunks()

    def close(self) -> None:
        self.reply.response.close()


def _count(data: bytes, kind: ResultKind, fmt: Format) -> int:
    """Triples in a small graph answer (the linked-data routes answer 404 to none); -1
    for solutions, which nothing here needs counted."""
    return sum(1 for _ in parse(data, fmt.engine)) if kind is ResultKind.GRAPH else -1


def _convert(data: bytes, media_type: str, kind: ResultKind, fmt: Format) -> bytes:
    """An answer in ``media_type`` rewritten in ``fmt`` (by pyoxigraph)."""
    try:
        if kind is ResultKind.GRAPH:
            triples = list(parse(data, RdfFormat.from_media_type(media_type)))
            return serialize(triples, None, fmt.engine, prefixes=PREFIXES)
        parsed = parse_query_results(data, QueryResultsFormat.from_media_type(media_type))
        return parsed.serialize(None, fmt.engine)
    except (SyntaxError, ValueError, TypeError) as exc:
        raise RemoteStoreError(f"the store answered {media_type}, which cannot be turned "
                               f"into {fmt.media_type}: {exc}") from None
