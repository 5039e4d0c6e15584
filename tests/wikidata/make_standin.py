"""Write tests/wikidata/standin.ttl, the Wikidata stand-in's test dataset.

Run it after adding a link to the bundled data (``python tests/wikidata/make_standin.py``
from the repository root, with ``src`` on the path): every linked item gets the names the
graph uses as aliases and an instance-of that fits the class aligned to the entity's type.
The planted cases at the end are written by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: A P31 value for each Wikidata class the alignment asks for (the hierarchy is in HEADER).
P31 = {"Q6256": "Q3624078", "Q486972": "Q515", "Q56061": "Q56061", "Q618123": "Q618123",
       "Q82794": "Q82794", "Q245065": "Q245065", "Q484652": "Q484652", "Q43229": "Q43229",
       "Q327333": "Q327333", "Q5": "Q5"}

HEADER = '''# A small Wikidata-shaped dataset for the tests: the stand-in for Wikidata's query service
# that tests/conftest.py serves with Oxigraph's server (together with data/wikidata/snapshot.ttl,
# for P297 and P625). TEST DATA, not facts: the items linked from the bundled graph are given
# the names the graph uses as aliases and an instance-of (P31) that fits the class aligned in
# ontology/wikidata-alignment.ttl; items Q900000001 and up are invented.
# Written by tests/wikidata/make_standin.py: run it again after adding a link.

@prefix rdfs:   <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl:    <http://www.w3.org/2002/07/owl#> .
@prefix skos:   <http://www.w3.org/2004/02/skos/core#> .
@prefix schema: <http://schema.org/> .
@prefix wd:     <http://www.wikidata.org/entity/> .
@prefix wdt:    <http://www.wikidata.org/prop/direct/> .

# -- a little class hierarchy (P279) ------------------------------------------------------

wd:Q3624078 rdfs:label "sovereign state"@en ; wdt:P279 wd:Q6256 .

wd:Q6256 rdfs:label "country"@en ; wdt:P279 wd:Q56061 .

wd:Q515 rdfs:label "city"@en ; wdt:P279 wd:Q486972 .

wd:Q327333 rdfs:label "government agency"@en ; wdt:P279 wd:Q43229 .

wd:Q245065 rdfs:label "intergovernmental organization"@en ; wdt:P279 wd:Q484652 .

wd:Q484652 rdfs:label "international organization"@en ; wdt:P279 wd:Q43229 .

# -- the items linked from the bundled graph ---------------------------------------------
'''

PLANTED = '''# -- planted cases -------------------------------------------------------------------------

# Paris: a city, the wrong item for a country
wd:Q90 rdfs:label "Paris"@en , "Paris"@fr ; wdt:P31 wd:Q515 .

# a redirect (Wikidata's RDF marks a merged item with owl:sameAs to the item it now is)
wd:Q900000711 owl:sameAs wd:Q711 .

# two items named ASEANAPOL: the regional police organisation, and a person of that name
wd:Q900000001 rdfs:label "ASEANAPOL"@en ;
    skos:altLabel "ASEAN Chiefs of Police"@en ;
    schema:description "regional police cooperation body of ASEAN"@en ;
    wdt:P31 wd:Q245065 .

wd:Q900000002 rdfs:label "ASEANAPOL"@en ;
    schema:description "an invented person who shares the name"@en ;
    wdt:P31 wd:Q5 .
'''


def _literal(text: str, lang: str) -> str:
    return json.dumps(text, ensure_ascii=False) + "@" + (lang or "en")


def main() -> None:
    from kg import Config, KnowledgeGraph
    from kg.wikidata.linking import entities

    kg = KnowledgeGraph.open(Config.load({}, environ={}))
    snapshot = {row["i"].value.rsplit("/", 1)[1]: row["l"].value for row in kg.query(
        "SELECT ?i ?l { GRAPH fipg:wikidata { ?i rdfs:label ?l } }").solutions}
    blocks = [HEADER]
    for entity in sorted(entities(kg).values(), key=lambda e: e.iri):
        for qid in entity.links:
            label = snapshot.get(qid) or entity.label
            props = [f"rdfs:label {_literal(label, 'en')}"]
            aliases = sorted({(lang, name) for lang, name in entity.names if name != label})
            if aliases:
                props.append("skos:altLabel " + " , ".join(_literal(n, l) for l, n in aliases))
            fits = sorted(P31[c] for c in entity.classes if c in P31)
            if fits:
                props.append(f"wdt:P31 wd:{fits[0]}")
            blocks.append(f"wd:{qid} " + " ;\n    ".join(props) + " .\n")
    blocks.append(PLANTED)
    (HERE / "standin.ttl").write_text("\n".join(blocks), encoding="utf-8")


if __name__ == "__main__":
    main()
