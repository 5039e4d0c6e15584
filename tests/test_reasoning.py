"""The inferred graph: the rules against owlrl, incremental maintenance against a full
recomputation through the core API (``KnowledgeGraph.load`` and ``.update``), what is left
out on purpose (owl:sameAs), and the asserted-only dataset."""

from __future__ import annotations

import random

import pytest
from pyoxigraph import BlankNode, DefaultGraph, NamedNode, Quad, Triple

from kg import Config, KnowledgeGraph, Source, reasoning
from kg.errors import UsageError
from kg.namespaces import GRAPHS, PREFIXES
from owlrl_reference import entailments, rdflib_graph

INFERRED = NamedNode(reasoning.INFERRED)
PREFIX = "".join(f"PREFIX {name}: <{iri}>\n" for name, iri in PREFIXES.items())
EX = "http://example.org/"


def inferred(kg: KnowledgeGraph) -> set[Triple]:
    return {quad.triple for quad in kg.store.quads_for_pattern(None, None, None, INFERRED)}


def assert_up_to_date(kg: KnowledgeGraph) -> None:
    """The maintained inferred graph is exactly what a full recomputation gives."""
    full = reasoning.closure(kg.store)
    kept = inferred(kg)
    assert kept == full, (f"missing {sorted(map(str, full - kept))[:5]}, "
                          f"stale {sorted(map(str, kept - full))[:5]}")


@pytest.fixture
def kg() -> KnowledgeGraph:
    """A fresh in-memory graph of the bundled files (tests here write to it)."""
    return KnowledgeGraph.open(Config.load({}, environ={}))


@pytest.mark.slow
def test_bundled_closure_is_owlrl_s(bundled):
    """Our rules give what owlrl (the OWL 2 RL reference for rdflib) gives with the same
    rule groups, triple for triple."""
    ours = set(rdflib_graph(bundled.store, lambda graph: graph == INFERRED))
    assert ours == entailments(bundled.store)
    assert len(ours) > 1000


def test_the_two_reasoners_agree_on_every_rule():
    """reasonable (full runs) and owlrl (writes) give the same triples for each rule kept,
    blank nodes and literals included, and neither applies owl:sameAs."""
    from pyoxigraph import Literal, RdfFormat, parse

    from kg.reasoning.reasoner import entail, entail_in_bulk
    triples = {quad.triple for quad in parse(f"""{PREFIX}
        @prefix ex: <{EX}> .
        ex:near a owl:SymmetricProperty ; rdfs:domain ex:Place .
        ex:within a owl:TransitiveProperty ; rdfs:range ex:Place ; owl:inverseOf ex:contains .
        ex:inside rdfs:subPropertyOf ex:within ; owl:equivalentProperty ex:in .
        ex:Place owl:equivalentClass schema:Place ; rdfs:subClassOf ex:Thing .
        ex:City rdfs:subClassOf ex:Place .
        ex:a ex:in ex:b . ex:b ex:inside ex:c . ex:c ex:within [ ex:near ex:d ] .
        ex:e a ex:City ; ex:near "a literal"@fr ; owl:sameAs ex:f .
        ex:f a schema:Place .""".encode(), RdfFormat.TURTLE)}
    bulk, small = entail_in_bulk(triples), entail(triples)
    assert bulk == small
    assert not any(t.predicate.value.endswith("sameAs") or isinstance(t.subject, Literal)
                   for t in bulk)
    assert len(bulk) > 30


def test_the_entailments_the_questions_need_are_there(bundled):
    def ask(text: str) -> bool:
        return bundled.query(text).boolean

    # subclass (cax-sco), transitive (prp-trp, through prp-spo1), inverse (prp-inv)
    assert ask("ASK { GRAPH fipg:inferred { fipid:ssi-singapore a org:Organization } }")
    assert ask("ASK { GRAPH fipg:inferred { fipid:oclaesp-papeete "
               "org:transitiveSubOrganizationOf fipid:french-gendarmerie } }")
    assert ask("ASK { GRAPH fipg:inferred { fipid:dcsd fip:provides fipid:gps-project } }")
    # the inferred graph holds nothing that is asserted
    assert not ask("ASK { GRAPH fipg:inferred { ?s ?p ?o } GRAPH ?g { ?s ?p ?o } "
                   "FILTER(?g != fipg:inferred) }")


