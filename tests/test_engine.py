"""The query engine: worker processes, deadlines, limits, the pre-parse guard (no HTTP)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kg import Config, KnowledgeGraph, Source
from helpers import RUNAWAY, engine_for
from kg.errors import (EngineError, ForbiddenFeatureError, NotAcceptableError,
                       QueryEvaluationError, QuerySyntaxError, QueryTimeoutError,
                       QueryTooComplexError, ResultTooLargeError, TooLargeError)
from kg.engine.spool import private_folder
from kg.namespaces import PREFIXES
from kg.sparql.guard import check_query, read



@pytest.fixture(scope="module")
def pool(bundled):
    """Two worker processes over the bundled graph, 2 s timeout, 50 rows at most."""
    engine = engine_for(bundled, workers=2, timeout=2.0, max_rows=50).start()
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def inline(bundled):
    """The same engine without worker processes."""
    engine = engine_for(bundled, workers=0, max_rows=50)
    yield engine
    engine.close()


@pytest.mark.parametrize("mode", ["pool", "inline"])
@pytest.mark.parametrize("accept, media_type, start", [
    (None, "application/sparql-results+json", b'{"head"'),
    ("application/sparql-results+xml", "application/sparql-results+xml", b"<?xml"),
    ("text/csv", "text/csv", b"n\r\n"),
    ("text/tab-separated-values", "text/tab-separated-values", b"?n\n"),
])
def test_select_in_every_results_format(request, mode, accept, media_type, start):
    engine = request.getfixturevalue(mode)
    answer = engine.query("SELECT ?n { VALUES ?n { 1 2 3 } }", accept=accept)
    assert answer.format.media_type == media_type and answer.rows == 3
    assert answer.read().startswith(start)


def test_construct_is_negotiated_as_a_graph(pool):
    # LIMIT: the pool's result cap is 50 triples, and the DCSD has more (its names as written)
    answer = pool.query("CONSTRUCT { fipid:dcsd ?p ?o } WHERE { fipid:dcsd ?p ?o } LIMIT 20",
                        accept="application/sparql-results+json;q=1, text/turtle;q=0.5")
    assert answer.format.name == "turtle" and answer.rows > 0
    assert b"@prefix" in answer.read()


def test_a_result_the_client_cannot_take_is_406(pool):
    with pytest.raises(NotAcceptableError) as caught:
        pool.query("ASK {}", accept="text/turtle")
    assert "application/sparql-results+json" in caught.value.available


def test_syntax_errors_keep_their_position(pool):
    with pytest.raises(QuerySyntaxError) as caught:
        pool.query("SELECT * WHERE {\n  ?s ?p }")
    assert caught.value.line == 2 and caught.value.column is not None
    assert "2:" in caught.value.message


def test_unknown_function_is_a_client_error(pool):
    with pytest.raises(QueryEvaluationError, match="not supported"):
        pool.query("SELECT (<http://example.org/f>(1) AS ?x) {}")


@pytest.mark.parametrize("query", ["SELECT * { ?s ?p ?o }", "CONSTRUCT WHERE { ?s ?p ?o }"])
def test_row_limit(pool, query):
    with pytest.raises(ResultTooLargeError, match="more than 50"):
        pool.query(query)
    assert pool.query(query + " LIMIT 50").rows == 50


@pytest.mark.slow
def test_runaway_query_is_stopped_and_others_are_answered(pool):
    outcome = {}

    def runaway():
        started = time.monotonic()
        try:
            pool.query(RUNAWAY)
        except QueryTimeoutError as exc:
            outcome["error"], outcome["after"] = exc, time.monotonic() - started

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.3)
    assert pool.query("ASK { ?s ?p ?o }").read() == b'{"head":{},"boolean":true}'
    thread.join(60)
    assert outcome["error"].status == 503 and "stopped after 2 s" in outcome["error"].message
    assert outcome["after"] < 30  # generous: the deadline is 2 s
    # the killed worker is replaced: both workers answer again
    answers = [pool.query("ASK {}") for _ in range(4)]
    assert all(answer.read() == b'{"head":{},"boolean":true}' for answer in answers)


def test_a_crashing_query_only_ends_its_worker(pool):
    deep = "SELECT * {" + "{" * 20_000 + "}" * 20_000 + "}"
    saved = pool.limits
    pool.limits = dataclasses.replace(saved, max_nesting=10**9, max_query_length=10**9)
    try:  # let it through the guard
        with pytest.raises(EngineError, match="ended unexpectedly"):
            pool.query(deep)
    finally:
        pool.limits = saved
    assert pool.query("ASK { ?s ?p ?o }").read().endswith(b"true}")


def test_workers_see_writes_after_dataset_changed():
    kg = KnowledgeGraph.open(Config.load({}, environ={}), load_bundled=False)
    engine = engine_for(kg, workers=1, timeout=20).start()
    try:
        assert engine.query("ASK { <http://e/a> ?p ?o }").read().endswith(b"false}")
        kg.load([Source("a.ttl", b"<http://e/a> <http://e/p> 1 .")])
        engine.dataset_changed()
        assert engine.query("ASK { <http://e/a> ?p ?o }").read().endswith(b"true}")
    finally:
        engine.close()


def test_on_disk_the_workers_are_threads_of_one_host_on_its_own_checkpoint(tmp_path):
    config = Config.load({"data_dir": str(tmp_path / "store")}, environ={})
    kg = KnowledgeGraph.open(config, load_bundled=False)
    kg.load([Source("a.ttl", b"<http://e/a> <http://e/p> 1 .")])
    engine = engine_for(kg, workers=3, timeout=20).start()
    try:
        pool = engine.executor.pool
        workers = pool.host.workers
        assert len(workers) == 3 and {w.pid for w in workers} == {pool.host.pid}
        assert len({w.task for w in workers}) == 3  # a thread each, in one process
        assert [p.name for p in tmp_path.glob(".kg-checkpoints-*/*")] == [
            Path(pool.host.checkpoint).name]  # one copy of the store, whatever --workers
        assert engine.query("SELECT * { ?s ?p ?o }").rows == 1
        kg.load([Source("b.ttl", b"<http://e/b> <http://e/p> 2 .")])
        engine.dataset_changed()
        assert engine.query("SELECT * { ?s ?p ?o }").rows == 2
    finally:
        engine.close()
    assert not list(tmp_path.glob(".kg-checkpoints-*"))


def test_in_memory_the_workers_are_threads_of_one_host_forked_with_the_data(bundled):
    engine = engine_for(bundled, workers=3, timeout=20).start()
    try:
        pool = engine.executor.pool
        workers = pool.host.workers
        assert len(workers) == 3 and {w.pid for w in workers} == {pool.host.pid}
        assert parent_of(pool.host.pid) == os.getpid()  # forked from here: nothing parsed
        assert len({w.task for w in workers}) == 3  # a thread each
        assert not [n for n in os.listdir(pool.spool_dir) if n.startswith("snapshot")]
        answers = {engine.query("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }").read()
                   for _ in range(6)}
        assert len(answers) == 1
        # the data is on pages shared with this process: the host holds little of its own
        with open(f"/proc/{pool.host.pid}/status") as status:
            resident = int(status.read().split("RssAnon:")[1].split()[0])
        with open(f"/proc/{pool.host.pid}/smaps_rollup") as rollup:
            own = sum(int(line.split()[1]) for line in rollup
                      if line.startswith(("Private_Clean:", "Private_Dirty:")))
        assert own < resident / 4
    finally:
        engine.close()


def test_forked_hosts_name_blank_nodes_each_their_own_way(bundled):
    bundled.query("SELECT (BNODE() AS ?b) {}")  # the forking thread's generator is started
    names = []
    for _ in range(2):
        engine = engine_for(bundled, workers=1, timeout=20).start()
        try:
            names.append(engine.query("SELECT (BNODE() AS ?b) {}").read())
        finally:
            engine.close()
    assert names[0] != names[1]


def test_a_query_on_a_host_stopped_for_another_runs_again_on_the_next(bundled):
    """A runaway query is stopped by killing its host: a query another thread of that host
    was answering is answered all the same, by the host that replaces it."""
    engine = engine_for(bundled, workers=2, timeout=120, heavy_after=120).start()
    pool = engine.executor.pool
    long = "SELECT (COUNT(*) AS ?n) { { SELECT * { ?a ?b ?c . ?d ?e ?f } LIMIT 3000000 } }"
    try:
        first = pool.host
        held = pool.idle.get()  # the other thread, as if a runaway query held it
        answers = []
        thread = threading.Thread(target=lambda: answers.append(engine.query(long).read()))
        thread.start()
        assert wait_until(lambda: pool.idle.qsize() == 0)  # the long query has its thread
        pool.replace(held)  # what the runaway's deadline does
        thread.join(300)
        assert answers and b'"3000000"' in answers[0]
        assert pool.host is not first and first.stopped
        assert engine.query("ASK { ?s ?p ?o }").read().endswith(b"true}")
    finally:
        engine.close()


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as stat:
        return int(stat.read().rsplit(b")", 1)[1].split()[1])


def wait_until(condition, seconds: float = 60.0) -> bool:
    """Whether ``condition()`` came true within a generous bound."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_worker_that_cannot_take_a_change_is_replaced():
    kg = KnowledgeGraph.open(Config.load({}, environ={}), load_bundled=False)
    engine = engine_for(kg, workers=1, timeout=20).start()
    try:
        pool = engine.executor.pool
        with pool._lock:  # a change its worker cannot apply, as if the delta were corrupt
            pool.version += 1
            pool._deltas[pool.version] = (b"not N-Quads", b"")
        with pytest.raises(EngineError, match="could not take a change: SyntaxError"):
            engine.query("ASK {}")
        # the pool did not lose its workers: a new host answers
        assert engine.query("ASK {}").read().endswith(b"true}")
    finally:
        engine.close()


