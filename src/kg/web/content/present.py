"""What the entity pages show, gathered from the store with SPARQL (no Flask, no HTML here).

:func:`describe` answers with an :class:`EntityView`: labels in English and French, types,
properties and values, incoming links, the sentences of the fact sheet that support the
entity, its Wikidata items, and the cooperation links it takes part in written as sentences
("France (DCSD) — training — Mongolia (NEMA), 2020: civil protection"). Every term keeps its
IRI or literal form; the templates escape and link them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pyoxigraph import BlankNode, Literal, NamedNode

from ...namespaces import ID_NS, PREFIXES, compact
from ...reasoning import INFERRED
from .reader import Reader

_XSD_STRING = PREFIXES["xsd"] + "string"
_LANG_STRING = PREFIXES["rdf"] + "langString"
WIKIDATA_ENTITY = "http://www.wikidata.org/entity/"
_IRI_SAFE = re.compile(r"[^<>\"{}|^`\\\s]+")


@dataclass(frozen=True)
class Value:
    """One RDF term ready to show: an IRI with its label, a literal, or a blank node."""

    kind: str  #: "iri", "literal" or "bnode"
    value: str  #: the IRI, the lexical form, or the blank node's id
    label: str = ""  #: a human label of an IRI ("" when it has none)
    language: str | None = None
    datatype: str | None = None  #: prefixed name of the datatype, None for plain strings
    inferred: bool = False  #: the statement showing it is entailed, not asserted

    @property
    def name(self) -> str:
        """The IRI as a prefixed name (``fipid:dcsd``) or ``<iri>``."""
        return compact(self.value) if self.kind == "iri" else self.value

    @property
    def text(self) -> str:
        """What a reader sees: the label of an IRI, else its name; a literal's text."""
        if self.kind == "iri":
            return self.label or self.name
        return self.value if self.kind == "literal" else f"_:{self.value}"


@dataclass(frozen=True)
class Quote:
    """A sentence of the fact sheet: its IRI, position in the sheet, text and section."""

    iri: str
    position: int
    text: str
    section: str


@dataclass(frozen=True)
class Cooperation:
    """A cooperation link read as a sentence: who — what — with whom, when: on what."""

    link: Value
    providers: tuple[Value, ...]
    types: tuple[Value, ...]
    beneficiaries: tuple[Value, ...]
    places: tuple[Value, ...]
    date: str
    domains: tuple[Value, ...]


@dataclass
class EntityView:
    """Everything the page of one entity shows."""

    iri: str
    labels: dict[str, list[str]]
    types: list[Value]
    properties: list[tuple[Value, list[Value]]]
    incoming: list[tuple[Value, list[Value]]]
    quotes: list[Quote]
    wikidata: list[Value]
    cooperation: list[Cooperation] = field(default_factory=list)

    @property
    def has_inferred(self) -> bool:
        """Whether any type, value or incoming link shown is entailed rather than stated."""
        values = [*self.types, *(v for _, vs in self.properties + self.incoming for v in vs)]
        return any(value.inferred for value in values)

    @property
    def title(self) -> str:
        """The English label, else any label, else the prefixed name."""
        for language in ("en", "", "fr"):
            if self.labels.get(language):
                return self.labels[language][0]
        return next((labels[0] for labels in self.labels.values() if labels), compact(self.iri))


def _iri(iri: str) -> str:
    # IRIs go into SPARQL text: refuse anything that could end the <…> early
    if not _IRI_SAFE.fullmatch(iri):
        raise ValueError(f"not an IRI: {iri!r}")
    return f"<{iri}>"


def labels_of(kg: Reader, iris) -> dict[str, str]:
    """The best label of each IRI: English rdfs:label, then skos:prefLabel, then any."""
    iris = sorted({iri for iri in iris if _IRI_SAFE.fullmatch(iri)})
    if not iris:
        return {}
    values = " ".join(f"<{iri}>" for iri in iris)
    rows = kg.query(f"""SELECT ?x ?label ?rank WHERE {{
        VALUES ?x {{ {values} }}
        {{ ?x rdfs:label ?label }} UNION {{ ?x skos:prefLabel ?label }}
        BIND(IF(LANG(?label) = "en", 0, IF(LANG(?label) = "", 1, 2)) AS ?rank)
    }} ORDER BY ?x ?rank ?label""").solutions
    best: dict[str, str] = {}
    for row in rows:
        best.setdefault(row["x"].value, row["label"].value)
    return best