def test_same_as_is_not_smushed(kg):
    kg.load([Source("links.ttl", f"""{PREFIX}
        fipid:dcsd owl:sameAs wd:Q3029516 .
        wd:Q3029516 rdfs:label "Direction de la coopération de sécurité et de défense"@fr ;
            wdt:P31 wd:Q327333 .""".encode())])
    wikidata = NamedNode(PREFIXES["wd"] + "Q3029516")
    # nothing is copied from one IRI to the other, and sameAs is not made symmetric
    assert not any(kg.store.quads_for_pattern(wikidata, None, None, INFERRED))
    assert not any(kg.store.quads_for_pattern(None, None, wikidata, INFERRED))
    assert not any(kg.store.quads_for_pattern(
        NamedNode(PREFIXES["fipid"] + "dcsd"), NamedNode(PREFIXES["wdt"] + "P31"), None))
    assert not any(kg.store.quads_for_pattern(
        None, NamedNode(PREFIXES["owl"] + "sameAs"), None, INFERRED))


#: A sequence of writes through the core API; after each one the inferred graph must be
#: what a full recomputation gives. It exercises every rule, schema changes, chains built
#: and cut in the middle, triples asserted twice, and asserted triples that also follow.
WRITES = [
    ("load", f"""{PREFIX}
        fipid:x-unit a fip:Detachment ; org:unitOf fipid:oclaesp-papeete ;
            fip:basedIn fipid:papeete .
        fipid:x-sub org:unitOf fipid:x-unit ."""),
    ("update", "INSERT DATA { GRAPH fipg:user { fipid:papeete fip:partOf fipid:tahiti } }"),
    ("update", "DELETE DATA { GRAPH fipg:factsheet { fipid:oclaesp-papeete org:unitOf "
               "fipid:oclaesp } }"),
    ("update", "DELETE DATA { GRAPH fipg:factsheet { fipid:oclaesp org:hasUnit "
               "fipid:oclaesp-papeete } }"),
    ("load", f"""{PREFIX}
        <{EX}near> a owl:SymmetricProperty ; rdfs:domain <{EX}Place> .
        <{EX}Place> owl:equivalentClass schema:Place ; rdfs:subClassOf <{EX}Thing> .
        <{EX}within> owl:equivalentProperty fip:partOf .
        fipid:papeete <{EX}near> fipid:tahiti .
        <{EX}atoll> <{EX}within> fipid:french-polynesia ."""),
    ("update", "INSERT DATA { GRAPH fipg:user { fipid:oclaesp-papeete org:unitOf "
               "fipid:oclaesp } }"),
    ("update", f"DELETE WHERE {{ GRAPH fipg:user {{ <{EX}Place> owl:equivalentClass ?c }} }}"),
    ("update", "INSERT DATA { GRAPH fipg:user { fip:Detachment rdfs:subClassOf "
               "fip:SecurityForce } }"),
    ("update", "INSERT DATA { GRAPH fipg:user { fipid:dcsd a org:Organization } }"),
    ("update", "DELETE DATA { GRAPH fipg:user { fipid:dcsd a org:Organization } }"),
    ("update", "DELETE DATA { GRAPH fipg:ontology { fip:partOf a owl:TransitiveProperty } }"),
    ("update", "DELETE WHERE { GRAPH fipg:user { fipid:x-sub ?p ?o } }"),
    ("update", "INSERT DATA { GRAPH fipg:user { fip:partOf a owl:TransitiveProperty . "
               "fipid:papeete fip:partOf fipid:french-polynesia } }"),
    ("update", "DELETE DATA { GRAPH fipg:user { fipid:papeete fip:partOf fipid:french-polynesia"
               " } }"),
    ("update", "CLEAR GRAPH fipg:user"),
]


