"""Crash run: a `kg serve --data-dir` process killed with SIGKILL in the middle of a stream of
writes, restarted, and checked — at several points.

Run by hand (the figures go to docs/reliability.md); tests/test_reliability.py runs a short
variant:

    PYTHONPATH=src python bench/crash.py                 # 10 kills
    PYTHONPATH=src python bench/crash.py --kills 3 --seed 7

Each round starts the server on the same data directory, lets two writers send updates (each
adds one change of three triples under its own slug, and the change log records it), and
kills the whole process group (the server, its query workers) with SIGKILL after a random
delay, while writes are in flight. After the last round the server is started once more and
every change ever sent is looked for: an acknowledged change must be there whole, with its
change-log record; a change that was not acknowledged must be there whole or not at all,
never in part. Exit 1 if anything is missing or partial.
"""

from __future__ import annotations

import argparse
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
from conftest import KGServer  # noqa: E402
from load import MARK, TOKEN, _connection, _request, change, report  # noqa: E402

#: Three triples per change: a partial change shows as one or two of them.
PARTS = 3


def _writer(url: str, name: str, stop: threading.Event, sent: list, acknowledged: list) -> None:
    connection = _connection(url)
    n = 0
    while not stop.is_set():
        slug = f"{name}-{n}"
        n += 1
        sent.append(slug)
        try:
            status, _ = _request(connection, "POST", "/sparql", change(slug, "crash").encode(), {
                "Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"})
        except OSError:
            return  # the server is gone: this write was never acknowledged
        if 200 <= status < 300:
            acknowledged.append(slug)


def _server(folder: Path) -> KGServer:
    return KGServer(folder, "--data-dir", str(folder / "store"), env={
        "KG_UPDATE_TOKEN": f"crash:{TOKEN}", "KG_WORKERS": "1"})


def check(url: str, sent: list[str], acknowledged: list[str]) -> dict:
    """Which changes are whole, partial or missing, and whether the change log has them."""
    query = f"""SELECT ?s (COUNT(*) AS ?n) {{ GRAPH ?g {{ ?s ?p ?o }}
        FILTER(STRSTARTS(STR(?s), "{MARK}")) }} GROUP BY ?s"""
    connection = _connection(url)
    status, body = _request(connection, "POST", "/sparql", query.encode(), {
        "Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"})
    log_query = f"""SELECT (COUNT(*) AS ?n) {{ GRAPH ?g {{ ?change ?p ?o }}
        FILTER(CONTAINS(STR(?o), "{MARK}")) }}"""
    log_status, log_body = _request(connection, "POST", "/sparql", log_query.encode(), {
        "Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"})
    connection.close()
    if status != 200 or log_status != 200:
        raise SystemExit(f"the check queries failed: {status} {body[:200]!r} {log_body[:200]!r}")
    counts = {row["s"]["value"][len(MARK):]: int(row["n"]["value"])
              for row in json.loads(body)["results"]["bindings"]}
    return {
        "changes sent": len(sent), "acknowledged": len(acknowledged),
        "acknowledged and whole": sum(counts.get(slug) == PARTS for slug in acknowledged),
        "acknowledged and missing": [s for s in acknowledged if counts.get(s, 0) == 0],
        "partial": {s: n for s, n in counts.items() if n != PARTS},
        "unacknowledged but whole": sum(counts.get(s) == PARTS for s in set(sent)
                                        - set(acknowledged)),
        "change-log mentions": int(json.loads(log_body)["results"]["bindings"][0]["n"]["value"]),
    }


def run(*, kills: int, seed: int, folder: Path) -> dict:
    """``kills`` rounds of writes and SIGKILL on one data directory, then the check."""
    rng = random.Random(seed)
    sent: list[str] = []
    acknowledged: list[str] = []
    delays = []
    for round_ in range(kills):
        server = _server(folder).wait(120)
        stop = threading.Event()
        writers = [threading.Thread(target=_writer, args=(server.url, f"r{round_}w{i}", stop,
                                                          sent, acknowledged))
                   for i in range(2)]
        for thread in writers:
            thread.start()
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
    return {"kills": kills, "kill after (s)": delays, **figures}


def failures(figures: dict) -> list[str]:
    """What makes the run fail."""
    problems = []
    if figures["acknowledged and missing"]:
        problems.append(f"acknowledged writes missing: {figures['acknowledged and missing']}")
    if figures["partial"]:
        problems.append(f"partial changes: {figures['partial']}")
    if figures["acknowledged and whole"] != figures["acknowledged"]:
        problems.append("an acknowledged change is not whole")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kg-crash-") as folder:
        figures = run(kills=args.kills, seed=args.seed, folder=Path(folder))
    return report(figures, failures(figures))


if __name__ == "__main__":
    sys.exit(main())
