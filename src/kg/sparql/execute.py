"""SPARQL execution in Oxigraph's engine and the results it gives (no Flask here).

Queries see the union of all named graphs as their default graph unless the caller names
the default graphs (as the SPARQL protocol's ``default-graph-uri`` does). Results stay
pyoxigraph objects and are serialised by pyoxigraph; only the text table is ours.
"""

from __future__ import annotations

import io
import re
import sys
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Callable, Sequence

from pyoxigraph import (BlankNode, Literal, NamedNode, Quad, QueryBoolean, QueryResultsFormat,
                        QuerySolutions, QueryTriples, RdfFormat, Store, parse,
                        parse_query_results, serialize)

from ..errors import (KGError, QueryEvaluationError, QuerySyntaxError, ResultTooLargeError,
                      UsageError)
from .formats import FORMATS, JSON, NTRIPLES, TABLE, Format, ResultKind
from .frames import frame, term_cell
from .guard import uses_keyword
from .request import QueryRequest
from ..namespaces import PREFIXES, compact
from ..graphs import asserted_graphs

if TYPE_CHECKING:
    import pandas

_POSITION = re.compile(r"(?:error )?at (\d+):(\d+)")
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def query_syntax_error(exc: SyntaxError) -> QuerySyntaxError:
    """Oxigraph's SyntaxError as a QuerySyntaxError with the line and column it names."""
    message = str(exc.args[0]) if exc.args else "syntax error"
    match = _POSITION.search(message)
    line, column = (int(match[1]), int(match[2])) if match else (None, None)
    return QuerySyntaxError(f"SPARQL syntax error: {message}", line=line, column=column)


@dataclass
class QueryResult:
    """The answer to a query: solutions (SELECT), a boolean (ASK) or triples (CONSTRUCT,
    DESCRIBE). Solutions and triples are lazy: evaluation happens while they are read."""

    raw: QuerySolutions | QueryBoolean | QueryTriples | tuple
    #: The error to raise when a SERVICE call fails (Oxigraph reports it as an OSError);
    #: None: the OSError is the store's own and goes up as it is.
    service_error: Callable[[OSError], KGError] | None = None

    @property
    def kind(self) -> ResultKind:
        """SOLUTIONS for SELECT and ASK, GRAPH for CONSTRUCT and DESCRIBE."""
        return (ResultKind.GRAPH if isinstance(self.raw, (QueryTriples, tuple))
                else ResultKind.SOLUTIONS)

    @property
    def is_boolean(self) -> bool:
        """True for the answer of an ASK query."""
        return isinstance(self.raw, QueryBoolean)

    @property
    def boolean(self) -> bool:
        """The answer of an ASK query."""
        if not self.is_boolean:
            raise TypeError("only ASK queries have a boolean answer")
        return bool(self.raw)

    @property
    def solutions(self) -> QuerySolutions:
        """The solutions of a SELECT query, each indexable by variable name."""
        if not isinstance(self.raw, QuerySolutions):
            raise TypeError("only SELECT queries have solutions")
        return self.raw

    @property
    def variables(self) -> list[str]:
        """The projected variables of a SELECT query, in order."""
        return [variable.value for variable in self.solutions.variables]

    def detached(self) -> "QueryResult":
        """The same answer, evaluated now and read from memory afterwards: solutions and
        booleans parsed back from their serialisation, triples kept in a tuple. Reading it
        no longer touches the store, so it can be read after the store's lock is let go."""
        if self.kind is ResultKind.GRAPH:
            buffer = io.BytesIO()
            write_result(self, NTRIPLES, buffer)
            return QueryResult(tuple(quad.triple for quad in
                                     parse(buffer.getvalue(), RdfFormat.N_TRIPLES)))
        buffer = io.BytesIO()
        write_result(self, JSON, buffer)
        return QueryResult(parse_query_results(buffer.getvalue(), QueryResultsFormat.JSON))

    def serialize(self, fmt: Format, output: IO[bytes] | None = None, *,
                  max_rows: int | None = None) -> bytes | None:
        """Write the result in ``fmt`` (see :func:`write_result`); return bytes when no
        ``output`` is given."""
        allowed = FORMATS[self.kind] + ((TABLE,) if self.kind is ResultKind.SOLUTIONS else ())
        if fmt not in allowed:
            names = ", ".join(f.name for f in allowed)
            raise UsageError(f"a {self.kind.value} result cannot be written as {fmt.name}; "
                             f"choose one of: {names}")
        if output is not None:
            write_result(self, fmt, output, max_rows=max_rows)
            return None
        buffer = io.BytesIO()
        write_result(self, fmt, buffer, max_rows=max_rows)
        return buffer.getvalue()

    def to_dataframe(self, *, compact: bool = False,
                     languages: bool = False) -> "pandas.DataFrame":
        """The solutions (SELECT) or triples (CONSTRUCT, DESCRIBE: columns subject,
        predicate, object) as a pandas DataFrame with typed columns: numbers, booleans,
        dates and years as pandas types, IRIs as strings (``fipid:x`` with ``compact=True``),
        language tags in ``NAME_lang`` columns with ``languages=True``; see
        :mod:`kg.sparql.frames`. Needs pandas (the ``notebook`` extra).
        """
        if self.is_boolean:
            raise UsageError("an ASK answer is one boolean (.boolean), not a table")
        try:
            if self.kind is ResultKind.GRAPH:
                rows = ([term_cell(t.subject), term_cell(t.predicate), term_cell(t.object)]
                        for t in self.raw)
                return frame(("subject", "predicate", "object"), rows, compact=compact,
                             languages=languages)
            rows = ([term_cell(solution[name]) for name in self.variables]
                    for solution in self.solutions)
            return frame(self.variables, rows, compact=compact, languages=languages)
        except RuntimeError as exc:  # evaluation errors surface while the result is read
            raise QueryEvaluationError(f"query evaluation failed: {exc}") from exc


