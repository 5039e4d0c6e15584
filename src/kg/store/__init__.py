"""The store: the knowledge graph over the embedded Oxigraph store (:mod:`.graph`: open,
load, query, write, keeping the inferred graph in step), the RDF it reads (:mod:`.sources`),
writes out (:mod:`.export`) and counts (:mod:`.stats`), a remote SPARQL server in its place
(:mod:`.remote`), the lock of its readers and writers, and copies of the whole store."""

from .graph import KnowledgeGraph
from .sources import Source

__all__ = ["KnowledgeGraph", "Source"]
