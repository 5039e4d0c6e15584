"""The offline Wikidata snapshot: ``data/wikidata/snapshot.ttl``, rebuilt by ``kg link --refresh``.

For every linked item it keeps, in Wikidata's own RDF shape (so that queries written for
Wikidata's query service read it unchanged): labels and descriptions in English and
French, instance of (P31), part of (P361), country (P17), ISO 3166-1 alpha-2 code (P297)
and coordinates (P625, a ``geo:wktLiteral``). The store loads the folder into the graph
``https://w3id.org/fr-indopacific/graph/wikidata`` at start, so a query joins the fact
sheet with these facts without the network. The graph describes itself: when the snapshot
was taken (``dcterms:created``), from which endpoint (``dcterms:source``) and how.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from pyoxigraph import Literal, NamedNode, RdfFormat, Triple, serialize

from .. import reasoning
from ..namespaces import GRAPHS, PREFIXES, RDF_TYPE
from ..store import KnowledgeGraph, Source
from .client import (OWL_SAMEAS, RDFS_LABEL, SCHEMA_DESCRIPTION, WD, WDT, Item,
                       WikidataClient)

FILE_NAME = "snapshot.ttl"
GEO_WKT = "http://www.opengis.net/ont/geosparql#wktLiteral"
_XSD = PREFIXES["xsd"]
_DCT = PREFIXES["dcterms"]
_VOID = "http://rdfs.org/ns/void#"
_SNAPSHOT_PREFIXES = {key: PREFIXES[key] for key in ("rdf", "rdfs", "owl", "xsd", "dcterms",
                                                     "schema", "wd", "wdt", "fipg")}
_SNAPSHOT_PREFIXES.update({"geo": "http://www.opengis.net/ont/geosparql#", "void": _VOID})


def linked_qids(kg: KnowledgeGraph) -> list[str]:
    """The Q-ids of every item the graph links to, in order."""
    from .linking import entities

    return sorted({q for entity in entities(kg).values() for q in entity.links},
                  key=lambda q: int(q[1:]))


def refresh(kg: KnowledgeGraph, client: WikidataClient, directory: Path, *,
            now: datetime | None = None) -> tuple[Path, int]:
    """Fetch the facts of every linked item and write the snapshot file in ``directory``.

    The store's Wikidata graph is replaced by the new snapshot as well (it matters for a
    persistent store; an in-memory one reloads the folder at every start). Returns the
    file written and the number of items in it.
    """
    items = client.items(linked_qids(kg))
    taken = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    description = (f"Facts of the {len(items)} Wikidata items linked from the graph, fetched "
                   f"by `kg link --refresh` from {client.endpoint} at {taken.isoformat()}.")
    turtle = snapshot_turtle(items.values(), source=client.endpoint, taken=taken,
                             description=description)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / FILE_NAME
    path.write_bytes(turtle)
    graph = NamedNode(GRAPHS["wikidata"])
    with kg.lock.writing():
        old = list(kg.store.quads_for_pattern(None, None, None, graph))
        kg.store.clear_graph(graph)
        kg.load([Source(str(path))], graph=GRAPHS["wikidata"])
        reasoning.update(kg, removed=old)  # the load followed what it added; this, what went
    return path, len(items)


def snapshot_turtle(items, *, source: str, taken: datetime, description: str) -> bytes:
    """The snapshot as Turtle: a header comment, the self-description, then the items."""
    graph = NamedNode(GRAPHS["wikidata"])
    quads = [
        Triple(graph, RDF_TYPE, NamedNode(_VOID + "Dataset")),
        Triple(graph, NamedNode(_DCT + "created"), Literal(taken.isoformat(),
                                                         datatype=NamedNode(_XSD + "dateTime"))),
        Triple(graph, NamedNode(_DCT + "source"), NamedNode(source)),
        Triple(graph, NamedNode(_DCT + "description"), Literal(description, language="en")),
    ]
    for item in sorted(items, key=lambda i: int(i.qid[1:])):
        quads.extend(_item_quads(item))
    body = _tidy(serialize(quads, None, RdfFormat.TURTLE, prefixes=_SNAPSHOT_PREFIXES))
    header = ("# Offline snapshot of Wikidata facts for the items linked from the graph.\n"
              f"# Written by `kg link --refresh` from {source} at {taken.isoformat()};\n"
              "# do not edit by hand: run the command again to update it.\n\n")
    return header.encode() + body


def _tidy(turtle: bytes) -> bytes:
    # the project's Turtle style: four-space indents, a blank line between subject blocks
    lines, previous = [], b""
    for line in turtle.replace(b"\t", b"    ").splitlines():
        if (previous.endswith(b" .") and line and not line.startswith(b" ")
                and not line.startswith(b"@prefix")):
            lines.append(b"")
        lines.append(line)
        previous = line
    return b"\n".join(lines) + b"\n"


def _item_quads(item: Item) -> list[Triple]:
    subject = NamedNode(WD + item.qid)
    quads = [Triple(subject, NamedNode(RDFS_LABEL), Literal(text, language=lang))
             for lang, text in sorted(item.labels.items())]
    quads += [Triple(subject, NamedNode(SCHEMA_DESCRIPTION), Literal(text, language=lang))
              for lang, text in sorted(item.descriptions.items())]
    for prop, values in sorted(item.claims.items()):
        for value in sorted(set(values)):
            quads.append(Triple(subject, NamedNode(WDT + prop), _value(prop, value)))
    if item.redirect:
        quads.append(Triple(subject, NamedNode(OWL_SAMEAS), NamedNode(WD + item.redirect)))
    return quads


def _value(prop: str, value: str):
    if prop == "P625":
        return Literal(value, datatype=NamedNode(GEO_WKT))
    if value.startswith("Q") and value[1:].isdigit():
        return NamedNode(WD + value)
    if value.startswith(("http://", "https://")):
        return NamedNode(value)
    return Literal(value)
