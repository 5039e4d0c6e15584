"""Competency questions: every ``queries/cq-NN-<slug>.rq`` answers its question as the fact
sheet does.

Each query file starts with a header of comment lines::

    # Question: <the question in words>
    # Answer (from the fact sheet): <the answer in words, read from the text>
    # Category: <lookup|join|transitive|count|date|quantity|provenance|label|entailment>, ...
    # Section: <fact-sheet section slug>, ...
    # Sentences: s014, s017          (the source sentences that state the answer)
    # Reasoner: <optional: how an RDFS/OWL reasoner would simplify the query>
    # Without inference: <n> rows   (only for questions that need the inferred graph)
    # Defect: <optional: the known data defect that makes the graph answer wrongly>
    # expect-mode: set | ordered | ask   (default: set)
    # expect: <cell> | <cell> ...        (one line per expected row, cells in SELECT order)

Questions are answered as ``kg query`` answers them: over asserted and inferred triples. A
question with a ``# Without inference:`` line needs the inferred graph: over the asserted
graphs alone it gives that many rows, fewer than expected. Every other question gives the
same answer either way (it was written for asserted data, with property paths).

The expected rows are written from the fact sheet, not copied from the data: a failing
question is a data defect to report to the data maintainers, not a reason to change the
expectation. A question whose file names a ``# Defect:`` is run as a strict xfail: it
reports the defect while the data is wrong, and fails as soon as the data is fixed, so the
line gets removed. Cells are compared one by one:

* ``fipid:x``, ``fip:X``, ``<http://…>`` — that IRI;
* ``"text"@fr`` — a literal with that text and language tag;
* ``"text"^^xsd:gYear`` — a literal with that text and datatype;
* ``"text"`` — a literal with that text, whatever its language or datatype;
* ``3``, ``240``, ``4800.0`` — a literal of a numeric datatype with that value;
* ``true`` / ``false`` — an xsd:boolean, or the answer of an ASK query;
* ``UNDEF`` — an unbound variable.

In ``set`` mode every expected row must match a solution and every solution an expected
row; ``ordered`` also compares positions.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest
from pyoxigraph import BlankNode, Literal, NamedNode, QueryBoolean, RdfFormat, Store

from kg import Config, KnowledgeGraph
from kg.namespaces import PREFIXES
from kg.sparql.formats import RDF_INPUT_FORMATS, by_name

REPO = Path(__file__).resolve().parents[1]
QUERIES = REPO / "queries"
CQ_FILES = sorted(QUERIES.glob("cq-*.rq"))

CATEGORIES = {"lookup", "join", "transitive", "count", "date", "quantity", "provenance",
              "label", "entailment"}
_NUMERIC = {PREFIXES["xsd"] + name for name in (
    "integer", "decimal", "double", "float", "int", "long", "short", "byte",
    "nonNegativeInteger", "positiveInteger", "nonPositiveInteger", "negativeInteger",
    "unsignedInt", "unsignedLong", "unsignedShort", "unsignedByte")}
_HEADER = re.compile(r"^#\s*([A-Za-z][A-Za-z ()-]*?)\s*:\s?(.*)$")
_CELL = re.compile(r'^"(?P<text>(?:[^"\\]|\\.)*)"(?:@(?P<lang>[A-Za-z-]+)|\^\^(?P<dt>\S+))?$')


# -- the expectation language -----------------------------------------------------------------

def _expand(name: str) -> str:
    if name.startswith("<") and name.endswith(">"):
        return name[1:-1]
    prefix, _, local = name.partition(":")
    if prefix not in PREFIXES or not _:
        raise ValueError(f"unknown prefix in {name!r}")
    return PREFIXES[prefix] + local


@dataclass(frozen=True)
class Cell:
    """One expected value, and how a solution's term is compared with it."""

    kind: str  # iri | lang | typed | text | number | boolean | unbound
    value: str
    extra: str = ""

    @classmethod
    def parse(cls, token: str) -> "Cell":
        token = token.strip()
        if token == "UNDEF":
            return cls("unbound", "")
        if token in ("true", "false"):
            return cls("boolean", token)
        match = _CELL.match(token)
        if match:
            text = match["text"].replace('\\"', '"').replace("\\\\", "\\")
            if match["lang"]:
                return cls("lang", text, match["lang"].lower())
            if match["dt"]:
                return cls("typed", text, _expand(match["dt"]))
            return cls("text", text)
        try:
            return cls("number", str(Decimal(token)))
        except InvalidOperation:
            return cls("iri", _expand(token))

    def matches(self, term) -> bool:
        if self.kind == "unbound":
            return term is None
        if term is None:
            return False
        if self.kind == "iri":
            return isinstance(term, NamedNode) and term.value == self.value
        if not isinstance(term, Literal):
            return False
        if self.kind == "lang":
            return term.value == self.value and (term.language or "").lower() == self.extra
        if self.kind == "typed":
            return term.value == self.value and term.datatype.value == self.extra
        if self.kind == "text":
            return term.value == self.value
        if self.kind == "boolean":
            return term.datatype.value == PREFIXES["xsd"] + "boolean" and term.value == self.value
        if term.datatype.value not in _NUMERIC:
            return False
        try:
            return Decimal(term.value) == Decimal(self.value)
        except InvalidOperation:
            return False

    def __str__(self) -> str:
        if self.kind == "iri":
            return f"<{self.value}>"
        if self.kind == "lang":
            return f'"{self.value}"@{self.extra}'
        if self.kind == "typed":
            return f'"{self.value}"^^<{self.extra}>'
        if self.kind == "text":
            return f'"{self.value}"'
        return self.value or "UNDEF"


