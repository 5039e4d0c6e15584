"""The store: bundled graphs, atomic loads, export round trips, persistence."""

from __future__ import annotations

import io

import pyoxigraph
import pytest

from kg import Config, KnowledgeGraph, Source
from kg.errors import InputSyntaxError, UnreadableInputError, UsageError
from kg.sparql.formats import NQUADS, TRIG, TURTLE
from kg.namespaces import GRAPHS

GOOD = b"@prefix ex: <http://example.org/> .\nex:a ex:p ex:b .\nex:b ex:p _:x .\n"
BAD_LINE_7 = b"@prefix ex: <http://example.org/> .\n" + b"ex:s ex:p ex:o .\n" * 5 + b"ex:s ex:p \"open .\n"


def canonical(quads) -> pyoxigraph.Dataset:
    dataset = pyoxigraph.Dataset(quads)
    dataset.canonicalize(pyoxigraph.CanonicalizationAlgorithm.UNSTABLE)
    return dataset


def test_bundled_sources_land_in_their_own_graphs(bundled):
    names = bundled.graph_names()
    assert GRAPHS["ontology"] in names
    assert GRAPHS["factsheet"] in names
    stats = bundled.stats()
    assert stats.graphs[GRAPHS["ontology"]] > 0 and stats.graphs[GRAPHS["factsheet"]] > 0
    assert stats.default_graph == 0


def test_union_default_graph_sees_every_graph(bundled):
    total = bundled.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    assert int(next(iter(total.solutions))["n"].value) == len(bundled)


def test_default_graphs_restrict_the_query(bundled):
    only_ontology = bundled.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
                                  default_graphs=[GRAPHS["ontology"]])
    assert int(next(iter(only_ontology.solutions))["n"].value) == bundled.stats().graphs[
        GRAPHS["ontology"]]


def test_load_puts_triples_in_the_user_graph(empty):
    assert empty.load([Source("a.ttl", GOOD)]) == 2
    assert empty.graph_names() == [GRAPHS["user"]]


def test_load_named_graph_and_quads_keep_their_graph(empty):
    empty.load([Source("a.ttl", GOOD)], graph="http://example.org/g")
    empty.load([Source("b.nq", b'<http://e/s> <http://e/p> "o" <http://e/h> .\n')])
    assert empty.graph_names() == ["http://e/h", "http://example.org/g"]


def test_syntax_error_keeps_line_and_loads_nothing(empty):
    empty.load([Source("first.ttl", GOOD)])
    before = canonical(empty.store)
    with pytest.raises(InputSyntaxError) as error:
        empty.load([Source("ok.ttl", GOOD), Source("bad.ttl", BAD_LINE_7)])
    assert error.value.source == "bad.ttl" and error.value.line == 7
    assert str(error.value).startswith("bad.ttl:7:")
    assert canonical(empty.store) == before


@pytest.mark.parametrize("name, data", [
    ("bad.nt", b"<http://e/a> <http://e/b> .\n"),
    ("bad.jsonld", b'{"@id": 3 '),
    ("bad.rdf", b"<rdf:RDF>"),
    ("latin1.ttl", b'<http://e/a> <http://e/b> "caf\xe9" .'),
])
def test_every_format_reports_bad_input(empty, name, data):
    with pytest.raises(InputSyntaxError) as error:
        empty.load([Source(name, data)])
    assert str(error.value).startswith(name)
    assert len(empty) == 0


def test_unknown_extension_and_missing_file(empty, tmp_path):
    with pytest.raises(UsageError, match="--format"):
        empty.load([Source("data.unknown", GOOD)])
    with pytest.raises(UnreadableInputError, match="missing.ttl"):
        empty.load([Source(str(tmp_path / "missing.ttl"))])


def test_blank_nodes_of_separate_files_stay_distinct(empty):
    empty.load([Source("a.ttl", b'_:b <http://e/p> "1" .'), Source("b.ttl", b'_:b <http://e/p> "2" .')])
    subjects = {quad.subject for quad in empty.store}
    assert len(subjects) == 2


@pytest.mark.parametrize("fmt", [NQUADS, TRIG])
def test_export_then_load_is_isomorphic(bundled, empty, fmt):
    buffer = io.BytesIO()
    bundled.export(buffer, fmt)
    empty.load([Source(f"dump.{'nq' if fmt is NQUADS else 'trig'}", buffer.getvalue())])
    assert canonical(empty.store) == canonical(bundled.store)


