"""Reasoning times: the closure of the bundled graph, and a 20-triple write at ~100k triples.

Run by hand from the repository root (figures go to bench/reasoning.md and the README):

    PYTHONPATH=src python bench/reasoning.py            # kg.reasoning, and the reference
    PYTHONPATH=src python bench/reasoning.py --owlrl    # the reference at ~100k too (a minute)

``kg.reasoning`` runs owlrl on the premises the axioms apply to (full runs) or on a change and
what it joins with (writes); the reference runs owlrl alone over every asserted triple.

The ~100k graph is the bundled one with the fact-sheet graph copied N times, every
``fipid:`` IRI of copy k renamed ``…-ck`` (the ontology is shared), so that each copy has
the shape of the real data. The write is a new cooperation link with 20 triples pointing at
entities of one copy (inserted, then deleted again). Times are medians of repeated runs of
``kg.reasoning.update`` with the delta given, as the write path calls it; the incremental
result is checked against a full recomputation at the end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from pyoxigraph import NamedNode, Quad

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from kg import Config, KnowledgeGraph, reasoning  # noqa: E402
from kg.namespaces import GRAPHS, ID_NS, PREFIXES  # noqa: E402

FIP, RDF_TYPE = PREFIXES["fip"], NamedNode(PREFIXES["rdf"] + "type")


def _renamed(term, suffix: str):
    if isinstance(term, NamedNode) and term.value.startswith(ID_NS):
        return NamedNode(term.value + suffix)
    return term


def scaled(target: int) -> KnowledgeGraph:
    """The bundled graph with fact-sheet copies until about ``target`` asserted triples."""
    kg = KnowledgeGraph.open(Config.load({}, environ={}))
    factsheet = list(kg.store.quads_for_pattern(None, None, None, NamedNode(GRAPHS["factsheet"])))
    copy = 1
    while sum(1 for q in kg.store if reasoning.is_asserted_graph(q.graph_name)) < target:
        suffix = f"-c{copy}"
        kg.store.extend(Quad(_renamed(q.subject, suffix), q.predicate, _renamed(q.object, suffix),
                             q.graph_name) for q in factsheet)
        copy += 1
    return kg


def write(suffix: str) -> list[Quad]:
    """A 20-triple change: a new cooperation link of one copy, as a user would add it."""
    user, link = NamedNode(GRAPHS["user"]), NamedNode(ID_NS + "coop-bench" + suffix)

    def fip(name: str) -> NamedNode:
        return NamedNode(FIP + name)

    def fipid(name: str) -> NamedNode:
        return NamedNode(ID_NS + name + suffix)

    post = NamedNode(ID_NS + "post-bench" + suffix)
    triples = [
        (link, RDF_TYPE, fip("CooperationLink")), (link, fip("provider"), fipid("dcsd")),
        (link, fip("provider"), fipid("ocrvp")), (link, fip("beneficiary"), fipid("philippines")),
        (link, fip("beneficiary"), fipid("indonesia")), (link, fip("partner"), fipid("unodc")),
        (link, fip("funder"), fipid("meae")), (link, fip("implementer"), fipid("civipol")),
        (link, fip("covers"), fipid("south-east-asia")), (link, fip("covers"), fipid("manila")),
        (link, fip("thematicDomain"), NamedNode(ID_NS + "domain-cybercrime")),  # shared
        (link, fip("cooperationType"), NamedNode(ID_NS + "cooptype-training")),
        (link, fip("involvesPost"), post), (post, RDF_TYPE, NamedNode(PREFIXES["org"] + "Post")),
        (post, NamedNode(PREFIXES["org"] + "postIn"), fipid("embassy-singapore")),
        (post, fip("basedIn"), fipid("singapore")), (post, fip("covers"), fipid("philippines")),
        (fipid("ocrvp"), fip("partOf"), fipid("manila")),
        (fipid("civipol"), NamedNode(PREFIXES["org"] + "subOrganizationOf"), fipid("meae")),
        (fipid("ocrvp"), fip("basedIn"), fipid("manila")),
    ]
    return [Quad(s, p, o, user) for s, p, o in triples]


def _median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.1f} ms"


def _timed(function, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="asserted triples to reach")
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--owlrl", action="store_true", help="also run owlrl on the big graph")
    args = parser.parse_args()
    from owlrl_reference import entailments

    rows = []
    kg = KnowledgeGraph.open(Config.load({}, environ={}))
    asserted = len(kg) - reasoning.inferred_count(kg.store)
    full = _timed(lambda: reasoning.recompute(kg), args.repeat)
    rows.append((f"bundled graph ({asserted} asserted)", "full closure (`kg reason`)",
                 _median_ms(full), f"{reasoning.inferred_count(kg.store)} inferred"))
    owl = _timed(lambda: entailments(kg.store), 3)
    rows.append(("", "owlrl alone over every asserted triple", _median_ms(owl), "reference"))

    big = scaled(args.size)
    asserted = len(big) - reasoning.inferred_count(big.store)
    full = _timed(lambda: reasoning.recompute(big), 3)
    rows.append((f"scaled graph ({asserted} asserted)", "full closure", _median_ms(full),
                 f"{reasoning.inferred_count(big.store)} inferred"))
    if args.owlrl:
        owl = _timed(lambda: entailments(big.store), 1)
        rows.append(("", "owlrl alone over every asserted triple", _median_ms(owl), "reference"))
    inserts, deletes = [], []
    for run in range(args.repeat):
        quads = write(f"-c{run % 20 + 1}")
        big.store.extend(quads)
        inserts += _timed(lambda: reasoning.update(big, added=quads), 1)
        for quad in quads:
            big.store.remove(quad)
        deletes += _timed(lambda: reasoning.update(big, removed=quads), 1)
    rows.append(("", "20-triple insert, incremental", _median_ms(inserts),
                 f"max {max(inserts) * 1000:.1f} ms"))
    rows.append(("", "20-triple delete, incremental (DRed)", _median_ms(deletes),
                 f"max {max(deletes) * 1000:.1f} ms"))
    applied = []
    for run in range(args.repeat):
        quads = write(f"-c{run % 20 + 1}")
        applied += _timed(lambda: big.apply(added=quads), 1)
        big.apply(removed=quads)
    rows.append(("", "`KnowledgeGraph.apply` of the 20 triples (write + reasoning)",
                 _median_ms(applied), "the write path's hook"))
    data = " ".join(f"{q.subject} {q.predicate} {q.object} ." for q in write("-c1"))
    whole = []
    for _ in range(3):
        whole += _timed(lambda: big.update(f"INSERT DATA {{ GRAPH <{GRAPHS['user']}> {{ {data} }} }}"), 1)
        big.update(f"DELETE DATA {{ GRAPH <{GRAPHS['user']}> {{ {data} }} }}")
    rows.append(("", "`KnowledgeGraph.update` INSERT DATA of the 20 triples", _median_ms(whole),
                 "delta found by comparing the whole store"))
    same = reasoning.closure(big.store) == {q.triple for q in big.store.quads_for_pattern(
        None, None, None, NamedNode(reasoning.INFERRED))}
    print("| graph | operation | median | note |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nincremental result equals full recomputation: {same}")


if __name__ == "__main__":
    main()
