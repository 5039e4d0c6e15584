"""Writing the store out: the whole dataset, one named graph, or the materialised union
(asserted and inferred triples in one graph, for a store with no reasoner)."""

from __future__ import annotations

from typing import IO

from pyoxigraph import DefaultGraph, NamedNode, Quad, Store, serialize

from ..errors import UsageError
from ..namespaces import GRAPHS, PREFIXES
from ..sparql.formats import FORMATS, Format, ResultKind


def write_dataset(store: Store, output: IO[bytes], fmt: Format, *, graph: str | None = None,
                  materialised: bool = False) -> None:
    """Write ``store`` (see :meth:`kg.KnowledgeGraph.export`) to ``output`` in ``fmt``."""
    dataset_format = fmt in FORMATS[ResultKind.DATASET]
    if materialised:
        if graph is not None:
            raise UsageError("--materialised writes the union of the graphs: "
                             "leave out --graph")
        _write_materialised(store, output, fmt)
        return
    if graph is None:
        if not dataset_format:
            raise UsageError(f"{fmt.name} holds one graph: pass --graph IRI, or export "
                             "the whole dataset as nquads or trig")
        store.dump(output, fmt.engine, prefixes=PREFIXES)
        return
    name = NamedNode(graph)
    if not store.contains_named_graph(name):
        raise UsageError(f"no named graph <{graph}> in the store; see `kg stats`")
    quads = store.quads_for_pattern(None, None, None, name)
    if dataset_format:
        serialize(quads, output, fmt.engine)
    else:
        store.dump(output, fmt.engine, from_graph=name, prefixes=PREFIXES)


def _write_materialised(store: Store, output: IO[bytes], fmt: Format) -> None:
    # A scratch store deduplicates a triple asserted in two graphs (or asserted and
    # inferred) and lets every format, Turtle included, write it with the prefixes.
    bookkeeping = {NamedNode(GRAPHS["changes"]), NamedNode(GRAPHS["review"])}
    union = Store()
    union.extend(Quad(quad.subject, quad.predicate, quad.object, DefaultGraph())
                 for quad in store.quads_for_pattern(None, None, None)
                 if quad.graph_name not in bookkeeping)
    union.dump(output, fmt.engine, from_graph=DefaultGraph(), prefixes=PREFIXES)
