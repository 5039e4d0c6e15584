"""The ``kg`` command through a real subprocess: output, exit codes, persistence."""

from __future__ import annotations

import json

import pyoxigraph
import pytest

from kg.namespaces import GRAPHS, PREFIXES

pytestmark = pytest.mark.slow  # a `kg` process per test

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
BAD_LINE_7 = "@prefix ex: <http://example.org/> .\n" + "ex:s ex:p ex:o .\n" * 5 + "ex:s ex:p \"open .\n"


def count(run_kg, *options, query: str = COUNT) -> int:
    done = run_kg(*options, "query", "--format", "json", query)
    assert done.returncode == 0, done.stderr
    return int(json.loads(done.stdout)["results"]["bindings"][0]["n"]["value"])


def test_query_counts_the_bundled_triples(run_kg):
    assert count(run_kg) > 0


@pytest.mark.parametrize("fmt, marker", [
    ("table", b"?n"), ("json", b'{"head":{"vars":["n"]}'), ("xml", b"<?xml"),
    ("csv", b"n\r\n"), ("tsv", b"?n\n"),
])
def test_query_formats(run_kg, fmt, marker):
    done = run_kg("query", "--format", fmt, COUNT)
    assert done.returncode == 0 and done.stdout.startswith(marker), done.stderr


def test_construct_defaults_to_turtle(run_kg):
    done = run_kg("query", "CONSTRUCT WHERE { ?o a owl:Ontology }")
    assert done.returncode == 0 and b"owl:Ontology" in done.stdout


def test_query_from_file(run_kg, tmp_path):
    (tmp_path / "q.rq").write_text("ASK { ?s a owl:Ontology }")
    done = run_kg("query", "--format", "json", "-f", "q.rq")
    assert json.loads(done.stdout)["boolean"] is True


def test_query_syntax_error_is_one_line_and_exit_1(run_kg):
    done = run_kg("query", "SELECT * WHERE { ?s ?p }")
    assert done.returncode == 1
    assert done.stderr.decode().strip().splitlines()[-1].startswith("kg: error: SPARQL syntax error")
    assert b"Traceback" not in done.stderr


def test_debug_shows_the_traceback(run_kg):
    done = run_kg("--debug", "query", "SELECT * WHERE { ?s ?p }")
    assert done.returncode == 1 and b"Traceback" in done.stderr


def test_wrong_format_for_the_result_kind_is_usage(run_kg):
    done = run_kg("query", "--format", "turtle", COUNT)
    assert done.returncode == 2 and b"cannot hold a solutions result" in done.stderr


def test_bad_usage_exits_2(run_kg):
    assert run_kg("query").returncode == 2
    assert run_kg("no-such-command").returncode == 2
    assert run_kg("update", "INSERT DATA { <a:b> <a:c> <a:d> }").returncode == 2


def test_load_syntax_error_names_the_line_and_changes_nothing(run_kg, tmp_path):
    store = ["--data-dir", str(tmp_path / "store")]
    (tmp_path / "bad.ttl").write_text(BAD_LINE_7)
    before = count(run_kg, *store)
    done = run_kg(*store, "load", "bad.ttl")
    assert done.returncode == 2
    assert done.stderr.decode().strip().splitlines()[-1].startswith("kg: error: bad.ttl:7:")
    assert count(run_kg, *store) == before


def test_load_persists_and_the_second_start_reuses_the_store(run_kg, tmp_path):
    store = ["--data-dir", str(tmp_path / "store")]
    (tmp_path / "extra.ttl").write_text("<http://e/a> <http://e/p> <http://e/b> .\n")
    before = count(run_kg, *store)
    done = run_kg(*store, "load", "extra.ttl")
    assert done.returncode == 0, done.stderr
    second = run_kg(*store, "query", "--format", "json", COUNT)
    assert b"not reloaded" in second.stderr
    assert count(run_kg, *store) == before + 1


def test_load_from_stdin_with_format(run_kg, tmp_path):
    store = ["--data-dir", str(tmp_path / "store")]
    before = count(run_kg, *store)
    done = run_kg(*store, "load", "--format", "ntriples", "-",
                  input=b"<http://e/a> <http://e/p> <http://e/b> .\n")
    assert done.returncode == 0, done.stderr
    assert count(run_kg, *store) == before + 1


