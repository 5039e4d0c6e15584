"""`kg validate`, `kg update` and `kg review`: reports, exit codes, the gate behind them.

`kg validate` runs in-process (click's runner) over every invalid case, and as a real
subprocess for standard input and unreadable files.
"""

from __future__ import annotations

import json
import re

import pytest

from kg.cli import main
from kg.namespaces import compact

from test_shapes import CASES_DIR, INVALID_CASES, VALID_CASES, case_graph, parse_expectations

pytestmark = pytest.mark.slow  # a `kg` process per case

SHAPES = "https://w3id.org/fr-indopacific/shapes#"


def _validate(runner, *args):
    return runner.invoke(main, ["-q", "validate", *args], catch_exceptions=False)


@pytest.mark.parametrize("case", INVALID_CASES, ids=lambda p: str(p.relative_to(CASES_DIR)))
def test_each_invalid_example_exits_1_naming_its_focus_node_and_shape(runner, case):
    done = _validate(runner, "--format", "json", "--graph", case_graph(case), str(case))
    assert done.exit_code == 1, done.output
    report = json.loads(done.stdout)
    for expected in parse_expectations(case):
        if expected.kind == "violation":
            shape = compact(expected.shape, {"fipsh": SHAPES})
            assert any(r["focusNode"] == expected.focus and r["shape"] == shape
                       and r["severity"] == "Violation" for r in report["results"]), report


@pytest.mark.parametrize("case", VALID_CASES, ids=lambda p: str(p.relative_to(CASES_DIR)))
def test_each_valid_example_exits_0(runner, case):
    done = _validate(runner, "--graph", case_graph(case), str(case))
    assert done.exit_code == 0, done.output
    assert "the triples conform" in done.stdout


def test_the_text_report_groups_results_by_focus_node_with_their_label(runner):
    case = CASES_DIR / "invalid" / "cooperation" / "coop-link-without-provider.ttl"
    done = _validate(runner, str(case))
    lines = done.stdout.splitlines()
    assert lines[0].startswith("fipid:case-link-no-provider") and '"' in lines[0]
    assert "Violation" in lines[1] and "fip:provider" in lines[1]
    assert "(shape fipsh:CooperationLinkShape)" in lines[2]
    assert lines[-1].endswith("the triples do not conform.")


@pytest.mark.parametrize("fmt, marker", [("turtle", "sh:ValidationReport"),
                                         ("jsonld", "ValidationReport"), ("json", '"conforms"')])
def test_the_standard_report_formats(runner, fmt, marker):
    case = CASES_DIR / "invalid" / "cooperation" / "coop-link-without-provider.ttl"
    done = _validate(runner, "--format", fmt, str(case))
    assert done.exit_code == 1 and marker in done.stdout


def test_warnings_point_at_likely_typos_without_failing(runner, tmp_path):
    typo = tmp_path / "typo.ttl"
    typo.write_text("""@prefix fipid: <https://w3id.org/fr-indopacific/id/> .
        @prefix org: <http://www.w3.org/ns/org#> .
        fipid:ocrvp org:subOrganisationOf fipid:french-national-police .""", encoding="utf-8")
    done = _validate(runner, str(typo))
    assert done.exit_code == 0
    assert "did you mean org:subOrganizationOf (documented for org:Organization)?" in done.stdout


def test_stdin_and_unreadable_input(run_kg, tmp_path):
    case = (CASES_DIR / "valid" / "new-cooperation-link-to-existing-organisations.ttl").read_bytes()
    assert run_kg("validate", "--input-format", "turtle", "-", input=case).returncode == 0
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix ex: <http://example.org/> .\nex:a ex:b ex:c ;\n  ex:d \"x .\n",
                   encoding="utf-8")
    done = run_kg("validate", str(bad))
    assert done.returncode == 2
    assert re.search(rf"{re.escape(str(bad))}:3:\d+: ", done.stderr.decode())


def test_update_and_review_from_the_command_line(run_kg, tmp_path):
    store = ["--data-dir", str(tmp_path / "store")]
    broken = 'INSERT DATA { fipid:c-broken a fip:CooperationLink ; rdfs:label "no provider"@en }'
    done = run_kg(*store, "update", broken)
    assert done.returncode == 1 and b"fipid:c-broken" in done.stderr
    assert run_kg(*store, "update", "--on-invalid", "quarantine", broken).returncode == 0
    listed = run_kg(*store, "review", "list")
    pending = listed.stdout.decode().split()[0]
    assert run_kg(*store, "review", "show", pending).returncode == 1  # still invalid
    assert run_kg(*store, "review", "accept", pending).returncode == 1
    assert run_kg(*store, "review", "discard", pending).returncode == 0
    assert run_kg(*store, "review", "list").stdout == b""
    assert run_kg("update", broken).returncode == 2  # no --data-dir: nothing would persist
