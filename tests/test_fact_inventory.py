"""docs/fact-inventory.md is generated from the graph and the questions, and is current."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "fact_inventory.py"


@pytest.fixture(scope="module")
def inventory(bundled):
    spec = importlib.util.spec_from_file_location("fact_inventory", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, module.render(bundled)


def test_the_committed_inventory_is_current(inventory):
    module, text = inventory
    assert module.INVENTORY.read_text(encoding="utf-8") == text, (
        "docs/fact-inventory.md is stale: run `python tools/fact_inventory.py`")


def test_every_sentence_holds_a_fact(inventory, bundled):
    _, text = inventory
    sentences = bundled.query("SELECT (COUNT(*) AS ?n) { ?s a fip:SourceSentence }")
    assert text.count("\n## fs5-s") == int(next(iter(sentences.solutions))["n"].value)
    assert "| **UNMODELLED** |" not in text
