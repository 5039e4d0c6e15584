"""What one request costs `kg serve` in CPU, beside the query itself: A/B between source trees.

Run by hand from the repository root (never in CI); figures go to docs/benchmarks.md:

    PYTHONPATH=src python bench/overhead.py 100k                      # this tree
    PYTHONPATH=src python bench/overhead.py 100k --other /tmp/old/src # against another
    PYTHONPATH=src python bench/overhead.py 100k --other /tmp/old/src --tiny 5  # tiny only

It starts `kg serve` (in memory, on bench/data/<size>/, the write gate on, as bench/peers.py
does) once per source tree, then, in rounds that alternate between the servers, sends the
query mix from one client on a kept-alive connection and reads from /proc the CPU time the
server process (granian's worker: HTTP, Flask, the hand-off) and its whole tree (the query
workers too) used per request. CPU per request moves much less with the load of a shared
machine than latency does. Every request carries a distinct comment (no cache answers).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from mix import queries  # noqa: E402
from servers import TOKEN, Server, kg_command, tree  # noqa: E402

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:  # ended meanwhile (a replaced worker)
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def server_process(server: Server) -> int:
    """The HTTP server's worker process (granian's, or gunicorn's in older trees): the child
    of the main process that is not a multiprocessing helper."""
    for pid in tree(server.process.pid):
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            command = cmdline.read()
        if pid != server.process.pid and b"multiprocessing" not in command:
            return pid
    raise RuntimeError(f"{server.name}: no server worker process found")


def measure(server: Server, mix, repeat: int) -> tuple[float, float, float]:
    """(server process CPU, tree CPU, median latency) per request, in ms, over the mix."""
    connection = server.connect(60)
    root, worker = server.process.pid, server_process(server)
    before = {pid: cpu_seconds(pid) for pid in tree(root)}
    latencies = []
    for query in mix:
        for _ in range(repeat * (4 if query.kind == "cq" else 1)):
            text = f"{query.text}\n# {random.randrange(10**15)}\n"
            accept = "application/n-triples" if query.construct else \
                "application/sparql-results+json"
            started = time.perf_counter()
            status, _ = server.query(text, accept, 60, connection)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                raise RuntimeError(f"{server.name}: {query.name} answered {status}")
    connection.close()
    after = {pid: cpu_seconds(pid) for pid in tree(root)}
    requests = len(latencies)
    spent = sum(after[pid] - before.get(pid, 0.0) for pid in after)
    return (1000 * (after[worker] - before[worker]) / requests, 1000 * spent / requests,
            1000 * statistics.median(latencies))


#: The tiny requests of the acceptance figure: an ASK and a label look-up.
TINY = ("ASK { fipid:dcsd ?p ?o }",
        "SELECT ?label WHERE { fipid:dcsd rdfs:label ?label }")


def tiny_window(server: Server, clients: int, seconds: float) -> tuple[float, float]:
    """(tree CPU per request in ms, requests per second) over a window of ``seconds`` in
    which ``clients`` clients send the tiny requests back to back, each on its connection."""
    root = server.process.pid
    stop = threading.Event()
    counts = [0] * clients

    def client(index: int) -> None:
        connection = server.connect(60)
        n = 0
        while not stop.is_set():
            text = f"{TINY[n % 2]}\n# {index}-{n}\n"  # distinct: never from the cache
            status, _ = server.query(text, "application/sparql-results+json", 60, connection)
            if status != 200:
                raise RuntimeError(f"{server.name}: a tiny query answered {status}")
            n += 1
            counts[index] = n
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(1)  # connections up, workers warm
    before, started = {pid: cpu_seconds(pid) for pid in tree(root)}, sum(counts)
    window = time.monotonic()
    time.sleep(seconds)
    after, done = {pid: cpu_seconds(pid) for pid in tree(root)}, sum(counts)
    elapsed = time.monotonic() - window
    stop.set()
    for thread in threads:
        thread.join(60)
    spent = sum(after[pid] - before.get(pid, 0.0) for pid in after)
    return 1000 * spent / max(1, done - started), (done - started) / elapsed


def tiny(running: list[Server], rounds: int, seconds: float) -> str:
    """The tree's CPU per tiny request at 1 and 8 clients, servers alternating per round:
    Markdown tables (bench/peers.py adds them to its report)."""
    lines = [f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the start"]
    for clients in (1, 8):
        rows: dict[str, list[tuple[float, float]]] = {s.name: [] for s in running}
        for round_number in range(rounds):
            for server in (running if round_number % 2 == 0 else running[::-1]):
                rows[server.name].append(tiny_window(server, clients, seconds))
        lines += ["", f"{clients} client(s), {rounds} windows of {seconds:g} s each:", "",
                  "| source | tree CPU / tiny request (ms) | requests / s |", "|---|---:|---:|"]
        for name, figures in rows.items():
            lines.append(f"| {name} | {statistics.median(f[0] for f in figures):.2f} | "
                         f"{statistics.median(f[1] for f in figures):.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("size", help="a folder of bench/data (10k, 100k, 1M)")
    parser.add_argument("--other", type=Path, help="another src/ folder to compare with")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=5, help="each heavy query per round "
                        "(competency questions four times as often)")
    parser.add_argument("--tiny", type=float, metavar="SECONDS", help="instead of the mix: "
                        "the tree's CPU per tiny request (ASK, label) over windows of SECONDS "
                        "at 1 and 8 clients")
    parser.add_argument("--cache-size", default="0", help="kg's --cache-size (0: every "
                        "request computed)")
    args = parser.parse_args()
    data = HERE / "data" / args.size.lower()
    sources = {"this tree": HERE.parent / "src"}
    if args.other:
        sources[f"{args.other}"] = args.other.resolve()
    env = {"KG_UPDATE_TOKEN": TOKEN, "KG_BUNDLE_DIR": str(data / "bundle"),
           "KG_CACHE_SIZE": args.cache_size}
    running = [Server(name, "memory", kg_command("serve", "--port", "{port}"), "/sparql",
                      {**env, "PYTHONPATH": str(src)}) for name, src in sources.items()]
    log_dir = Path(tempfile.mkdtemp(prefix="kg-overhead-"))
    results: dict[str, list[tuple[float, float, float]]] = {s.name: [] for s in running}
    load_at_start = os.getloadavg()
    try:
        for server in running:
            server.start(log_dir)
        if args.tiny:
            print(tiny(running, args.rounds, args.tiny))
            return
        mix = queries()
        for round_number in range(args.rounds):
            order = running if round_number % 2 == 0 else running[::-1]
            for server in order:
                results[server.name].append(measure(server, mix, args.repeat))
    finally:
        for server in running:
            server.stop()
    print(f"load average {' '.join(f'{x:.2f}' for x in load_at_start)} at the start, "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end; "
          f"{args.rounds} rounds\n")
    print("| source | server process CPU / request (ms) | tree CPU / request (ms) | "
          "median latency (ms) |\n|---|---:|---:|---:|")
    for name, rows in results.items():
        cells = [statistics.median(row[i] for row in rows) for i in range(3)]
        print(f"| {name} | " + " | ".join(f"{cell:.2f}" for cell in cells) + " |")


if __name__ == "__main__":
    main()