@pytest.mark.slow
def test_incremental_equals_full_after_inserts_and_deletes(kg):
    for kind, text in WRITES:
        if kind == "load":
            kg.load([Source("write.ttl", text.encode())])
        else:
            kg.update(text)
        assert_up_to_date(kg)
    # and the end state is still owlrl's
    assert set(rdflib_graph(kg.store, lambda graph: graph == INFERRED)) == entailments(kg.store)


def test_a_removed_triple_that_still_follows_becomes_inferred(kg):
    papeete_in_france = Triple(NamedNode(PREFIXES["fipid"] + "papeete"),
                               NamedNode(PREFIXES["fip"] + "partOf"),
                               NamedNode(PREFIXES["fipid"] + "france"))
    kg.update("INSERT DATA { GRAPH fipg:user { fipid:papeete fip:partOf fipid:france } }")
    assert papeete_in_france not in inferred(kg)  # asserted now
    kg.update("DELETE DATA { GRAPH fipg:user { fipid:papeete fip:partOf fipid:france } }")
    assert papeete_in_france in inferred(kg)  # still follows through French Polynesia
    assert_up_to_date(kg)


def test_a_triple_asserted_in_two_graphs_is_kept_until_both_go(kg):
    kg.update("INSERT DATA { GRAPH fipg:user { fipid:ocrvp a fip:Network } }")
    kg.update("INSERT DATA { GRAPH <http://example.org/g> { fipid:ocrvp a fip:Network } }")
    kg.update("DELETE DATA { GRAPH fipg:user { fipid:ocrvp a fip:Network } }")
    assert_up_to_date(kg)
    assert kg.query("ASK { fipid:ocrvp a fip:Network }").boolean


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_random_deletes_and_reinserts_match_a_full_run(kg, seed):
    """Random batches of asserted quads (schema included) removed and put back; a mirror
    of the store kept by applying the reported changes stays equal to it."""
    rng = random.Random(seed)
    asserted = [quad for quad in kg.store if reasoning.is_asserted_graph(quad.graph_name)]
    mirror = set(kg.store)
    for _ in range(6):
        batch = rng.sample(asserted, rng.randint(1, 30))
        for quad in batch:
            kg.store.remove(quad)
        outcome = reasoning.update(kg, removed=batch)
        assert_up_to_date(kg)
        mirror = (mirror - set(batch) - set(outcome.removed_quads)) | set(outcome.added_quads)
        kg.store.extend(batch)
        outcome = reasoning.update(kg, added=batch)
        assert_up_to_date(kg)
        mirror = (mirror | set(batch) | set(outcome.added_quads)) - set(outcome.removed_quads)
        assert mirror == set(kg.store)


def test_blank_nodes_fall_back_to_a_full_run(kg):
    node = BlankNode()
    quads = [Quad(node, NamedNode(PREFIXES["rdf"] + "type"), NamedNode(PREFIXES["fip"] + "Embassy"),
                  NamedNode(GRAPHS["user"])),
             Quad(node, NamedNode(PREFIXES["fip"] + "partOf"), NamedNode(PREFIXES["fipid"] + "papeete"),
                  NamedNode(GRAPHS["user"]))]
    kg.store.extend(quads)
    reasoning.update(kg, added=quads)
    assert_up_to_date(kg)
    assert Triple(node, NamedNode(PREFIXES["rdf"] + "type"),
                  NamedNode(PREFIXES["org"] + "Organization")) in inferred(kg)
    for quad in quads:
        kg.store.remove(quad)
    reasoning.update(kg, removed=quads)
    assert_up_to_date(kg)


def test_a_loaded_file_with_blank_nodes_is_followed(kg):
    """The store names loaded blank nodes anew; the inferred graph must speak of those."""
    kg.load([Source("b.ttl", f"{PREFIX} fipid:papeete fip:partOf [ a fip:Island ; "
                             f"fip:partOf fipid:french-polynesia ] .".encode())])
    assert_up_to_date(kg)
    assert kg.query("ASK { fipid:papeete fip:partOf ?b . ?b a schema:Place . "
                    "FILTER(isBlank(?b)) }").boolean


