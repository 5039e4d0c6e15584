"""A knowledge graph of France's security and police cooperation in the Indo-Pacific.

The public API: :class:`KnowledgeGraph` (store, load, SPARQL, export) and :class:`Config`.
"""

from .config import Config
from .store import KnowledgeGraph, Source
from .version import __version__

__all__ = ["Config", "KnowledgeGraph", "Source", "__version__"]
