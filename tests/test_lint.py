"""Findings beyond the shapes (kg.validation.lint): likely typos, missing language tags, Wikidata IRIs.

Inside the project's namespaces (fip:, fipid:) an unknown term or an undescribed IRI is a
violation; elsewhere a warning. A property that does not exist, or that is documented for
another class, gets as its hint the property documented for the node's own classes
(kg.validation.documented)."""

from __future__ import annotations

import pytest
from pyoxigraph import NamedNode, Quad, RdfFormat, parse

from kg import Config, KnowledgeGraph
from kg.delta import Delta
from kg.validation.incremental import Checker
from kg.validation.lint import IRI_TYPO, LANGUAGE_TAG, MISPLACED, UNDECLARED_TERM, WIKIDATA_IRI
from kg.namespaces import GRAPHS, PREFIXES

HEADER = "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in PREFIXES.items())


@pytest.fixture(scope="module")
def check():
    store = KnowledgeGraph.open(Config.load({}, environ={})).store
    checker = Checker.bundled()
    user = NamedNode(GRAPHS["user"])

    def run(turtle: str):
        quads = parse((HEADER + turtle).encode(), RdfFormat.TURTLE)
        result = checker.check(store, Delta(added=frozenset(
            Quad(q.subject, q.predicate, q.object, user) for q in quads)))
        return [(str(f.source_shape), f.message, f.severity) for f in result.results]

    return run


@pytest.mark.parametrize("turtle, check_iri, words, severity", [
    ("fipid:ocrvp org:subOrganisationOf fipid:french-national-police .", UNDECLARED_TERM,
     "did you mean org:subOrganizationOf (documented for org:Organization)?", "Warning"),
    ("fipid:ocrvp fip:basdIn fipid:bangkok .", UNDECLARED_TERM,
     "did you mean fip:basedIn (documented for org:Organization)?", "Violation"),
    # an undescribed node: no class to read the documented properties from, the vocabulary
    ("fipid:case-new fip:basdIn fipid:bangkok .", UNDECLARED_TERM, "did you mean fip:basedIn?",
     "Violation"),
    ("fipid:ocrvp a fip:CentralOfice .", UNDECLARED_TERM, "did you mean fip:CentralOffice?",
     "Violation"),
    ('fipid:ocrvp skos:editorialNote "a note without language" .', LANGUAGE_TAG, '"@en', "Warning"),
    ("fipid:ocrvp fip:basedIn <http://w3id.org/fr-indopacific/id/bangkok> .", IRI_TYPO,
     "did you mean fipid:bangkok?", "Warning"),
    ("fipid:ocrvp org:subOrganizationOf fipid:french-national-polise .", IRI_TYPO,
     "did you mean fipid:french-national-police?", "Violation"),
    ("fipid:ocrvp rdfs:seeAlso <https://www.wikidata.org/wiki/Q3347390> .", WIKIDATA_IRI,
     "<http://www.wikidata.org/entity/Q3347390>", "Warning"),
    ("fipid:ocrvp skos:exactMatch <http://www.wikidata.org/entity/P31> .", WIKIDATA_IRI,
     "property or lexeme", "Warning"),
], ids=["typo in a property", "typo in a fip: property", "typo of a node without class",
        "typo in a class", "language tag",
        "IRI outside the base", "dangling project IRI", "Wikidata page URL", "Wikidata property"])
def test_finding(check, turtle, check_iri, words, severity):
    found = check(turtle)
    assert any(source == check_iri and words in message and level == severity
               for source, message, level in found), found


def test_an_untagged_text_is_reported_once(check):
    found = check('fipid:ocrvp rdfs:comment "a comment without language" .')
    assert len(found) == 1 and found[0][2] == "Violation" and "@en" in found[0][1], found


def test_known_terms_and_existing_iris_give_no_warning(check):
    assert check('fipid:ocrvp skos:altLabel "OCRVP" ; rdfs:comment "note"@en ; '
                 "fip:thematicDomain fipid:domain-child-protection ; "
                 "owl:sameAs <http://www.wikidata.org/entity/Q3347390> .") == []


@pytest.mark.parametrize("turtle, check_iri, words", [
    # the nearest terms of the vocabulary are rdf:type and rdfs:domain
    ("fipid:coop-fle-lecturers fip:type fipid:cooptype-training .", UNDECLARED_TERM,
     "did you mean fip:cooperationType (documented for fip:CooperationLink)?"),
    ("fipid:coop-fle-lecturers fip:domain fipid:domain-maritime-security .", UNDECLARED_TERM,
     "did you mean fip:thematicDomain (documented for fip:CooperationLink)?"),
    # a place's property on an office: the domain says place, the office's shapes say unit
    ("fipid:ocrvp fip:partOf fipid:french-national-police .", MISPLACED,
     "fip:partOf is documented for schema:Place (its rdfs:domain), not for prov:Agent, "
     "fip:CentralOffice"),
    ("fipid:ocrvp fip:partOf fipid:french-national-police .", MISPLACED, "org:unitOf"),
], ids=["fip:type", "fip:domain", "a place's property", "what the office's shapes read"])
def test_a_misplaced_property_is_told_the_documented_one(check, turtle, check_iri, words):
    found = [(source, message) for source, message, _ in check(turtle) if source == check_iri]
    assert any(words in message for _, message in found), found
    assert not any("rdf:type" in message or "rdfs:domain?" in message for _, message in found)


def test_a_property_documented_for_the_node_is_not_misplaced(check):
    found = check("fipid:ocrvp org:unitOf fipid:french-national-police ; "
                  "fip:basedIn fipid:bangkok .")
    assert not [f for f in found if f[0] == MISPLACED], found