def test_export_one_graph_as_turtle(bundled, empty):
    buffer = io.BytesIO()
    bundled.export(buffer, TURTLE, graph=GRAPHS["ontology"])
    empty.load([Source("ontology.ttl", buffer.getvalue())], graph=GRAPHS["ontology"])
    graph = pyoxigraph.NamedNode(GRAPHS["ontology"])
    ontology = bundled.store.quads_for_pattern(None, None, None, graph)
    # the load also inferred what the ontology entails, in the inferred graph
    assert canonical(empty.store.quads_for_pattern(None, None, None, graph)) == canonical(ontology)


def test_export_refuses_a_dataset_as_turtle(bundled):
    with pytest.raises(UsageError, match="--graph"):
        bundled.export(io.BytesIO(), TURTLE)


def test_on_disk_store_is_reused_without_reload(tmp_path, caplog):
    config = Config.load({"data_dir": str(tmp_path / "store")}, environ={})
    first = KnowledgeGraph.open(config)
    first.load([Source("extra.ttl", GOOD)])
    counts = first.stats()
    del first  # releases the store's lock
    with caplog.at_level("INFO", logger="kg"):
        second = KnowledgeGraph.open(config)
    assert "not reloaded" in caplog.text
    assert second.stats() == counts


def test_rdflib_view_shares_the_store(bundled):
    dataset = bundled.rdflib_dataset()
    assert len(dataset) == len(bundled)


# -- large loads into an on-disk store: Oxigraph's bulk loader, still all or nothing ------

def _on_disk(tmp_path) -> KnowledgeGraph:
    kg = KnowledgeGraph.open(Config.load({"data_dir": str(tmp_path / "store")}, environ={}),
                             load_bundled=False)
    kg.bulk_load_bytes = 0  # every file counts as large
    return kg


def _write(path, lines: list[str]) -> str:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


RDFS = "http://www.w3.org/2000/01/rdf-schema#"


def test_bulk_load_stores_the_files_and_infers(tmp_path):
    kg = _on_disk(tmp_path)
    ontology = [f"<http://e/C{i}> <{RDFS}subClassOf> <http://e/D> <{GRAPHS['ontology']}> ."
                for i in range(3)]
    data = [f"<http://e/x{i}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
            f"<http://e/C{i % 3}> ." for i in range(50)]
    added = kg.load([Source(_write(tmp_path / "o.nq", ontology)),
                     Source(_write(tmp_path / "d.nt", data))])
    assert added >= 53
    assert kg.query("ASK { GRAPH fipg:user { <http://e/x7> a <http://e/C1> } }").boolean
    # the reasoner ran: x7 is a D, in the inferred graph
    assert kg.query("ASK { GRAPH fipg:inferred { <http://e/x7> a <http://e/D> } }").boolean


@pytest.mark.parametrize("bad", ["first", "last"])
def test_bulk_load_with_a_syntax_error_stores_nothing(tmp_path, bad):
    kg = _on_disk(tmp_path)
    kg.load([Source("seed.ttl", b"<http://e/seed> <http://e/p> 1 .")])
    before = kg.store.dump(format=pyoxigraph.RdfFormat.N_QUADS)
    good = _write(tmp_path / "good.nt",
                  [f'<http://e/s{i}> <http://e/p> "{i}" .' for i in range(2000)])
    broken = _write(tmp_path / "broken.nt",
                    [f'<http://e/b{i}> <http://e/p> "{i}" .' for i in range(2000)]
                    + ["<http://e/b> <http://e/p> oops ."])
    files = [broken, good] if bad == "first" else [good, broken]
    with pytest.raises(InputSyntaxError) as error:
        kg.load([Source(name) for name in files])
    assert error.value.source == broken and error.value.line == 2001
    assert kg.store.dump(format=pyoxigraph.RdfFormat.N_QUADS) == before
    with pytest.raises(InputSyntaxError):  # one file alone: the loader itself refuses it
        kg.load([Source(broken)])
    assert kg.store.dump(format=pyoxigraph.RdfFormat.N_QUADS) == before


def test_bulk_reload_of_a_dump_keeps_the_inferred_graph_right(tmp_path, bundled):
    dump = tmp_path / "dump.nq"
    with open(dump, "wb") as out:
        bundled.export(out, NQUADS)
    kg = _on_disk(tmp_path)
    kg.load([Source(str(dump))])
    assert len(kg) == len(bundled)
    inferred = pyoxigraph.NamedNode(GRAPHS["inferred"])
    assert set(kg.store.quads_for_pattern(None, None, None, inferred)) == set(
        bundled.store.quads_for_pattern(None, None, None, inferred))
