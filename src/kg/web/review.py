"""``/review``: the changes kept for review (sent with ``on-invalid=quarantine``).

``GET /review`` lists them (JSON); ``GET /review/<id>`` shows one, re-validated against the
graph as it is now (the report, negotiated); ``POST /review/<id>/accept`` commits it if it
now validates (a body in an RDF format replaces its added triples with a fixed version),
else 422 with the report; ``POST /review/<id>/discard`` drops it. The routes that change
something need ``Authorization: Bearer TOKEN``; reading the queue does too, since pending
triples are not public data yet.
"""

from __future__ import annotations

from flask import Blueprint, Response, json, request

from .extensions import get_writer
from ..store.sources import Source, read_sources
from .shared import outcome_response, rdf_body, report_response, writer_agent

bp = Blueprint("review", __name__)


@bp.route("/review")
def queue() -> Response:
    """The pending changes, oldest first."""
    writer_agent()
    items = [{"id": p.id, "iri": p.iri, "agent": p.agent, "time": p.time,
              "description": p.description, "added": p.added, "removed": p.removed}
             for p in get_writer().pending()]
    return Response(json.dumps({"pending": items}, ensure_ascii=False) + "\n",
                    mimetype="application/json")


@bp.route("/review/<pending_id>")
def show(pending_id: str) -> Response:
    """One pending change and its validation against the graph as it is now."""
    writer_agent()
    pending = get_writer().pending_change(pending_id)
    delta, result = get_writer().recheck(pending_id)
    added, removed = delta.to_nquads()
    return report_response(result, delta=delta, extra={
        "id": pending.id, "agent": pending.agent, "time": pending.time,
        "description": pending.description, "addedQuads": added.decode(),
        "removedQuads": removed.decode()})


@bp.route("/review/<pending_id>/accept", methods=["POST"])
def accept(pending_id: str) -> Response:
    """Promote a pending change (optionally fixed) if it validates now."""
    agent = writer_agent()
    replacement = None
    if request.content_length or request.mimetype:  # the fixed triples
        fmt, data = rdf_body()
        replacement = list(read_sources([Source("request body", data)], format=fmt.name))
    return outcome_response(get_writer().accept(pending_id, agent=agent, replacement=replacement))


@bp.route("/review/<pending_id>/discard", methods=["POST"])
def discard(pending_id: str) -> Response:
    """Drop a pending change."""
    writer_agent()
    get_writer().discard(pending_id)
    return Response(json.dumps({"status": "discarded", "id": pending_id}) + "\n",
                    mimetype="application/json")
