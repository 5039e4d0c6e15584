"""The floor of kg's stack: Flask under granian over pyoxigraph, and nothing else.

A bare endpoint with kg's dependencies and server settings (granian, one worker process,
``blocking_threads`` threads) that answers each query in its request thread with
pyoxigraph's engine and serialiser: no guard, limits, cache, isolation, inference switch or
access log. No server written with these libraries answers faster, so it tells which part of
kg's distance to Oxigraph's server is kg's own and which is the stack's
(docs/benchmarks.md, seventh pass). Never use it as a server: a runaway query here runs for
ever.

    python bench/floor.py dataset.nq --port 7399
"""

from __future__ import annotations

import argparse
import os

from granian.constants import HTTPModes, Interfaces
from granian.server import Server

_JSON = "application/sparql-results+json"


def create_app(nquads: str):
    """The Flask app over an in-memory store holding ``nquads``."""
    import flask
    import pyoxigraph

    store = pyoxigraph.Store()
    store.bulk_load(path=nquads, format=pyoxigraph.RdfFormat.N_QUADS)
    app = flask.Flask(__name__)

    @app.route("/sparql", methods=["GET", "POST"])
    def sparql():
        result = store.query(flask.request.values["query"], use_default_graph_as_union=True)
        if isinstance(result, pyoxigraph.QueryTriples):
            return flask.Response(result.serialize(format=pyoxigraph.RdfFormat.N_TRIPLES),
                                  mimetype="application/n-triples")
        if isinstance(result, pyoxigraph.QueryBoolean):
            body = b'{"head":{},"boolean":%s}' % (b"true" if result else b"false")
            return flask.Response(body, mimetype=_JSON)
        return flask.Response(result.serialize(format=pyoxigraph.QueryResultsFormat.JSON),
                              mimetype=_JSON)

    return app


def build_app(_target: str = ""):
    """granian's loader (in its worker process): the app over ``$FLOOR_NQUADS``."""
    return create_app(os.environ["FLOOR_NQUADS"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("nquads")
    parser.add_argument("--port", type=int, default=7399)
    parser.add_argument("--threads", type=int, default=16)  # kg serve's default
    options = parser.parse_args()
    os.environ["FLOOR_NQUADS"] = os.path.abspath(options.nquads)
    Server("floor:build_app", address="127.0.0.1", port=options.port,
           interface=Interfaces.WSGI, http=HTTPModes.http1, websockets=False, workers=1,
           blocking_threads=options.threads, backpressure=options.threads,
           log_access=False).serve(target_loader=build_app)


if __name__ == "__main__":
    main()