def test_large_answers_are_spooled_to_a_file_and_removed(bundled):
    engine = engine_for(bundled, workers=1, timeout=20, max_rows=10**6).start()
    try:
        answer = engine.query("SELECT * { ?s ?p ?o ?s ?p ?o }".replace(" ?s ?p ?o }", " }"))
        assert answer.path is not None and answer.size > 1024 * 1024
        body = answer.read()
        assert body.endswith(b"]}}") and len(body) == answer.size
        assert answer.path is not None and not __import__("os").path.exists(answer.path)
    finally:
        engine.close()


# -- the guard -----------------------------------------------------------------------------

#: What clients send with every query: every prefix of the project, declared in full.
PROLOGUE = "".join(f"PREFIX {prefix}: <{iri}>\n" for prefix, iri in PREFIXES.items())

@pytest.mark.parametrize("text", [
    "SELECT * " + "{" * 2000 + "}" * 2000,
    "SELECT * { FILTER(" + "(" * 2000 + "1" + ")" * 2000 + ") }",
    "SELECT * {" + " OPTIONAL {" * 2000 + "}" * 2001,
    "SELECT * { ?s ?p " + "[ ?p " * 2000 + "]" * 2000 + "}",
    "SELECT * { FILTER(?a<" + "(" * 2000 + "1" + ")" * 2000 + ">?b) }",  # not an IRI
])
def test_deep_nesting_is_refused_before_parsing(text):
    with pytest.raises(QueryTooComplexError, match="2001|2000|2002"):
        check_query(text, max_length=10**6, max_nesting=100)