def value_of(term, labels: dict[str, str], *, inferred: bool = False) -> Value:
    """A pyoxigraph term as a :class:`Value`, labelled from ``labels``; ``inferred`` when
    the statement it is shown in comes from the inferred graph."""
    if isinstance(term, NamedNode):
        return Value("iri", term.value, labels.get(term.value, ""), inferred=inferred)
    if isinstance(term, BlankNode):
        return Value("bnode", term.value, inferred=inferred)
    if isinstance(term, Literal):
        datatype = term.datatype.value
        shown = None if datatype in (_XSD_STRING, _LANG_STRING) else compact(datatype)
        return Value("literal", term.value, language=term.language or None, datatype=shown,
                     inferred=inferred)
    return Value("literal", str(term), inferred=inferred)


def describe(kg: Reader, iri: str) -> EntityView | None:
    """The view of the entity ``iri``, or None when the store says nothing about it."""
    node = _iri(iri)
    out = list(kg.query(f"SELECT ?p ?o WHERE {{ {node} ?p ?o }}").solutions)
    into = list(kg.query(f"SELECT ?s ?p WHERE {{ ?s ?p {node} }}").solutions)
    if not out and not into:
        return None
    terms = {row[k].value for row in out for k in ("p", "o") if isinstance(row[k], NamedNode)}
    terms |= {row[k].value for row in into for k in ("s", "p") if isinstance(row[k], NamedNode)}
    labels = labels_of(kg, terms)
    # the inferred graph holds only entailed triples, never asserted ones: mark them
    entailed_out = {(row["p"], row["o"]) for row in kg.query(
        f"SELECT ?p ?o WHERE {{ GRAPH <{INFERRED}> {{ {node} ?p ?o }} }}").solutions}
    entailed_in = {(row["s"], row["p"]) for row in kg.query(
        f"SELECT ?s ?p WHERE {{ GRAPH <{INFERRED}> {{ ?s ?p {node} }} }}").solutions}
    view = EntityView(iri, _labels(out), [], [], [], _quotes(kg, node), [])
    properties: dict[str, list[Value]] = {}
    for row in sorted(out, key=lambda r: (r["p"].value, str(r["o"]))):
        predicate = row["p"].value
        value = value_of(row["o"], labels, inferred=(row["p"], row["o"]) in entailed_out)
        if predicate == PREFIXES["rdf"] + "type":
            view.types.append(value)
        elif predicate == PREFIXES["owl"] + "sameAs" and value.value.startswith(WIKIDATA_ENTITY):
            view.wikidata.append(value)
        else:
            properties.setdefault(predicate, []).append(value)
    view.properties = [(Value("iri", p, labels.get(p, "")), values)
                       for p, values in properties.items()]
    incoming: dict[str, list[Value]] = {}
    for row in sorted(into, key=lambda r: (r["p"].value, labels.get(r["s"].value, r["s"].value))):
        incoming.setdefault(row["p"].value, []).append(
            value_of(row["s"], labels, inferred=(row["s"], row["p"]) in entailed_in))
    view.incoming = [(Value("iri", p, labels.get(p, "")), subjects)
                     for p, subjects in incoming.items()]
    view.cooperation = cooperation(kg, iri)
    return view


def _labels(rows) -> dict[str, list[str]]:
    labels: dict[str, list[str]] = {}
    for row in rows:
        if row["p"].value == PREFIXES["rdfs"] + "label" and isinstance(row["o"], Literal):
            labels.setdefault(row["o"].language or "", []).append(row["o"].value)
    return labels


def _quotes(kg: Reader, node: str) -> list[Quote]:
    rows = kg.query(f"""SELECT DISTINCT ?sentence ?position ?text ?section WHERE {{
        {{ {node} prov:wasDerivedFrom ?sentence }} UNION {{ {node} fip:mentionedIn ?sentence }}
        UNION {{ ?assertion rdf:subject {node} ; prov:wasDerivedFrom ?sentence }}
        UNION {{ BIND({node} AS ?sentence) }}
        ?sentence a fip:SourceSentence ; rdf:value ?text ; schema:position ?position .
        OPTIONAL {{ ?sentence fip:inSection/rdfs:label ?section }}
    }} ORDER BY ?position""").solutions
    quotes: dict[str, Quote] = {}
    for row in rows:
        section = row["section"].value if row["section"] is not None else ""
        quotes.setdefault(row["sentence"].value, Quote(
            row["sentence"].value, int(row["position"].value), row["text"].value, section))
    return list(quotes.values())


# -- cooperation links as sentences ---------------------------------------------------------

_ROLES = {"provider": "fip:provider", "type": "fip:cooperationType",
          "beneficiary": "fip:beneficiary|fip:partner", "place": "prov:atLocation",
          "domain": "fip:thematicDomain"}


