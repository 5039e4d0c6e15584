"""Shared fixtures: real stores, real files, the real ``kg`` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kg import Config, KnowledgeGraph

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def bundled() -> KnowledgeGraph:
    """The in-memory graph of the bundled files (read-only use: shared by the session)."""
    return KnowledgeGraph.open(Config.load({}, environ={}))


@pytest.fixture
def empty() -> KnowledgeGraph:
    """An empty in-memory graph."""
    return KnowledgeGraph.open(Config.load({}, environ={}), load_bundled=False)


@pytest.fixture
def run_kg(tmp_path):
    """Run the ``kg`` command in a subprocess; returns the CompletedProcess."""

    def run(*args: str, input: bytes | None = None, env: dict | None = None):
        return subprocess.run([sys.executable, "-m", "kg", *args], input=input,
                              capture_output=True, cwd=tmp_path, env=env, timeout=120)

    return run