@dataclass
class CompetencyQuestion:
    """A query file with its question, answer, tags and expected rows."""

    path: Path
    text: str
    header: dict[str, str] = field(default_factory=dict)
    expected: list[tuple[Cell, ...]] = field(default_factory=list)
    mode: str = "set"

    @property
    def id(self) -> str:
        return self.path.stem.split("-", 2)[0] + "-" + self.path.stem.split("-", 2)[1]

    def tags(self, key: str) -> list[str]:
        return [tag.strip() for tag in self.header.get(key, "").split(",") if tag.strip()]

    @classmethod
    def read(cls, path: Path) -> "CompetencyQuestion":
        text = path.read_text(encoding="utf-8")
        cq = cls(path, text)
        for line in text.splitlines():
            if not line.startswith("#"):
                continue
            match = _HEADER.match(line)
            if not match:
                continue
            key, value = match[1].strip().lower(), match[2].strip()
            if key == "expect":
                cells = tuple(Cell.parse(cell) for cell in _split_cells(value))
                cq.expected.append(cells)
            elif key == "expect-mode":
                cq.mode = value
            else:
                cq.header[key] = value
        return cq


def _split_cells(line: str) -> list[str]:
    """Split an expect line on ``|`` outside quoted text."""
    cells, current, quoted, escaped = [], [], False, False
    for char in line:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == '"':
            current.append(char)
            quoted = not quoted
        elif char == "|" and not quoted:
            cells.append("".join(current))
            current = []
        else:
            current.append(char)
    cells.append("".join(current))
    return cells


def _show(term) -> str:
    if term is None:
        return "UNDEF"
    if isinstance(term, NamedNode):
        return f"<{term.value}>"
    if isinstance(term, BlankNode):
        return f"_:{term.value}"
    return str(term)


def compare(cq: CompetencyQuestion, rows: list[tuple]) -> list[str]:
    """The differences between the solutions ``rows`` and the expectation (empty: pass)."""
    problems = []
    if cq.mode == "ordered":
        if len(rows) != len(cq.expected):
            problems.append(f"expected {len(cq.expected)} rows in order, got {len(rows)}")
        for index, (want, got) in enumerate(zip(cq.expected, rows)):
            if len(want) != len(got) or not all(c.matches(t) for c, t in zip(want, got)):
                problems.append(f"row {index + 1}: expected {' | '.join(map(str, want))}, "
                                f"got {' | '.join(map(_show, got))}")
        return problems
    for want in cq.expected:
        if not any(len(want) == len(got) and all(c.matches(t) for c, t in zip(want, got))
                   for got in rows):
            problems.append(f"missing: {' | '.join(map(str, want))}")
    for got in rows:
        if not any(len(want) == len(got) and all(c.matches(t) for c, t in zip(want, got))
                   for want in cq.expected):
            problems.append(f"unexpected: {' | '.join(map(_show, got))}")
    return problems


def run(kg: KnowledgeGraph, cq: CompetencyQuestion, *, inference: bool = True):
    """Run the question's query; an ASK gives a bool, a SELECT a list of row tuples."""
    result = kg.query(cq.text, inference=inference)
    if result.is_boolean:
        return result.boolean
    variables = result.variables
    return [tuple(solution[name] for name in variables) for solution in result.solutions]


QUESTIONS = [CompetencyQuestion.read(path) for path in CQ_FILES]


def _with_known_defects(questions: list[CompetencyQuestion]) -> list:
    """Parameters for the questions; those with a ``# Defect:`` line are strict xfails."""
    params = []
    for cq in questions:
        defect = cq.header.get("defect")
        marks = [pytest.mark.xfail(strict=True, reason=f"data defect: {defect}")] if defect else []
        params.append(pytest.param(cq, id=cq.path.stem, marks=marks))
    return params


