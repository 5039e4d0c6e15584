"""The Flask application: ``create_app(config)`` builds it, blueprints do the routes.

The app owns the store (:class:`kg.KnowledgeGraph`) and the query engine
(:class:`kg.engine.engine.Engine`), both kept in ``app.extensions`` by :func:`init_app` and
reached from views with :func:`get_store` and :func:`get_engine`. One error handler turns
every error (core KGError, Werkzeug's 404/405, faults) into a JSON or text answer.
"""

from __future__ import annotations

import atexit
import logging
import secrets
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Mapping
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, json, render_template, request
from werkzeug.exceptions import HTTPException

from ..config import Config
from ..engine import Engine
from ..writes.auth import Credential, load_credentials
from ..errors import KGError, NotAcceptableError, NotFoundError, ValidationFailedError
from ..sparql.formats import REPORT_JSON, ResultKind, negotiate
from .limits import Limits, refuse_if_limited
from ..store.graph import KnowledgeGraph
from ..writes.writer import Writer

log = logging.getLogger("kg")

#: Routes listed in the body of a 404, so that a lost client knows where to go.
ROUTES = ("/ (the query page)", "/sparql", "/data", "/validate", "/review", "/id/<slug>",
          "/ontology", "/map", "/dataset", "/.well-known/void", "/reconcile")

#: Pages load scripts, styles, images and data from this server only and run no inline
#: script: an injected ``<script>`` or ``onerror=`` does nothing. The one inline style
#: allowed is the editor's own ``<style>`` element, which carries the response's nonce.
#: No other site may show a page in a frame (clickjacking), except the views marked
#: :func:`frameable`.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'{nonce}; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors {frame_ancestors}")


@dataclass
class _State:
    kg: KnowledgeGraph
    engine: Engine
    config: Config
    writer: Writer
    credentials: tuple[Credential, ...]


def create_app(config: Config | Mapping[str, Any] | None = None) -> Flask:
    """Build the endpoint's app from a Config, or from a mapping of settings (over ``KG_*``).

    The caller owns the query workers it starts: ``close_app(app)`` stops them (they are
    also stopped when the process exits).
    """
    if not isinstance(config, Config):
        config = Config.load(config)
    app = Flask("kg", static_folder=None)  # the pages blueprint serves /static
    app.config["KG"] = config
    init_app(app, config)
    from . import (backups, graphstore, linked, network, pages, reconcile, review, sparql,
                   validation)

    # the blueprints import get_engine & co. from here, hence the late import
    for blueprint in (sparql.bp, graphstore.bp, validation.bp, review.bp, backups.bp,
                      linked.bp, reconcile.bp, pages.bp, network.bp):
        app.register_blueprint(blueprint)
    app.register_error_handler(Exception, handle_error)
    app.before_request(lambda: refuse_if_limited(request.environ))
    app.after_request(_cors)
    app.after_request(_security_headers)
    prefix = urlsplit(config.public_url).path.rstrip("/")
    if prefix:
        app.wsgi_app = _PrefixMiddleware(app.wsgi_app, prefix)
    app.wsgi_app = Limits.wrap(app.wsgi_app, config)
    return app


def init_app(app: Flask, config: Config) -> None:
    """Open the store and start the query engine for ``app``."""
    credentials = load_credentials(config)  # a malformed setting fails at start
    kg = KnowledgeGraph.open(config)
    engine = Engine.from_config(kg, config).start()
    atexit.register(engine.close)
    writer = Writer(kg, config=config, engine=engine)
    app.extensions["kg"] = _State(kg, engine, config, writer, credentials)


def close_app(app: Flask) -> None:
    """Stop the query workers of ``app``."""
    app.extensions["kg"].engine.close()


def get_store() -> KnowledgeGraph:
    """The knowledge graph of the current app."""
    return current_app.extensions["kg"].kg


def get_engine() -> Engine:
    """The query engine of the current app."""
    return current_app.extensions["kg"].engine


def get_config() -> Config:
    """The settings of the current app."""
    return current_app.extensions["kg"].config


def get_writer() -> Writer:
    """The gate every write of the current app goes through."""
    return current_app.extensions["kg"].writer


def get_credentials() -> tuple[Credential, ...]:
    """The named tokens that may write (empty: the endpoint is read-only)."""
    return current_app.extensions["kg"].credentials


