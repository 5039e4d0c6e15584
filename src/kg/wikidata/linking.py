"""Links to Wikidata: check the existing ones, suggest missing ones, apply accepted ones.

The graph links an entity to its Wikidata item with ``owl:sameAs`` (``skos:exactMatch``
for SKOS concepts). Which Wikidata classes fit an entity comes from the ontology's
alignment (``ontology/wikidata-alignment.ttl``): the entity's types, up
``rdfs:subClassOf*``, mapped by ``skos:exactMatch|closeMatch|broadMatch`` to ``wd:Q…``
classes; an item fits when it is an instance (P31/P279*) of one of them.

Everything here goes through a :class:`kg.wikidata.client.WikidataClient`; nothing knows about
the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from pyoxigraph import NamedNode

from ..errors import UsageError
from ..namespaces import GRAPHS, ID_NS, PREFIXES
from .sssom import LEXICAL, MANUAL, MappingSet
from ..store.graph import KnowledgeGraph
from .textmatch import best_match
from .client import WD, Item, WikidataClient, qid

if TYPE_CHECKING:
    from ..writes.outcome import Outcome
    from ..writes.writer import Writer

#: Below this label similarity a link is reported as suspicious.
LABEL_THRESHOLD = 0.75
#: How much a candidate of an unfitting type keeps of its label score.
TYPE_PENALTY = 0.5
LINK_PREDICATES = (PREFIXES["owl"] + "sameAs", PREFIXES["skos"] + "exactMatch")
CURIE_MAP = {"fipid": ID_NS, "wd": WD, "owl": PREFIXES["owl"], "skos": PREFIXES["skos"],
             "semapv": "https://w3id.org/semapv/vocab/"}


@dataclass
class Entity:
    """An entity of the graph, with what linking needs to know about it."""

    iri: str
    names: list[tuple[str, str]] = field(default_factory=list)  # (language, name)
    classes: set[str] = field(default_factory=set)  # fitting Wikidata classes (Q-ids)
    links: list[str] = field(default_factory=list)  # linked Q-ids

    @property
    def label(self) -> str:
        """An English name if there is one, else any."""
        return next((n for lang, n in self.names if lang == "en"),
                    self.names[0][1] if self.names else self.iri)


@dataclass(frozen=True)
class Finding:
    """A suspicious link."""

    entity: str
    qid: str
    problem: str  # missing | redirect | label | type
    detail: str
    score: float | None = None


def entities(kg: KnowledgeGraph) -> dict[str, Entity]:
    """The project's entities (``fipid:``) that have a link or a type aligned to Wikidata."""
    found: dict[str, Entity] = {}
    for row in kg.query(_LINKS).solutions:
        found.setdefault(row["e"].value, Entity(row["e"].value)).links.append(
            qid(row["w"].value))
    # the Wikidata classes aligned to the entity's own types; those of its superclasses
    # only when none of its own types is aligned (a country must be a country, not merely
    # a geographic location)
    aligned: dict[str, dict[bool, set[str]]] = {}
    for row in kg.query(_CLASSES).solutions:
        direct = row["d"] == row["t"]
        aligned.setdefault(row["e"].value, {True: set(), False: set()})[direct].add(
            qid(row["c"].value))
    for iri, by_level in aligned.items():
        found.setdefault(iri, Entity(iri)).classes = by_level[True] or by_level[False]
    for row in kg.query(_NAMES).solutions:
        if row["e"].value in found:
            name = row["n"]
            pair = (name.language or "", name.value)
            if pair not in found[row["e"].value].names:
                found[row["e"].value].names.append(pair)
    return found


def check(kg: KnowledgeGraph, client: WikidataClient) -> tuple[list[Finding], int]:
    """Check every link: the item exists, is no redirect, its names and type fit.

    Returns the suspicious links and the number of links checked.
    """
    linked = [e for e in entities(kg).values() if e.links]
    pairs = [(entity, q) for entity in linked for q in entity.links]
    items = client.items(q for _, q in pairs)
    classes = set().union(*(entity.classes for entity in linked)) if linked else set()
    types = client.instances_of([q for q, item in items.items() if item.exists], classes)
    findings = []
    for entity, q in pairs:
        item = items[q]
        if not item.exists:
            findings.append(Finding(entity.iri, q, "missing", "the endpoint has no such item"))
        elif item.redirect:
            findings.append(Finding(entity.iri, q, "redirect",
                                    f"{q} redirects to {item.redirect}: link that item"))
        else:
            score, ours, theirs = best_match([n for _, n in entity.names],
                                             [n for _, n in item.names()])
            if score < LABEL_THRESHOLD:
                findings.append(Finding(
                    entity.iri, q, "label", f"best name match {ours!r} ~ {theirs!r}" if ours
                    else "no name in common", score))
            if entity.classes and not types.get(q, set()) & entity.classes:
                p31 = ", ".join(item.claims.get("P31", [])) or "nothing"
                findings.append(Finding(
                    entity.iri, q, "type", f"instance of {p31}; expected a subclass of "
                    f"{', '.join(sorted(entity.classes))}"))
    return findings, len(pairs)


