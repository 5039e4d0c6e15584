"""``python -m conformance``: run the W3C suites on our endpoint and Oxigraph's server.

Exit status 0 when our endpoint passes at least as many query tests as Oxigraph's, 1
otherwise, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .manifest import Suites
from .report import markdown, suite_counts, update_readme
from .run import DEFAULT_SUITES, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance", description=__doc__.split("\n")[0])
    parser.add_argument("--suites", type=Path, default=DEFAULT_SUITES,
                        help="the local copy of the W3C tests (default: %(default)s)")
    parser.add_argument("--ours", choices=("auto", "app", "core"), default="auto",
                        help="our side: the Flask app (default when it exists) or the core")
    parser.add_argument("--markdown", action="store_true", help="print the README tables")
    parser.add_argument("--update-readme", type=Path, metavar="README",
                        help="rewrite the generated block of README's Conformance section")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every failure")
    args = parser.parse_args(argv)
    report = run(Suites(args.suites), ours=args.ours)
    ours = report.ours
    if args.markdown:
        print(markdown(report), end="")
    else:
        theirs = suite_counts(report, "oxigraph")
        print(f"{'suite':28} {ours:>12} {'oxigraph':>12}")
        for suite, (passed, total) in suite_counts(report, ours).items():
            print(f"{suite:28} {passed:>6} / {total:<4} {theirs[suite][0]:>6} / {theirs[suite][1]:<4}")
        print(f"{'total':28} {report.passed(ours):>6} / {report.total(ours):<4} "
              f"{report.passed('oxigraph'):>6} / {report.total('oxigraph'):<4}")
        for name, outcomes in report.protocol.items():
            passed = sum(o.passed for o in outcomes)
            print(f"protocol {name}: {passed} pass, {len(outcomes) - passed} failures, "
                  f"of {len(outcomes)}")
        if args.verbose:
            for name, outcomes in report.evaluation.items():
                for outcome in outcomes:
                    if not outcome.passed:
                        print(f"FAIL {name} {outcome.test}: {outcome.reason}")
            for name, outcomes in report.protocol.items():
                for outcome in outcomes:
                    if not outcome.passed:
                        print(f"FAIL {name} protocol/{outcome.id}: "
                              f"{outcome.reason}")
        print(f"run took {report.seconds} s")
    if args.update_readme:
        update_readme(args.update_readme, markdown(report))
    return 0 if report.passed(ours) >= report.passed("oxigraph") else 1


if __name__ == "__main__":
    sys.exit(main())
