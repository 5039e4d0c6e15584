"""``/data``: the SPARQL 1.1 Graph Store HTTP Protocol (https://www.w3.org/TR/sparql11-http-rdf-update/).

``?graph=IRI`` names a graph, ``?default`` the default graph, which for this store is the
user-additions graph (where triples written without a graph go). ``GET``/``HEAD`` read a
graph (negotiated like CONSTRUCT results); ``PUT`` replaces it, ``POST`` merges into it
(``POST`` without a graph creates a new graph and answers its IRI in ``Location``),
``DELETE`` removes it. Writes need ``Authorization: Bearer TOKEN``, are validated like SPARQL
updates (``on-invalid=quarantine`` keeps an invalid one for review) and answer 201 when
they create the graph, 200 with a summary otherwise.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, request

from .extensions import get_engine, get_writer
from ..errors import NotFoundError, UsageError
from ..sparql.formats import QUAD_FORMATS, RDF_INPUT_FORMATS
from ..namespaces import GRAPH_NS, GRAPHS
from ..store.sources import Source, read_sources
from .shared import outcome_response, rdf_body, stream_answer, writer_agent

bp = Blueprint("graphstore", __name__)

_TRIPLE_FORMATS = [f for f in RDF_INPUT_FORMATS if f not in QUAD_FORMATS]


def _graph() -> str | None:
    """The graph the request names (None: the default graph, i.e. the user graph)."""
    graphs = request.args.getlist("graph")
    default = "default" in request.args
    if len(graphs) + default != 1:
        if request.method == "POST" and not graphs and not default:
            return ""  # POST to the graph store itself: a new graph
        raise UsageError("name one graph: ?graph=IRI, or ?default for the default graph "
                         f"(here the user graph <{GRAPHS['user']}>)")
    return graphs[0] if graphs else None


@bp.route("/data", methods=["GET", "HEAD", "PUT", "POST", "DELETE"])
def graph_store() -> Response:
    """Read or write one graph."""
    graph = _graph()
    if request.method in ("GET", "HEAD"):
        return _read(graph)
    agent = writer_agent()
    writer = get_writer()
    on_invalid = request.args.get("on-invalid", "reject")
    if request.method == "DELETE":
        if not writer.graph_exists(graph):
            raise NotFoundError(f"no graph <{graph or GRAPHS['user']}> in the store")
        return outcome_response(writer.drop_graph(graph, agent=agent))
    if graph == "":
        graph = GRAPH_NS + "user/" + uuid.uuid4().hex
    created = not writer.graph_exists(graph)
    quads = _body()
    if request.method == "PUT":
        outcome = writer.replace_graph(graph, quads, agent=agent, on_invalid=on_invalid)
    else:
        outcome = writer.add_to_graph(graph, quads, agent=agent, on_invalid=on_invalid)
    response = outcome_response(outcome)
    if created and outcome.status == "committed":
        response.status_code = 201
        response.headers["Location"] = request.base_url + "?graph=" + (graph or GRAPHS["user"])
    return response


def _read(graph: str | None) -> Response:
    iri = graph or GRAPHS["user"]
    if not get_writer().graph_exists(iri):
        raise NotFoundError(f"no graph <{iri}> in the store")
    answer = get_engine().query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}",
                                accept=request.headers.get("Accept"),
                                format=request.args.get("format"))
    return stream_answer(answer)


def _body() -> list:
    fmt, data = rdf_body(_TRIPLE_FORMATS)  # a graph: the quad formats would name others
    return list(read_sources([Source("request body", data)], format=fmt.name))
