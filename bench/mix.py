"""The benchmark's query mix: competency questions from ``queries/`` and heavier queries.

Each query has a name, a kind (``cq``: a competency question, small answers on the bundled
entities; ``heavy``: scans, joins and paths over the whole synthetic graph) and its text.
Every text is sent with the project's prefixes declared in full, because the peers do not
predeclare them as ``kg`` does.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from kg.namespaces import PREFIXES  # noqa: E402

#: Competency questions in the mix: a lookup, a quantity with units, a transitive part-of,
#: dated events through a property path, an inverse navigation, a sentence search.
COMPETENCY_QUESTIONS = ("cq-01-dcsd-ministry", "cq-21-seizures-over-a-tonne",
                        "cq-53-places-in-france", "cq-57-events-2023",
                        "cq-74-who-covers-philippines", "cq-58-sentence-heroin")

HEAVY = {
    # 3-hop join: link -> provider -> parent organisation -> its base -> country
    "join-3-hop": """
SELECT ?link ?provider ?parent ?country WHERE {
  ?link a fip:CooperationLink ; fip:provider ?provider .
  ?provider org:subOrganizationOf ?parent .
  ?parent fip:basedIn ?place .
  ?place fip:partOf ?country .
  ?country a fip:Country .
}""",
    # GROUP BY over every cooperation link
    "group-by-domain": """
SELECT ?domain (COUNT(DISTINCT ?link) AS ?links) (COUNT(DISTINCT ?provider) AS ?providers)
WHERE { ?link a fip:CooperationLink ; fip:thematicDomain ?domain ; fip:provider ?provider . }
GROUP BY ?domain ORDER BY DESC(?links) ?domain""",
    # transitive paths: every organisation under a ministry, at any depth
    "transitive-suborg": """
SELECT ?ministry (COUNT(DISTINCT ?unit) AS ?units) WHERE {
  ?ministry a fip:Ministry .
  ?unit (org:subOrganizationOf|org:unitOf)+ ?ministry .
} GROUP BY ?ministry ORDER BY ?ministry""",
    # transitive part-of from every city to its region, then the links located there
    "transitive-places": """
SELECT ?region (COUNT(?link) AS ?links) WHERE {
  ?region a fip:Region .
  ?place fip:partOf+ ?region .
  ?link prov:atLocation ?place .
} GROUP BY ?region ORDER BY ?region""",
    # text filter over every sentence
    "text-filter": """
SELECT ?sentence ?text WHERE {
  ?sentence a fip:SourceSentence ; rdf:value ?text .
  FILTER(CONTAINS(LCASE(STR(?text)), "heroin") && CONTAINS(STR(?text), "seizure"))
} ORDER BY ?sentence""",
    # date range over dated events
    "date-range": """
SELECT ?event ?date ?label WHERE {
  ?event dcterms:date ?date ; rdfs:label ?label .
  FILTER(DATATYPE(?date) = xsd:date && ?date >= "2010-01-01"^^xsd:date
         && ?date < "2012-01-01"^^xsd:date)
} ORDER BY ?date ?event""",
    # CONSTRUCT an entity's neighbourhood: its triples both ways and neighbours' labels
    "construct-neighbourhood": """
CONSTRUCT { fipid:x7-ministry ?p ?o . ?s ?q fipid:x7-ministry . ?n rdfs:label ?label }
WHERE {
  { fipid:x7-ministry ?p ?o } UNION { ?s ?q fipid:x7-ministry }
  UNION { { fipid:x7-ministry ?p1 ?n } UNION { ?n ?q1 fipid:x7-ministry } ?n rdfs:label ?label }
}""",
    # a large result: every labelled organisation (rows the server must serialise)
    "labels-all-orgs": """
SELECT ?org ?label WHERE {
  ?org a prov:Agent ; rdfs:label ?label . FILTER(LANG(?label) = "en")
} ORDER BY ?org""",
}


@dataclass(frozen=True)
class Query:
    """One query of the mix."""

    name: str
    kind: str  # "cq" or "heavy"
    text: str

    @property
    def construct(self) -> bool:
        """True when the answer is a graph (counted in triples, not rows)."""
        body = "\n".join(line for line in self.text.splitlines()
                         if not line.lstrip().startswith(("#", "PREFIX")))
        return body.lstrip().upper().startswith(("CONSTRUCT", "DESCRIBE"))


def prologue() -> str:
    """The PREFIX declarations every query of the mix is sent with."""
    return "".join(f"PREFIX {prefix}: <{iri}>\n" for prefix, iri in PREFIXES.items())


def queries() -> list[Query]:
    """The mix, competency questions first."""
    mix = []
    for name in COMPETENCY_QUESTIONS:
        text = (REPO / "queries" / f"{name}.rq").read_text(encoding="utf-8")
        mix.append(Query(name.split("-", 2)[0] + "-" + name.split("-", 2)[1], "cq",
                         prologue() + text))
    mix += [Query(name, "heavy", prologue() + text.strip()) for name, text in HEAVY.items()]
    return mix