def cooperation(kg: Reader, iri: str) -> list[Cooperation]:
    """The cooperation links ``iri`` takes part in, or is, or that happen within it.

    A link is found when the entity (or a place inside it, or an organisation based there)
    provides, benefits, partners, funds, implements or hosts it.
    """
    node = _iri(iri)
    roles = " UNION ".join(f"{{ ?link {path} ?x BIND('{role}' AS ?role) }}"
                           for role, path in _ROLES.items())
    rows = list(kg.query(f"""SELECT ?link ?role ?x ?date WHERE {{
        {{ SELECT DISTINCT ?link WHERE {{
            {{ BIND({node} AS ?link) ?link a fip:CooperationLink }}
            UNION {{ ?link a fip:CooperationLink ; (fip:provider|fip:beneficiary|fip:partner|
                     fip:funder|fip:implementer|prov:atLocation|fip:covers)/fip:basedIn?/
                     fip:partOf* {node} }} }} }}
        {{ {roles} }} UNION {{
            SELECT ?link (MIN(?shown) AS ?date) WHERE {{
              # a happening's date is an xsd:date shown at the precision the sheet gives;
              # an agreement's date is kept as written
              {{ ?link dcterms:date ?d ; fip:datePrecision ?p
                 BIND(IF(?p = time:unitYear, SUBSTR(STR(?d), 1, 4),
                         IF(?p = time:unitMonth, SUBSTR(STR(?d), 1, 7), STR(?d))) AS ?shown) }}
              UNION {{ ?link fip:underAgreement/dcterms:date ?d BIND(STR(?d) AS ?shown) }}
            }} GROUP BY ?link }}
    }}""").solutions)
    names = agent_names(kg, {row["x"].value for row in rows
                             if row["role"] is not None and row["role"].value in
                             ("provider", "beneficiary") and isinstance(row["x"], NamedNode)})
    labels = labels_of(kg, {row[k].value for row in rows for k in ("link", "x")
                            if row[k] is not None and isinstance(row[k], NamedNode)})
    links: dict[str, dict] = {}
    for row in rows:
        entry = links.setdefault(row["link"].value, {"date": "", **{r: [] for r in _ROLES}})
        if row["date"] is not None:
            entry["date"] = row["date"].value
        elif row["role"] is not None:
            value = value_of(row["x"], {**labels, **names})
            if value not in entry[row["role"].value]:
                entry[row["role"].value].append(value)
    sentences = []
    for link, entry in links.items():
        order = lambda values: tuple(sorted(values, key=lambda v: v.text.lower()))  # noqa: E731
        sentences.append(Cooperation(
            Value("iri", link, labels.get(link, "")), order(entry["provider"]),
            order(entry["type"]), order(entry["beneficiary"]), order(entry["place"]),
            entry["date"], order(entry["domain"])))
    sentences.sort(key=lambda c: (c.date or "9999", c.link.text.lower()))
    return sentences


def agent_names(kg: Reader, iris) -> dict[str, str]:
    """Short names of agents for sentences: ``Mongolia (NEMA)``, ``France``, ``UNODC``.

    An organisation based in a country (directly or through the organisation it is a unit
    of) is named by the country and its acronym (or label); a country by its label.
    """
    iris = sorted(iri for iri in iris if _IRI_SAFE.fullmatch(iri))
    if not iris:
        return {}
    values = " ".join(f"<{iri}>" for iri in iris)
    rows = kg.query(f"""SELECT ?x (SAMPLE(?short) AS ?acronym) (SAMPLE(?name) AS ?country)
      WHERE {{
        VALUES ?x {{ {values} }}
        OPTIONAL {{ ?x skos:altLabel ?short FILTER(LANG(?short) = "" && STRLEN(?short) <= 12) }}
        OPTIONAL {{ FILTER NOT EXISTS {{ ?x a schema:Country }}
                    ?x (org:unitOf|org:subOrganizationOf)*/fip:basedIn/fip:partOf* ?c .
                    ?c a schema:Country ; rdfs:label ?name FILTER(LANG(?name) = "en") }}
      }} GROUP BY ?x""").solutions
    labels = labels_of(kg, iris)
    names = {}
    for row in rows:
        own = row["acronym"].value if row["acronym"] is not None else labels.get(
            row["x"].value, compact(row["x"].value))
        names[row["x"].value] = (f"{row['country'].value} ({own})" if row["country"] is not None
                                 else own)
    return names


def is_entity(iri: str) -> bool:
    """True for the project's own entity IRIs (``fipid:…``)."""
    return iri.startswith(ID_NS)
