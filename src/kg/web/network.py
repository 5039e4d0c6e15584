"""``/network``: the cooperation network as an interactive force-directed picture (Cytoscape.js,
built into ``static/vendor/`` by ``web-assets/``), filterable by domain, year and cooperation
type; ``/network.json``: the same network as networkx's node-link JSON, with each agent's
page. Both come from :func:`kg.network.cooperation_network`, as ``kg export --network`` does.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, url_for

from ..network import cooperation_network, network_data
from .extensions import get_reader
from .pages import href

bp = Blueprint("network", __name__)


@bp.route("/network")
def network_page() -> Response:
    """The page: filters, the picture (drawn by static/js/network.js) and the agents listed."""
    graph = cooperation_network(get_reader())
    agents = sorted(({"iri": node, **data} for node, data in graph.nodes(data=True)),
                    key=lambda agent: agent["label"].lower())
    body = render_template("network.html", agents=agents, links=graph.number_of_edges(),
                           data=url_for("network.network_json"))
    response = Response(body, content_type="text/html; charset=utf-8")
    response.headers["Vary"] = "Accept"
    return response


@bp.route("/network.json")
def network_json() -> Response:
    """The network as node-link JSON, each node with ``href``, its page on this server."""
    data = network_data(cooperation_network(get_reader()))
    for node in data["nodes"]:
        node["href"] = href(node["id"])
    response = jsonify(data)
    response.headers["Cache-Control"] = "no-cache"
    return response
