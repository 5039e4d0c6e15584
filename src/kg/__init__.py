"""A knowledge graph of France's security and police cooperation in the Indo-Pacific.

The public API: :class:`KnowledgeGraph` (store, load, SPARQL, export) and :class:`Config`.
"""

__version__ = "0.1.0"

from .config import Config  # noqa: E402
from .store import KnowledgeGraph, Source  # noqa: E402

__all__ = ["Config", "KnowledgeGraph", "Source", "__version__"]
