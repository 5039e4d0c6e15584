"""The store: the embedded Oxigraph store (open, load the bundled files into their named
graphs, export, count), a remote SPARQL server in its place, changes as data, and copies of
the whole store."""

from .graph import KnowledgeGraph, Source

__all__ = ["KnowledgeGraph", "Source"]
