"""The query engine every caller uses: ``kg query``, the Python API's endpoint path, and
every route of ``kg serve`` (no Flask here).

An :class:`Engine` makes a :class:`~kg.sparql.request.QueryRequest` once
(:meth:`Engine.request`: the guard, the SERVICE policy, the format), answers repeated ones
from its cache, and hands the rest to one executor, chosen once by the configuration:

- :class:`InProcessExecutor`: in this process, on the live store (``kg query``, tests);
  no deadline, no process start.
- :class:`~kg.engine.isolated.IsolatedExecutor`: in workers outside this process, stopped at the
  timeout (``kg serve`` on the embedded store).
- :class:`~kg.engine.remote.RemoteExecutor`: passed through to a SPARQL server (``--store``).

Every executor answers with a complete :class:`~kg.sparql.answer.Answer` and the data
version it was computed on. Writes go through :class:`kg.writes.writer.Writer`, which holds
the graph's lock (:attr:`KnowledgeGraph.lock`) while it commits and calls
:meth:`Engine.dataset_changed` before letting it go.
"""

from __future__ import annotations

import shutil
from typing import Protocol

from .. import errors
from ..sparql.answer import Answer, write_answer
from ..sparql.federation import ServicePolicy
from ..sparql.request import QueryLimits, QueryRequest, make_request
from ..delta import Delta
from ..store.graph import KnowledgeGraph
from .cache import ResultCache, fingerprint, new_epoch
from .spool import private_folder


class Executor(Protocol):
    """Runs checked requests; the one interface of the in-process, isolated and remote
    executors."""

    def start(self) -> "Executor":
        """Be ready to answer (start workers, if any)."""

    def run(self, request: QueryRequest) -> tuple[Answer, int]:
        """The complete answer and the data version it was computed on."""

    def dataset_changed(self, delta: Delta | None) -> None:
        """The data changed (by ``delta``, if known): answer from the new version."""

    def close(self) -> None:
        """Stop what :meth:`start` started."""


class InProcessExecutor:
    """Runs each query in this process on the live store, between two writes."""

    def __init__(self, kg: KnowledgeGraph) -> None:
        self.kg = kg
        self.version = 0
        self._spool_dir: str | None = None

    def start(self) -> "InProcessExecutor":
        """Nothing to start."""
        return self

    def run(self, request: QueryRequest) -> tuple[Answer, int]:
        """The answer, written by the shared serialiser."""
        if self._spool_dir is None:
            self._spool_dir = private_folder("kg-spool-")
        with self.kg.lock.reading():
            return write_answer(self.kg.store, request, self._spool_dir), self.version

    def dataset_changed(self, delta: Delta | None) -> None:
        """Nothing to bring up to date: queries read the live store."""
        self.version += 1

    def close(self) -> None:
        """Remove the spool folder (answers over 1 MB)."""
        if self._spool_dir is not None:
            shutil.rmtree(self._spool_dir, ignore_errors=True)


class Engine:
    """Answers queries for one knowledge graph through one executor, with a cache."""

    def __init__(self, kg: KnowledgeGraph, executor: Executor | None = None, *,
                 limits: QueryLimits = QueryLimits(), services: ServicePolicy | None = None,
                 cache_bytes: int = 0) -> None:
        self.kg = kg
        self.executor = executor or InProcessExecutor(kg)
        self.limits, self.services = limits, services  # services None: SERVICE refused
        self.version = 0
        self.epoch = new_epoch()  # versions count from here: ETags never outlive a start
        self.cache = ResultCache(cache_bytes) if cache_bytes > 0 else None

    @classmethod
    def from_config(cls, kg: KnowledgeGraph, config) -> "Engine":
        """The engine ``config`` (a :class:`kg.config.Config`) asks for: passed through to
        ``--store``, else in ``--workers`` threads of the query host (0: in this process)."""
        # each executor's module is imported only when it is the one chosen (the isolated
        # one brings multiprocessing's forkserver, which `kg query` never needs)
        if config.store:
            from .remote import RemoteExecutor

            executor: Executor = RemoteExecutor(kg.store, timeout=config.timeout)
        elif config.workers > 0:
            from .isolated import IsolatedExecutor

            executor = IsolatedExecutor(kg, workers=config.workers,
                                        timeout=config.timeout,
                                        heavy_queries=config.heavy_queries,
                                        heavy_after=config.heavy_after)
        else:
            executor = InProcessExecutor(kg)
        return cls(kg, executor, limits=QueryLimits.from_config(config),
                   services=ServicePolicy.from_config(config),
                   cache_bytes=config.cache_size * 1024 * 1024)

    def start(self) -> "Engine":
        """Start the executor (its workers, if any)."""
        self.executor.start()
        return self

    def close(self) -> None:
        """Stop the executor."""
        self.executor.close()

    @property
    def dataset_version(self) -> str:
        """The current version of the data, as answers and their tags carry it."""
        return f"{self.epoch}.{self.version}"

    def dataset_changed(self, delta: Delta | None = None) -> None:
        """The data changed (by ``delta``, if known): later answers come from the new
        version, and cached answers of older versions are dropped."""
        self.version += 1
        self.executor.dataset_changed(delta)
        if self.cache is not None:
            self.cache.forget_before(self.dataset_version)

    def request(self, text: str, **options) -> QueryRequest:
        """A checked request for ``text`` under this engine's limits and SERVICE policy;
        ``options`` as :func:`kg.sparql.request.make_request` takes them."""
        return make_request(text, limits=self.limits, services=self.services, **options)

    def tag(self, request: QueryRequest) -> str | None:
        """The tag the answer to ``request`` would carry now, without running it (None
        when the form of the query could not be read)."""
        if request.format is None:
            return None
        return fingerprint(self.dataset_version, request.key)

    def query(self, request: QueryRequest | str, **options) -> Answer:
        """The complete answer to ``request`` (or to a text, with ``options`` as
        :meth:`request` takes them).

        Raises the KGError that fits: syntax (400, with position), limits (400/413),
        not acceptable (406), timeout or no worker free in time (503), crash (500), a
        SERVICE that failed (502, naming the SERVICE IRI).
        """
        if isinstance(request, str):
            request = self.request(request, **options)
        tag = self.tag(request)
        cached = self.cache.get(tag) if self.cache is not None and tag else None
        if cached is not None:
            return cached
        try:
            answer, version = self.executor.run(request)
        except errors.RemoteServiceError as exc:
            # one line naming the SERVICE IRI: the URLs of the operator's service map are
            # configuration, those of the relay an internal detail
            raise (self.services.failure(request.text, exc.message) if self.services
                   else exc) from None
        answer.version = f"{self.epoch}.{version}"
        answer.tag = fingerprint(answer.version, request.key) if request.format else ""
        if self.cache is not None and answer.data is not None and answer.tag:
            self.cache.put(answer.tag, answer, answer.size)
        return answer
