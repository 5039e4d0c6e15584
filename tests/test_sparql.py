"""SPARQL execution: Oxigraph's engine, prefixes, errors with positions, result formats."""

from __future__ import annotations

import json

import pyoxigraph
import pytest

from kg.errors import QueryEvaluationError, QuerySyntaxError, UsageError
from kg.sparql.formats import CSV, JSON, NTRIPLES, TABLE, TSV, TURTLE, XML
from kg.sparql.formats import ResultKind


def test_select_runs_in_oxigraphs_engine(bundled):
    result = bundled.query("SELECT ?s WHERE { ?s a owl:Ontology }")
    assert isinstance(result.raw, pyoxigraph.QuerySolutions)
    # a SPARQL 1.2 built-in that rdflib's engine lacks: evaluated here, so Oxigraph answered
    ask = bundled.query('ASK { FILTER(isTRIPLE(<<( <http://e/a> <http://e/b> "c" )>>)) }')
    assert ask.boolean is True


def test_predeclared_prefixes_resolve(bundled):
    result = bundled.query("SELECT ?o WHERE { ?o a owl:Ontology ; owl:versionInfo ?version }")
    assert [row["o"].value for row in result.solutions] == ["https://w3id.org/fr-indopacific/ontology"]


def test_syntax_error_keeps_the_position(empty):
    with pytest.raises(QuerySyntaxError) as error:
        empty.query("SELECT * WHERE {\n  ?s ?p ?o\n  FILTER(}")
    assert error.value.line == 3 and error.value.column in (10, 11)  # at or just past "}"
    assert "3:" in str(error.value)


def test_unknown_function_is_an_evaluation_error(empty):
    with pytest.raises(QueryEvaluationError, match="http://e/f"):
        empty.query("SELECT * WHERE { BIND(<http://e/f>(1) AS ?x) }").serialize(JSON)


@pytest.mark.parametrize("fmt", [JSON, XML, CSV, TSV, TABLE])
def test_select_serialises_in_each_results_format(bundled, fmt):
    result = bundled.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    body = result.serialize(fmt).decode()
    assert "https://w3id.org/fr-indopacific/graph/ontology" in body or "fipg:ontology" in body


def test_json_results_are_standard(bundled):
    body = json.loads(bundled.query("ASK { ?s a owl:Ontology }").serialize(JSON))
    assert body == {"head": {}, "boolean": True}


def test_construct_writes_rdf_with_prefixes(bundled):
    result = bundled.query("CONSTRUCT { ?o a owl:Ontology } WHERE { ?o a owl:Ontology }")
    assert result.kind is ResultKind.GRAPH
    assert b"owl:Ontology" in result.serialize(TURTLE)


def test_construct_cannot_be_written_as_results(bundled):
    with pytest.raises(UsageError):
        bundled.query("CONSTRUCT WHERE { ?s a owl:Ontology }").serialize(JSON)
    with pytest.raises(UsageError):
        bundled.query("SELECT * WHERE { ?s a owl:Ontology }").serialize(NTRIPLES)


def test_table_uses_prefixed_names_and_counts_rows(bundled):
    text = bundled.query("SELECT ?o WHERE { ?o a owl:Ontology ; owl:versionInfo ?version }").serialize(TABLE).decode()
    assert "<https://w3id.org/fr-indopacific/ontology>" in text
    assert text.rstrip().endswith("(1 row)")


def test_update_and_query_in_the_default_graph(empty):
    empty.update('INSERT DATA { <http://e/a> rdfs:label "a"@en }')
    assert empty.query('ASK { <http://e/a> rdfs:label "a"@en }').boolean


DATASET = """INSERT DATA { GRAPH <http://e/g1> { <http://e/a> <http://e/p> 1 }
                           GRAPH <http://e/g2> { <http://e/a> <http://e/p> 2 } }"""


def values(result, name="o"):
    return sorted(row[name].value for row in result.solutions)


def test_default_graph_is_the_union(empty):
    empty.update(DATASET)
    assert values(empty.query("SELECT ?o { ?s ?p ?o }")) == ["1", "2"]


def test_from_in_the_query_is_honoured(empty):
    empty.update(DATASET)
    assert values(empty.query("SELECT ?o FROM <http://e/g1> { ?s ?p ?o }")) == ["1"]
    named = empty.query("SELECT ?g FROM NAMED <http://e/g2> { GRAPH ?g { ?s ?p ?o } }")
    assert values(named, "g") == ["http://e/g2"]


def test_the_word_from_in_a_string_is_not_a_dataset_clause(empty):
    empty.update(DATASET)
    assert values(empty.query('SELECT ?o { ?s ?p ?o FILTER(?o != "FROM <x>") }')) == ["1", "2"]


def test_protocol_dataset_overrides_from(empty):
    empty.update(DATASET)
    result = empty.query("SELECT ?o FROM <http://e/g1> { ?s ?p ?o }", default_graphs=["http://e/g2"])
    assert values(result) == ["2"]


def test_default_graph_uri_alone_leaves_no_named_graph(empty):
    empty.update(DATASET)
    result = empty.query("SELECT ?g { GRAPH ?g { ?s ?p ?o } }", default_graphs=["http://e/g1"])
    assert values(result, "g") == []
