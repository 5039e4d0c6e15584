"""Benchmark: `kg serve` against Oxigraph's own server and rdflib-endpoint, in one run.

Run by hand from the repository root (never in CI); figures go to docs/benchmarks.md:

    bash bench/setup.sh                              # once: rdflib-endpoint in bench/.venv-…
    PYTHONPATH=src python bench/generate.py 100k     # the data (also 10k, 1M)
    PYTHONPATH=src python bench/peers.py 100k        # all servers, all measurements
    PYTHONPATH=src python bench/peers.py 1M --servers kg,oxigraph --rounds 5
    PYTHONPATH=src python bench/peers.py 1M --servers remote,"kg (memory)" --rounds 5

What it does, on loopback, on the same data (bench/data/<size>/dataset.nq):

1. bulk-loads the data into fresh on-disk stores with ``kg load`` and ``oxigraph load``
   (time, peak memory); for the servers ``remote`` picks (Virtuoso, Oxigraph's server on
   disk; tests/virtuoso.py must find Virtuoso) with ``kg load`` through ``--store``, into
   new databases in a temporary folder, removed at the end;
2. starts every server (``kg serve`` in memory and on ``--data-dir``, with its query
   timeout, row limit and update token — the validation gate — switched on; ``oxigraph
   serve`` in memory, loaded through its Graph Store endpoint, and on disk; rdflib-endpoint)
   and times each until it answers a query over the data; ``kg serve --store`` in front of
   each remote server, which is also asked directly;
3. runs the query mix (bench/mix.py) ``--rounds`` times, interleaved: each round sends
   each query to every server in turn, in a rotating order. Each request carries a
   distinct comment, so no server (kg's result cache included) answers from a cache;
4. checks that every server gives the same number of rows (triples for CONSTRUCT) for each
   query: a fast wrong answer is a bug;
5. measures throughput with 1, 4 and 8 concurrent clients (each runs the mix in its own
   order for ``--seconds``);
6. shows the effect of kg's result cache: the same query repeated, and revalidated with
   If-None-Match (304);
7. measures the CPU of each kg server's process tree per tiny request, at 1 and 8 clients
   (bench/overhead.py's ``--tiny``), kg servers alternating: the fixed cost of a request;
8. stops every server and reports the peak memory of each server's process tree: the sum
   of the processes' RSS, and their PSS (a page shared by several processes counted once).

A query that fails or passes ``--query-timeout`` on a server is marked and not sent to that
server again; the server is restarted, so a runaway query cannot steal the CPU from the
others. Loops are bounded by count and by time.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import math
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from mix import Query, queries  # noqa: E402
from overhead import tiny  # noqa: E402
from servers import Server, prepare_disk, prepare_remote, servers  # noqa: E402

JSON_RESULTS = "application/sparql-results+json"
NTRIPLES = "application/n-triples"


def count(query: Query, body: bytes) -> int:
    """Rows of a SELECT answer, triples of a CONSTRUCT answer."""
    if query.construct:
        return sum(1 for line in body.splitlines() if line.strip() and not line.startswith(b"#"))
    document = json.loads(body)
    return len(document["results"]["bindings"]) if "results" in document else 1


def accept(query: Query) -> str:
    return NTRIPLES if query.construct else JSON_RESULTS


class Failed(Exception):
    """A query that failed or timed out on a server."""


def timed(server: Server, query: Query, text: str, timeout: float,
          connection=None) -> tuple[float, int]:
    if connection is not None and time.monotonic() - getattr(connection, "last_used", 0) > 1:
        # a connection idle for a while (the others were answering a slow query) is opened
        # afresh: servers time idle connections out (gunicorn after 2 s; Oxigraph's answers
        # the next request with a 500 "Resource temporarily unavailable")
        connection.close()
        connection.connect()
    started = time.perf_counter()
    try:
        try:
            status, body = server.query(text, accept(query), timeout, connection)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # the server closed an idle kept-alive connection (gunicorn after 2 s): the
            # request never reached it, so send it again on a new connection
            if connection is None:
                raise
            connection.close()
            started = time.perf_counter()
            status, body = server.query(text, accept(query), timeout, connection)
    except (OSError, http.client.HTTPException) as exc:  # socket timeout included
        raise Failed(f"{type(exc).__name__}: {exc}") from None
    seconds = time.perf_counter() - started
    if connection is not None:
        connection.last_used = time.monotonic()
    if status != 200:
        raise Failed(f"HTTP {status}: {body[:200]!r}")
    return seconds, count(query, body)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


class Run:
    """The state of one benchmark run."""

    def __init__(self, args, running: list[Server], log_dir: Path) -> None:
        self.args, self.servers, self.log_dir = args, running, log_dir
        self.mix = queries()
        self.times: dict[tuple[str, str], list[float]] = {}
        self.rows: dict[tuple[str, str], int] = {}
        self.failed: dict[tuple[str, str], str] = {}
        self.errors: dict[tuple[str, str], list[str]] = {}
        self.throughput_errors: dict[str, str] = {}  # server: first error under load
        self.serial = itertools.count()

    def text(self, query: Query) -> str:
        # a distinct comment per request: nothing can be answered from a cache
        return f"{query.text}\n# request {next(self.serial)}\n"

    def restart(self, server: Server) -> None:
        print(f"  restarting {server.name}", file=sys.stderr)
        server.stop()
        server.start(self.log_dir)

    def latency(self) -> None:
        deadline = time.monotonic() + self.args.max_minutes * 60
        # one kept-alive connection per server, as a client library would hold
        connections = {s.name: s.connect(self.args.query_timeout) for s in self.servers}
        for round_number in range(self.args.rounds + 1):  # round 0 warms up, not counted
            order = self.servers[round_number % len(self.servers):] + \
                self.servers[:round_number % len(self.servers)]
            for query in self.mix:
                for server in order:
                    key = (server.name, query.name)
                    if key in self.failed:
                        continue
                    try:
                        seconds, rows = timed(server, query, self.text(query),
                                              self.args.query_timeout, connections[server.name])
                    except (Failed, OSError, http.client.HTTPException) as exc:
                        print(f"  {server.name}: {query.name} failed: {exc}", file=sys.stderr)
                        self.errors.setdefault(key, []).append(str(exc))
                        timed_out = "timed out" in str(exc)
                        if timed_out or len(self.errors[key]) > 1:  # not sent again
                            self.failed[key] = str(exc)
                        connections[server.name].close()
                        if timed_out:  # it may still be running there: start afresh
                            self.restart(server)
                        connections[server.name] = server.connect(self.args.query_timeout)
                        continue
                    self.rows.setdefault(key, rows)
                    if round_number:
                        self.times.setdefault(key, []).append(seconds)
            print(f"  round {round_number} done", file=sys.stderr)
            if time.monotonic() > deadline:
                print("  time budget spent: fewer rounds", file=sys.stderr)
                break
        for connection in connections.values():
            connection.close()

    def throughput(self, server: Server, clients: int) -> tuple[float, int]:
        mix = [q for q in self.mix if (server.name, q.name) not in self.failed]
        done, errors = [0], [0]
        lock = threading.Lock()
        stop = time.monotonic() + self.args.seconds

        def client(offset: int) -> None:
            connection = server.connect(self.args.query_timeout)
            for i in itertools.count(offset):
                if time.monotonic() > stop:
                    break
                query = mix[i % len(mix)]
                try:
                    timed(server, query, self.text(query), self.args.query_timeout, connection)
                    with lock:
                        done[0] += 1
                except (Failed, OSError, http.client.HTTPException) as exc:
                    with lock:
                        errors[0] += 1
                        self.throughput_errors.setdefault(server.name, str(exc)[:160])
                    connection.close()
                    time.sleep(0.01)  # no storm of reconnections
                    connection = server.connect(self.args.query_timeout)
            connection.close()

        threads = [threading.Thread(target=client, args=(i * 3,)) for i in range(clients)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.args.seconds + self.args.query_timeout + 30)
        return done[0] / (time.monotonic() - started), errors[0]

    def cache_effect(self, server: Server) -> dict:
        """Median latency of the same query: first run, repeated, and revalidated (304)."""
        query = next(q for q in self.mix if q.name == "group-by-domain")
        text = query.text + f"\n# cache probe {os.getpid()}\n"
        first, _ = timed(server, query, text, self.args.query_timeout)
        connection = server.connect(self.args.query_timeout)
        repeated, revalidated, etag = [], [], None
        for _ in range(30):
            started = time.perf_counter()
            connection.request("GET", server.path + "?" + _encode(text),
                               headers={"Accept": accept(query)})
            response = connection.getresponse()
            response.read()
            repeated.append(time.perf_counter() - started)
            etag = response.headers.get("ETag")
        status = None
        if etag:
            for _ in range(30):
                started = time.perf_counter()
                connection.request("GET", server.path + "?" + _encode(text),
                                   headers={"Accept": accept(query), "If-None-Match": etag})
                response = connection.getresponse()
                response.read()
                status = response.status
                revalidated.append(time.perf_counter() - started)
        connection.close()
        return {"first": first, "repeated": statistics.median(repeated),
                "revalidated": statistics.median(revalidated) if revalidated else None,
                "status": status, "etag": etag}


def _encode(text: str) -> str:
    import urllib.parse
    return urllib.parse.urlencode({"query": text})


def ms(seconds: float | None) -> str:
    return "–" if seconds is None or math.isnan(seconds) else f"{seconds * 1000:.1f}"


def mb(size: int) -> str:
    return f"{size / 2**20:.0f}"


def reference(server: Server) -> str:
    """What a kg server is compared with: the server behind it, or Oxigraph's server."""
    return server.behind or {"memory": "oxigraph (memory)", "disk": "oxigraph (disk)"}.get(
        server.mode, "")