def test_export_and_load_round_trip(run_kg, tmp_path):
    assert run_kg("export", "-o", "dump.nq").returncode == 0
    fresh = ["--data-dir", str(tmp_path / "fresh")]
    before = count(run_kg, *fresh)
    assert run_kg(*fresh, "update", "CLEAR ALL").returncode == 1  # curated graphs: protected
    assert run_kg(*fresh, "update", "--allow-curated-writes", "CLEAR ALL").returncode == 0
    assert run_kg(*fresh, "load", "dump.nq").returncode == 0
    data = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g != <{GRAPHS['changes']}>) }}"
    assert count(run_kg, *fresh, query=data) == before  # the change log recorded the CLEAR
    changes = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{GRAPHS['changes']}> {{ ?c a fip:Change }} }}"
    assert count(run_kg, *fresh, query=changes) == 1


def test_export_one_graph_as_turtle(run_kg):
    done = run_kg("export", "--graph", GRAPHS["ontology"], "--format", "turtle")
    assert done.returncode == 0 and b"owl:Ontology" in done.stdout
    assert run_kg("export", "--format", "turtle").returncode == 2


def test_export_materialised_is_one_graph_with_the_inferred_triples(run_kg, tmp_path):
    done = run_kg("export", "--materialised", "--format", "ntriples", "-o", "all.nt")
    assert done.returncode == 0, done.stderr
    store = pyoxigraph.Store()
    store.load(path=str(tmp_path / "all.nt"), format=pyoxigraph.RdfFormat.N_TRIPLES)
    # asserted (the sheet's typing) and inferred (the superclass) side by side, no reasoner
    assert store.query("ASK { <https://w3id.org/fr-indopacific/id/dcsd> a "
                       "<https://w3id.org/fr-indopacific/ontology#Directorate>, "
                       "<http://www.w3.org/ns/org#Organization> }")
    assert run_kg("export", "--materialised", "--graph", GRAPHS["ontology"]).returncode == 2


def test_stats_lists_the_named_graphs(run_kg):
    done = run_kg("stats")
    assert done.returncode == 0
    for graph in ("ontology", "factsheet"):
        assert GRAPHS[graph].encode() in done.stdout


def test_prefixes_lists_every_prefix(run_kg):
    done = run_kg("prefixes").stdout.decode()
    assert all(f"<{namespace}>" in done for namespace in PREFIXES.values())


@pytest.mark.parametrize("command", ["query", "load", "export", "stats", "update", "prefixes",
                                     "link", "reason"])
def test_every_subcommand_has_examples_in_its_help(run_kg, command):
    done = run_kg(command, "--help")
    assert done.returncode == 0 and b"Example" in done.stdout


def test_serve_help_names_what_each_option_takes(run_kg):
    done = run_kg("serve", "--help")
    assert done.returncode == 0 and b"NONETYPE" not in done.stdout
    assert b"--update-token-file FILE" in done.stdout and b"--backup-dir DIR" in done.stdout


def test_query_without_inference_sees_the_asserted_graphs_only(run_kg):
    question = "SELECT ?org WHERE { ?org a org:Organization ; fip:basedIn fipid:singapore }"
    rows = [run_kg("query", *flag, "--format", "csv", question).stdout.count(b"\n") - 1
            for flag in ((), ("--no-inference",))]
    assert rows == [3, 0]


def test_writes_keep_the_inferred_graph_and_reason_finds_nothing_to_fix(run_kg, tmp_path):
    store = str(tmp_path / "store")
    done = run_kg("--data-dir", store, "update", "INSERT DATA { GRAPH fipg:user { "
                  'fipid:x-office a fip:CentralOffice ; rdfs:label "X office"@en ; '
                  "org:subOrganizationOf fipid:french-national-police ; "
                  "fip:mentionedIn fipid:fs5-s020 } }")  # valid: kg update validates first
    assert done.returncode == 0, done.stderr
    ask = "ASK { GRAPH fipg:inferred { fipid:x-office a org:Organization } }"
    assert run_kg("--data-dir", store, "query", "--format", "json", ask).stdout.endswith(
        b"true}")
    done = run_kg("--data-dir", store, "reason")
    assert done.returncode == 0 and b"(+0 -0)" in done.stderr, done.stderr
