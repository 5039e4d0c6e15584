"""What one request costs `kg serve` in CPU, beside the query itself: A/B between source trees.

Run by hand from the repository root (never in CI); figures go to docs/benchmarks.md:

    PYTHONPATH=src python bench/overhead.py 100k                      # this tree
    PYTHONPATH=src python bench/overhead.py 100k --other /tmp/old/src # against another

It starts `kg serve` (in memory, on bench/data/<size>/, the write gate on, as bench/peers.py
does) once per source tree, then, in rounds that alternate between the servers, sends the
query mix from one client on a kept-alive connection and reads from /proc the CPU time the
server process (gunicorn's worker: HTTP, Flask, the hand-off) and its whole tree (the query
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
    """gunicorn's worker: the child of the arbiter that is not a multiprocessing helper."""
    for pid in tree(server.process.pid):
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            command = cmdline.read()
        if pid != server.process.pid and b"multiprocessing" not in command:
            return pid
    raise RuntimeError(f"{server.name}: no gunicorn worker found")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("size", help="a folder of bench/data (10k, 100k, 1M)")
    parser.add_argument("--other", type=Path, help="another src/ folder to compare with")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=5, help="each heavy query per round "
                        "(competency questions four times as often)")
    args = parser.parse_args()
    data = HERE / "data" / args.size.lower()
    sources = {"this tree": HERE.parent / "src"}
    if args.other:
        sources[f"{args.other}"] = args.other.resolve()
    env = {"KG_UPDATE_TOKEN": TOKEN, "KG_BUNDLE_DIR": str(data / "bundle")}
    running = [Server(name, "memory", kg_command("serve", "--port", "{port}"), "/sparql",
                      {**env, "PYTHONPATH": str(src)}) for name, src in sources.items()]
    log_dir = Path(tempfile.mkdtemp(prefix="kg-overhead-"))
    results: dict[str, list[tuple[float, float, float]]] = {s.name: [] for s in running}
    load_at_start = os.getloadavg()
    try:
        for server in running:
            server.start(log_dir)
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