def write_result(result: QueryResult, fmt: Format, output: IO[bytes], *,
                 max_rows: int | None = None, as_quads: bool = False) -> int:
    """Write ``result`` in ``fmt`` to ``output``: the one serialiser of results.

    Returns the triples written (graphs), or -1 for solutions (which
    :func:`kg.sparql.answer.write_answer` counts on the bytes) and the text table. Past ``max_rows``
    triples, ResultTooLargeError; evaluation errors surfacing while the result is read
    raise QueryEvaluationError, a failed SERVICE call ``result.service_error``.
    ``as_quads``: the result is a SELECT of ?s ?p ?o ?g, written as quads.
    """
    limit = max_rows if max_rows is not None else sys.maxsize
    try:
        if fmt is TABLE:
            output.write(table(result).encode())
            return -1
        if as_quads:
            counter = _Counted((Quad(row["s"], row["p"], row["o"], row["g"])
                                for row in result.solutions), limit)
            serialize(counter, output, fmt.engine, prefixes=PREFIXES)
            return counter.count
        if result.kind is ResultKind.GRAPH:
            counter = _Counted(result.raw, limit)
            serialize(counter, output, fmt.engine, prefixes=PREFIXES)
            return counter.count
        result.raw.serialize(output, fmt.engine)
        return -1
    except RuntimeError as exc:  # pyoxigraph's evaluation errors surface while reading
        raise QueryEvaluationError(f"query evaluation failed: {exc}") from exc
    except OSError as exc:
        if result.service_error is None:
            raise
        raise result.service_error(exc) from None


class _Counted:
    """Passes triples through, counting them, and stops beyond ``max_rows``."""

    def __init__(self, triples, max_rows: int) -> None:
        self._triples, self._max_rows = triples, max_rows
        self.count = 0

    def __iter__(self):
        for triple in self._triples:
            self.count += 1
            if self.count > self._max_rows:
                raise ResultTooLargeError(f"the result has more than {self._max_rows} "
                                          "triples; add a LIMIT or narrow the pattern")
            yield triple


