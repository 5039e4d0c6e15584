"""Benchmark: validating a 20-triple change, incrementally and with full pySHACL runs.

Run by hand (not in CI):

    PYTHONPATH=src python bench/validation.py                 # bundled graph and ~1M triples
    PYTHONPATH=src python bench/validation.py --copies 30     # a smaller synthetic graph
    PYTHONPATH=src python bench/validation.py --full-at-scale  # also time full pySHACL at scale

The change is a new organisation and a cooperation link it provides, written as a user
would, referring to entities already in the graph (20 triples, valid). The synthetic graph
is the bundled one with its fact-sheet graph copied ``--copies`` times under renamed IRIs
(``fipid:dcsd`` → ``fipid:dcsd-c17``): each copy is another fact sheet of the same size and
shape, while the ontology, its vocabularies and the places (countries, seas, cities) stay
shared, as they would between sheets, so places are hubs that every copy points at.

Measured, each as the median of several runs: the incremental check (`Checker.check`: focus
nodes, neighbourhood, pySHACL on the focus nodes, the SPARQL checks of shapes/checks/, the
lexical forms of literals, warnings included), the SPARQL checks alone (their part of it:
`kg.validation.checks.check_change`), the full pySHACL
validation of the whole graph after the change (RDFS inference, as `kg.validation.validate.validate`),
the whole gated write (`Writer.update`: delta of the SPARQL update, check, commit with its
change-log record), and what the query workers need to see the write: the delta applied
by a worker versus a full snapshot reload. Results are printed as Markdown and written to
bench/validation.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import statistics
import sys
import time
from pathlib import Path

from pyoxigraph import NamedNode, Quad, RdfFormat, parse

from kg import Config, KnowledgeGraph
from kg.delta import Delta
from kg.engine import Engine
from kg.validation.checks import check_change
from kg.validation.incremental import Checker
from kg.namespaces import GRAPHS, ID_NS, SERVER_GRAPHS
from kg.writes.writer import Writer

HERE = Path(__file__).resolve().parent

#: 20 triples: a new central office (7) and a cooperation link it provides (13).
CHANGE = """
fipid:bench-office a fip:CentralOffice ;
    rdfs:label "Office de coopération (banc d'essai)"@fr , "Cooperation office (benchmark)"@en ;
    org:subOrganizationOf fipid:dcsd ;
    fip:basedIn fipid:bangkok ;
    fip:thematicDomain fipid:domain-security-cooperation ;
    prov:wasDerivedFrom fipid:fs5-s030 .
fipid:bench-link a fip:CooperationLink ;
    rdfs:label "Benchmark office training in Thailand (May 2023)"@en ,
        "Formation en Thaïlande (mai 2023)"@fr ;
    fip:provider fipid:bench-office ;
    fip:partner fipid:afoco ;
    fip:beneficiary fipid:thailand ;
    fip:cooperationType fipid:cooptype-training ;
    fip:thematicDomain fipid:domain-forest-fire-management ;
    prov:atLocation fipid:thailand ;
    dcterms:date "2023-05-01"^^xsd:date ;
    fip:datePrecision time:unitMonth ;
    fip:outcome "a training course"@en ;
    prov:wasDerivedFrom fipid:fs5-s030 .
