"""Queries passed through to a SPARQL server used as the store (``--store``).

The server holds the one copy of the data and stops its queries at its own timeout; this
executor sends each checked request in the format the client negotiated and hands the
answer back unparsed (converted only when the server chose another format).
"""

from __future__ import annotations

import io
from typing import Iterator

from pyoxigraph import (BlankNode, NamedNode, Quad, QueryResultsFormat, RdfFormat,
                        parse, parse_query_results, serialize)

from ..errors import QuerySyntaxError
from ..namespaces import PREFIXES
from ..reasoning import is_asserted_graph
from ..sparql.answer import SPOOL_MEMORY, Answer
from ..sparql.formats import Format, ResultKind
from ..sparql.request import QueryRequest
from ..delta import Delta
from ..store.http import RemoteStoreError, Reply
from ..store.remote import RemoteStore, prologue


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
        """Close the connections kept open to the server."""
        self.store.close()

    def dataset_changed(self, delta: Delta | None) -> None:
        """Nothing to bring up to date: the server holds the one copy of the data (the
        list of its graphs is asked again)."""
        self.store.forget_graphs()
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
        dialect = store.dialect
        # a format the server does not write as the standard says is asked as one it does
        accept = fmt.media_type if dialect.writes(fmt.media_type) else \
            _NTRIPLES if kind is ResultKind.GRAPH else _JSON
        reply = store.send(text, accept, timeout=self.timeout, shape=request.shape, **graphs)
        head = reply.read(SPOOL_MEMORY + 1)
        if len(head) > SPOOL_MEMORY:  # large: pass the rest through as it comes
            rest = _Rest(head, reply)
            if reply.media_type in fmt.media_types:
                return Answer(kind, fmt, -1, stream=rest), version
            if kind is ResultKind.SOLUTIONS and fmt.name in ("csv", "tsv") \
                    and reply.media_type == _JSON:
                return Answer(kind, fmt, -1, stream=_Tabular(rest, fmt.name)), version
            head = b"".join(rest)  # converted whole: no streaming conversion for it
        reply.close()
        head = dialect.repair(head)
        if reply.media_type not in fmt.media_types:  # the server chose another format
            head = _convert(head, reply.media_type, kind, fmt)
        return Answer(kind, fmt, _count(head, kind, fmt), head), version


_JSON = "application/sparql-results+json"
_NTRIPLES = "application/n-triples"


class _Rest:
    """The first megabyte of an answer and the rest as it arrives; closing it (also unread,
    when the client left) closes the connection to the server."""

    def __init__(self, head: bytes, reply: Reply) -> None:
        self.head, self.reply = head, reply

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        yield from self.reply.chunks()

    def close(self) -> None:
        self.reply.close()


class _Tabular:
    """A large answer in SPARQL JSON rewritten as CSV or TSV while it arrives (for a server
    whose own CSV and TSV are not the standard's)."""

    def __init__(self, source: _Rest, name: str) -> None:
        self.source, self.name = source, name

    def __iter__(self) -> Iterator[bytes]:
        solutions = parse_query_results(_Reader(iter(self.source)), QueryResultsFormat.JSON)
        names = [variable.value for variable in solutions.variables]
        cell, end = (_csv_cell, "\r\n") if self.name == "csv" else (_tsv_cell, "\n")
        header = ",".join(names) if self.name == "csv" else "\t".join("?" + n for n in names)
        lines = [header + end]
        for row in solutions:
            lines.append((","if self.name == "csv" else "\t").join(
                cell(row[n]) for n in names) + end)
            if len(lines) >= 1000:
                yield "".join(lines).encode()
                lines = []
        yield "".join(lines).encode()

    def close(self) -> None:
        self.source.close()


def _csv_cell(term) -> str:
    """A term in a SPARQL CSV answer: IRIs and literals as their text, quoted when needed."""
    if term is None:
        return ""
    text = f"_:{term.value}" if isinstance(term, BlankNode) else term.value
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\r\n') else text


def _tsv_cell(term) -> str:
    """A term in a SPARQL TSV answer: as in N-Triples."""
    return "" if term is None else str(term)


class _Reader(io.RawIOBase):
    """The pieces of an answer as a file, for pyoxigraph's parser to pull from."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        super().__init__()
        self.pieces, self.left = pieces, b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.left:
            self.left = next(self.pieces, None)
            if self.left is None:
                self.left = b""
                return 0
        size = min(len(buffer), len(self.left))
        buffer[:size], self.left = self.left[:size], self.left[size:]
        return size


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
