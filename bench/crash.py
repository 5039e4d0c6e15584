"""Crash run: a `kg serve --data-dir` process killed with SIGKILL in the middle of a stream of
writes, restarted, and checked — at several points.

Run by hand (the figures go to docs/reliability.md); tests/test_reliability.py runs a short
variant:

    PYTHONPATH=src python bench/crash.py                 # 10 kills
    PYTHONPATH=src python bench/crash.py --kills 3 --seed 7

Each round starts the server on the same data directory, lets two writers send updates (in
turn, a new note of three triples under its own slug, and the replacement of the label of
the writer's previous note: one triple out, one in; the change log records each), and kills
the whole process group (the server, its query workers) with SIGKILL after a random delay
(counted from the round's first ``--writes-first`` acknowledged writes), while writes are in
flight. After the last round the server is started once more and every
change ever sent is looked for: an acknowledged change must be there whole, with its
change-log record; a change that was not acknowledged must be there whole or not at all,
never in part (a note of two or four triples, a label lost or doubled). Exit 1 if anything
is missing or partial.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from helpers import KGServer  # noqa: E402
from load import MARK, TOKEN, _connection, _request, change, report  # noqa: E402

#: Three triples per change: a partial change shows as one or two of them.
PARTS = 3
#: Seconds a round waits for its first acknowledged writes (see :func:`run`).
FIRST_WAIT = 120.0


def _writer(url: str, name: str, stop: threading.Event, sent: list, acknowledged: dict,
            progress: threading.Condition) -> None:
    connection = _connection(url)
    try:
        _write(connection, name, stop, sent, acknowledged, progress)
    except (OSError, http.client.HTTPException):
        pass  # the server is gone: the write in flight was never acknowledged
    finally:
        connection.close()


def _write(connection, name: str, stop: threading.Event, sent: list, acknowledged: dict,
           progress: threading.Condition) -> None:
    n = 0
    while not stop.is_set():
        slug = f"{name}-{n}"
        n += 1
        # every other change replaces a label of the note before it: a removal and an
        # addition that must land together
        note = None if n % 2 else f"{name}-{n - 2}"
        update = change(slug, "crash") if note is None else relabel(note, slug)
        sent.append((slug, note))
        status, body = _request(connection, "POST", "/sparql", update.encode(), {
            "Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"})
        if 200 <= status < 300:
            with progress:
                acknowledged[slug] = json.loads(body)["change"]  # its change-log record
                progress.notify_all()


def relabel(note: str, slug: str) -> str:
    """A change that replaces the label of ``note`` (one triple out, one in)."""
    return f"""DELETE {{ GRAPH fipg:user {{ <{MARK}{note}> skos:prefLabel ?label }} }}
