"""Load run: readers running the competency-question mix and writers sending valid updates,
against a real `kg serve` process on a loopback port, for a fixed time.

Run by hand (the figures go to docs/reliability.md); tests/test_reliability.py runs a short
variant:

    PYTHONPATH=src python bench/load.py                          # 16 readers, 2 writers, 60 s
    PYTHONPATH=src python bench/load.py --seconds 10 --runaway 4 # with 4 runaway queries too

Every reader loops over the 99 competency questions in its own shuffled order (GET, POST
form and POST body in turn); every writer sends SPARQL updates, each adding a small valid
change (a note on an existing organisation, under a slug of its own) with the bearer token.
``--runaway N`` adds N clients that keep sending a query that never ends. Afterwards every
acknowledged write is looked for in the store. The run fails (exit 1) on any 5xx, any
dropped connection, or any acknowledged write missing.

The server runs with `--data-dir` (writes are durable) and a per-client limit raised above
the number of threads here: every client of this run comes from 127.0.0.1.
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
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from helpers import KGServer  # noqa: E402  (the tests' server helper: one way to start it)

TOKEN = "bench-writer-token-0123456789"
RUNAWAY = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
MARK = "https://w3id.org/fr-indopacific/id/load-note-"


@dataclass
class Tally:
    """What one kind of client saw."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, status: int, seconds: float) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.latencies.append(seconds)

    def drop(self, exc: Exception, connection: http.client.HTTPConnection,
             url: str) -> http.client.HTTPConnection:
        """Count a dropped connection; return a new one."""
        with self.lock:
            self.dropped.append(f"{type(exc).__name__}: {exc}")
        connection.close()
        return _connection(url)

    def percentile(self, q: float) -> float:
        """The q-th percentile latency in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def _request(connection: http.client.HTTPConnection, method: str, path: str,
             body: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    return response.status, response.read()


def _connection(url: str) -> http.client.HTTPConnection:
    parts = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)


def reader(url: str, queries: list[str], seed: int, stop: threading.Event, tally: Tally) -> None:
    """Run the competency questions in a shuffled loop until ``stop``, on one keep-alive
    connection (a new one after a failure, which is counted as dropped)."""
    rng = random.Random(seed)
    connection = _connection(url)
    n = 0
    while not stop.is_set():
        query = rng.choice(queries)
        how = n % 3
        n += 1
        accept = {"Accept": "application/sparql-results+json, text/turtle;q=0.9"}
        started = time.perf_counter()
        try:
            if how == 0:
                status, _ = _request(connection, "GET", "/sparql?" + urllib.parse.urlencode(
                    {"query": query}), headers=accept)
            elif how == 1:
                status, _ = _request(connection, "POST", "/sparql", urllib.parse.urlencode(
                    {"query": query}).encode(), {**accept, "Content-Type":
                                                 "application/x-www-form-urlencoded"})
            else:
                status, _ = _request(connection, "POST", "/sparql", query.encode(), {
                    **accept, "Content-Type": "application/sparql-query"})
        except (OSError, http.client.HTTPException) as exc:
            connection = tally.drop(exc, connection, url)
            continue
        tally.record(status, time.perf_counter() - started)
    connection.close()


def change(slug: str, by: str = "load", triples: int = 3) -> str:
    """A small valid update of ``triples`` triples (at least three): a note under its own
    IRI, with alternative labels beyond the third (a partial change would show as a part
    of them)."""
    labels = "".join(f' ;\n        skos:altLabel "Label {k} of note {slug}"@en'
                     for k in range(max(0, triples - 3)))
    return f"""INSERT DATA {{ GRAPH fipg:user {{
    <{MARK}{slug}> a skos:Concept ;
        skos:prefLabel "Note {slug} of the {by} test"@en ;
        skos:inScheme fip:Hedges{labels} .
}} }}"""


def writer(url: str, name: str, stop: threading.Event, tally: Tally, triples: int = 3) -> None:
    """Send updates of ``triples`` triples until ``stop``; record each acknowledged one."""
    connection = _connection(url)
    n = 0
    while not stop.is_set():
        slug = f"{name}-{n}"
        n += 1
        started = time.perf_counter()
        try:
            status, body = _request(connection, "POST", "/sparql",
                                    change(slug, triples=triples).encode(), {
                "Content-Type": "application/sparql-update",
                "Authorization": f"Bearer {TOKEN}"})
        except (OSError, http.client.HTTPException) as exc:
            connection = tally.drop(exc, connection, url)
            continue
        tally.record(status, time.perf_counter() - started)
        if 200 <= status < 300:
            with tally.lock:
                tally.acknowledged.append(slug)
        elif status < 500 and not tally.statuses.get(-status):
            tally.statuses[-status] = 1  # a refused write: print its reason once
            print(f"write refused ({status}): {body[:300]!r}", file=sys.stderr)
    connection.close()


def runaway(url: str, stop: threading.Event, tally: Tally) -> None:
    """Keep sending a query that never ends (each is stopped by the server)."""
    while not stop.is_set():
        connection = _connection(url)
        started = time.perf_counter()
        try:
            status, _ = _request(connection, "GET", "/sparql?" + urllib.parse.urlencode(
                {"query": RUNAWAY}))
            tally.record(status, time.perf_counter() - started)
        except (OSError, http.client.HTTPException) as exc:
            with tally.lock:
                tally.dropped.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()


def missing_writes(url: str, slugs: list[str]) -> list[str]:
    """The acknowledged writes the store does not hold."""
    query = f'SELECT ?s {{ ?s a skos:Concept FILTER(STRSTARTS(STR(?s), "{MARK}")) }}'
    connection = _connection(url)
    status, body = _request(connection, "POST", "/sparql", query.encode(), {
        "Content-Type": "application/sparql-query",
        "Accept": "application/sparql-results+json"})
    connection.close()
    if status != 200:
        raise SystemExit(f"the check query failed: {status} {body[:300]!r}")
    present = {row["s"]["value"][len(MARK):]
               for row in json.loads(body)["results"]["bindings"]}
    return [slug for slug in slugs if slug not in present]


def run(*, seconds: float, readers: int, writers: int, runaways: int = 0,
        folder: Path, timeout: float = 30, until_writes: int = 0, until_reads: int = 0,
        max_seconds: float = 300, memory: bool = False, triples: int = 3,
        settings: dict | None = None) -> dict:
    """One load run against a fresh server in ``folder`` (on disk, or in ``memory``), each
    write of ``triples`` triples, with ``settings`` (KG_* variables) over the run's own;
    returns the figures.

    It lasts ``seconds``, and then goes on until ``until_writes`` writes were acknowledged
    and ``until_reads`` reads answered, for ``max_seconds`` at the most: a test waits for
    what it needs to see instead of counting what a fixed window on a busy machine holds.
    """
    queries = [path.read_text(encoding="utf-8")
               for path in sorted((REPO / "queries").glob("*.rq"))]
    storage = () if memory else ("--data-dir", str(folder / "store"))
    server = KGServer(folder, *storage, env={
        "KG_UPDATE_TOKEN": f"load:{TOKEN}", "KG_CLIENT_REQUESTS": str(4 * (readers + writers
                                                                            + runaways + 2)),
        "KG_THREADS": str(readers + writers + runaways + 4), "KG_TIMEOUT": str(timeout),
        **(settings or {})})
    try:
        server.wait(120)
        stop = threading.Event()
        reads, writes, runs = Tally(), Tally(), Tally()
        threads = [threading.Thread(target=reader, args=(server.url, queries, i, stop, reads))
                   for i in range(readers)]
        threads += [threading.Thread(target=writer, args=(server.url, f"w{i}", stop, writes,
                                                          triples))
                    for i in range(writers)]
        threads += [threading.Thread(target=runaway, args=(server.url, stop, runs))
                    for _ in range(runaways)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        while (len(writes.acknowledged) < until_writes or len(reads.latencies) < until_reads) \
                and time.monotonic() - started < max_seconds:
            time.sleep(0.1)
        stop.set()
        for thread in threads:
            thread.join(timeout + 60)
        elapsed = time.monotonic() - started
        missing = missing_writes(server.url, writes.acknowledged)
    finally:
        server.stop()
    server_errors = sum(n for status, n in {**reads.statuses, **writes.statuses}.items()
                        if status >= 500)
    return {
        "seconds": round(elapsed, 1), "readers": readers, "writers": writers,
        "runaway clients": runaways, "reads": len(reads.latencies),
        "reads per second": round(len(reads.latencies) / elapsed, 1),
        "read p50 ms": round(reads.percentile(50), 1),
        "read p95 ms": round(reads.percentile(95), 1),
        "read p99 ms": round(reads.percentile(99), 1),
        "read max ms": round(1000 * max(reads.latencies, default=0), 1),
        "read statuses": dict(sorted(reads.statuses.items())),
        "writes acknowledged": len(writes.acknowledged),
        "write p50 ms": round(writes.percentile(50), 1),
        "write p99 ms": round(writes.percentile(99), 1),
        "write statuses": {k: v for k, v in sorted(writes.statuses.items()) if k > 0},
        "runaway statuses": dict(sorted(runs.statuses.items())),
        "5xx": server_errors, "dropped connections": len(reads.dropped) + len(writes.dropped),
        "dropped (first)": (reads.dropped + writes.dropped)[:3],
        "acknowledged writes missing": len(missing),
    }


def failures(figures: dict) -> list[str]:
    """What makes the run fail."""
    problems = []
    if figures["5xx"]:
        problems.append(f"{figures['5xx']} answers were 5xx")
    if figures["dropped connections"]:
        problems.append(f"{figures['dropped connections']} connections dropped: "
                        f"{figures['dropped (first)']}")
    if figures["acknowledged writes missing"]:
        problems.append(f"{figures['acknowledged writes missing']} acknowledged writes missing")
    if set(figures["read statuses"]) != {200}:
        problems.append(f"reads answered {figures['read statuses']}")
    return problems


def report(figures: dict, problems: list[str]) -> int:
    """Print the figures and what failed; the exit code of a bench script."""
    print(json.dumps(figures, indent=1, ensure_ascii=False))
    for problem in problems:
        print("FAIL:", problem, file=sys.stderr)
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--readers", type=int, default=16)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--runaway", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kg-load-") as folder:
        figures = run(seconds=args.seconds, readers=args.readers, writers=args.writers,
                      runaways=args.runaway, folder=Path(folder))
    return report(figures, failures(figures))


if __name__ == "__main__":
    sys.exit(main())
