"""``POST /validate``: validate triples against the graph without storing anything.

The body is RDF (Turtle, N-Triples, N-Quads, TriG, RDF/XML, JSON-LD, by Content-Type); the
triples are checked as additions to the user graph (quads keep their graphs), in the
context of the whole graph, exactly as ``kg validate`` does. The answer is the report,
negotiated: JSON (default), Turtle or JSON-LD (``sh:ValidationReport``), text. Status 200
whatever the verdict: the verdict is in the report (``conforms``).
"""

from __future__ import annotations

from flask import Blueprint, Response

from .app import get_writer
from ..store.graph import Source
from .shared import rdf_body, report_response

bp = Blueprint("validation", __name__)


@bp.route("/validate", methods=["POST"])
def validate() -> Response:
    """The validation report of the RDF in the body."""
    fmt, body = rdf_body()
    delta, result = get_writer().validate([Source("request body", body)], format=fmt.name)
    return report_response(result, delta=delta)
