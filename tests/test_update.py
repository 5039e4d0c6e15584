"""SPARQL Update as a delta (kg.sparql.update): the same effect as Oxigraph's own update engine,
with this store's dataset (union for reading, the user graph for writing)."""

from __future__ import annotations

import pytest
from pyoxigraph import BlankNode, DefaultGraph, NamedNode, Quad, Store

from kg.delta import Delta, commit
from kg.errors import ForbiddenFeatureError, QueryEvaluationError, QuerySyntaxError, UsageError
from kg.sparql.update import update_delta

E = "http://e/"
USER = "http://e/user"
DATA = ('INSERT DATA { GRAPH <http://e/g> { <http://e/a> <http://e/p> 1, 2 . '
        '<http://e/b> <http://e/p> 3 } GRAPH <http://e/h> { <http://e/a> <http://e/q> <http://e/b> } }')


def _store() -> Store:
    store = Store()
    store.update(DATA)
    return store


def _canonical(store: Store) -> list[str]:
    # blank nodes are fresh on each side: compare them by position only
    return sorted(str(Quad(BlankNode("b") if isinstance(q.subject, BlankNode) else q.subject,
                           q.predicate,
                           BlankNode("b") if isinstance(q.object, BlankNode) else q.object,
                           q.graph_name)) for q in store)


@pytest.mark.parametrize("update", [
    "DELETE { GRAPH <http://e/g> { ?s <http://e/p> ?o } } INSERT { GRAPH <http://e/g> "
    "{ ?s <http://e/r> ?o } } WHERE { GRAPH <http://e/g> { ?s <http://e/p> ?o FILTER(?o > 1) } }",
    "DELETE WHERE { GRAPH <http://e/g> { <http://e/a> ?p ?o } }",
    "CLEAR GRAPH <http://e/g>",
    "COPY GRAPH <http://e/g> TO <http://e/h>",
    "MOVE <http://e/g> TO GRAPH <http://e/h>",
    "ADD <http://e/g> TO <http://e/h>",
    "INSERT { GRAPH <http://e/h> { ?s <http://e/x> [ <http://e/y> ?o ] } } "
    "WHERE { GRAPH ?g { ?s <http://e/p> ?o } }",
    "PREFIX e: <http://e/> INSERT DATA { GRAPH e:g { e:c e:p 'x'@en } } ; DELETE { GRAPH e:g "
    "{ ?s e:p ?o } } WHERE { GRAPH e:g { ?s e:p ?o FILTER(isLiteral(?o) && lang(?o) = 'en') } }",
    "WITH <http://e/g> DELETE { ?s <http://e/p> 1 } WHERE { ?s <http://e/p> 1 }",
    "DROP ALL",
    "DROP NAMED ; INSERT DATA { GRAPH <http://e/k> { <http://e/z> <http://e/p> 9 . } . "
    "GRAPH <http://e/k> { <http://e/z> <http://e/p> 10 } }",
    "CLEAR SILENT GRAPH <http://e/none> ; COPY SILENT <http://e/none> TO <http://e/g>",
], ids=lambda text: text[:40])
def test_same_effect_as_oxigraph_on_named_graphs(update):
    reference = _store()
    reference.update(update)
    ours = _store()
    commit(ours, update_delta(ours, update, write_default=USER))
    assert _canonical(ours) == _canonical(reference)


def test_nothing_is_written_while_the_delta_is_computed():
    store = _store()
    before = store.dump(format=__import__("pyoxigraph").RdfFormat.N_QUADS)
    delta = update_delta(store, "DROP ALL ; INSERT DATA { <http://e/n> <http://e/p> 1 }",
                         write_default=USER)
    assert len(delta.removed) == 4 and len(delta.added) == 1
    assert store.dump(format=__import__("pyoxigraph").RdfFormat.N_QUADS) == before


def test_insert_data_into_the_default_graph_goes_to_the_user_graph():
    # rdflib 7.6's Dataset.update raises ValueError here; the delta path does not
    delta = update_delta(Store(), 'INSERT DATA { <http://e/a> <http://e/p> "x" }',
                         write_default=USER)
    assert [q.graph_name for q in delta.added] == [NamedNode(USER)]