@pytest.mark.parametrize("text, found", [
    ("SELECT * { SERVICE <http://127.0.0.1:1/> { ?s ?p ?o } }", {"SERVICE"}),
    ("select * { service silent ?x { ?s ?p ?o } }", {"SERVICE"}),
    ("SELECT * { \\u0053ERVICE <http://x/> { ?s ?p ?o } }", {"SERVICE"}),
    ("LOAD <file:///etc/passwd>", {"LOAD"}),
    ('SELECT ?service { ?service rdfs:label "SERVICE LOAD" } # SERVICE', set()),
    ("SELECT * { ?s ex:service ?o }", set()),
    # the prologue is read in one match: what follows it is scanned as before
    (PROLOGUE + "SELECT * { SERVICE <http://x/> { ?s ?p ?o } }", {"SERVICE"}),
    ("PREFIX service: <http://e/> #SERVICE\nBASE <http://e/>\nPREFIX:<http://e/>"
     "\nSELECT * { service: ?p ?o }", set()),
    ("PREFIX x: <http://e/> SERVICE <http://x/> { ?s ?p ?o }", {"SERVICE"}),
    ("PREFIX x: <http://e/\\u003E SERVICE <http://x/> { } }", {"SERVICE"}),
])
def test_scanner_finds_keywords_that_fetch_urls(text, found):
    assert read(text).forbidden == found


def test_the_prologue_neither_nests_nor_hides_the_form():
    shape = read(PROLOGUE + "PREFIX p: <http://e/((((>\n# {{{\nASK { ?s ?p ?o }")
    assert shape.form == "ASK" and shape.depth == 1


def test_guard_limits():
    with pytest.raises(TooLargeError):
        check_query("ASK {}" + " " * 100, max_length=100, max_nesting=10)
    with pytest.raises(ForbiddenFeatureError, match="SERVICE"):
        check_query("SELECT * { SERVICE <http://e/> {} }", max_length=100, max_nesting=10)


def test_a_heavy_query_keeps_its_spooled_answer_and_its_thread_its_priority():
    """A query that turned heavy goes on at a lower priority: the answer it spooled to a
    file survives, and afterwards its thread has its priority back, in the same host."""
    kg = KnowledgeGraph.open(Config.load({}, environ={}), load_bundled=False)
    kg.load([Source("many.nt", b"".join(b"<http://e/s%d> <http://e/p> <http://e/o%d> .\n" % (i, i)
                                         for i in range(2000)))])
    engine = engine_for(kg, workers=1, timeout=30, max_rows=10**6, heavy_after=0.0).start()
    host = engine.executor.pool.host
    try:
        answer = engine.query("SELECT ?a ?b WHERE { ?a <http://e/p> ?x . ?b <http://e/p> ?y } "
                              "LIMIT 600000", accept="text/tab-separated-values")
        assert answer.path is not None  # spooled: over 1 MB
        assert answer.read().count(b"\n") == 600001
        worker = engine.executor.pool.idle.get(timeout=10)
        assert worker.host is host and not host.stopped
        if os.geteuid() == 0:  # allowed to raise a priority again
            assert os.getpriority(os.PRIO_PROCESS, worker.task) == 0
        engine.executor.pool.idle.put(worker)
    finally:
        engine.close()


def test_an_engine_removes_the_folders_of_servers_that_have_ended(tmp_path):
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    stale = tmp_path / f"kg-spool-{ended.pid}-x1"
    live = tmp_path / f"kg-spool-{os.getpid()}-x2"
    unnamed = tmp_path / "kg-spool-x3"  # from before folders were named after their process
    for folder in (stale, live, unnamed):
        (folder / "answer").mkdir(parents=True)
    made = private_folder("kg-spool-", tmp_path)
    assert not stale.exists() and live.exists() and unnamed.exists()
    assert os.path.basename(made).startswith(f"kg-spool-{os.getpid()}-")
