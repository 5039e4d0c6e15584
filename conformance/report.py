"""Tables of a run, in Markdown (the Conformance page of the manual, docs/conformance.md) and plain text."""

from __future__ import annotations

import re
from collections import OrderedDict
from pathlib import Path

from .run import Report

BEGIN, END = "<!-- conformance:begin -->", "<!-- conformance:end -->"


def suite_counts(report: Report, target: str) -> "OrderedDict[str, tuple[int, int]]":
    """(passed, total) per suite, in manifest order."""
    counts: OrderedDict[str, tuple[int, int]] = OrderedDict()
    for outcome in report.evaluation[target]:
        passed, total = counts.get(outcome.suite, (0, 0))
        counts[outcome.suite] = (passed + outcome.passed, total + 1)
    return counts


def markdown(report: Report, other: str = "oxigraph") -> str:
    """The generated part of the README section."""
    ours = report.ours
    lines = [f"Query tests passed, ours (`{ours}`) and Oxigraph's server (`oxigraph serve` "
             f"{_oxigraph_version()}); run took {report.seconds} s.", "",
             "| suite | ours | Oxigraph |", "|---|---:|---:|"]
    mine, theirs = suite_counts(report, ours), suite_counts(report, other)
    for suite, (passed, total) in mine.items():
        lines.append(f"| {suite} | {passed} / {total} | {theirs[suite][0]} / {theirs[suite][1]} |")
    lines.append(f"| **total** | **{report.passed(ours)} / {report.total(ours)}** | "
                 f"**{report.passed(other)} / {report.total(other)}** |")
    lines += ["", "Query tests our endpoint fails:", ""]
    for outcome in report.evaluation[ours]:
        if not outcome.passed:
            oxi = next(o for o in report.evaluation[other] if o.test == outcome.test)
            lines.append(f"- `{outcome.test}`: {_md(outcome.reason)}"
                         + ("" if oxi.passed else " (Oxigraph fails it too)"))
    lines += ["", "SPARQL 1.1 Protocol (`protocol/manifest.ttl`), each case a real HTTP exchange:",
              "", "| case | ours | Oxigraph |", "|---|---|---|"]
    theirs_protocol = {o.id: o for o in report.protocol[other]}
    for outcome in report.protocol[ours]:
        lines.append(f"| `{outcome.id}` | {_verdict(outcome)} | "
                     f"{_verdict(theirs_protocol[outcome.id])} |")
    return "\n".join(lines) + "\n"


def _verdict(outcome) -> str:
    if outcome.passed:
        return "pass"
    return f"fail: {_md(outcome.reason)}"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _oxigraph_version() -> str:
    import subprocess

    try:
        out = subprocess.run(["oxigraph", "--version"], capture_output=True, text=True,
                             timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.removeprefix("oxigraph ").strip()


def update_readme(readme: Path, generated: str) -> None:
    """Replace the generated part of the README's Conformance section (between markers)."""
    text = readme.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise ValueError(f"{readme} has no {BEGIN} … {END} block to update")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{BEGIN}\n{generated}{END}{tail}", encoding="utf-8")


_TOTAL = re.compile(r"\| \*\*total\*\* \| \*\*(\d+) / (\d+)\*\* \| \*\*(\d+) / (\d+)\*\* \|")
_FAILURE = re.compile(r"^- `([^`]+)`:", re.MULTILINE)


def readme_claims(readme: Path) -> tuple[int, int, set[str]]:
    """What the README states: our total, Oxigraph's total, and the tests we fail."""
    text = readme.read_text(encoding="utf-8")
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    match = _TOTAL.search(block)
    if not match:
        raise ValueError("no totals row in the README's conformance block")
    return int(match[1]), int(match[3]), set(_FAILURE.findall(block))