def test_where_reads_the_union_and_templates_write_the_user_graph():
    delta = update_delta(_store(), "INSERT { ?s <http://e/seen> true } WHERE { ?s <http://e/q> ?o }",
                         write_default=USER)
    assert {(q.subject.value, q.graph_name.value) for q in delta.added} == {(E + "a", USER)}


def test_delete_without_graph_deletes_from_the_user_graph_only():
    store = _store()
    store.add(Quad(NamedNode(E + "a"), NamedNode(E + "p"), NamedNode(E + "u"), NamedNode(USER)))
    delta = update_delta(store, "DELETE WHERE { <http://e/a> <http://e/p> ?o }", write_default=USER)
    assert {q.graph_name.value for q in delta.removed} == {USER}


def test_a_later_operation_sees_the_earlier_ones():
    store = _store()
    delta = update_delta(store, "INSERT DATA { GRAPH <http://e/g> { <http://e/c> <http://e/p> 7 } } ; "
                         "DELETE { GRAPH <http://e/g> { ?s ?p 7 } } INSERT { GRAPH <http://e/g> "
                         "{ ?s ?p 8 } } WHERE { GRAPH <http://e/g> { ?s ?p 7 } }", write_default=USER)
    assert {q.object.value for q in delta.added} == {"8"} and not delta.removed


def test_blank_nodes_of_the_store_are_deleted_by_identity():
    store = Store()
    node = BlankNode("q1")
    store.add(Quad(NamedNode(E + "a"), NamedNode(E + "qty"), node, NamedNode(USER)))
    store.add(Quad(node, NamedNode(E + "value"), __import__("pyoxigraph").Literal("3"),
                   NamedNode(USER)))
    delta = update_delta(store, "DELETE WHERE { <http://e/a> <http://e/qty> ?q . ?q ?p ?o }",
                         write_default=USER)
    assert len(delta.removed) == 2 and node in {q.object for q in delta.removed}
    commit(store, delta)
    assert len(store) == 0


def test_syntax_errors_keep_their_position():
    with pytest.raises(QuerySyntaxError) as caught:
        update_delta(Store(), "INSERT DATA {\n  <http://e/a> <http://e/p> \n}", write_default=USER)
    assert caught.value.line == 3


def test_load_needs_a_loader_and_is_not_fetched_by_the_syntax_check():
    with pytest.raises(ForbiddenFeatureError):
        update_delta(Store(), "LOAD <http://127.0.0.1:9/x.ttl>", write_default=USER)
    fetched = []
    delta = update_delta(Store(), "LOAD <http://h/x.ttl> INTO GRAPH <http://e/g>",
                         write_default=USER,
                         loader=lambda iri, silent: fetched.append(iri) or [
                             Quad(NamedNode(E + "s"), NamedNode(E + "p"), NamedNode(E + "o"))])
    assert fetched == ["http://h/x.ttl"]
    assert [q.graph_name.value for q in delta.added] == [E + "g"]


def test_clearing_a_missing_graph_is_an_error_unless_silent():
    with pytest.raises(QueryEvaluationError):
        update_delta(_store(), "CLEAR GRAPH <http://e/none>", write_default=USER)
    assert not update_delta(_store(), "DROP SILENT GRAPH <http://e/none>", write_default=USER)


def test_protocol_dataset_conflicts_with_using_and_with():
    with pytest.raises(UsageError):
        update_delta(_store(), "WITH <http://e/g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
                     write_default=USER, using_named_graphs=["http://e/h"])


def test_all_and_named_keep_the_servers_graphs():
    store = _store()
    store.add(Quad(NamedNode(E + "c"), NamedNode(E + "p"), NamedNode(E + "o"), NamedNode(E + "log")))
    delta = update_delta(store, "DROP ALL", write_default=USER, keep=frozenset({E + "log"}))
    assert E + "log" not in {q.graph_name.value for q in delta.removed}
    assert not [q for q in delta.removed if isinstance(q.graph_name, DefaultGraph)]


def test_delta_composition_cancels_out():
    quad = Quad(NamedNode(E + "a"), NamedNode(E + "p"), NamedNode(E + "b"))
    assert not Delta(added=frozenset({quad})).then(Delta(removed=frozenset({quad})))