# -- fixtures ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def cq_graph() -> KnowledgeGraph:
    """The bundled knowledge graph in memory, shared (read-only) by every question."""
    return KnowledgeGraph.open(Config.load({}, environ={}))


# -- the questions ----------------------------------------------------------------------------

@pytest.mark.parametrize("cq", _with_known_defects(QUESTIONS))
def test_competency_question(cq_graph, cq):
    """The graph answers the question as the fact sheet does."""
    check_answer(cq, run(cq_graph, cq))


ENTAILMENT = [cq for cq in QUESTIONS if "without inference" in cq.header]


def _names_graphs(cq: CompetencyQuestion) -> bool:
    """Whether the query names a graph (FROM, GRAPH), which a one-graph export has not."""
    body = "\n".join(line for line in cq.text.splitlines() if not line.startswith("#"))
    return re.search(r"\b(FROM|GRAPH)\b", body) is not None


@pytest.mark.parametrize("cq", _with_known_defects(
    [cq for cq in QUESTIONS if cq not in ENTAILMENT]))
def test_question_for_asserted_data_answers_the_same_without_inference(cq_graph, cq):
    """The inferred graph changes nothing for a question written for asserted triples."""
    check_answer(cq, run(cq_graph, cq, inference=False))


@pytest.mark.parametrize("cq", ENTAILMENT, ids=[cq.path.stem for cq in ENTAILMENT])
def test_entailment_question_gives_fewer_rows_without_inference(cq_graph, cq):
    """Over the asserted graphs alone the question misses answers (the stated number)."""
    rows = run(cq_graph, cq, inference=False)
    want = int(re.fullmatch(r"(\d+) rows?", cq.header["without inference"])[1])
    assert len(rows) == want < len(cq.expected)


@pytest.fixture(scope="session")
def materialised_elsewhere(cq_graph) -> Store:
    """``kg export --materialised`` as Turtle, loaded into a bare Oxigraph store: no reasoner,
    no named graphs, as a researcher would load it into another triple store."""
    buffer = io.BytesIO()
    cq_graph.export(buffer, by_name("turtle", RDF_INPUT_FORMATS), materialised=True)
    store = Store()
    store.load(buffer.getvalue(), RdfFormat.TURTLE)
    return store


@pytest.mark.parametrize("cq", [cq for cq in QUESTIONS if not _names_graphs(cq)],
                         ids=[cq.path.stem for cq in QUESTIONS if not _names_graphs(cq)])
def test_question_answers_over_the_materialised_export_without_a_reasoner(
        materialised_elsewhere, cq):
    """Every question, the entailment ones included, answers the same over the materialised
    export loaded elsewhere (the README's promise); questions naming graphs are left out."""
    prologue = "".join(f"PREFIX {name}: <{iri}>\n" for name, iri in PREFIXES.items())
    result = materialised_elsewhere.query(prologue + cq.text)
    if isinstance(result, QueryBoolean):
        answer = bool(result)
    else:
        names = [variable.value for variable in result.variables]
        answer = [tuple(solution[name] for name in names) for solution in result]
    check_answer(cq, answer)


def test_entailment_questions_say_the_materialised_export_answers_them():
    """A reader who has no reasoner learns from the file where to get the answer."""
    assert all("kg export --materialised" in cq.header.get("materialised", "")
               for cq in ENTAILMENT)


def test_entailment_questions_cover_superclass_transitive_and_inverse():
    reasons = " ".join(cq.header["reasoner"] for cq in ENTAILMENT)
    assert {"cax-sco", "prp-trp", "prp-inv"} <= set(re.findall(r"\b[a-z]{3}-[a-z]{3}", reasons))
    assert all("entailment" in cq.tags("category") for cq in ENTAILMENT)


def check_answer(cq: CompetencyQuestion, answer) -> None:
    """Fail with the differences when ``answer`` is not the expected one."""
    if cq.mode == "ask":
        assert len(cq.expected) == 1 and len(cq.expected[0]) == 1
        want = cq.expected[0][0].value
        assert isinstance(answer, bool), "an ask-mode question must be an ASK query"
        if answer != (want == "true"):
            pytest.fail(f"{cq.path.name}: {cq.header['question']}\n  expected {want}, got "
                        f"{str(answer).lower()}", pytrace=False)
        return
    problems = compare(cq, answer)
    assert not problems, (f"{cq.path.name}: {cq.header['question']}\n  "
                          + "\n  ".join(problems))


# -- the files themselves ---------------------------------------------------------------------

