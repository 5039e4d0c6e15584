"""Findings beyond the shapes (kg.validation.lint): likely typos, missing language tags, Wikidata IRIs.

Inside the project's namespaces (fip:, fipid:) an unknown term or an undescribed IRI is a
violation; elsewhere a warning."""

from __future__ import annotations

import pytest
from pyoxigraph import NamedNode, Quad, RdfFormat, parse

from kg import Config, KnowledgeGraph
from kg.delta import Delta
from kg.validation.incremental import Checker
from kg.validation.lint import IRI_TYPO, LANGUAGE_TAG, UNDECLARED_TERM, WIKIDATA_IRI
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
     "did you mean org:subOrganizationOf?", "Warning"),
    ("fipid:ocrvp fip:basdIn fipid:bangkok .", UNDECLARED_TERM, "did you mean fip:basedIn?",
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
], ids=["typo in a property", "typo in a fip: property", "typo in a class", "language tag",
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
                 "org:subOrganizationOf fipid:french-national-police ; "
                 "owl:sameAs <http://www.wikidata.org/entity/Q3347390> .") == []
