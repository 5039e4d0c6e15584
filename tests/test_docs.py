"""The README and the manual (docs/) tell the truth: every command, setting and named graph is
documented, every command block is run and prints what it shows, and the site builds with no
warning (a broken link or anchor fails).

Command blocks are the fenced ``sh`` and ``console`` blocks of README.md and docs/*.md:

- a ``sh`` block of one ``kg`` command followed by a ``text`` block: the command prints exactly
  that text (the README's tour);
- a ``console`` block: each ``$ command`` is run by bash in a scratch folder (``kg`` is this
  checkout's; ``tests/`` and ``queries/`` are there, and the files in :data:`FILES`), and prints
  the lines under it, a line ``…`` standing for any number of lines; ``$ echo $?`` prints the
  exit code of the command before it, and a command that shows no output must exit 0;
- any other command block says why it is not run, in a ``<!-- not run: why -->`` comment on
  the line before it (a server, the network, Wikidata, a benchmark's hours, the set-up itself).
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

import kg
from kg.cli import main
from kg.config import SETTINGS
from kg.namespaces import GRAPHS
from kg.web.routes import ROUTES

ROOT = Path(__file__).resolve().parents[1]
README_PATH = ROOT / "README.md"
README = README_PATH.read_text(encoding="utf-8")
PAGES = sorted((ROOT / "docs").glob("*.md"))
DOCUMENTS = [README_PATH, *PAGES]


def _page(name: str) -> str:
    return (ROOT / "docs" / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_is_in_the_manual(command):
    assert f"kg {command}" in _page("querying.md")


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda setting: setting.name)
def test_every_setting_is_on_the_configuration_page(setting):
    page = _page("configuration.md")
    assert f"`{setting.flag}`" in page and f"`{setting.env_var}`" in page


@pytest.mark.parametrize("route", [r for r in ROUTES if r.path], ids=lambda route: route.path)
def test_every_route_of_the_table_is_in_the_manual(route):
    """kg.web.routes is the one table of routes; the manual's tables of routes (the
    protocols, the pages) name each of them."""
    manual = _page("querying.md") + _page("web-interface.md")
    assert re.search(rf"[ `]/{re.escape(route.path)}(?![\w-])", manual), route.path


@pytest.mark.parametrize("graph", sorted(GRAPHS.values()))
def test_every_named_graph_is_in_the_data_model(graph):
    assert graph in _page("data-model.md")


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install -e '.[test]'" in README and "-e '.[test]'" in ci
    assert "python -m pytest" in README and "pytest" in ci


def test_the_readme_is_short():
    assert len(README.splitlines()) <= 250


# -- command blocks ----------------------------------------------------------------------------

_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w-]*)\s*$")
_EXCUSE = re.compile(r"^\s*<!-- not run: (?P<why>.+?) -->\s*$")
COMMAND_LANGUAGES = {"sh", "console", "bash", "shell"}


@dataclass(frozen=True)
class Block:
    """A fenced block of a Markdown file: where it starts, its language and text, the reason
    it is not run (if it says one) and the ``text`` block right after it (if any)."""
    path: Path
    line: int
    language: str
    text: str
    excuse: str | None
    output: str | None

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def runnable(self) -> bool:
        return self.excuse is None and self.language in ("sh", "console")

    @property
    def needs_server(self) -> bool:
        return SERVER in self.text

    @property
    def tour(self) -> bool:
        """A ``kg`` command followed by the text it prints (the README's tour)."""
        return (self.language == "sh" and self.output is not None
                and self.text.startswith("kg ") and len(_commands(self.text)) == 1)

def blocks(path: Path) -> list[Block]:
    """The fenced blocks of ``path``, in order."""
    lines = path.read_text(encoding="utf-8").split("\n")
    found: list[tuple[int, str, str, str | None, int]] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        end = next(j for j in range(index + 1, len(lines)) if _FENCE.match(lines[j])
                   and not _FENCE.match(lines[j]).group("lang"))
        indent = len(opening.group("indent"))
        text = "\n".join(line[indent:] for line in lines[index + 1:end])
        before = lines[index - 1] if index else ""
        excuse = _EXCUSE.match(before)
        found.append((index + 1, opening.group("lang"), text, excuse and excuse.group("why"), end))
        index = end + 1
    result = []
    for number, (line, language, text, excuse, end) in enumerate(found):
        following = found[number + 1] if number + 1 < len(found) else None
        output = None
        if (following and following[1] == "text"
                and not "".join(lines[end + 1:following[0] - 1]).strip()):
            output = following[2]
        result.append(Block(path, line, language, text, excuse, output))
    return result


def command_blocks() -> list[Block]:
    return [block for path in DOCUMENTS for block in blocks(path)
            if block.language in COMMAND_LANGUAGES]


def _complete(text: str) -> bool:
    """Whether ``text`` is a whole shell command (its quotes closed, no trailing backslash)."""
    if text.endswith("\\"):
        return False
    try:
        shlex.split(text, comments=True)
    except ValueError:
        return False
    return True


def _commands(text: str) -> list[str]:
    """The commands of a ``sh`` block: one per line, or over several while a quote is open."""
    commands, current = [], []
    for line in text.split("\n"):
        current.append(line)
        if _complete("\n".join(current)):
            if "\n".join(current).strip():
                commands.append("\n".join(current))
            current = []
    assert not current, f"a quote is left open in {text!r}"
    return commands


def session(text: str) -> list[tuple[str, list[str]]]:
    """The (command, expected output lines) of a ``console`` block."""
    steps: list[tuple[str, list[str]]] = []
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        assert line.startswith("$ "), f"a console block starts with `$ command`, not {line!r}"
        command = [line[2:]]
        index += 1
        while not _complete("\n".join(command)):
            command.append(lines[index])
            index += 1
        output = []
        while index < len(lines) and not lines[index].startswith("$ "):
            output.append(lines[index])
            index += 1
        steps.append(("\n".join(command), output))
    return steps


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether ``actual`` reads as ``expected``, where a line ``…`` stands for any lines."""
    if not expected:
        return not actual
    if expected[0] == "…":
        return any(matches(expected[1:], actual[start:]) for start in range(len(actual) + 1))
    return bool(actual) and actual[0] == expected[0] and matches(expected[1:], actual[1:])


#: The address the manual's examples reach `kg serve` at; a test's server takes its place.
SERVER = "127.0.0.1:7878"
#: The bearer token of the test's server, in the examples' $TOKEN.
TOKEN = "docs-example-token"

#: Files the command blocks name, written into their scratch folder. The validation page
#: shows the first two with `cat`, so the test checks the page shows them as they are.
FILES = {
    "my-shapes.ttl": (
        "@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <https://example.org/> .\n"
        "ex:BookShape a sh:NodeShape ; sh:targetClass ex:Book ; sh:property ex:TitleShape .\n"
        'ex:TitleShape sh:path ex:title ; sh:minCount 1 ; sh:message "A book needs an ex:title."@en .\n'),
    "my-data.ttl": (
        "@prefix ex: <https://example.org/> .\n"
        "ex:b1 a ex:Book ; ex:about <https://w3id.org/fr-indopacific/id/dcsd> .\n"
        'ex:b2 a ex:Book ; ex:title "A title" .\n'),
    "new-links.ttl": (ROOT / "tests/cases/valid/new-cooperation-link-to-existing-organisations.ttl"
                      ).read_text(encoding="utf-8"),
    "new-link.ttl": (ROOT / "tests/cases/valid/new-cooperation-link-to-existing-organisations.ttl"
                     ).read_text(encoding="utf-8"),
    "change.ru": 'INSERT DATA { fipid:oclaesp skos:altLabel "OCLAESP" }\n',
    "mine.ttl": '@prefix ex: <http://example.org/> .\nex:note ex:says "a graph of my own"@en .\n',
}


def _clean_environment(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without the developer's own ``KG_*`` settings."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("KG_")}
    source = str(Path(kg.__file__).resolve().parents[1])  # this checkout's kg
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))
    return {**env, **extra}


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory):
    """A `kg serve` on a loopback port, on disk, with a token and a backup folder, as the
    examples of the manual expect: its ``host:port``."""
    folder = tmp_path_factory.mktemp("docs-server")
    (folder / "tokens").write_text(f"docs:{TOKEN}\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(folder / "server.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "kg", "--data-dir", str(folder / "store"), "serve",
         "--port", str(port), "--workers", "2", "--update-token-file", str(folder / "tokens"),
         "--backup-dir", str(folder / "backups")],
        stdout=log, stderr=subprocess.STDOUT, env=_clean_environment({}))
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/sparql", timeout=5):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("kg serve did not start:\n" + (folder / "server.log").read_text())
            time.sleep(0.2)
    yield f"127.0.0.1:{port}"
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


@pytest.fixture
def scratch(tmp_path) -> tuple[Path, dict[str, str]]:
    """A folder to run command blocks in, and their environment (this checkout's ``kg``)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "kg"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m kg "$@"\n')
    wrapper.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    for name in ("tests", "queries"):
        (work / name).symlink_to(ROOT / name)
    for name, text in FILES.items():
        (work / name).write_text(text, encoding="utf-8")
    env = _clean_environment({"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
                              "TOKEN": TOKEN})
    return work, env


#: What runs before a block: curl fails on an HTTP error status (4xx, 5xx) and is quiet.
_PROLOGUE = 'curl() { command curl --fail-with-body --silent --show-error "$@"; }\n'


def run_session(commands: list[str], work: Path, env: dict[str, str]) -> list[tuple[int, str, str]]:
    """Run ``commands`` one after the other in one bash session (shell variables and ``$?``
    carry over, as in a terminal): the exit code and output of each."""
    script = [_PROLOGUE]
    for number, command in enumerate(commands):
        script.append(f"{command}\n__status=$?\nprintf '\\0%s\\0' {number} >&2\n"
                      f"printf '\\0%s %s\\0' {number} $__status\n(exit $__status)\n")
    done = subprocess.run(["bash", "-c", "".join(script)], capture_output=True, text=True,
                          timeout=300, cwd=work, env=env)
    outputs = done.stdout.split("\0")
    errors = done.stderr.split("\0")
    steps = []
    for number in range(len(commands)):
        output, status = outputs[2 * number], outputs[2 * number + 1]
        assert status.split()[0] == str(number), done.stderr
        steps.append((int(status.split()[1]), output, errors[2 * number]))
    return steps


def test_every_command_block_is_run_or_says_why_not():
    for block in command_blocks():
        assert block.runnable or block.excuse, (
            f"{block.id}: a command block is run by this test, or says why not in a "
            "`<!-- not run: why -->` comment on the line before it")
        if block.excuse:
            assert len(block.excuse.split()) >= 3, f"{block.id}: say why it is not run"


def test_the_tour_has_examples():
    assert len([block for block in blocks(README_PATH) if block.tour]) >= 4


RUNNABLE = [block for block in command_blocks() if block.runnable]


@pytest.mark.slow  # kg commands in subprocesses, a server for the curl blocks
@pytest.mark.parametrize("block", RUNNABLE, ids=lambda block: block.id)
def test_the_command_block_runs_as_the_manual_shows(block, scratch, request):
    if block.tour:
        done = subprocess.run([sys.executable, "-m", "kg", "-q", *shlex.split(block.text)[1:]],
                              capture_output=True, text=True, timeout=120, cwd=ROOT,
                              env=_clean_environment({}))
        assert done.returncode == 0, done.stderr
        assert done.stdout.rstrip("\n") == block.output
        return
    work, env = scratch
    text = block.text
    if block.needs_server:
        text = text.replace(SERVER, request.getfixturevalue("docs_server"))
    if block.language == "sh":  # commands whose output is not shown: each must succeed
        commands = _commands(text)
        for command, (status, output, error) in zip(commands, run_session(commands, work, env)):
            assert status == 0, f"{block.id}: `{command}` exited {status}:\n{error}{output}"
        return
    steps = session(text)
    results = run_session([command for command, _ in steps], work, env)
    for (command, expected), (status, output, error) in zip(steps, results):
        actual = [line.rstrip() for line in output.rstrip("\n").split("\n")] if output else []
        expected = [line.rstrip() for line in expected]
        while expected and not expected[-1]:
            expected.pop()
        assert matches(expected, actual), (
            f"{block.id}: `{command}` printed\n{output}\n(stderr: {error})\ninstead of\n"
            + "\n".join(expected))
        if not expected and not command.startswith("echo $?"):
            assert status == 0, f"{block.id}: `{command}` exited {status}: {error}"


# -- the site ----------------------------------------------------------------------------------

def build(folder: Path, site: Path) -> subprocess.CompletedProcess:
    """``mkdocs build --strict`` of the project in ``folder`` (warnings are errors)."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        capture_output=True, text=True, timeout=300, cwd=folder,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})


@pytest.mark.slow  # mkdocs builds the whole site
def test_the_manual_builds_with_no_warning(tmp_path):
    done = build(ROOT, tmp_path / "site")
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    for page in PAGES:
        assert (tmp_path / "site" / page.stem / "index.html").is_file() or page.stem == "index"
    reference = (tmp_path / "site" / "reference" / "index.html").read_text(encoding="utf-8")
    assert "KnowledgeGraph" in reference and "Writer" in reference  # mkdocstrings ran


@pytest.mark.slow
def test_a_broken_link_or_anchor_fails_the_build(tmp_path):
    copy = tmp_path / "project"
    copy.mkdir()
    for name in ("mkdocs.yml", "README.md"):
        shutil.copy(ROOT / name, copy / name)
    shutil.copytree(ROOT / "docs", copy / "docs")
    (copy / "src").symlink_to(ROOT / "src")
    with open(copy / "docs" / "index.md", "a", encoding="utf-8") as page:
        page.write("\nSee [a page that is not there](no-such-page.md) and "
                   "[an anchor that is not there](querying.md#no-such-section).\n")
    done = build(copy, tmp_path / "site")
    assert done.returncode != 0
    assert "no-such-page.md" in done.stderr and "#no-such-section" in done.stderr


# -- the architecture page ---------------------------------------------------------------------

_HOP = re.compile(r"`((?:[a-z_]+/)*[a-z_]+\.py):([A-Za-z_][\w.]*)`")


def _defines(module: Path, name: str) -> bool:
    """Whether ``module`` defines ``name`` (a function or class, or ``Class.method``)."""
    scope = ast.parse(module.read_text(encoding="utf-8")).body
    for part in name.split("."):
        found = next((node for node in scope if isinstance(
            node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == part),
            None)
        if found is None:
            return False
        scope = found.body
    return True


def test_the_hops_on_the_architecture_page_exist():
    """Every ``file:function`` the architecture page names is in ``src/kg/`` (a module or a
    function that moved fails here: the page is then brought up to date)."""
    hops = _HOP.findall(_page("architecture.md"))
    assert len(hops) >= 30
    missing = [f"{path}:{name}" for path, name in hops
               if not (ROOT / "src" / "kg" / path).is_file()
               or not _defines(ROOT / "src" / "kg" / path, name)]
    assert not missing, f"docs/architecture.md names what src/kg/ does not define: {missing}"
