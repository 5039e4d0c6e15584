"""The one error handler of the app (not one per blueprint, so that Werkzeug's 404 and 405
are answered alike): every error as JSON, text or an HTML page, by what the client accepts;
a refused write as its validation report."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, json, render_template, request
from werkzeug.exceptions import HTTPException

from ..errors import KGError, NotAcceptableError, NotFoundError, ValidationFailedError
from ..sparql.formats import REPORT_JSON, ResultKind, negotiate
from .extensions import get_writer
from .routes import paths

log = logging.getLogger("kg")


def init_app(app: Flask) -> None:
    """Answer every error of ``app`` with :func:`handle_error`."""
    app.register_error_handler(Exception, handle_error)


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
                            + paths())
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
