"""``kg serve``: the endpoint under gunicorn, a production WSGI server, run in-process.

One gunicorn worker process (it owns the store; the query workers are its children) with
the ``gthread`` worker class, so that requests are answered by a pool of threads while
queries run in the query workers.
"""

from __future__ import annotations

import logging

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from ..writes.auth import Credential, load_credentials, redact
from ..config import Config

log = logging.getLogger("kg")


def routes(config: Config) -> list[tuple[str, str]]:
    """(URL, what it serves) for every route, for the start-up log and the README.

    >>> routes(Config(port=7878))[0]
    ('http://127.0.0.1:7878/sparql', 'SPARQL 1.1 query endpoint (GET/POST; service description without a query)')
    """
    base = config.public_url
    return [(base + "sparql",
             "SPARQL 1.1 query endpoint (GET/POST; service description without a query)"),
            (base + "id/<slug>", "entity descriptions (linked data)"),
            (base + "ontology", "the ontology"),
            (base + ".well-known/void", "VoID description of the dataset"),
            (base + "reconcile", "Reconciliation Service API (OpenRefine)"),
            (base + "data", "SPARQL 1.1 Graph Store HTTP Protocol (writes need --update-token)"),
            (base + "validate", "validation of RDF against the shapes and the graph (POST)"),
            (base + "review", "the writes kept for review (needs --update-token)"),
            (base, "web pages: query editor, entity pages, /ontology, /map, /validate, /dataset")]


class _AccessLog(Logger):
    """gunicorn's logger, its access log never showing a credential: a token sent in a URL
    (refused anyway) or an Authorization header is written as ***."""

    credentials: tuple[Credential, ...] = ()

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        shown = self.cfg.access_log_format
        for key in ("r", "q", "{raw_uri}e"):
            if isinstance(atoms.get(key), str):
                # redacting is most of the log's cost: only what the format shows
                atoms[key] = (redact(atoms[key], self.credentials) if f"%({key})" in shown
                              else "***")
        for key in atoms:
            if key.lower() in ("{authorization}i", "{http_authorization}e"):
                atoms[key] = "***"
        return atoms


class _Server(BaseApplication):
    """gunicorn configured from our settings instead of its command line."""

    def __init__(self, config: Config) -> None:
        self.config_ = config
        super().__init__()

    def load_config(self) -> None:
        config = self.config_
        options = {
            "bind": f"{config.host}:{config.port}",
            "workers": 1,  # the store lives in the worker: one process owns it
            "worker_class": "gthread",
            "threads": config.threads,
            # a request may wait for a query up to the query timeout, plus start-up slack
            "timeout": int(config.timeout) + 60,
            "graceful_timeout": 5,
            # the longest request line gunicorn can bound (0 would read an endless line into
            # memory): longer GET URLs get 414 with a message; longer queries are POSTed
            "limit_request_line": 8190,
            # one header may be as large as all of them together: the app's limit
            # (max_header_size) then answers 431 with its own message
            "limit_request_field_size": config.max_header_size,
            "accesslog": "-",
            "logger_class": type("AccessLog", (_AccessLog,),
                                 {"credentials": load_credentials(config)}),
            "loglevel": "info",
            "when_ready": self._ready,
        }
        if "control_socket_disable" in self.cfg.settings:  # gunicorn >= 25
            # one shared socket in ~/.gunicorn would make two servers step on each other
            options["control_socket_disable"] = True
        for key, value in options.items():
            self.cfg.set(key, value)

    def _ready(self, server) -> None:
        for url, what in routes(self.config_):
            server.log.info("serving %s  (%s)", url, what)

    def load(self):
        from .app import create_app  # in the gunicorn worker, after it has forked

        return create_app(self.config_)


def serve(config: Config) -> None:
    """Serve the endpoint until interrupted (Ctrl-C or SIGTERM)."""
    _Server(config).run()