def tentative(mapping_set: MappingSet,
              findings: list[Finding]) -> list[tuple[str, str, float, bool]]:
    """The links a mapping table records with a confidence below 1 (one source, a name that
    differs), each with whether a check found nothing wrong with it:
    ``(subject CURIE, object CURIE, confidence, passed)``.

    >>> rows = [{"subject_id": "fipid:meae", "object_id": "wd:Q789848", "confidence": "0.8"},
    ...         {"subject_id": "fipid:france", "object_id": "wd:Q142", "confidence": "1.0"}]
    >>> tentative(MappingSet(dict(CURIE_MAP), {}, rows), [])
    [('fipid:meae', 'wd:Q789848', 0.8, True)]
    """
    suspicious = {(f.entity, f.qid) for f in findings}
    found = []
    for row in mapping_set.mappings:
        try:
            confidence = float(row.get("confidence") or 1)
        except ValueError:  # not a number: nothing to confirm
            continue
        if confidence < 1:
            link = (mapping_set.expand(row["subject_id"]), qid(mapping_set.expand(row["object_id"])))
            found.append((row["subject_id"], row["object_id"], confidence,
                          link not in suspicious))
    return found


def suggest(kg: KnowledgeGraph, client: WikidataClient, *, search: str = "sparql",
            api_url: str = "", limit: int = 3) -> MappingSet:
    """Candidates for every entity with an aligned type and no link, as an SSSOM set.

    ``search`` is ``sparql`` (exact labels and aliases on the endpoint) or ``api``
    (MediaWiki's ``wbsearchentities``). Each candidate is scored by name similarity,
    halved when its type does not fit, and carries the reason in ``comment``.
    """
    every = entities(kg)
    taken = {q: e.iri for e in every.values() for q in e.links}
    open_ = [e for e in every.values() if not e.links and e.classes and e.names]
    candidates: dict[str, set[str]] = {e.iri: set() for e in open_}
    if search == "api":
        for entity in open_:
            for lang, name in entity.names:
                candidates[entity.iri].update(client.search(api_url, name, lang or "en"))
    else:
        wanted = {(name, l): e.iri for e in open_ for lang, name in e.names
                  for l in ([lang] if lang in ("en", "fr") else ["en", "fr"])}
        for key, qids in client.by_label(sorted(wanted)).items():
            candidates[wanted[key]].update(qids)
    items = client.items(set().union(*candidates.values()))
    classes = set().union(*(e.classes for e in open_)) if open_ else set()
    types = client.instances_of([q for q, i in items.items() if i.exists], classes)
    rows = []
    for entity in open_:
        scored = [_candidate(entity, items[q], types.get(q, set()), taken.get(q))
                  for q in candidates[entity.iri] if items[q].exists and not items[q].redirect]
        scored.sort(key=lambda row: (-float(row["confidence"]), row["object_id"]))
        rows.extend(scored[:limit])
    metadata = {"mapping_set_id": "https://w3id.org/fr-indopacific/mappings/wikidata-suggestions",
                "mapping_set_description": "Candidate Wikidata items for entities of the graph "
                "without a link, for a curator to review: set mapping_justification to "
                f"{MANUAL} on the rows to accept, then run `kg link --apply FILE`.",
                "license": "https://creativecommons.org/licenses/by/4.0/",
                "mapping_date": date.today().isoformat(),
                "mapping_tool": f"kg link --suggest ({search}: {client.endpoint})"}
    return MappingSet(dict(CURIE_MAP), metadata, rows)


