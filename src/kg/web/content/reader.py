"""How the pages read the data: through the query engine, as ``/sparql`` does.

A page that queries the live store in the server thread would run with no deadline and
block a request thread on a slow query; through the engine the same query runs on the
executor of ``/sparql`` (a worker, under the timeout; or the remote store), and repeated
ones are answered from its cache until the data changes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from pyoxigraph import QueryResultsFormat, parse_query_results

from ...engine import Engine
from ...sparql.execute import QueryResult
from ...sparql.request import make_request
from ...store.stats import Stats, read_stats

#: The row limit of the pages' own queries: they are the server's, not a client's, and
#: some (the reconciliation index, the network) read every label of the graph.
_NO_ROW_LIMIT = 2**62


class Reader(Protocol):
    """What the content modules need of the data: SPARQL SELECT and ASK (a
    :class:`kg.KnowledgeGraph` is one, as ``kg export --network`` uses it)."""

    def query(self, text: str, *, inference: bool = True) -> QueryResult:
        """The answer to a SELECT or ASK query, read from memory (``inference=False``:
        from the asserted graphs only)."""


class EngineReader:
    """A :class:`Reader` whose queries the engine answers (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def query(self, text: str, *, inference: bool = True) -> QueryResult:
        """The answer to ``text`` (SELECT or ASK), parsed back from SPARQL JSON results."""
        engine = self.engine
        request = make_request(text, limits=replace(engine.limits, max_rows=_NO_ROW_LIMIT),
                               services=engine.services, format="json", inference=inference)
        answer = engine.query(request)
        try:
            data = answer.read()
        finally:
            answer.close()
        return QueryResult(parse_query_results(data, QueryResultsFormat.JSON))

    def stats(self) -> Stats:
        """The counts of :meth:`kg.KnowledgeGraph.stats`, queried through the engine."""
        return read_stats(self.query, self.engine.kg.default_graph_size())