def test_there_are_at_least_forty_questions():
    assert len(QUESTIONS) >= 40


@pytest.mark.parametrize("cq", QUESTIONS, ids=[cq.path.stem for cq in QUESTIONS])
def test_question_file_is_documented(cq):
    """Each file states its question and answer first, then its tags and expected rows."""
    lines = cq.text.splitlines()
    assert lines[0].startswith("# Question: ") and len(lines[0]) > len("# Question: ") + 10
    assert lines[1].startswith("# Answer (from the fact sheet): ")
    assert re.fullmatch(r"cq-\d{2,3}-[a-z0-9]+(-[a-z0-9]+)*", cq.path.stem), cq.path.stem
    categories = cq.tags("category")
    assert categories and set(categories) <= CATEGORIES, categories
    assert cq.tags("section"), "name the fact-sheet section(s) the question covers"
    assert cq.expected, "state the expected answer with '# expect:' lines"
    assert cq.mode in {"set", "ordered", "ask"}


def test_question_ids_are_unique():
    ids = [cq.id for cq in QUESTIONS]
    assert len(ids) == len(set(ids))


def test_every_category_is_covered():
    covered = {tag for cq in QUESTIONS for tag in cq.tags("category")}
    assert covered == CATEGORIES


# -- the expectation language, checked on its own ---------------------------------------------

@pytest.mark.parametrize("token, term, matches", [
    ("fipid:dcsd", NamedNode(PREFIXES["fipid"] + "dcsd"), True),
    ("fipid:dcsd", Literal("dcsd"), False),
    ('"Mongolie"@fr', Literal("Mongolie", language="fr"), True),
    ('"Mongolie"@fr', Literal("Mongolie", language="en"), False),
    ('"Mongolie"', Literal("Mongolie", language="fr"), True),
    ('"2023"^^xsd:gYear', Literal("2023", datatype=NamedNode(PREFIXES["xsd"] + "gYear")), True),
    ('"2023"^^xsd:gYear', Literal("2023"), False),
    ("3", Literal("3", datatype=NamedNode(PREFIXES["xsd"] + "integer")), True),
    ("3000", Literal("3000.0", datatype=NamedNode(PREFIXES["xsd"] + "decimal")), True),
    ("3", Literal("3"), False),
    ("UNDEF", None, True),
    ("true", Literal(True), True),
    ("true", Literal("true"), False),
])
def test_cell_matching(token, term, matches):
    assert Cell.parse(token).matches(term) is matches


def test_cells_split_outside_quotes():
    assert _split_cells('fipid:a | "x | y"@en | 3') == ["fipid:a ", ' "x | y"@en ', " 3"]


# -- the README path: the `kg` command answers a question too ---------------------------------

def test_cli_answers_cq_01_as_json():
    """``kg query -f queries/cq-01-….rq --format json`` gives the expected answer."""
    path = next(QUERIES.glob("cq-01-*.rq"))
    cq = CompetencyQuestion.read(path)
    done = subprocess.run(
        [sys.executable, "-m", "kg", "query", "-f", str(path.relative_to(REPO)),
         "--format", "json"],
        capture_output=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    answer = json.loads(done.stdout)
    variables = answer["head"]["vars"]
    rows = [tuple(_json_term(binding.get(name)) for name in variables)
            for binding in answer["results"]["bindings"]]
    assert not compare(cq, rows), compare(cq, rows)


def _json_term(value: dict | None):
    if value is None:
        return None
    if value["type"] == "uri":
        return NamedNode(value["value"])
    if value["type"] == "bnode":
        return BlankNode(value["value"])
    if "xml:lang" in value:
        return Literal(value["value"], language=value["xml:lang"])
    if "datatype" in value:
        return Literal(value["value"], datatype=NamedNode(value["datatype"]))
    return Literal(value["value"])


# -- the fact inventory points at real questions ----------------------------------------------

def test_fact_inventory_names_existing_questions():
    """Every question id in the CQ column of docs/fact-inventory.md has a query file, and most
    questions reach a fact row (the others ask about names, curator additions or the whole graph)."""
    inventory = (REPO / "docs" / "fact-inventory.md").read_text(encoding="utf-8")
    cells = [line.rstrip().rstrip("|").rsplit("|", 1)[-1]
             for line in inventory.splitlines() if re.match(r"\| \d+\.\d+ \|", line)]
    named = {cq for cell in cells for cq in re.findall(r"cq-\d{2,3}\b", cell)}
    ids = {cq.id for cq in QUESTIONS}
    assert named <= ids, sorted(named - ids)
    assert len(ids - named) <= len(ids) // 10, sorted(ids - named)
