"""Nothing acknowledged is lost: dumps and restores round-trip, backups open as stores, and
short variants of the load and crash runs of bench/ (the long runs are done by hand; their
figures are in docs/reliability.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import pyoxigraph
import pytest

pytestmark = pytest.mark.slow  # crash, load and backup runs

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))


def _canonical(path: Path) -> pyoxigraph.Dataset:
    dataset = pyoxigraph.Dataset(pyoxigraph.parse(path=str(path)))
    dataset.canonicalize(pyoxigraph.CanonicalizationAlgorithm.UNSTABLE)
    return dataset


@pytest.mark.parametrize("extension", ["nq", "trig"])
def test_dump_and_restore_round_trip_to_an_isomorphic_dataset(run_kg, tmp_path, extension):
    store = str(tmp_path / "store")
    assert run_kg("--data-dir", store, "load", "-", "--format", "turtle", input=(
        b"_:note <http://www.w3.org/2000/01/rdf-schema#label> \"a blank node\" .\n"
        b"<https://w3id.org/fr-indopacific/id/dcsd> <http://www.w3.org/2000/01/rdf-schema#"
        b"seeAlso> _:note .")).returncode == 0
    first = tmp_path / f"first.{extension}"
    second = tmp_path / f"second.{extension}"
    done = run_kg("--data-dir", store, "dump", "-o", str(first))
    assert done.returncode == 0, done.stderr
    done = run_kg("--data-dir", str(tmp_path / "restored"), "restore", str(first))
    assert done.returncode == 0, done.stderr
    assert run_kg("--data-dir", str(tmp_path / "restored"), "dump", "-o",
                  str(second)).returncode == 0
    assert len(_canonical(first)) > 5000
    assert _canonical(first) == _canonical(second)
    assert not list(tmp_path.glob(".*.partial"))  # no temporary file left behind


def test_restore_refuses_a_store_that_is_not_empty(run_kg, tmp_path):
    dump = tmp_path / "kg.nq"
    assert run_kg("dump", "-o", str(dump)).returncode == 0
    store = str(tmp_path / "store")
    assert run_kg("--data-dir", store, "restore", str(dump)).returncode == 0
    again = run_kg("--data-dir", store, "restore", str(dump))
    assert again.returncode == 2 and b"restore into an empty --data-dir" in again.stderr
    wrong = run_kg("--data-dir", str(tmp_path / "other"), "restore", str(dump), "--format",
                   "turtle")
    assert wrong.returncode == 2 and b"N-Quads or TriG" in wrong.stderr


def test_a_backup_is_a_store_with_everything(run_kg, tmp_path):
    store = str(tmp_path / "store")
    assert run_kg("--data-dir", store, "stats").returncode == 0
    done = run_kg("--data-dir", store, "backup", str(tmp_path / "backups"))
    assert done.returncode == 0, done.stderr
    (backup,) = (tmp_path / "backups").iterdir()
    original = run_kg("--data-dir", store, "dump", "-o", str(tmp_path / "a.nq"))
    copy = run_kg("--data-dir", str(backup), "dump", "-o", str(tmp_path / "b.nq"))
    assert original.returncode == copy.returncode == 0
    assert _canonical(tmp_path / "a.nq") == _canonical(tmp_path / "b.nq")


def test_a_change_cut_short_after_its_transaction_is_finished_at_the_next_open(tmp_path):
    from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, serialize

    from kg import Config, KnowledgeGraph
    from kg.store.graph import JOURNAL

    config = Config.load({"data_dir": str(tmp_path / "store")}, environ={})
    user = NamedNode("https://w3id.org/fr-indopacific/graph/user")
    old = Quad(NamedNode("https://w3id.org/fr-indopacific/id/dcsd"),
               NamedNode("http://www.w3.org/2000/01/rdf-schema#comment"), Literal("old"), user)
    new = Quad(old.subject, old.predicate, Literal("new"), user)
    kg = KnowledgeGraph.open(config, load_bundled=False)
    kg.apply(added=[old])
    assert old in kg.store and not list(kg.store.quads_for_pattern(None, None, None, JOURNAL))
    # the state a SIGKILL leaves after the transaction that decides "old → new", before the
    # removal: the addition and the journal are stored, the removal is not done
    kg.store.extend([new, Quad(JOURNAL, JOURNAL, Literal(
        serialize([old], None, RdfFormat.N_QUADS).decode()), JOURNAL)])
    del kg
    reopened = KnowledgeGraph.open(config, load_bundled=False)
    assert new in reopened.store and old not in reopened.store
    assert not list(reopened.store.quads_for_pattern(None, None, None, JOURNAL))


# -- against real servers: load, crash, live backup, tokens -------------------------------------

def test_load_readers_and_writers_short_run(tmp_path):
    import load

    # it runs until 6 writes are acknowledged and 100 reads answered (at most 300 s): what
    # is checked is that none is lost or fails, never how many fit in a window
    figures = load.run(seconds=2, readers=16, writers=2, folder=tmp_path, until_writes=6,
                       until_reads=100, max_seconds=300)
    assert load.failures(figures) == [], figures
    assert figures["writes acknowledged"] >= 6 and figures["reads"] >= 100


def test_sigkill_in_a_stream_of_writes_loses_nothing_acknowledged(tmp_path):
    import crash

    # each round waits for 3 acknowledged writes before its random delay to the kill (a
    # fixed delay alone may end before the first write on a loaded machine)
    figures = crash.run(kills=2, seed=3, folder=tmp_path, writes_first=3)
    assert crash.failures(figures) == [], figures
    assert figures["acknowledged"] >= 6 and min(figures["acknowledged before the delay"]) >= 3


def test_a_backup_taken_while_writes_stream_in_is_consistent(tmp_path, run_kg):
    import threading
    import time

    from helpers import KGServer, http_get
    from load import MARK, TOKEN, change

    server = KGServer(tmp_path, "--data-dir", str(tmp_path / "store"), env={
        "KG_UPDATE_TOKEN": f"ops:{TOKEN}", "KG_BACKUP_DIR": str(tmp_path / "backups"),
        "KG_WORKERS": "1"}).wait()
    acknowledged, stop = [], threading.Event()

    def write():
        n = 0
        while not stop.is_set():
            status, _ = http_get(server.url + "sparql", data=change(f"b{n}", "backup").encode(),
                                 **{"Content-Type": "application/sparql-update",
                                    "Authorization": f"Bearer {TOKEN}"})
            if status == 200:
                acknowledged.append((f"b{n}", time.monotonic()))
            n += 1

    def acknowledged_after(moment: float, count: int) -> None:
        """Wait (generously: the machine may be busy) for ``count`` writes acknowledged
        after ``moment``."""
        deadline = time.monotonic() + 120
        while sum(when > moment for _, when in acknowledged) < count:
            assert time.monotonic() < deadline and writer.is_alive(), "writes stopped"
            time.sleep(0.05)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        acknowledged_after(0, 2)
        asked = time.monotonic()
        status, body = http_get(server.url + "backup", data=b"",
                                Authorization=f"Bearer {TOKEN}")
        acknowledged_after(asked, 1)
    finally:
        stop.set()
        writer.join(30)
        server.stop()
    assert status == 201, body
    name = __import__("json").loads(body)["backup"]
    assert "/" not in name and str(tmp_path) not in body.decode()  # a name, never a path
    dump = tmp_path / "backup.nq"
    done = run_kg("--data-dir", str(tmp_path / "backups" / name), "dump", "-o", str(dump))
    assert done.returncode == 0, done.stderr
    lines = [line for line in dump.read_text().splitlines() if MARK in line.split(" ")[0]]
    per_note: dict[str, int] = {}
    for line in lines:
        note = line.split(" ")[0][len(MARK) + 1:-1]
        per_note[note] = per_note.get(note, 0) + 1
    assert per_note and set(per_note.values()) == {3}  # whole changes only
    before = {slug for slug, when in acknowledged if when < asked}
    assert before and before <= set(per_note)  # everything acknowledged before it is in it
    assert len(acknowledged) > len(before)  # and writes went on while it was taken


def test_named_tokens_from_a_file_and_the_environment_are_never_logged(tmp_path):
    from helpers import KGServer, http_get
    from load import change

    tokens = {"alice": "tok-alice-7d1f9c2e", "bob": "tok-bob-5a8e3b1d", "carol": "tok-carol-9"}
    token_file = tmp_path / "tokens"
    token_file.write_text(f"# writers\nalice:{tokens['alice']}\n\nbob:{tokens['bob']}\n")
    server = KGServer(tmp_path, env={"KG_UPDATE_TOKEN_FILE": str(token_file),
                                     "KG_UPDATE_TOKEN": f"carol:{tokens['carol']}",
                                     "KG_WORKERS": "1"}).wait()
    try:
        for name, token in tokens.items():
            status, body = http_get(server.url + "sparql",
                                    data=change(f"t-{name}", "token").encode(),
                                    **{"Content-Type": "application/sparql-update",
                                       "Authorization": f"Bearer {token}"})
            assert status == 200, body
        wrong = http_get(server.url + "sparql", data=change("t-x", "token").encode(),
                         **{"Content-Type": "application/sparql-update",
                            "Authorization": "Bearer tok-alice-7d1f9c2f"})
        assert wrong[0] == 401
        in_url = http_get(server.url + "sparql?access_token=" + tokens["bob"],
                          data=change("t-y", "token").encode(),
                          **{"Content-Type": "application/sparql-update"})
        assert in_url[0] == 401
        status, body = http_get(server.url + "sparql?" + __import__("urllib.parse").parse
                                .urlencode({"query": "SELECT ?who { GRAPH fipg:changes { ?c "
                                            "prov:wasAssociatedWith ?who } }"}),
                                Accept="text/csv")
        assert {line.rsplit("/", 1)[-1] for line in body.decode().split()[1:]} == set(tokens)
    finally:
        server.stop()
    log = server.output()
    assert "POST /sparql" in log  # the access log is there...
    for token in tokens.values():
        assert token not in log  # ...and no token in it, not even the one sent in a URL
