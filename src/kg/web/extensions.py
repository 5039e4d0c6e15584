"""What an app owns, kept in ``app.extensions`` (as flaskr's ``db.py`` keeps its database):
the knowledge graph, the query engine, the settings, the write gate, the credentials and the
pages' reader. :func:`init_app` opens them, :func:`close_app` stops the query workers, and
views reach them through the ``get_*`` accessors."""

from __future__ import annotations

import atexit
from dataclasses import dataclass

from flask import Flask, current_app

from ..config import Config
from ..engine import Engine
from ..store.graph import KnowledgeGraph
from ..writes.auth import Credential, load_credentials
from ..writes.writer import Writer
from .content.reader import EngineReader

#: The key of the app's resources in ``app.extensions``.
KEY = "kg"


@dataclass
class Resources:
    """The resources of one app."""

    kg: KnowledgeGraph
    engine: Engine
    config: Config
    writer: Writer
    credentials: tuple[Credential, ...]
    reader: EngineReader


def init_app(app: Flask, config: Config) -> None:
    """Open the store and start the query engine for ``app``."""
    credentials = load_credentials(config)  # a malformed setting fails at start
    kg = KnowledgeGraph.open(config)
    engine = Engine.from_config(kg, config).start()
    atexit.register(engine.close)  # also stopped when the process exits
    writer = Writer(kg, config=config, engine=engine)
    app.extensions[KEY] = Resources(kg, engine, config, writer, credentials,
                                    EngineReader(engine))


def close_app(app: Flask) -> None:
    """Stop the query workers of ``app``."""
    engine = app.extensions[KEY].engine
    engine.close()
    atexit.unregister(engine.close)


def _resources() -> Resources:
    return current_app.extensions[KEY]


def get_store() -> KnowledgeGraph:
    """The knowledge graph of the current app (for writes and copies; pages read through
    :func:`get_reader`)."""
    return _resources().kg


def get_engine() -> Engine:
    """The query engine of the current app."""
    return _resources().engine


def get_reader() -> EngineReader:
    """The pages' reader: their queries run through the engine, under its timeout."""
    return _resources().reader


def get_config() -> Config:
    """The settings of the current app."""
    return _resources().config


def get_writer() -> Writer:
    """The gate every write of the current app goes through."""
    return _resources().writer


def get_credentials() -> tuple[Credential, ...]:
    """The named tokens that may write (empty: the endpoint is read-only)."""
    return _resources().credentials
