"""The gate of every write (kg.writes.writer.Writer): validate, refuse or commit whole, record."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from pyoxigraph import NamedNode, Quad, RdfFormat, parse

from kg import Config, KnowledgeGraph
from helpers import RUNAWAY, engine_for, run_together
from kg.errors import (LoadRefusedError, ProtectedGraphError, QueryTimeoutError,
                       ValidationFailedError)
from kg.validation.incremental import Checker
from kg.namespaces import GRAPHS, ID_NS
from kg.writes.writer import Writer

LINK = """INSERT DATA { fipid:w-link a fip:CooperationLink ;
    rdfs:label "DCSD training in Thailand"@en ;
    fip:provider fipid:dcsd ; fip:beneficiary fipid:thailand ;
    fip:cooperationType fipid:cooptype-training ;
    fip:thematicDomain fipid:domain-forest-fire-management ;
    prov:wasDerivedFrom fipid:fs5-s030 . }"""
BROKEN = 'INSERT DATA { fipid:w-broken a fip:CooperationLink ; rdfs:label "no provider"@en }'


@pytest.fixture(scope="module")
def checker():
    return Checker()


@pytest.fixture
def writer(checker, tmp_path):
    config = Config.load({"data_dir": str(tmp_path / "store")}, environ={})
    return Writer(KnowledgeGraph.open(config), config=config, checker=checker)


def _dump(writer: Writer) -> bytes:
    return writer.kg.store.dump(format=RdfFormat.N_QUADS)


def _ask(writer: Writer, query: str) -> bool:
    return writer.kg.query(query).boolean


@pytest.mark.slow
def test_an_invalid_change_is_refused_and_nothing_changes(writer):
    before = _dump(writer)
    with pytest.raises(ValidationFailedError) as caught:
        writer.update(BROKEN, agent="alice")
    assert caught.value.status == 422
    assert {str(f.focus_node) for f in caught.value.result.violations} == {ID_NS + "w-broken"}
    assert _dump(writer) == before


def test_a_valid_change_is_committed_with_its_change_log_record(writer):
    outcome = writer.update(LINK, agent="alice")
    assert outcome.status == "committed" and outcome.added == 7 and outcome.removed == 0
    assert _ask(writer, f"ASK {{ GRAPH <{GRAPHS['user']}> {{ fipid:w-link fip:provider fipid:dcsd }} }}")
    record = writer.kg.query(f"""SELECT ?agent ?added ?removed ?outcome ?graph WHERE {{
        GRAPH fipg:changes {{ <{outcome.iri}> a prov:Activity ; prov:wasAssociatedWith/rdfs:label ?agent ;
            fip:triplesAdded ?added ; fip:triplesRemoved ?removed ; fip:validationOutcome ?outcome ;
            fip:changedGraph ?graph ; prov:startedAtTime ?t }} }}""")
    rows = [{k: row[k].value for k in ("agent", "added", "removed", "outcome", "graph")}
            for row in record.solutions]
    assert rows == [{"agent": "alice", "added": "7", "removed": "0", "outcome": "conforms",
                     "graph": GRAPHS["user"]}]


def test_a_change_survives_reopening_the_store(checker, tmp_path):
    config = Config.load({"data_dir": str(tmp_path / "store")}, environ={})
    writer = Writer(KnowledgeGraph.open(config), config=config, checker=checker)
    writer.update(LINK, agent="alice")
    del writer  # closes the store (and its lock)
    reopened = KnowledgeGraph.open(config)
    assert reopened.query("ASK { fipid:w-link fip:provider fipid:dcsd }").boolean
    assert reopened.query("ASK { GRAPH fipg:changes { ?c a fip:Change } }").boolean


def test_curated_graphs_are_protected_unless_allowed(writer, checker):
    update = 'INSERT DATA { GRAPH fipg:factsheet { fipid:dcsd skos:altLabel "DCSD (test)" } }'
    before = _dump(writer)
    with pytest.raises(ProtectedGraphError):
        writer.update(update, agent="alice")
    assert _dump(writer) == before
    config = Config.load({"allow_curated_writes": True}, environ={})
    curator = Writer(writer.kg, config=config, checker=checker)
    assert curator.update(update, agent="curator").status == "committed"
    assert _ask(writer, 'ASK { GRAPH fipg:factsheet { fipid:dcsd skos:altLabel "DCSD (test)" } }')


def test_the_servers_graphs_cannot_be_written(writer):
    writer.update(LINK, agent="alice")
    for update in ("CLEAR GRAPH fipg:changes", "INSERT DATA { GRAPH fipg:review { fipid:a fipid:b fipid:c } }"):
        with pytest.raises(ProtectedGraphError):
            writer.update(update, agent="alice")
    assert _ask(writer, "ASK { GRAPH fipg:changes { ?c a fip:Change } }")


def test_quarantine_then_fix_and_accept(writer):
    before = _dump(writer)
    outcome = writer.update(BROKEN, agent="bob", on_invalid="quarantine")
    assert outcome.status == "quarantined" and outcome.result.violations
    assert not _ask(writer, "ASK { fipid:w-broken ?p ?o }")  # nothing of it is asserted
    pending = writer.pending()
    assert [(p.agent, p.added) for p in pending] == [("bob", 2)]
    with pytest.raises(ValidationFailedError):
        writer.accept(pending[0].id, agent="curator")
    fixed = list(parse(b"""@prefix fip: <https://w3id.org/fr-indopacific/ontology#> .
        @prefix fipid: <https://w3id.org/fr-indopacific/id/> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . @prefix prov: <http://www.w3.org/ns/prov#> .
        fipid:w-broken a fip:CooperationLink ; rdfs:label "fixed"@en ; fip:provider fipid:dcsd ;
            fip:beneficiary fipid:thailand ; fip:cooperationType fipid:cooptype-training ;
            fip:thematicDomain fipid:domain-forest-fire-management ;
            prov:wasDerivedFrom fipid:fs5-s030 .""", RdfFormat.TURTLE))
    user = NamedNode(GRAPHS["user"])
    accepted = writer.accept(pending[0].id, agent="curator",
                             replacement=[Quad(q.subject, q.predicate, q.object, user) for q in fixed])
    assert accepted.status == "committed" and not writer.pending()
    assert _ask(writer, f"ASK {{ GRAPH fipg:changes {{ <{accepted.iri}> prov:used ?pending ; "
                        "prov:wasAssociatedWith/rdfs:label \"curator\" } }")
    assert _dump(writer) != before


def test_discard_drops_a_pending_change(writer):
    writer.update(BROKEN, agent="bob", on_invalid="quarantine")
    writer.discard(writer.pending()[0].id)
    assert not writer.pending()
    assert not _ask(writer, "ASK { GRAPH fipg:review { ?s ?p ?o } }")


def test_concurrent_writes_are_serialised(writer):
    def write(n: int) -> None:
        for i in range(5):
            writer.update(f'INSERT DATA {{ fipid:w-{n}-{i} rdfs:label "item {n} {i}"@en }}',
                          agent=f"w{n}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    count = writer.kg.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH fipg:changes { ?c a fip:Change } }")
    assert int(next(iter(count.solutions))["n"].value) == 20
    assert int(next(iter(writer.kg.query(
        f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{GRAPHS['user']}> {{ ?s rdfs:label ?l }} }}"
    ).solutions))["n"].value) == 20


def test_load_is_refused_for_files_and_hosts_not_allowed(writer):
    for update in ("LOAD <file:///etc/passwd>", "LOAD <http://example.org/x.ttl>"):
        with pytest.raises(LoadRefusedError):
            writer.update(update, agent="alice")


def test_query_workers_see_a_write_through_its_delta(checker):
    kg = KnowledgeGraph.open(Config.load({}, environ={}))
    engine = engine_for(kg, workers=1, timeout=60).start()
    try:
        writer = Writer(kg, checker=checker, engine=engine)
        ask = "ASK { fipid:w-link a fip:CooperationLink }"
        assert engine.query(ask).read().endswith(b"false}")
        writer.update(LINK, agent="alice")
        assert engine.query(ask).read().endswith(b"true}")
        writer.update("DELETE WHERE { fipid:w-link ?p ?o }", agent="alice")
        assert engine.query(ask).read().endswith(b"false}")
    finally:
        engine.close()


@pytest.mark.slow
def test_hosts_forked_after_a_write_see_it_and_keep_the_deadline(checker):
    """In memory, the query host is forked from the server: a host replaced after a timeout
    starts with the server's data as it is then, so it sees every write; its queries still
    stop at the deadline."""
    kg = KnowledgeGraph.open(Config.load({}, environ={}))
    engine = engine_for(kg, workers=2, timeout=2).start()
    try:
        assert engine.executor.pool.host is not None
        Writer(kg, checker=checker, engine=engine).update(LINK, agent="alice")
        ask = "ASK { fipid:w-link a fip:CooperationLink }"
        stopped = []

        def runaway():
            with pytest.raises(QueryTimeoutError):
                engine.query(RUNAWAY)
            stopped.append(True)

        for _ in range(2):  # each time both workers are killed, then both replaced
            run_together(runaway, 2)
            assert len(stopped) == 2
            stopped.clear()
            assert all(engine.query(ask).read().endswith(b"true}") for _ in range(4))
    finally:
        engine.close()


@pytest.mark.slow
def test_the_query_host_on_disk_applies_each_write_to_its_own_checkpoint(checker, tmp_path):
    config = Config.load({"data_dir": str(tmp_path / "disk")}, environ={})
    kg = KnowledgeGraph.open(config)
    engine = engine_for(kg, workers=2, timeout=60).start()
    try:
        host = engine.executor.pool.host
        assert len(list(tmp_path.glob(".kg-checkpoints-*/*"))) == 1  # the host's
        writer = Writer(kg, config=config, checker=checker, engine=engine)
        ask = "ASK { fipid:w-link a fip:CooperationLink }"
        for text in (LINK, "DELETE WHERE { fipid:w-link ?p ?o }", LINK):
            writer.update(text, agent="alice")
            expected = b"true}" if text is LINK else b"false}"
            assert all(engine.query(ask).read().endswith(expected) for _ in range(4))
        # the same host, on the same copy: a write did not make it open the store again
        assert engine.executor.pool.host is host and not host.stopped
        assert list(tmp_path.glob(".kg-checkpoints-*/*")) == [Path(host.checkpoint)]
    finally:
        engine.close()
    assert not list(tmp_path.glob(".kg-checkpoints-*"))


class _WatchedChecker(Checker):
    """The bundled checker, noting the scheduling priority of each thread it validates on."""

    def __init__(self) -> None:
        super().__init__()
        self.niceness: list[int] = []

    def check(self, *args, **kwargs):
        self.niceness.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return super().check(*args, **kwargs)


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="per-thread priorities are POSIX")
def test_writes_are_validated_on_a_thread_of_lowered_priority(tmp_path):
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    config = Config.load({"data_dir": str(tmp_path / "store"), "write_niceness": 7}, environ={})
    checker = _WatchedChecker()
    writer = Writer(KnowledgeGraph.open(config), config=config, checker=checker)
    writer.update(LINK, agent="test")
    with pytest.raises(ValidationFailedError):  # a refusal reaches the caller as before
        writer.update(BROKEN, agent="test")
    assert checker.niceness == [min(mine + 7, 19)] * 2
    assert _ask(writer, "ASK { fipid:w-link a fip:CooperationLink }")
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine
    writer.lane.close()