def report(run: Run, size: str, loads, ready, peaks, rates, caches, fixed: str,
           started: float) -> str:
    names = [server.name for server in run.servers]
    lines = [f"### {size} triples", "",
             f"Machine: {platform.node()}, {os.cpu_count()} cores, Python "
             f"{platform.python_version()}, {platform.platform()}; load average "
             f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end "
             f"(at the start: {run.args.load_at_start}); {run.args.rounds} rounds, "
             f"{time.time() - started:.0f} s in all.", "",
             f"Command: `{' '.join(['PYTHONPATH=src python'] + sys.argv)}`", ""]
    if loads:
        lines += ["Bulk load of `dataset.nq` into a fresh on-disk store (through `--store`: "
                  "into the server named):", "",
                  "| command | time (s) | peak RSS (MB) |", "|---|---:|---:|"]
        lines += [f"| `{name}` | {secs:.1f} | {mb(peak)} |" for name, (secs, peak) in loads.items()]
        lines.append("")
    header = "| query | kind | rows | " + " | ".join(f"{n} median / p95 (ms)" for n in names)
    ratio_of = [s for s in run.servers if s.name.startswith("kg") and reference(s) in names]
    header += "".join(f" | {s.name} ÷ {reference(s)}" for s in ratio_of)
    lines += ["Latency per query (one client):", "", header + " |",
              "|" + "---|" * 3 + "---:|" * (len(names) + len(ratio_of))]
    mismatches: list[str] = []
    for query in run.mix:
        counts = {run.rows.get((n, query.name)) for n in names} - {None}
        cells = []
        for name in names:
            key = (name, query.name)
            if key in run.failed:
                cells.append("failed")
            else:
                values = run.times.get(key, [])
                cells.append(f"{ms(statistics.median(values))} / {ms(percentile(values, .95))}"
                             if values else "–")
        for server in ratio_of:
            mine, theirs = (run.times.get((server.name, query.name)),
                            run.times.get((reference(server), query.name)))
            cells.append(f"{statistics.median(mine) / statistics.median(theirs):.2f}"
                         if mine and theirs else "–")
        rows = "/".join(str(c) for c in sorted(counts))
        if len(counts) > 1:
            mismatches.append(f"- {query.name}: " + ", ".join(
                f"{name} {run.rows[(name, query.name)]}" for name in names
                if (name, query.name) in run.rows))
            rows += " **MISMATCH**"
        lines.append(f"| {query.name} | {query.kind} | {rows} | " + " | ".join(cells) + " |")
    lines += ["", "Geometric mean of the median latencies (ms), and ratios:", "",
              "| server | all | competency questions | heavy |", "|---|---:|---:|---:|"]
    means = {}
    for name in names:
        row = []
        for kinds in (("cq", "heavy"), ("cq",), ("heavy",)):
            values = [statistics.median(run.times[(name, q.name)]) for q in run.mix
                      if q.kind in kinds and (name, q.name) in run.times]
            complete = len(values) == sum(1 for q in run.mix if q.kind in kinds)
            means[(name, kinds)] = geomean(values) if complete else float("nan")
            row.append(ms(means[(name, kinds)]) + ("" if complete else " (incomplete)"))
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    lines.append("")
    for server in run.servers:
        for other in names:
            if other == server.name or not server.name.startswith("kg"):
                continue
            if server.mode != run_mode(other, run) and not other.startswith("rdflib"):
                continue
            parts = []
            for label, kinds in (("all", ("cq", "heavy")), ("cq", ("cq",)), ("heavy", ("heavy",))):
                parts.append(f"{label} {means[(server.name, kinds)] / means[(other, kinds)]:.2f}")
            lines.append(f"- {server.name} ÷ {other}: " + ", ".join(parts))
    for server in ratio_of:  # the acceptance of --store: the queries over 10 ms there
        ratios = {q.name: statistics.median(run.times[(server.name, q.name)])
                  / statistics.median(run.times[(reference(server), q.name)])
                  for q in run.mix if (server.name, q.name) in run.times
                  and statistics.median(run.times.get((reference(server), q.name), [0])) > .01}
        if server.behind and ratios:
            worst = max(ratios, key=ratios.get)
            lines.append(f"- {server.name} ÷ {server.behind}, the {len(ratios)} queries over "
                         f"10 ms there: at most {ratios[worst]:.2f} ({worst})")
            # the same query sent to both in the same round, one after the other: the median
            # of these paired ratios, and the ratio of the best times, are what the machine's
            # load moves least (a median of a second-long query moves by 10-30 % here)
            paired, best = {}, {}
            for name in ratios:
                mine = run.times[(server.name, name)]
                theirs = run.times[(reference(server), name)]
                if len(mine) == len(theirs):
                    paired[name] = statistics.median(a / b for a, b in zip(mine, theirs))
                best[name] = min(mine) / min(theirs)
            for label, values in (("median of the paired per-round ratios", paired),
                                  ("ratio of the best times", best)):
                if values:
                    worst = max(values, key=values.get)
                    lines.append(f"  - {label}: at most {values[worst]:.2f} ({worst}); "
                                 + ", ".join(f"{n} {v:.2f}" for n, v in values.items()))
    lines += ["", "Throughput (queries/s over the mix; errors in brackets), time to ready, "
              "peak memory of the process tree:", "",
              "| server | 1 client | 4 clients | 8 clients | ready (s) | peak RSS sum (MB) "
              "| peak PSS (MB) |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for name in names:
        cells = []
        for clients in (1, 4, 8):
            rate, errors = rates.get((name, clients), (float("nan"), 0))
            cells.append(f"{rate:.1f}" + (f" ({errors})" if errors else ""))
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {ready[name]:.2f} | "
                     f"{mb(peaks[name][0])} | {mb(peaks[name][1])} |")
    for server in ratio_of:
        other = reference(server)
        rate, theirs = rates.get((server.name, 8)), rates.get((other, 8))
        if rate and theirs and theirs[0] and peaks.get(other) and all(peaks[other]):
            mine, their = peaks[server.name], peaks[other]
            lines.append(f"\n{server.name} ÷ {other} throughput at 8 clients: "
                         f"{rate[0] / theirs[0]:.2f}; memory {mine[1] / their[1]:.2f} (PSS), "
                         f"{mine[0] / their[0]:.2f} (RSS sum)")
    if run.throughput_errors:
        lines += ["", "First error under load, per server:", ""]
        lines += [f"- {name}: {why}" for name, why in run.throughput_errors.items()]
    if caches:
        lines += ["", "Repeated query (`group-by-domain`), median ms: first answer, the same "
                  "query again, revalidated with If-None-Match:", "",
                  "| server | first | repeated | If-None-Match | status |", "|---|---:|---:|---:|---:|"]
        for name, cache in caches.items():
            lines.append(f"| {name} | {ms(cache['first'])} | {ms(cache['repeated'])} | "
                         f"{ms(cache['revalidated'])} | {cache['status'] or 'no ETag'} |")
    if fixed:
        lines += ["", "CPU of each kg server's process tree per tiny request (an ASK and a label "
                  "look-up, alternating):", "", fixed]
    if mismatches:
        lines += ["", "Result sizes that differ (rows, or triples for CONSTRUCT):", ""] + mismatches
    if run.failed:
        lines += ["", "Failed twice or timed out (not sent again):", ""]
        lines += [f"- {name}: {query}: {why[:160]}" for (name, query), why in run.failed.items()]
    transient = {key: why for key, why in run.errors.items() if key not in run.failed}
    if transient:
        lines += ["", "Failed once, answered when sent again:", ""]
        lines += [f"- {name}: {query}: {why[0][:160]}" for (name, query), why in transient.items()]
    return "\n".join(lines) + "\n"


