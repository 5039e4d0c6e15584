"""One floor per package: kg's modules import only from their own floor or the floors below,
and never in a circle; and none is longer than :data:`MAX_LINES`.

The floors, bottom up, are the table :data:`FLOORS`. Every ``import`` counts, those inside
functions too (a late import is how a cycle hides) and those under ``if TYPE_CHECKING:``
(an annotation names what a module depends on: a module that needs only the shape of a
type from above declares it as a ``Protocol`` instead).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

SOURCES = Path(__file__).resolve().parents[1] / "src"

#: Floor of each package or module, bottom up; a module sits on the floor of the longest
#: name here that contains it. What a floor may import: its own floor and those below.
FLOORS: dict[str, int] = {
    # 0: the words: settings, errors, vocabulary, the store's graphs
    "kg.version": 0, "kg.errors": 0, "kg.config": 0, "kg.terms": 0, "kg.namespaces": 0,
    "kg.graphs": 0,
    # 1: the language: changes as data, formats, SPARQL checked, run and answered on a store
    "kg.delta": 1, "kg.sparql": 1,
    # 2: the reasoner, over any store (the knowledge graph calls it on every write)
    "kg.reasoning": 2,
    # 3: the knowledge graph: open, load, export, named graphs, a remote store, copies
    "kg.store": 3,
    # 4: validation of the graph and of a change
    "kg.validation": 4,
    # 5: the engine: the executors that answer queries under deadlines, with a cache
    "kg.engine": 5,
    # 6: the gate of every write, and Wikidata linking (which writes through it)
    "kg.writes": 6, "kg.wikidata": 6,
    # 7: the doors: HTTP and the command line, the public API, and the cooperation network
    # (an export of the command line and a page, read like the pages)
    "kg.web": 7, "kg.cli": 7, "kg.__main__": 7, "kg": 7, "kg.network": 7,
}


@dataclass(frozen=True)
class Import:
    """One import statement of a module: who, whom, where."""

    module: str
    target: str
    line: int


def modules(root: Path, package: str) -> dict[str, Path]:
    """Every module of ``package`` under ``root`` (a ``src`` folder), by dotted name."""
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(root: Path, package: str) -> list[Import]:
    """Every import of one module of ``package`` by another, resolved to a module."""
    known = modules(root, package)
    found = []
    for name, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for target in _targets(node, name, is_package, known):
                if target != name and target.split(".")[0] == package:
                    found.append(Import(name, target, node.lineno))
    return list(dict.fromkeys(found))  # ``from x import a, b``: once


def _targets(node, name: str, is_package: bool, known: dict[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        wanted = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            parent = name.split(".") if is_package else name.split(".")[:-1]
            parent = parent[:len(parent) - node.level + 1]
            base = ".".join(parent + ([node.module] if node.module else []))
        # ``from kg.web import app`` imports the module kg.web.app
        wanted = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                  for alias in node.names]
    resolved = []
    for target in wanted:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target:
            resolved.append(target)
    return resolved


def floor_of(module: str, floors: dict[str, int]) -> int:
    """The floor of ``module``: that of the longest entry of ``floors`` containing it."""
    for prefix in sorted(floors, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return floors[prefix]
    raise KeyError(f"{module} is on no floor: add it to the table")


def upward(found: list[Import], floors: dict[str, int]) -> list[str]:
    """The imports that run up the floors, as ``module:line -> target (floor a -> b)``."""
    return [f"{i.module}:{i.line} -> {i.target} (floor {floor_of(i.module, floors)} -> "
            f"{floor_of(i.target, floors)})" for i in found
            if floor_of(i.target, floors) > floor_of(i.module, floors)
]


def cycles(found: list[Import]) -> list[list[str]]:
    """The import cycles: each a list of modules that reach one another (a strongly
    connected component, Tarjan), largest first."""
    graph: dict[str, set[str]] = {}
    for i in found:
        graph.setdefault(i.module, set()).add(i.target)
        graph.setdefault(i.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components, key=len, reverse=True)


# -- kg itself -----------------------------------------------------------------------------

def test_every_module_is_on_a_floor():
    for name in modules(SOURCES, "kg"):
        floor_of(name, FLOORS)


def test_no_import_cycle():
    assert cycles(imports(SOURCES, "kg")) == []


def test_no_import_runs_up_the_floors():
    assert upward(imports(SOURCES, "kg"), FLOORS) == []


#: The most lines a module of kg may have: past it, a module holds more than one concern
#: and is split (issue 15: a newcomer reads the house in ten minutes).
MAX_LINES = 350


def test_every_module_is_at_most_max_lines_long():
    long = {name: lines for name, path in modules(SOURCES, "kg").items()
            if (lines := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}, f"modules over {MAX_LINES} lines: split them by concern"


def test_web_app_imports_nothing_late():
    tree = ast.parse((SOURCES / "kg" / "web" / "app.py").read_text())
    late = [node.lineno for function in ast.walk(tree)
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
            for node in ast.walk(function) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert late == []


# -- the test of the test ------------------------------------------------------------------

def _package(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def synthetic(tmp_path) -> Path:
    """A package ``p`` with two floors, a cycle hidden in a function, an upward import, and
    a cycle through a type-checking import."""
    _package(tmp_path, {
        "p/__init__.py": "",
        "p/low/__init__.py": "",
        "p/low/a.py": "from . import b\n",
        "p/low/b.py": "def late():\n    from .a import x\n",  # a <-> b
        "p/low/c.py": "from ..high import view\n",  # up a floor
        "p/low/d.py": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                       "    from .e import E\n"),
        "p/low/e.py": "from p.low import d\n",  # d <-> e only for the type checker
        "p/high/__init__.py": "",
        "p/high/view.py": "import p.low.a\nfrom p.low.b import late\n",
    })
    return tmp_path


def test_the_checker_finds_a_cycle_hidden_in_a_function_or_an_annotation(synthetic):
    assert sorted(cycles(imports(synthetic, "p"))) == [["p.low.a", "p.low.b"],
                                                      ["p.low.d", "p.low.e"]]


def test_the_checker_finds_an_import_up_the_floors(synthetic):
    floors = {"p": 0, "p.low": 0, "p.high": 1}
    assert upward(imports(synthetic, "p"), floors) == [
        "p.low.c:1 -> p.high.view (floor 0 -> 1)"]


def test_the_checker_places_every_module():
    with pytest.raises(KeyError, match="on no floor"):
        floor_of("q.anything", FLOORS)
