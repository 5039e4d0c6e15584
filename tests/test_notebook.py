"""docs/tour.ipynb runs from top to bottom in a real Jupyter kernel (nbclient), so that the
notebook never goes stale, and its DataFrame has the types it promises."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow  # a notebook kernel

REPO = Path(__file__).resolve().parents[1]
TOUR = REPO / "docs" / "tour.ipynb"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The tour, executed in a fresh python3 kernel that imports this checkout's code."""
    notebook = nbformat.read(TOUR, as_version=4)
    for cell in notebook.cells:  # what is committed does not count: only this run's output
        if cell.cell_type == "code":
            cell.outputs = []
    folder = tmp_path_factory.mktemp("tour")
    path = os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "KG_BUNDLE_DIR": str(REPO)}
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}})
    client.execute(env=env)
    return notebook


def _outputs(notebook):
    return [output for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.outputs]


def test_the_tour_runs_without_error(executed):
    errors = [output for output in _outputs(executed) if output.output_type == "error"]
    assert not errors, errors
    pictures = [output for output in _outputs(executed) if "image/png" in output.get("data", {})]
    assert len(pictures) == 2  # the chart by domain and year, the network


def test_the_tours_dataframe_has_the_right_dtypes(executed):
    cell = next(cell for cell in executed.cells if "dtypes" in cell.metadata.get("tags", []))
    text = cell.outputs[0]["data"]["text/plain"]
    dtypes = dict(line.split(maxsplit=1) for line in text.splitlines()[:-1])
    assert dtypes["year"] == "period[Y-DEC]"  # xsd:gYear as a pandas Period
    # IRIs (compact fipid: names), labels and their language tags as strings
    assert {dtypes[name] for name in ("link", "label", "label_lang", "domain")} <= {
        "string", "str", "object"}


def test_the_tour_shows_the_network_counts(executed):
    text = "".join(output.get("text", "") for output in _outputs(executed))
    assert "57 agents, 52 links between them" in text
