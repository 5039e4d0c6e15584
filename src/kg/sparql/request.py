"""A query as one typed object, made once where it comes in: an HTTP route, ``kg query``
or the Python API.

:func:`make_request` checks the text once (one lex gives the guard its depth and keywords,
the SERVICE policy its IRIs, the request its form) and negotiates the format once, from
the form; every later step (the cache key and ETag, the executor, the serialiser) reads the
:class:`QueryRequest` and never the raw text again. Nothing here runs a query.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Sequence

from .formats import QUAD_FORMATS, TABLE, Format, ResultKind, negotiate
from .guard import Shape, inspect_query

if TYPE_CHECKING:
    from ..config import Config
    from .federation import ServicePolicy


@dataclass(frozen=True)
class QueryLimits:
    """What one query may cost: text length, nesting depth, rows, seconds."""

    max_query_length: int = 100_000
    max_nesting: int = 100
    max_rows: int = 100_000
    timeout: float = 30.0

    @classmethod
    def from_config(cls, config: "Config") -> "QueryLimits":
        """The limits of ``config`` (the ``--max-*`` and ``--timeout`` settings)."""
        return cls(config.max_query_length, config.max_nesting, config.max_rows,
                   config.timeout)


@dataclass(frozen=True)
class QueryRequest:
    """A checked query with everything that decides its answer.

    ``text`` is the query as the client wrote it (errors name its SERVICE IRIs);
    ``run_text`` is what the engine runs (allowlisted SERVICE IRIs rewritten). ``format``
    is None only when the form could not be read, so that the parser reports the error
    with its line and column.
    """

    text: str
    run_text: str
    shape: Shape
    format: Format | None
    accept: str | None = None
    override: str | tuple[str, ...] | None = None
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    base_iri: str | None = None
    inference: bool = True
    #: A SELECT of ?s ?p ?o ?g that answers instead when the client chose a quad format
    #: (a description with each triple in its named graph).
    quads_query: str | None = None
    max_rows: int = 100_000

    @property
    def kind(self) -> ResultKind | None:
        """The kind of result the form gives (None: the form is unknown)."""
        if self.as_quads or self.shape.form in ("CONSTRUCT", "DESCRIBE"):
            return ResultKind.GRAPH
        return ResultKind.SOLUTIONS if self.shape.form else None

    @property
    def as_quads(self) -> bool:
        """Whether :attr:`quads_query` answers (the client chose a quad format)."""
        return self.quads_query is not None and self.format in QUAD_FORMATS

    @property
    def key(self) -> tuple:
        """What changes the answer besides the data version: the cache key."""
        return (self.text, self.format.name if self.format else None, self.default_graphs,
                self.named_graphs, self.base_iri, self.inference, self.quads_query,
                self.max_rows)

    def negotiated(self, kind: ResultKind) -> Format:
        """The format for a result of ``kind`` (the negotiated one when the form was read)."""
        if self.format is not None and kind is self.kind:
            return self.format
        return negotiate(self.accept, kind, override=self.override)


def make_request(text: str, *, limits: QueryLimits, services: "ServicePolicy | None" = None,
                 accept: str | None = None, format: str | tuple[str, ...] | None = None,
                 default_graphs: Sequence[str] = (), named_graphs: Sequence[str] = (),
                 base_iri: str | None = None, inference: bool = True,
                 quads_query: str | None = None, table: bool = False) -> QueryRequest:
    """Check ``text`` against ``limits`` and the SERVICE policy and negotiate its format.

    ``format`` (a short name, client token or media type, or the values of the protocol's
    ``format=``, ``output=`` and ``results=`` parameters in order) wins over ``accept``;
    ``table=True`` also offers the text table (for ``kg query``). Raises the KGError that
    fits: too long (413), too deep, forbidden keyword (400), no acceptable format (406).

    >>> request = make_request("ASK {}", limits=QueryLimits(), accept="text/csv")
    >>> request.kind.value, request.format.name
    ('solutions', 'csv')
    """
    run_text, shape = inspect_query(text, max_length=limits.max_query_length,
                                    max_nesting=limits.max_nesting, services=services)
    request = QueryRequest(text, run_text, shape, None, accept, format, tuple(default_graphs),
                           tuple(named_graphs), base_iri, inference, quads_query,
                           limits.max_rows)
    kind = ResultKind.GRAPH if quads_query else request.kind
    if kind is None:
        return request
    table_format = (TABLE,) if table and kind is ResultKind.SOLUTIONS else ()
    return replace(request, format=negotiate(accept, kind, override=format, extra=table_format))