def _candidate(entity: Entity, item: Item, fits: set[str], taken_by: str | None) -> dict:
    score, ours, theirs = best_match([n for _, n in entity.names], [n for _, n in item.names()])
    reasons = [f"name {ours!r} ~ {theirs!r} ({score:.2f})"]
    if entity.classes and fits & entity.classes:
        reasons.append(f"type fits (P31/P279* {', '.join(sorted(fits & entity.classes))})")
    elif entity.classes:
        score *= TYPE_PENALTY
        reasons.append(f"type does not fit (P31 {', '.join(item.claims.get('P31', [])) or '—'})")
    if taken_by:
        score *= TYPE_PENALTY
        reasons.append(f"already linked from {taken_by.replace(ID_NS, 'fipid:')}")
    return {"subject_id": entity.iri.replace(ID_NS, "fipid:"), "subject_label": entity.label,
            "predicate_id": "owl:sameAs", "object_id": f"wd:{item.qid}",
            "object_label": item.labels.get("en") or item.labels.get("fr", ""),
            "mapping_justification": LEXICAL, "confidence": f"{score:.3f}",
            "comment": "; ".join(reasons)}


def accepted(mapping_set: MappingSet) -> list[tuple[str, str, str]]:
    """The (subject, predicate, object) IRIs of the rows a curator accepted.

    A row counts when its ``mapping_justification`` is ``semapv:ManualMappingCuration``,
    its predicate one of ``owl:sameAs``/``skos:exactMatch``, its object a Wikidata item,
    and it has no ``predicate_modifier`` ``Not``.
    """
    triples = []
    for number, row in enumerate(mapping_set.mappings, 1):
        if row.get("mapping_justification") != MANUAL or row.get("predicate_modifier") == "Not":
            continue
        try:
            subject, predicate, obj = (mapping_set.expand(row[key]) for key in
                                       ("subject_id", "predicate_id", "object_id"))
        except KeyError as exc:
            raise UsageError(f"row {number}: {exc.args[0]}") from None
        if predicate not in LINK_PREDICATES or not qid(obj) or not subject.startswith(ID_NS):
            raise UsageError(f"row {number}: only fipid: subjects linked by owl:sameAs or "
                             f"skos:exactMatch to wd:Q… items can be applied, not "
                             f"{row['subject_id']} {row['predicate_id']} {row['object_id']}")
        triples.append((subject, predicate, obj))
    return triples


def apply(writer: "Writer", triples: list[tuple[str, str, str]], *,
          agent: str = "kg-link") -> "Outcome":
    """Add accepted mappings to the user-additions graph through the write gate: validated
    in the context of the graph like any write, all or nothing, recorded in the change log.

    Raises UsageError for a subject the graph does not describe, ValidationFailedError (with
    the report) when the mappings break the shapes.
    """
    from pyoxigraph import Quad

    unknown = sorted({s for s, _, _ in triples
                      if not writer.kg.query(f"ASK {{ <{s}> ?p ?o }}").boolean})
    if unknown:
        raise UsageError(f"no such entity in the graph: {', '.join(unknown)}")
    quads = [Quad(NamedNode(s), NamedNode(p), NamedNode(o)) for s, p, o in triples]
    return writer.add_to_graph(GRAPHS["user"], quads, agent=agent)


_FIPID_FILTER = f'FILTER(STRSTARTS(STR(?e), "{ID_NS}"))'
_LINKS = f"""SELECT DISTINCT ?e ?w WHERE {{
  GRAPH ?g {{ ?e owl:sameAs|skos:exactMatch ?w }}
  FILTER(?g != <{GRAPHS['wikidata']}> && STRSTARTS(STR(?w), "{WD}Q")) {_FIPID_FILTER}
}} ORDER BY ?e ?w"""
_CLASSES = f"""SELECT DISTINCT ?e ?d ?t ?c WHERE {{
  ?e a ?d . ?d rdfs:subClassOf* ?t . ?t skos:exactMatch|skos:closeMatch|skos:broadMatch ?c .
  FILTER(STRSTARTS(STR(?c), "{WD}Q")) {_FIPID_FILTER}
}}"""
_NAMES = f"""SELECT DISTINCT ?e ?n WHERE {{
  GRAPH ?g {{ ?e rdfs:label|skos:prefLabel|skos:altLabel ?n }}
  FILTER(?g != <{GRAPHS['wikidata']}> && isLiteral(?n)) {_FIPID_FILTER}
}} ORDER BY ?e ?n"""