def execute_query(store: Store, text: str, *, default_graphs: Sequence[str] = (),
                  named_graphs: Sequence[str] = (), base_iri: str | None = None,
                  inference: bool = True, dataset_in_query: bool | None = None,
                  service_error: Callable[[OSError], KGError] | None = None) -> QueryResult:
    """Parse and run a SPARQL 1.1 query with the predeclared prefixes.

    The dataset, as the SPARQL protocol orders it: ``default_graphs`` and ``named_graphs``
    (the protocol's ``default-graph-uri`` and ``named-graph-uri``) when either is given;
    otherwise the query's own ``FROM``/``FROM NAMED``; otherwise the union of all graphs as
    default graph, with every named graph available to ``GRAPH``. ``inference=False``
    leaves the inferred graph out of that union and out of ``GRAPH``; a dataset named by
    the request or the query is used exactly as given either way (``dataset_in_query``:
    whether the query has FROM, when the caller's lex of it told). Raises QuerySyntaxError
    with line and column when the query does not parse; ``service_error`` makes the
    error of a failed SERVICE call (see :class:`QueryResult`).
    """
    options: dict = {"prefixes": PREFIXES, "base_iri": base_iri}
    if default_graphs or named_graphs:
        options["default_graph"] = [_graph_iri(iri, "default-graph-uri")
                                    for iri in default_graphs]
        options["named_graphs"] = [_graph_iri(iri, "named-graph-uri") for iri in named_graphs]
    elif not (uses_keyword(text, "FROM") if dataset_in_query is None else dataset_in_query):
        # any dataset option makes Oxigraph ignore FROM, so the union is asked for only
        # when the query names no dataset of its own
        if inference:
            options["use_default_graph_as_union"] = True
        else:
            graphs = asserted_graphs(store)
            options["default_graph"] = graphs
            options["named_graphs"] = [graph for graph in graphs if isinstance(graph, NamedNode)]
    try:
        return QueryResult(store.query(text, **options), service_error)
    except SyntaxError as exc:
        raise query_syntax_error(exc) from None
    except (RuntimeError, ValueError) as exc:
        raise QueryEvaluationError(f"query evaluation failed: {exc}") from exc
    except OSError as exc:  # an ASK evaluates at once
        if service_error is None:
            raise
        raise service_error(exc) from None


def execute_request(store: Store, request: QueryRequest, *,
                    service_error: Callable[[OSError], KGError] | None = None) -> QueryResult:
    """Run a checked request (its quads query when the client chose a quad format)."""
    return execute_query(store, request.quads_query if request.as_quads else request.run_text,
                         default_graphs=request.default_graphs,
                         named_graphs=request.named_graphs, base_iri=request.base_iri,
                         inference=request.inference,
                         dataset_in_query="FROM" in request.shape.keywords,
                         service_error=service_error)


def _graph_iri(iri: str, parameter: str) -> NamedNode:
    try:
        return NamedNode(iri)
    except ValueError as exc:
        raise UsageError(f"{parameter} {iri!r} is not an absolute IRI: {exc}") from None


def execute_update(store: Store, text: str, *, base_iri: str | None = None) -> None:
    """Parse and run a SPARQL 1.1 update with the predeclared prefixes, atomically."""
    try:
        store.update(text, prefixes=PREFIXES, base_iri=base_iri)
    except SyntaxError as exc:
        raise query_syntax_error(exc) from None
    except RuntimeError as exc:
        raise QueryEvaluationError(f"update failed: {exc}") from exc


def term_text(term) -> str:
    """A term as a reader wants it in a table: prefixed names, ``"text"@lang``, ``_:b``.

    >>> term_text(Literal("Mongolie", language="fr"))
    '"Mongolie"@fr'
    >>> term_text(NamedNode("http://www.w3.org/ns/org#Post"))
    'org:Post'
    """
    if term is None:
        return ""
    if isinstance(term, NamedNode):
        return compact(term.value)
    if isinstance(term, BlankNode):
        return f"_:{term.value}"
    if isinstance(term, Literal):
        if term.language:
            return f'"{term.value}"@{term.language}'
        if term.datatype.value == _XSD_STRING:
            return f'"{term.value}"'
        if term.datatype.value.startswith(PREFIXES["xsd"]) and _is_plain_number(term):
            return term.value
        return f'"{term.value}"^^{compact(term.datatype.value)}'
    return str(term)


def _is_plain_number(term: Literal) -> bool:
    return term.datatype.value.rsplit("#", 1)[-1] in {"integer", "decimal", "boolean"}


def table(result: QueryResult) -> str:
    """The result as a text table for people (``kg query --format table``)."""
    if result.is_boolean:
        return ("true" if result.boolean else "false") + "\n"
    variables = result.variables
    rows = [[term_text(solution[name]) for name in variables] for solution in result.solutions]
    widths = [max([len(name) + 1] + [len(row[i]) for row in rows])
              for i, name in enumerate(variables)]
    lines = ["  ".join(f"?{name}".ljust(width) for name, width in zip(variables, widths)),
             "  ".join("-" * width for width in widths)]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) for row in rows]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(line.rstrip() for line in lines) + "\n"
