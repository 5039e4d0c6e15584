"""The Reconciliation Service API at ``/reconcile`` (W3C Entity Reconciliation CG, v0.2).

* ``GET /reconcile`` with no parameter: the service manifest (name, identifier and schema
  spaces, default types, view, preview and suggest services).
* ``GET|POST /reconcile`` with ``queries`` (a JSON object of named queries, as OpenRefine
  sends it in a form field): the candidates of each query.
* ``GET /reconcile/preview?id=…``: an HTML card of one entity.
* ``GET /reconcile/suggest/entity|type|property?prefix=…``: auto-completion.

Spec: https://reconciliation-api.github.io/specs/0.2/ . The index is built from the store
on first use and rebuilt after the data changes (:meth:`kg.engine.engine.Engine.dataset_changed`).
"""

from __future__ import annotations

import json
import threading

from flask import Blueprint, Response, current_app, jsonify, request

from .extensions import get_engine, get_reader
from .headers import csp_nonce, frameable
from ..errors import UsageError
from ..namespaces import ID_NS, ONTOLOGY_NS
from .content.reconcile import DEFAULT_TYPES, Reconciler

bp = Blueprint("reconcile", __name__, url_prefix="/reconcile")
_LOCK = threading.Lock()
#: Most queries accepted in one batch (OpenRefine sends 10 by default).
MAX_BATCH = 100


def _reconciler() -> Reconciler:
    # one index per app, rebuilt when the engine's data version moves on
    state = current_app.extensions.setdefault("kg-reconcile", {})
    version = get_engine().version
    with _LOCK:
        if state.get("version") != version:
            state["index"], state["version"] = Reconciler(get_reader()), version
        return state["index"]


@bp.route("", methods=["GET", "POST"], strict_slashes=False)
def service() -> Response:
    """The manifest, or the answers to a batch of ``queries``."""
    raw = request.values.get("queries")
    if raw is None:
        return jsonify(_manifest())
    try:
        queries = json.loads(raw)
    except ValueError as exc:
        raise UsageError(f"queries is not JSON: {exc}") from None
    if not isinstance(queries, dict):
        raise UsageError('queries must be a JSON object such as {"q0": {"query": "DCSD"}}')
    if len(queries) > MAX_BATCH:
        raise UsageError(f"{len(queries)} queries in one batch; at most {MAX_BATCH}")
    reconciler = _reconciler()
    return jsonify({key: reconciler.reconcile(query) for key, query in queries.items()})


@bp.route("/preview")
@frameable  # OpenRefine shows it in an iframe; it is public data with no action
def preview() -> Response:
    """An HTML card for ``id`` (the manifest's preview service)."""
    ident = request.args.get("id", "")
    return Response(_reconciler().preview(ident, style_nonce=csp_nonce()), mimetype="text/html")


@bp.route("/suggest/<kind>")
def suggest(kind: str) -> Response:
    """Auto-completion of entities, types or properties by ``prefix``."""
    try:
        cursor = int(request.args.get("cursor", 0))
    except ValueError:
        raise UsageError("cursor must be a number") from None
    hits = _reconciler().suggest(kind, request.args.get("prefix", ""), cursor=cursor)
    return jsonify({"result": hits})


def _manifest() -> dict:
    root = request.url_root  # as the client reached us (proxy prefix included)
    return {
        "versions": ["0.2"],
        "name": "France's security and police cooperation in the Indo-Pacific (FRS fact sheet No.5)",
        "identifierSpace": ID_NS,
        "schemaSpace": ONTOLOGY_NS,
        "defaultTypes": _reconciler().type_entries(DEFAULT_TYPES),
        "view": {"url": root + "id/{{id}}"},
        "preview": {"url": root + "reconcile/preview?id={{id}}", "width": 420, "height": 120},
        "suggest": {kind: {"service_url": root.rstrip("/"),
                           "service_path": f"/reconcile/suggest/{kind}"}
                    for kind in ("entity", "type", "property")},
        "batchSize": 10,
    }
