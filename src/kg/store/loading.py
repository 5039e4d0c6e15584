"""Two roads :meth:`kg.store.graph.KnowledgeGraph.load` takes instead of its usual one
(every file parsed into memory, then written at once): large files straight into the
on-disk store by Oxigraph's bulk loader, and a file sent to a remote store while the
reasoner works on a local copy. Both run under the store's write lock, as ``load`` does.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, Sequence

from pyoxigraph import NamedNode, RdfFormat, Store

from .. import reasoning
from ..config import Config
from ..errors import StoreError
from ..sparql.formats import QUAD_FORMATS, RDF_INPUT_FORMATS, by_name, for_path
from .sources import ProgressCallback, Source, drain, read

class KnowledgeGraph(Protocol):
    """What loading reads of a :class:`kg.store.graph.KnowledgeGraph`, which calls it."""

    store: Store
    config: Config
    bulk_load_bytes: int


def bulk_sized(kg: KnowledgeGraph, sources: Sequence[Source]) -> bool:
    """Whether ``sources`` go to :func:`bulk_load`: on disk, from files, and large (from
    ``kg.bulk_load_bytes`` on), where staging them through memory would cost more than the
    load."""
    if kg.config.data_dir is None or kg.config.store or any(
            s.data is not None or s.name == "-"
            for s in sources):
        return False
    try:
        return sum(Path(s.name).stat().st_size for s in sources) >= kg.bulk_load_bytes
    except OSError:
        return False  # the normal path reports the unreadable file


def bulk_load(kg: KnowledgeGraph, sources: Sequence[Source], target: NamedNode,
              format: str | None, progress: ProgressCallback | None) -> int:
    """Load large files straight into the on-disk store with Oxigraph's bulk loader.

    Still all or nothing: with several files, each is parsed first (a syntax error
    stops before anything is written); a single file is checked by the loader itself,
    which writes its sorted files into the store only once the whole input parsed.
    Quads addressed to the inferred graph are set right by the full recomputation of
    the inferred graph that follows.
    """
    formats = [by_name(format, RDF_INPUT_FORMATS) if format else for_path(s.name)
               for s in sources]
    if len(sources) > 1:
        for source, fmt in zip(sources, formats):
            read(source, lambda stream, fmt=fmt: drain(stream, fmt), progress)
            progress = None  # the bytes were counted once
    before = len(kg.store)
    for source, fmt in zip(sources, formats):
        try:
            read(source, lambda stream, fmt=fmt: kg.store.bulk_load(
                stream, fmt.engine, to_graph=None if fmt in QUAD_FORMATS else target),
                progress)
        except OSError as exc:
            raise StoreError(f"cannot write to the store: {exc}") from exc
    reasoning.recompute(kg)
    return len(kg.store) - before


def load_remote(kg: KnowledgeGraph, staging: Store) -> int:
    """Load ``staging`` (the parsed file) into a remote store while the reasoner works on
    a local copy of what the server will then hold — its quads before, and the file's —
    instead of reading every quad back from it afterwards. (Not for a file with blank
    nodes: the server names them anew, so the copy would not match;
    :func:`kg.reasoning.recompute` reads it back.)"""
    before = len(kg.store)
    document = staging.dump(format=RdfFormat.N_QUADS)
    staging.extend(kg.store.all_quads())
    with ThreadPoolExecutor(1, thread_name_prefix="kg-load") as sending:
        sent = sending.submit(kg.store.add_document, document)
        try:
            reasoning.recompute(kg, copy=staging, before_writing=sent.result)
        finally:
            sent.result()  # an error sending the file is the one to report
    return len(kg.store) - before
