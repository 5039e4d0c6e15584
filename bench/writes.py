"""Benchmark: read throughput while writes stream in, against the same reads alone.

Run by hand from the repository root (never in CI); the figures go to docs/benchmarks.md:

    PYTHONPATH=src python bench/writes.py                  # memory and disk, 20 s each, 2 rounds
    PYTHONPATH=src python bench/writes.py --modes disk --seconds 30 --rounds 3

For each storage mode, a fresh `kg serve` (bench/load.py's server: the write gate on, the
bundled data) answers ``--readers`` clients looping over the competency questions, once
alone and once beside ``--writers`` clients each streaming validated SPARQL updates of
``--triples`` triples; the two runs alternate ``--rounds`` times, so a machine growing
busier does not favour either. The ratio of read throughputs (with writers / without) is
the figure; the target of the issue "The query path" is at least 0.7 at 8 readers and two
writers of 20 triples. The result cache is off unless ``--cache-size`` says otherwise: the
readers repeat 99 questions, so with the cache on, reads without writers are mostly answered
from it, and every write empties it. Every run also checks what bench/load.py checks (no 5xx, nothing
dropped, every acknowledged write stored).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import failures, run  # noqa: E402


def measure(mode: str, *, readers: int, writers: int, triples: int, seconds: float,
            rounds: int, cache_size: str) -> dict:
    """Reads per second without and with writers, ``rounds`` times each, alternating."""
    alone, beside, acknowledged, problems = [], [], [], []
    for index in range(2 * rounds):
        with_writers = index % 2 == 1
        with tempfile.TemporaryDirectory(prefix="kg-writes-") as folder:
            figures = run(seconds=seconds, readers=readers,
                          writers=writers if with_writers else 0, folder=Path(folder),
                          memory=mode == "memory", triples=triples,
                          settings={"KG_CACHE_SIZE": cache_size})
        problems += failures(figures)
        (beside if with_writers else alone).append(figures["reads per second"])
        if with_writers:
            acknowledged.append(round(figures["writes acknowledged"] / figures["seconds"], 1))
        print(f"{mode}: {'with' if with_writers else 'without'} writers: "
              f"{figures['reads per second']} reads/s, p95 {figures['read p95 ms']} ms, "
              f"{figures['writes acknowledged']} writes", file=sys.stderr)
    return {"mode": mode, "reads/s alone": alone, "reads/s with writers": beside,
            "writes/s": acknowledged,
            "ratio (medians)": round(statistics.median(beside) / statistics.median(alone), 2),
            "problems": problems}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default="memory,disk")
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--triples", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cache-size", default="0", help="kg's --cache-size in MB (0, the "
                        "default here: every read is computed, with or without writers)")
    args = parser.parse_args()
    results = [measure(mode, readers=args.readers, writers=args.writers, triples=args.triples,
                       seconds=args.seconds, rounds=args.rounds, cache_size=args.cache_size)
               for mode in args.modes.split(",")]
    print(json.dumps(results, indent=1))
    return 1 if any(result["problems"] for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