INSERT {{ GRAPH fipg:user {{ <{MARK}{note}> skos:prefLabel "Note {note}, relabelled by {slug}"@en }} }}
WHERE {{ GRAPH fipg:user {{ <{MARK}{note}> skos:prefLabel ?label }} }}"""


def _server(folder: Path) -> KGServer:
    return KGServer(folder, "--data-dir", str(folder / "store"), env={
        "KG_UPDATE_TOKEN": f"crash:{TOKEN}", "KG_WORKERS": "1"})


def _select(url: str, query: str) -> list[dict]:
    connection = _connection(url)
    status, body = _request(connection, "POST", "/sparql", query.encode(), {
        "Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"})
    connection.close()
    if status != 200:
        raise SystemExit(f"a check query failed: {status} {body[:300]!r}")
    return json.loads(body)["results"]["bindings"]


def check(url: str, sent: list[tuple[str, str | None]], acknowledged: dict[str, str]) -> dict:
    """Which changes are whole, partial or missing, and whether the change log has them."""
    rows = _select(url, f"""SELECT ?s (COUNT(*) AS ?n) (SAMPLE(?l) AS ?label) {{
        GRAPH fipg:user {{ ?s ?p ?o OPTIONAL {{ ?s skos:prefLabel ?l }} }}
        FILTER(STRSTARTS(STR(?s), "{MARK}")) }} GROUP BY ?s""")
    counts = {row["s"]["value"][len(MARK):]: int(row["n"]["value"]) for row in rows}
    labels = {row["s"]["value"][len(MARK):]: row["label"]["value"] for row in rows}
    logged = {row["change"]["value"] for row in _select(url, """SELECT ?change {
        GRAPH fipg:changes { ?change a fip:Change ; prov:wasAssociatedWith ?agent }
        FILTER(STRENDS(STR(?agent), "/crash")) }""")}
    notes = [slug for slug, note in sent if note is None]
    relabels = {slug: note for slug, note in sent if note is not None}
    present = [slug for slug in notes if counts.get(slug) == PARTS]
    relabelled = [slug for slug, note in relabels.items()
                  if labels.get(note, "").endswith(f"relabelled by {slug}")]
    lost = [slug for slug in acknowledged
            if slug not in (present if slug not in relabels else relabelled)]
    return {
        "changes sent": len(sent), "of which relabellings": len(relabels),
        "acknowledged": len(acknowledged), "acknowledged and missing": lost,
        "partial": {slug: n for slug, n in counts.items() if n != PARTS},
        "unacknowledged but done": len(present) + len(relabelled) - len(acknowledged)
        + len(lost),
        "change-log records": len(logged),
        "acknowledged without their record": [s for s, iri in acknowledged.items()
                                              if iri not in logged],
        "records without their change": len(logged) - len(present) - len(relabelled),
    }


def run(*, kills: int, seed: int, folder: Path, writes_first: int = 0) -> dict:
    """``kills`` rounds of writes and SIGKILL on one data directory, then the check.

    Each round waits until ``writes_first`` of its writes are acknowledged (at most
    :data:`FIRST_WAIT` seconds: a loaded machine may be slow to start) before the random
    delay that ends in the kill, so that every round has acknowledged writes to lose.
    """
    rng = random.Random(seed)
    sent: list[tuple[str, str | None]] = []
    acknowledged: dict[str, str] = {}
    progress = threading.Condition()
    delays, first = [], []
    for round_ in range(kills):
        server = _server(folder).wait(120)
        stop = threading.Event()
        writers = [threading.Thread(target=_writer, args=(server.url, f"r{round_}w{i}", stop,
                                                          sent, acknowledged, progress))
                   for i in range(2)]
        before = len(acknowledged)
        for thread in writers:
            thread.start()
        with progress:
            progress.wait_for(lambda: len(acknowledged) - before >= writes_first,
                              timeout=FIRST_WAIT)
            first.append(len(acknowledged) - before)
        delay = rng.uniform(0.2, 2.5)
        delays.append(round(delay, 2))
        time.sleep(delay)
        server.kill()  # mid-write: both writers have a request in flight most of the time
        stop.set()
        for thread in writers:
            thread.join(30)
    server = _server(folder).wait(120)
    try:
        figures = check(server.url, sent, acknowledged)
    finally:
        server.stop()
    return {"kills": kills, "writes first": writes_first,
            "acknowledged before the delay": first, "kill after (s)": delays, **figures}


def failures(figures: dict) -> list[str]:
    """What makes the run fail."""
    problems = []
    short = [n for n in figures["acknowledged before the delay"] if n < figures["writes first"]]
    if short:
        problems.append(f"a round had fewer than {figures['writes first']} writes acknowledged "
                        f"after {FIRST_WAIT:g} s: {figures['acknowledged before the delay']}")
    if figures["acknowledged and missing"]:
        problems.append(f"acknowledged writes missing: {figures['acknowledged and missing']}")
    if figures["partial"]:
        problems.append(f"partial changes: {figures['partial']}")
    if figures["acknowledged without their record"] or figures["records without their change"]:
        problems.append("the change log and the changes disagree")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--writes-first", type=int, default=0,
                        help="acknowledged writes each round waits for before its delay")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kg-crash-") as folder:
        figures = run(kills=args.kills, seed=args.seed, folder=Path(folder),
                      writes_first=args.writes_first)
    return report(figures, failures(figures))


if __name__ == "__main__":
    sys.exit(main())
