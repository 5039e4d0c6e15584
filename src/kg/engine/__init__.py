"""The engine: answers checked query requests through one executor (in this process, in
the query host's threads under deadlines, or passed through to a SPARQL server), with a
cache."""

from .engine import Engine, Executor, InProcessExecutor

__all__ = ["Engine", "Executor", "InProcessExecutor"]
