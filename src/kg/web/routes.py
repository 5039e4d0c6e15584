"""The routes a client can start from, in one table: the server's start-up log, the 404
answer and the service description read it, and a test checks it against the app's URL map
(so that the manual, docs/querying.md, can be checked against it too)."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config


@dataclass(frozen=True)
class Route:
    """One entry point of the server."""

    path: str  #: under the public URL, without the leading slash ("" is the home page)
    what: str  #: what it serves, in a few words
    methods: tuple[str, ...] = ("GET",)


SPARQL = Route("sparql", "SPARQL 1.1 query endpoint (GET/POST; service description without "
               "a query)", ("GET", "POST"))

ROUTES: tuple[Route, ...] = (
    SPARQL,
    Route("id/<slug>", "entity descriptions (linked data)"),
    Route("ontology", "the ontology"),
    Route(".well-known/void", "VoID description of the dataset"),
    Route("reconcile", "Reconciliation Service API (OpenRefine)", ("GET", "POST")),
    Route("data", "SPARQL 1.1 Graph Store HTTP Protocol (writes need --update-token)",
          ("GET", "HEAD", "PUT", "POST", "DELETE")),
    Route("validate", "validation of RDF against the shapes and the graph (POST)",
          ("GET", "POST")),
    Route("review", "the writes kept for review (needs --update-token)", ("GET", "POST")),
    Route("backup", "a backup of the on-disk store (POST, needs --update-token and "
          "--backup-dir)", ("GET", "POST")),
    Route("map", "the map of the cooperation links"),
    Route("network", "the cooperation network"),
    Route("dataset", "the dataset: figures, named graphs, change log, license"),
    Route("", "web pages: query editor, entity pages, /ontology, /map, /dataset"),
)


def urls(config: Config) -> list[tuple[str, str]]:
    """(URL, what it serves) of every route under the public URL of ``config``.

    >>> urls(Config(port=7878))[0]
    ('http://127.0.0.1:7878/sparql', 'SPARQL 1.1 query endpoint (GET/POST; service description without a query)')
    """
    return [(config.public_url + route.path, route.what) for route in ROUTES]


def paths() -> str:
    """The paths of the table, for an answer that tells a lost client where to go.

    >>> paths().split(", ")[:2]
    ['/sparql', '/id/<slug>']
    """
    return ", ".join("/" + route.path for route in ROUTES)
