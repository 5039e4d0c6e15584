"""``POST /validate``: validate triples against the graph without storing anything.

The body is RDF (Turtle, N-Triples, N-Quads, TriG, RDF/XML, JSON-LD, by Content-Type); the
triples are checked as additions to the user graph, or to the graph ``?graph=IRI`` names
(quads keep their graphs), in the context of the whole graph, exactly as ``kg validate``
does — a graph of a researcher's own, declared with its shapes in the ``graph_shapes``
setting, against those shapes only. The answer is the report,
negotiated: JSON (default), Turtle or JSON-LD (``sh:ValidationReport``), text. Status 200
whatever the verdict: the verdict is in the report (``conforms``).
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from pyoxigraph import NamedNode

from .extensions import get_writer
from ..errors import UsageError
from ..store.sources import Source
from .shared import rdf_body, report_response

bp = Blueprint("validation", __name__)


@bp.route("/validate", methods=["POST"])
def validate() -> Response:
    """The validation report of the RDF in the body."""
    graph = _graph()
    fmt, body = rdf_body()
    delta, result = get_writer().validate([Source("request body", body)], graph=graph,
                                          format=fmt.name)
    return report_response(result, delta=delta)


def _graph() -> str | None:
    """The ``graph`` parameter: the graph the triples would go to (None: the user graph)."""
    graphs = request.args.getlist("graph")
    if len(graphs) > 1:
        raise UsageError("name at most one graph: ?graph=IRI")
    if not graphs:
        return None
    try:
        NamedNode(graphs[0])
    except ValueError:
        raise UsageError(f"?graph={graphs[0]!r} is not an absolute IRI") from None
    return graphs[0]