def handle_error(exc: Exception) -> Response:
    """The one error handler: the status of a KGError or HTTP error, 500 for the rest.

    JSON (``{"status", "error", "message", …}``) when the client accepts JSON, an HTML page
    when it prefers HTML (a browser), else text.
    Faults (5xx) are logged with their traceback; client errors are not.
    """
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    if isinstance(exc, HTTPException) and exc.code == 404:
        exc = NotFoundError(f"nothing at {request.path}; this server answers at "
                            + ", ".join(ROUTES))
    if isinstance(exc, ValidationFailedError):
        return _report_error(exc)
    if isinstance(exc, KGError):
        status, message = exc.status, exc.message
        extra = {key: getattr(exc, key) for key in ("line", "column", "available")
                 if getattr(exc, key, None) is not None}
        headers.update(getattr(exc, "http_headers", {}))
        if status >= 500:
            log.error("%s %s: %s", request.method, request.path, message)
    elif isinstance(exc, HTTPException):
        status, message = exc.code or 500, exc.description or exc.name
        allow = exc.get_response().headers.get("Allow")
        if allow:
            headers["Allow"] = allow
    else:
        log.error("%s %s failed", request.method, request.path, exc_info=exc)
        status, message = 500, f"internal error ({type(exc).__name__}); see the server log"
    if status == 503:
        headers.setdefault("Retry-After", "5")
    title = HTTPStatus(status).phrase
    if _wants_html():
        body = render_template("error.html", status=status, title=title, message=message,
                               **extra)
        return Response(body, status, headers, content_type="text/html; charset=utf-8")
    if _wants_json():
        body = json.dumps({"status": status, "error": title, "message": message, **extra})
        return Response(body + "\n", status, headers, mimetype="application/json")
    return Response(f"{status} {title}: {message}\n", status, headers, mimetype="text/plain")


def _wants_html() -> bool:
    accept = request.accept_mimetypes
    html = accept.quality("text/html")
    return html > 0 and html > accept.quality("text/plain") and html > max(
        (quality for media_type, quality in accept if "json" in media_type), default=0)


def _report_error(exc: ValidationFailedError) -> Response:
    """A refused write: 422 with the validation report, in the format the client accepts."""
    try:
        fmt = negotiate(request.headers.get("Accept"), ResultKind.REPORT)
    except NotAcceptableError:
        fmt = REPORT_JSON
    body = get_writer().report(exc.result, fmt, delta=exc.delta, message=exc.message)
    return Response(body, 422, content_type=fmt.media_type
                    + ("; charset=utf-8" if fmt.media_type.startswith("text/") else ""))


def _wants_json() -> bool:
    accept = request.accept_mimetypes
    return accept.quality("application/json") > accept.quality("text/plain") or any(
        "json" in media_type for media_type, quality in accept if quality > 0)


def csp_nonce() -> str:
    """A random nonce for this response's style elements (CodeMirror inserts one)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def frameable(view):
    """Mark ``view`` as one whose answers any site may show in a frame.

    Only for pages that show public data and offer no action (OpenRefine shows the
    reconciliation preview in an iframe); every other answer forbids framing.
    """
    view.kg_frameable = True
    return view


_UNFRAMED_CSP = CSP.format(nonce="", frame_ancestors="'none'")  # most answers: made once


def _security_headers(response: Response) -> Response:
    nonce = g.get("csp_nonce")
    view = current_app.view_functions.get(request.endpoint or "")
    framed = getattr(view, "kg_frameable", False)
    headers = response.headers
    headers.add("Content-Security-Policy", CSP.format(
        nonce=f" 'nonce-{nonce}'" if nonce else "", frame_ancestors="*" if framed else "'none'")
        if nonce or framed else _UNFRAMED_CSP)
    if not framed:  # for browsers that predate frame-ancestors
        headers.add("X-Frame-Options", "DENY")
    headers.add("X-Content-Type-Options", "nosniff")
    headers.add("Referrer-Policy", "same-origin")
    return response


def _cors(response: Response) -> Response:
    # every route reads: any origin may call it from a browser
    response.headers["Access-Control-Allow-Origin"] = "*"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = response.headers.get(
            "Allow", "GET, HEAD, OPTIONS")
        response.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type, Authorization"
        response.headers["Access-Control-Max-Age"] = "86400"
    return response


class _PrefixMiddleware:
    """Serves the app under the path of the public base URL (e.g. ``/kg``) as well as at ``/``."""

    def __init__(self, wsgi_app, prefix: str) -> None:
        self.wsgi_app, self.prefix = wsgi_app, prefix

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == self.prefix or path.startswith(self.prefix + "/"):
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + self.prefix
            environ["PATH_INFO"] = path[len(self.prefix):] or "/"
        return self.wsgi_app(environ, start_response)