"""
UPDATE = "INSERT DATA {" + CHANGE + "}"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
NOTES = "## Notes"
#: As the writer does: the inferred graph, the change log and the review queue are not data.
EXCLUDE = frozenset(NamedNode(graph) for graph in SERVER_GRAPHS)
PLACE_TYPES = ("Place", "Country", "City", "AdministrativeArea", "BodyOfWater", "Continent",
               "CivicStructure")


def median_ms(action, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def synthetic(kg: KnowledgeGraph, copies: int) -> None:
    """Add ``copies`` renamed copies of the fact-sheet graph to ``kg`` (places shared)."""
    factsheet = NamedNode(GRAPHS["factsheet"])
    places = {q.subject.value for q in kg.store.quads_for_pattern(None, None, None, None)
              if q.predicate.value.endswith("#type")
              and q.object.value.startswith("http://schema.org/")
              and q.object.value.rsplit("/", 1)[-1] in PLACE_TYPES}
    text = kg.store.dump(format=RdfFormat.N_QUADS, from_graph=factsheet).decode()
    text = "\n".join(f"{line[:-1].rstrip()} <{GRAPHS['factsheet']}> ." for line in text.splitlines()
                     if line.strip())
    renamed = re.compile(r"<" + re.escape(ID_NS) + r"([^>]+)>")

    def rename(k: int):
        def sub(match):
            iri = match.group(0)[1:-1]
            return match.group(0) if iri in places else f"<{ID_NS}{match.group(1)}-c{k}>"
        return sub

    for k in range(1, copies + 1):
        kg.store.bulk_load(renamed.sub(rename(k), text).encode(), RdfFormat.N_QUADS)


def change_delta() -> Delta:
    from kg.namespaces import PREFIXES

    prefixes = "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in PREFIXES.items())
    user = NamedNode(GRAPHS["user"])
    return Delta(added=frozenset(Quad(q.subject, q.predicate, q.object, user)
                                 for q in parse((prefixes + CHANGE).encode(), RdfFormat.TURTLE)))


def measure(kg: KnowledgeGraph, checker: Checker, *, runs: int, full_runs: int) -> dict:
    delta = change_delta()
    assert len(delta.added) == 20, len(delta.added)
    result = checker.check(kg.store, delta, exclude=EXCLUDE)
    row = {"triples": len(kg.store), "conforms": result.conforms,
           "incremental": median_ms(lambda: checker.check(kg.store, delta, exclude=EXCLUDE),
                                    runs),
           "checks": median_ms(lambda: check_change(checker.checks, kg.store, delta,
                                                    exclude=EXCLUDE), runs)}
    if full_runs:
        if len(kg.store) < 50_000:  # the verdicts agree (tests/test_incremental.py checks more)
            assert checker.full(kg.store, delta, exclude=EXCLUDE).conforms == result.conforms
        row["full"] = median_ms(lambda: _full_after(kg, checker, delta), full_runs)
    return row


def _full_after(kg: KnowledgeGraph, checker: Checker, delta: Delta) -> None:
    # one full pySHACL validation of the graph after the change (what the verdict would
    # cost without the incremental path; the before-run needed to subtract is not counted)
    from kg.validation.incremental import union
    from kg.validation.validate import validate

    validate(union(kg.store, EXCLUDE, delta), shapes=checker.shapes, ontology=checker.ontology)


def write_and_workers(kg: KnowledgeGraph, checker: Checker, runs: int) -> dict:
    """A gated write end to end, and how long workers take to see it (delta vs snapshot)."""
    engine = Engine.from_config(kg, dataclasses.replace(kg.config, workers=1, timeout=600)).start()
    writer = Writer(kg, checker=checker, engine=engine)
    ask = "ASK { fipid:bench-link a fip:CooperationLink }"
    times, delta_ms, snapshot_ms = [], [], []
    try:
        for _ in range(runs):
            start = time.perf_counter()
            outcome = writer.update(UPDATE, agent="bench")
            times.append(time.perf_counter() - start)
            assert outcome.status == "committed", outcome
            start = time.perf_counter()
            assert engine.query(ask).read().endswith(b"true}")
            delta_ms.append(time.perf_counter() - start)
            writer.update("DELETE WHERE { fipid:bench-office ?p ?o } ; "
                          "DELETE WHERE { fipid:bench-link ?p ?o }", agent="bench")
            engine.query(ask).read()
        engine.dataset_changed()  # no delta: the worker must reload a whole snapshot
        start = time.perf_counter()
        engine.query(ask).read()
        snapshot_ms.append(time.perf_counter() - start)
    finally:
        engine.close()
    return {"write": statistics.median(times) * 1000, "worker_delta": statistics.median(delta_ms) * 1000,
            "worker_snapshot": snapshot_ms[0] * 1000}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=300, help="copies of the fact sheet "
                        "(300: about 1M triples)")
    parser.add_argument("--runs", type=int, default=21, help="runs of each incremental timing")
    parser.add_argument("--full-at-scale", action="store_true",
                        help="also time one full pySHACL validation of the synthetic graph")
    parser.add_argument("--output", type=Path, default=HERE / "validation.md")
    parser.add_argument("--update-readme", type=Path, metavar="README",
                        help="also put the table between the README's bench markers")
    args = parser.parse_args(argv)

    checker = Checker()
    rows = []
    kg = KnowledgeGraph.open(Config.load({}, environ={}))
    rows.append(("bundled", measure(kg, checker, runs=args.runs, full_runs=5),
                 write_and_workers(kg, checker, 5)))
    print(f"bundled: {rows[-1]}", file=sys.stderr)
    big = KnowledgeGraph.open(Config.load({}, environ={}))
    start = time.perf_counter()
    synthetic(big, args.copies)
    print(f"synthetic graph: {len(big.store)} triples in {time.perf_counter() - start:.1f} s",
          file=sys.stderr)
    rows.append((f"synthetic ({args.copies} copies)",
                 measure(big, checker, runs=args.runs, full_runs=1 if args.full_at_scale else 0),
                 write_and_workers(big, checker, 5)))
    print(f"synthetic: {rows[-1]}", file=sys.stderr)

    lines = ["| graph | triples | verdict | incremental check (median) | of which SPARQL checks "
             "| full pySHACL, after only | gated write (median) | worker sees it: delta "
             "| worker: snapshot reload |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for name, row, write in rows:
        full = f"{row['full'] / 1000:.1f} s" if "full" in row else "not run"
        lines.append(f"| {name} | {row['triples']:,} | {'conforms' if row['conforms'] else 'violations'} "
                     f"| {row['incremental']:.0f} ms | {row['checks']:.0f} ms | {full} "
                     f"| {write['write']:.0f} ms "
                     f"| {write['worker_delta']:.0f} ms | {write['worker_snapshot']:.0f} ms |")
    table = "\n".join(lines) + "\n"
    print(table)
    import os
    import platform

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    where = (f"{platform.python_implementation()} {platform.python_version()}, "
             f"{os.cpu_count()} CPUs, load average {load} at the end of the run")
    # the notes below the table (earlier runs, what changed) are kept from run to run
    old = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
    notes = old[old.index(NOTES):] if NOTES in old else ""
    args.output.write_text(
        "# Validation benchmark\n\nOutput of `PYTHONPATH=src python bench/validation.py"
        + (" --full-at-scale" if args.full_at_scale else "") + "` (see its docstring for what "
        f"is measured) on {where}.\n\n" + table + ("\n" + notes if notes else ""),
        encoding="utf-8")
    if args.update_readme:
        text = args.update_readme.read_text(encoding="utf-8")
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        args.update_readme.write_text(f"{head}{BEGIN}\n{table}\n({where})\n{END}{tail}",
                                      encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