def run_mode(name: str, run: Run) -> str:
    return next(s.mode for s in run.servers if s.name == name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("size", help="a folder of bench/data (10k, 100k, 1M)")
    parser.add_argument("--servers", default="kg,oxigraph,rdflib-endpoint",
                        help="comma-separated: kg, oxigraph, floor, rdflib-endpoint, or full names")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10, help="per throughput measure")
    parser.add_argument("--query-timeout", type=float, default=60)
    parser.add_argument("--max-minutes", type=float, default=30, help="latency time budget")
    parser.add_argument("--no-load", action="store_true",
                        help="reuse the on-disk stores of the previous run")
    parser.add_argument("--output", type=Path, help="also write the Markdown report here")
    parser.add_argument("--tiny", type=float, default=5, metavar="SECONDS",
                        help="each window of the CPU per tiny request (0: not measured)")
    parser.add_argument("--compare-src", type=Path, help="another checkout's src/: also run "
                        "its kg serve in memory, as kg-compare (memory)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))  # servers stopped below
    args.load_at_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    started = time.time()
    data = HERE / "data" / args.size.lower()
    if not (data / "dataset.nq").is_file():
        sys.exit(f"no {data}/dataset.nq: run bench/generate.py {args.size} first")
    work = HERE / "data" / args.size.lower() / "stores"
    work.mkdir(exist_ok=True)
    log_dir = Path(tempfile.mkdtemp(prefix="kg-bench-logs-"))
    which = set(args.servers.split(","))
    remote = Path(tempfile.mkdtemp(prefix="kg-bench-remote-"))
    running = servers(data, work, which=which, compare_src=args.compare_src, remote=remote)
    loads = {}
    if not args.no_load and any(s.mode == "disk" for s in running):
        print("bulk load…", file=sys.stderr)
        loads = prepare_disk(data, work)
    ready, peaks, rates, caches, fixed = {}, {}, {}, {}, ""
    try:
        if any(s.store for s in running):
            print("kg load through --store…", file=sys.stderr)
            loads.update(prepare_remote(data, running, log_dir))
        for server in running:
            print(f"starting {server.name}…", file=sys.stderr)
            server.start(log_dir)
            ready[server.name] = server.ready_seconds
        run = Run(args, running, log_dir)
        print("latency…", file=sys.stderr)
        run.latency()
        for server in running:
            for clients in (1, 4, 8):
                print(f"throughput {server.name} × {clients}…", file=sys.stderr)
                rates[(server.name, clients)] = run.throughput(server, clients)
        for server in running:
            if server.name.startswith("kg"):
                caches[server.name] = run.cache_effect(server)
        if args.tiny:
            print("CPU per tiny request…", file=sys.stderr)
            fixed = tiny([s for s in running if s.name.startswith("kg")], 3, args.tiny)
    finally:
        for server in running:
            peaks[server.name] = server.stop()
        shutil.rmtree(remote, ignore_errors=True)
    text = report(run, args.size, loads, ready, peaks, rates, caches, fixed, started)
    print(text)
    if args.output:
        with open(args.output, "a", encoding="utf-8") as out:
            out.write(text + "\n")
    print(f"server logs in {log_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
