"""Nothing acknowledged is lost: dumps and restores round-trip, backups open as stores, and
short variants of the load and crash runs of bench/ (the long runs are done by hand; their
figures are in docs/reliability.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import pyoxigraph
import pytest

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
    from kg.store import JOURNAL

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
