"""The app factory: ``create_app(config)`` builds the endpoint's Flask app.

Settings come from the table of :mod:`kg.config` (defaults, then ``KG_*`` variables, then
the mapping given); the resources live in ``app.extensions`` (:mod:`.extensions`); one
blueprint per protocol or page group does the routes; one error handler answers every
error (:mod:`.errors`); every request meets the limits of :mod:`.limits` first.
"""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import urlsplit

from flask import Flask, request

from ..config import Config
from . import (backups, errors, extensions, graphstore, headers, linked, network, pages,
               reconcile, review, sparql, validation)
from .extensions import close_app
from .limits import Limits, refuse_if_limited

__all__ = ["close_app", "create_app"]

#: The blueprints, in the order their routes are matched.
BLUEPRINTS = (sparql.bp, graphstore.bp, validation.bp, review.bp, backups.bp, linked.bp,
              reconcile.bp, pages.bp, network.bp)


def create_app(config: Config | Mapping[str, Any] | None = None) -> Flask:
    """Build the endpoint's app from a Config, or from a mapping of settings (over ``KG_*``).

    The caller owns the query workers it starts: ``close_app(app)`` stops them (they are
    also stopped when the process exits).
    """
    if not isinstance(config, Config):
        config = Config.load(config)
    app = Flask("kg", static_folder=None)  # the pages blueprint serves /static
    app.config["KG"] = config
    extensions.init_app(app, config)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    errors.init_app(app)
    headers.init_app(app)
    app.before_request(lambda: refuse_if_limited(request.environ))
    prefix = urlsplit(config.public_url).path.rstrip("/")
    if prefix:
        app.wsgi_app = _PrefixMiddleware(app.wsgi_app, prefix)
    app.wsgi_app = Limits.wrap(app.wsgi_app, config)
    return app


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