def test_recompute_repairs_and_reports_the_difference(kg):
    wrong = Quad(NamedNode(EX + "a"), NamedNode(EX + "p"), NamedNode(EX + "b"), INFERRED)
    kg.store.add(wrong)
    outcome = reasoning.recompute(kg)
    assert (outcome.added, outcome.removed) == (0, 1)
    assert wrong not in kg.store
    assert reasoning.recompute(kg).removed == 0


def test_the_inferred_graph_cannot_be_loaded_into(kg):
    with pytest.raises(UsageError, match="computed by the reasoner"):
        kg.load([Source("x.ttl", b"<http://e/a> <http://e/b> <http://e/c> .")],
                graph=reasoning.INFERRED)


def test_apply_writes_a_known_change_and_follows_it(kg):
    """The write path's hook: a delta of quads in, the inferred graph right after."""
    user = NamedNode(GRAPHS["user"])
    office = NamedNode(PREFIXES["fipid"] + "x-office")
    typed = Quad(office, NamedNode(PREFIXES["rdf"] + "type"),
                 NamedNode(PREFIXES["fip"] + "CentralOffice"), user)
    outcome = kg.apply(added=[typed])
    assert outcome.added > 0 and typed in kg.store
    assert_up_to_date(kg)
    kg.apply(removed=[typed])
    assert typed not in kg.store and not any(kg.store.quads_for_pattern(office, None, None))
    with pytest.raises(UsageError, match="computed by the reasoner"):
        kg.apply(added=[Quad(office, typed.predicate, typed.object, INFERRED)])


def test_an_update_of_the_inferred_graph_is_undone(kg):
    kg.update("DELETE WHERE { GRAPH fipg:inferred { fipid:ssi-singapore ?p ?o } } ; "
              "INSERT DATA { GRAPH fipg:inferred { fipid:dcsd a fip:Network } }")
    assert_up_to_date(kg)
    assert kg.query("ASK { fipid:ssi-singapore a org:Organization }").boolean


def test_a_reloaded_dump_skips_the_inferred_quads(empty):
    quad = f"<{EX}a> <{EX}b> <{EX}c> <{reasoning.INFERRED}> .\n"
    assert empty.load([Source("dump.nq", quad.encode())]) == 0
    assert reasoning.inferred_count(empty.store) == 0


def test_asserted_only_queries(bundled):
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"

    def number(**options) -> int:
        return int(next(iter(bundled.query(count, **options).solutions))["n"].value)

    inferred_triples = reasoning.inferred_count(bundled.store)
    assert number() - number(inference=False) == inferred_triples
    graphs = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    seen = {row["g"].value for row in bundled.query(graphs, inference=False).solutions}
    assert reasoning.INFERRED not in seen and GRAPHS["factsheet"] in seen
    # a dataset the query or the request names is used as given
    named = f"SELECT (COUNT(*) AS ?n) FROM <{reasoning.INFERRED}> WHERE {{ ?s ?p ?o }}"
    assert int(next(iter(bundled.query(named, inference=False).solutions))["n"].value) \
        == inferred_triples
    assert number(inference=False, default_graphs=[reasoning.INFERRED]) == inferred_triples


def test_asserted_graphs_include_the_default_graph(empty):
    empty.store.add(Quad(NamedNode(EX + "a"), NamedNode(EX + "b"), NamedNode(EX + "c")))
    assert reasoning.asserted_graphs(empty.store) == [DefaultGraph()]
    assert empty.query("ASK { ?s ?p ?o }", inference=False).boolean


def test_a_store_on_disk_keeps_its_inferred_graph(tmp_path):
    config = Config.load({"data_dir": str(tmp_path / "store")}, environ={})
    first = KnowledgeGraph.open(config)
    first.load([Source("x.ttl", f"{PREFIX} fipid:x-office a fip:CentralOffice .".encode())])
    count = reasoning.inferred_count(first.store)
    first.store.remove_graph(INFERRED)  # as if written before reasoning existed
    first.store.flush()
    del first
    second = KnowledgeGraph.open(config)
    assert reasoning.inferred_count(second.store) == count  # recomputed at start
    assert reasoning.ensure(second) is None  # and kept, not recomputed, next time
