"""The README tells the truth: every command, setting and named graph is documented."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from kg.cli import main
from kg.config import SETTINGS
from kg.namespaces import GRAPHS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_is_in_the_readme(command):
    assert f"kg {command}" in README


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda setting: setting.name)
def test_every_setting_is_in_the_readme(setting):
    assert setting.flag in README and setting.env_var in README


@pytest.mark.parametrize("graph", sorted(GRAPHS.values()))
def test_every_named_graph_is_in_the_readme(graph):
    assert graph in README


def test_ci_runs_the_readme_test_command():
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "pip install -e '.[test]'" in README and "-e '.[test]'" in ci
    assert "python -m pytest" in README and "pytest" in ci


def _tour() -> list[tuple[str, str]]:
    """(command, output) pairs of the README's tour: a ```sh block followed by a ```text block."""
    section = README.split("## A short tour", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(kg .*?)\n```\s*```text\n(.*?)\n```", section, re.DOTALL)


def test_the_tour_has_examples():
    assert len(_tour()) >= 4


@pytest.mark.parametrize("command, output", _tour(), ids=lambda value: value[:40])
def test_the_tour_prints_what_the_readme_shows(command, output):
    done = subprocess.run([sys.executable, "-m", "kg", "-q", *shlex.split(command)[1:]],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip("\n") == output
