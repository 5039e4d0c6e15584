"""One conformance run: both targets, both kinds of tests, with the clean-up guaranteed."""

from __future__ import annotations

import contextlib
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import evaluation, protocol
from .manifest import Suites
from .targets import CoreTarget, KgAppTarget, OxigraphServer, Target

#: The local copy of the W3C suites, next to the repository (see its README), or in the
#: workplace's shared folder for a checkout made elsewhere (as tests/test_data_files.py
#: finds the seed).
_CANDIDATES = (Path(__file__).resolve().parents[2] / "shared" / "w3c", Path("/work/shared/w3c"))
DEFAULT_SUITES = next((path for path in _CANDIDATES if path.is_dir()), _CANDIDATES[0])


@dataclass
class Report:
    """Outcomes by target name, and how long the run took."""

    ours: str
    evaluation: dict[str, list[evaluation.Outcome]] = field(default_factory=dict)
    protocol: dict[str, list[protocol.ProtocolOutcome]] = field(default_factory=dict)
    seconds: float = 0.0

    def passed(self, target: str) -> int:
        """Query tests passed by ``target``."""
        return sum(outcome.passed for outcome in self.evaluation[target])

    def total(self, target: str) -> int:
        """Query tests run on ``target``."""
        return len(self.evaluation[target])


def app_available() -> bool:
    """Whether our Flask endpoint (``kg.web.app.create_app``) exists in this checkout."""
    try:
        from kg.web.app import create_app  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def our_target(kind: str = "auto"):
    """Our side: ``app`` (the Flask app, default when it exists) or ``core`` (no HTTP)."""
    if kind == "auto":
        kind = "app" if app_available() else "core"
    if kind == "core":
        with CoreTarget() as target:
            yield target
        return
    with tempfile.TemporaryDirectory(prefix="kg-conformance-") as empty_bundle:
        with KgAppTarget(empty_bundle=empty_bundle) as target:
            yield target


def run(suites: Suites | None = None, *, ours: str = "auto", oxigraph: bool = True) -> Report:
    """Run the query suites and the protocol cases on our endpoint and Oxigraph's server."""
    suites = suites or Suites(DEFAULT_SUITES)
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        mine: Target = stack.enter_context(our_target(ours))
        targets = [mine]
        if oxigraph:
            targets.append(stack.enter_context(OxigraphServer()))
        report = Report(ours=mine.name)
        report.evaluation = evaluation.run_all(suites, targets)
        for target in targets:
            report.protocol[target.name] = protocol.run_all(target, suites)
    report.seconds = round(time.perf_counter() - started, 1)
    return report
