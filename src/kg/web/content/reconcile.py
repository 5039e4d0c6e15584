"""Reconciliation against the graph: the core of the W3C Reconciliation Service API.

The Entity Reconciliation Community Group's API (https://reconciliation-api.github.io/specs/0.2/),
which OpenRefine speaks, matches names from a spreadsheet to entities of this graph: a query
has a name, optionally a type (the entity must be an instance of it, subclasses included)
and property constraints (a value the entity must have, by id or by name). Candidates are
scored 0–100 by name similarity (:mod:`kg.wikidata.textmatch`), weighed by the constraints they meet;
the best one is flagged ``match`` when it is near-certain and clearly ahead of the next.

Identifiers are the entities' slugs (``dcsd`` for ``https://w3id.org/fr-indopacific/id/dcsd``);
types and properties are prefixed names (``org:Organization``, ``fip:basedIn``), full IRIs
being accepted as well. No Flask here: :mod:`kg.web.reconcile` is the HTTP side.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Iterable

from ...errors import NotFoundError, UsageError
from ...namespaces import ID_NS, PREFIXES, compact
from .reader import Reader
from ...wikidata.textmatch import normalise, similarity

#: Scores at or above this, with the next candidate this far behind, are a ``match``.
MATCH_SCORE, MATCH_LEAD = 95.0, 10.0
DEFAULT_LIMIT = 10
#: Kinds of node that carry provenance or structure rather than things a table names.
_SKIPPED_TYPES = {PREFIXES["fip"] + name for name in (
    "SourceSentence", "Section", "Assertion", "CuratorNote", "Assessment", "LegendCategory",
    "LegendGroup")} | {PREFIXES["prov"] + "Attribution", PREFIXES["org"] + "Membership",
                       PREFIXES["schema"] + "QuantitativeValue"}
#: Types offered to OpenRefine before it has seen any data.
DEFAULT_TYPES = ("org:Organization", "schema:Place", "schema:Country", "schema:Person",
                 "fip:CooperationLink")


@dataclass
class _Entity:
    iri: str
    names: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)  # direct types
    all_types: set[str] = field(default_factory=set)  # with superclasses
    description: str = ""
    values: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.iri[len(ID_NS):]

    @property
    def name(self) -> str:
        return self.names[0] if self.names else self.id


class Reconciler:
    """An index of the graph's named entities, classes and properties, built once.

    >>> from kg import Config
    >>> from kg import KnowledgeGraph
    >>> r = Reconciler(KnowledgeGraph.open(Config.load({}, environ={})))
    >>> best = r.reconcile({"query": "Direction de la coopération de sécurité et de défense"})["result"][0]
    >>> best["id"], best["match"]
    ('dcsd', True)
    """

    def __init__(self, kg: Reader) -> None:
        self.entities: dict[str, _Entity] = {}
        self.labels: dict[str, str] = {}  # class or property IRI -> English label
        self.classes: set[str] = set()
        self.properties: set[str] = set()
        self._index(kg)

    # -- queries ---------------------------------------------------------------------------

    def reconcile(self, query: dict[str, Any]) -> dict[str, list[dict]]:
        """Answer one reconciliation query (``query``, ``type``, ``limit``, ``properties``)."""
        if not isinstance(query, dict) or not isinstance(query.get("query", ""), str):
            raise UsageError("each query must be an object with a 'query' string")
        text = query.get("query", "")
        wanted_types = [self._iri(t) for t in _as_list(query.get("type"))]
        constraints = [(self._iri(p["pid"]), _as_list(p.get("v")))
                       for p in _as_list(query.get("properties")) if isinstance(p, dict)
                       and "pid" in p]
        limit = _limit(query.get("limit"))
        scored = []
        for entity in self.entities.values():
            if wanted_types and not entity.all_types & set(wanted_types):
                continue
            name_score = max((similarity(text, name) for name in entity.names), default=0.0)
            if constraints:
                met = sum(self._meets(entity, pid, values) for pid, values in constraints)
                score = name_score * (0.5 + 0.5 * met / len(constraints)) if text else \
                    met / len(constraints)
            else:
                score = name_score
            if score > 0.3:
                scored.append((round(100 * score, 1), entity))
        scored.sort(key=lambda pair: (-pair[0], pair[1].id))
        results = [self._candidate(entity, score) for score, entity in scored[:limit]]
        if results and results[0]["score"] >= MATCH_SCORE and (
                len(results) == 1 or results[0]["score"] - results[1]["score"] >= MATCH_LEAD):
            results[0]["match"] = True
        return {"result": results}

    def suggest(self, kind: str, prefix: str, cursor: int = 0, limit: int = 10) -> list[dict]:
        """Entities, types or properties whose name has a word starting with ``prefix``."""
        wanted = normalise(prefix)
        if kind == "entity":
            pool = [(e.id, e.name, e.description, e.names) for e in self.entities.values()]
        elif kind in ("type", "property"):
            iris = self.classes if kind == "type" else self.properties
            pool = [(compact(iri), self.labels.get(iri, compact(iri)),
                     compact(iri) if iri in self.labels else "",
                     [self.labels.get(iri, ""), compact(iri)]) for iri in iris]
        else:
            raise NotFoundError(f"no suggest service for {kind!r}; use entity, type or property")
        hits = []
        for ident, name, description, names in pool:
            folded = [normalise(n) for n in names if n]
            if not wanted or any(f.startswith(wanted) or f" {wanted}" in f" {f}"
                                 for f in folded):
                exact = any(f == wanted for f in folded)
                hits.append((not exact, len(name), name, ident, description))
        hits.sort()
        return [{"id": ident, "name": name, **({"description": d} if d else {})}
                for _, _, name, ident, d in hits[cursor:cursor + limit]]

    def preview(self, ident: str, *, style_nonce: str = "") -> str:
        """A small HTML card for one entity (the manifest's ``preview`` service).

        Its one ``<style>`` element carries ``style_nonce``, the nonce the page's
        Content-Security-Policy allows (a ``style`` attribute would be refused).
        """
        entity = self.entities.get(ident)
        if entity is None:
            raise NotFoundError(f"no entity {ident!r} in the graph")
        types = ", ".join(html.escape(self.labels.get(t, compact(t))) for t in entity.types)
        other = [n for n in entity.names[1:] if n != entity.name][:4]
        return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>"
                f"{html.escape(entity.name)}</title><style nonce=\"{html.escape(style_nonce)}"
                "\">body{font:13px sans-serif;margin:4px}</style></head><body>"
                f"<strong>{html.escape(entity.name)}</strong> <small>{types}</small>"
                + (f"<br><em>{html.escape(', '.join(other))}</em>" if other else "")
                + (f"<p>{html.escape(entity.description)}</p>" if entity.description else "")
                + f"<br><small><a href=\"{html.escape(entity.iri)}\" target=\"_blank\">"
                f"{html.escape(entity.iri)}</a></small></body></html>")

    def type_entries(self, iris: Iterable[str]) -> list[dict]:
        """``{"id", "name"}`` for types given as prefixed names or IRIs."""
        return [{"id": compact(self._iri(t)), "name": self.labels.get(self._iri(t), t)}
                for t in iris]

    # -- helpers ---------------------------------------------------------------------------

    def _candidate(self, entity: _Entity, score: float) -> dict:
        result = {"id": entity.id, "name": entity.name, "score": score, "match": False,
                  "type": self.type_entries(entity.types)}
        if entity.description:
            result["description"] = entity.description
        return result

    def _meets(self, entity: _Entity, pid: str, wanted: list) -> bool:
        for value in wanted:
            ident = value.get("id") if isinstance(value, dict) else None
            text = value.get("name", "") if isinstance(value, dict) else str(value)
            for target, names in entity.values.get(pid, []):
                if ident and target in (ident, ID_NS + ident, self._iri(ident)):
                    return True
                if text and any(similarity(text, name) >= 0.85 for name in names):
                    return True
        return False

    def _iri(self, name: str) -> str:
        if not isinstance(name, str):
            raise UsageError(f"expected a type or property id, got {name!r}")
        prefix, sep, local = name.partition(":")
        if sep and prefix in PREFIXES and not local.startswith("//"):
            return PREFIXES[prefix] + local
        return name

    def _entity(self, iri: str) -> _Entity:
        return self.entities.setdefault(iri, _Entity(iri))

    def _index(self, kg: Reader) -> None:
        for row in kg.query(_TYPES).solutions:
            iri, cls = row["e"].value, row["t"].value
            if row["d"].value == "true":
                self._entity(iri).types.append(cls)
            self._entity(iri).all_types.add(cls)
        for iri in [iri for iri, e in self.entities.items() if e.all_types & _SKIPPED_TYPES]:
            del self.entities[iri]
        for row in kg.query(_NAMES).solutions:
            entity = self.entities.get(row["e"].value)
            if entity is not None and row["n"].value not in entity.names:
                entity.names.append(row["n"].value)
        self.entities = {e.id: e for e in self.entities.values() if e.names}
        by_iri = {e.iri: e for e in self.entities.values()}
        for row in kg.query(_VALUES).solutions:
            entity = by_iri.get(row["e"].value)
            if entity is None:
                continue
            if row["p"].value in _DESCRIPTIONS:
                entity.description = entity.description or row["o"].value
                continue
            names = [row["o"].value] if row["on"] is None else [row["on"].value]
            entity.values.setdefault(row["p"].value, []).append((row["o"].value, names))
        for row in kg.query(_SCHEMA).solutions:
            target = self.classes if row["kind"].value == "class" else self.properties
            target.add(row["x"].value)
            if row["l"] is not None:
                self.labels.setdefault(row["x"].value, row["l"].value)


def _as_list(value) -> list:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def _limit(value) -> int:
    try:
        return max(1, min(100, int(value))) if value is not None else DEFAULT_LIMIT
    except (TypeError, ValueError):
        raise UsageError(f"limit must be a number, not {value!r}") from None


_DESCRIPTIONS = {PREFIXES["schema"] + "description", PREFIXES["skos"] + "definition",
                 PREFIXES["rdfs"] + "comment"}
_FIPID = f'FILTER(STRSTARTS(STR(?e), "{ID_NS}"))'
_TYPES = f"""SELECT DISTINCT ?e ?t (?d0 = ?t AS ?d) WHERE {{
  ?e a ?d0 . ?d0 rdfs:subClassOf* ?t . FILTER(isIRI(?t)) {_FIPID} }}"""
_NAMES = f"""SELECT ?e ?n WHERE {{
  {{ ?e rdfs:label ?n BIND(0 AS ?k) }} UNION {{ ?e skos:prefLabel ?n BIND(1 AS ?k) }}
  UNION {{ ?e skos:altLabel ?n BIND(2 AS ?k) }}
  FILTER(isLiteral(?n)) {_FIPID} }}
ORDER BY ?e ?k DESC(LANG(?n) = "en") ?n"""
_VALUES = f"""SELECT ?e ?p ?o (SAMPLE(?name) AS ?on) WHERE {{
  ?e ?p ?o . FILTER(?p != rdf:type) {_FIPID}
  OPTIONAL {{ ?o rdfs:label ?name FILTER(LANG(?name) = "en") }} }}
GROUP BY ?e ?p ?o"""
_SCHEMA = """SELECT ?x ?kind (SAMPLE(?label) AS ?l) WHERE {
  { ?x a owl:Class BIND("class" AS ?kind) } UNION { ?e a ?x BIND("class" AS ?kind) }
  UNION { ?x a ?pt BIND("property" AS ?kind)
          VALUES ?pt { owl:ObjectProperty owl:DatatypeProperty } }
  FILTER(isIRI(?x))
  OPTIONAL { ?x rdfs:label ?label FILTER(LANG(?label) = "en") } }
GROUP BY ?x ?kind"""
