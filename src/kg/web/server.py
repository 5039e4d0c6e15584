"""``kg serve``: the endpoint under granian, a production HTTP server written in Rust.

One server process (it owns the store; the query workers are its children) answers
requests with ``--threads`` Python threads, while granian reads and writes HTTP in Rust: a
tiny query costs a third less CPU than under gunicorn's threaded worker
(docs/benchmarks.md). granian hands a request to the app as soon as its headers are in, so
the body limits (``kg.web.limits``) refuse an oversized body before it is sent.
The access log is written here, never showing a credential.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing.util
import sys
import time
from typing import Callable, Iterable

from granian.constants import HTTPModes, Interfaces
from werkzeug.wsgi import ClosingIterator
from granian.http import HTTP1Settings
from granian.server import Server

from ..config import Config
from ..writes.auth import Credential, load_credentials, redact
from .limits import MAX_REQUEST_LINE
from .routes import urls

log = logging.getLogger("kg")
access = logging.getLogger("kg.access")


class AccessLog:
    """WSGI middleware: one line per request (client, request line, status, bytes,
    milliseconds), a credential in the URL written as ``***``."""

    def __init__(self, app: Callable, credentials: Iterable[Credential]) -> None:
        self.app, self.credentials = app, tuple(credentials)

    def __call__(self, environ, start_response):
        started = time.monotonic()
        status: list[str] = []

        def recording(code, headers, exc_info=None):
            status.append(code)
            return start_response(code, headers, exc_info)

        def written() -> None:
            query = environ.get("QUERY_STRING")
            target = environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
            access.info('%s "%s %s" %s %.1f ms', environ.get("REMOTE_ADDR", "-"),
                        environ.get("REQUEST_METHOD"), redact(target, self.credentials),
                        status[0].split(" ", 1)[0] if status else "-",
                        1000 * (time.monotonic() - started))

        # the app runs now (the server reads the status before the body); the line is
        # written once the body was sent or abandoned
        return ClosingIterator(self.app(environ, recording), written)


def build_app(config: Config, _target: str = ""):
    """The app granian serves (called in its worker process, which owns the store)."""
    from .app import create_app
    from .extensions import close_app

    # a gated write is a long stretch of Python on one thread: with the interpreter's
    # default 5 ms between hand-overs of the GIL, every request thread that wakes up meanwhile
    # waits that long for it (bench/writes.py: reads with two writers 0.64-0.70 of reads
    # without; handing over every millisecond, 0.72-0.74)
    sys.setswitchinterval(0.001)
    app = create_app(config)
    # granian's worker is a multiprocessing child, which ends with os._exit: atexit never
    # runs there (the query workers' spool folder and checkpoints were left behind at every
    # stop), multiprocessing's own finalizers do
    multiprocessing.util.Finalize(app, close_app, args=(app,), exitpriority=10)
    for url, what in urls(config):
        log.info("serving %s  (%s)", url, what)
    app.wsgi_app = AccessLog(app.wsgi_app, load_credentials(config))
    return app


def check_settings(config: Config) -> None:
    """Read now the files the app reads at start (tokens, a graph's own shapes): a bad one
    is then an error message before the server starts (UsageError), not a traceback from
    its worker process."""
    from ..validation.validate import load_turtle

    load_credentials(config)
    for paths in config.graph_shapes.values():
        load_turtle(paths)


def serve(config: Config) -> None:
    """Serve the endpoint until interrupted (Ctrl-C or SIGTERM)."""
    check_settings(config)
    logging.getLogger("kg.access").setLevel(logging.INFO)
    server = Server(
        "kg.web.server:build_app", address=config.host, port=config.port,
        interface=Interfaces.WSGI, http=HTTPModes.http1, websockets=False,
        workers=1,  # one process owns the store
        blocking_threads=config.threads, backpressure=config.threads,
        http1_settings=HTTP1Settings(
            header_read_timeout=30_000,  # a client that never finishes its headers
            max_buffer_size=max(65_536, config.max_header_size + MAX_REQUEST_LINE + 1024)),
        log_access=False,  # written by AccessLog, redacted
        workers_kill_timeout=5)
    # the threads mostly wait for query workers and slow request bodies, so more of them
    # than cores is intended: granian's warning about it would only alarm the operator
    logging.getLogger("_granian").addFilter(
        lambda record: not record.getMessage().startswith("Configuration allows spawning"))
    server.serve(target_loader=functools.partial(build_app, config))
