"""The SPARQL quality checks of ``shapes/checks/``, run on a change.

Each ``*-violation.rq`` is a SELECT whose every row names an offender (see
``shapes/README.md``); its header says what it checks (``# Check:``) and how a row reads
(``# Message:``, with ``{variable}`` placeholders). On the whole graph a check must return
no row. On a change, the rows that matter are the rows the check gives *after* the change
and not *before*.

They are found without running the check on the whole graph. A row can appear or vanish
only if one of the check's triple patterns, under the row's bindings, matches a triple the
change adds or removes (in a NOT EXISTS too). So each changed triple is matched against
each pattern; where it matches, the projected variable of the pattern that every row binds
(an *anchor*: ``?a`` of ``?a rdfs:label ?shared``) takes that triple's term as a *seed*.
The rows that matter are among the rows whose anchor is one of its seeds.

From the seeds of each anchor, the check's triple patterns are walked outwards (predicates
followed forwards or backwards, variable predicates too), collecting the triples the query
can match; the check runs on those triples with the anchor bound to its seeds (``VALUES``),
before and after the change: for these rows the triples collected are all the triples the
full graph offers, so the rows are the full graph's rows (the walk is
:mod:`kg.validation.walks`; the triples keep their graphs, so a check over named graphs,
``GRAPH ?graph { ... }``, sees a triple moved from one graph to another). Binding the
anchor keeps a check that pairs nodes (``duplicate-entity``) from pairing every node it
collected, and seeding by pattern keeps a hub (a country the change points at) from being
walked by checks that cannot read it there.

A changed triple that matches a pattern with no anchor (``?note a fip:CuratorNote``, where
``?note`` is not projected) passes its match on: the patterns are walked from the note, and
the anchors reached (``?node prov:wasDerivedFrom ?note``) are seeded with the nodes reached.
If no such walk can be complete, the check falls back to a wider rule: every node the
change touches is a seed of every variable whose walk is complete, and the check runs on
what was collected, its rows filtered.

Two economies keep hubs (a class, a country) cheap: a walk goes forwards first and leaves
``rdf:type`` backwards for last, and a pattern whose other end is a variable used nowhere
else (``FILTER NOT EXISTS { ?any ?p ?sentence }``) needs one matching triple, not all.
Property paths other than a single IRI are not walked: :func:`load_checks` refuses them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from pyoxigraph import BlankNode, Literal, NamedNode, Store
from rdflib import URIRef, Variable

from ..errors import UsageError
from ..namespaces import compact
from ..delta import Delta
from ..terms import to_ox, to_rdflib
from .entail import View
from .lint import SHAPES_NS
from .algebra import (certain_variables, graphed_patterns, named_triple,
                      where_offset)
from .scope import grouped_triple_patterns
from .validate import Finding
from .walks import reach, walk

_HEADER = re.compile(r"^#\s*(Check|Message):\s*(.*)$")


@dataclass(frozen=True)
class Check:
    """One ``NAME-violation.rq``: its query, what it checks, and how a row reads."""

    name: str
    query: str
    description: str
    message: str
    #: The projected variables, in order; rows are kept when one of them is touched.
    variables: tuple[str, ...]
    #: The triple patterns (subject, predicate, object) as rdflib terms and Variables.
    patterns: tuple[tuple, ...]
    #: Variables that occur once in the query: a pattern reaching one needs one triple.
    leaves: frozenset[str]
    #: Projected variables bound by a triple pattern in every row, whose walk is complete:
    #: a row that a changed triple alters binds one of them to a term of that triple.
    anchors: frozenset[str] = frozenset()
    #: The anchors that are a subject in every row (never a literal).
    subjects: frozenset[str] = frozenset()
    #: The block each pattern is written in (patterns of one block match together).
    blocks: tuple[int, ...] = ()
    #: Where the query's WHERE group opens (a VALUES clause goes there); -1 if not found.
    where: int = -1
    #: The patterns written inside a ``GRAPH`` block: which graph holds a triple matters.
    graphed: frozenset[tuple] = frozenset()
    #: The variables (subject, predicate, object) of a triple every row names, if any.
    triple: tuple[str, str, str] | None = None

    @property
    def iri(self) -> URIRef:
        """The check's IRI, the ``sh:sourceShape`` of its results (``fipsh:DuplicateEntityCheck``)."""
        return URIRef(SHAPES_NS + "".join(w.capitalize() for w in self.name.split("-")) + "Check")

    def finding(self, row: dict, touched: set) -> Finding:
        """A violation for one row: its focus is the first touched node the row names;
        a row naming a triple (:attr:`triple`) is about its subject, predicate and value."""
        values = {v: _show(row.get(v)) for v in self.variables}
        message = self.message.format(**values)
        if self.triple is not None:
            s, p, o = (to_rdflib(row[v]) for v in self.triple)
            return Finding(focus_node=s, path=p, value=o, message=message,
                           severity="Violation", source_shape=self.iri)
        focus = next((row[v] for v in self.variables if row.get(v) in touched),
                     next(iter(row.values())))
        return Finding(focus_node=to_rdflib(focus), path=None, value=None, message=message,
                       severity="Violation", source_shape=self.iri)


def _show(term) -> str:
    if term is None:
        return "(none)"
    if isinstance(term, NamedNode):
        return compact(term.value)
    return str(term) if not isinstance(term, Literal) else f'"{term.value}"'


def load_checks(directory: Path) -> tuple[Check, ...]:
    """Every ``*-violation.rq`` of ``directory``, parsed and analysed."""
    return tuple(parse_check(path) for path in sorted(directory.glob("*-violation.rq")))


def parse_check(path: Path) -> Check:
    """One check file; UsageError if it lacks its header or walks a property path."""
    from rdflib.plugins.sparql import prepareQuery

    text = path.read_text(encoding="utf-8")
    headers: dict[str, list[str]] = {"Check": [], "Message": []}
    current = None
    for line in text.splitlines():
        match = _HEADER.match(line)
        if match:
            current = match.group(1)
            headers[current].append(match.group(2))
        elif current and line.startswith("#") and not line.startswith("# Each row"):
            headers[current].append(line.lstrip("# "))
        else:
            current = None
    name = path.name[: -len("-violation.rq")]
    if not headers["Check"] or not headers["Message"]:
        raise UsageError(f"{path}: a check starts with '# Check:' and '# Message:' lines")
    query = prepareQuery(text)
    variables = tuple(str(v) for v in query.algebra["PV"])
    grouped = tuple(grouped_triple_patterns(query.algebra))
    patterns = tuple(triple for _, triple in grouped)
    for _, predicate, _ in patterns:
        if not isinstance(predicate, (URIRef, Variable)):
            raise UsageError(f"{path}: property paths are not supported in checks ({predicate})")
    counts = {v: len(re.findall(r"[?$]" + re.escape(v) + r"\b", text)) for v in
              {str(t) for p in patterns for t in p if isinstance(t, Variable)}}
    check = Check(name=name, query=text, description=" ".join(headers["Check"]),
                  message=" ".join(headers["Message"]), variables=variables,
                  patterns=patterns, leaves=frozenset(v for v, n in counts.items() if n == 1),
                  blocks=tuple(block for block, _ in grouped))
    certain = {str(v) for v in certain_variables(query.algebra)} & set(variables)
    walkable = {v for v in certain if walk(check, View(Store()), Variable(v), set()) is not None}
    subjects = {str(v) for v in certain_variables(query.algebra, subjects=True)} & walkable
    return replace(check, anchors=frozenset(walkable), subjects=frozenset(subjects),
                   where=where_offset(text), graphed=frozenset(graphed_patterns(query.algebra)),
                   triple=named_triple(query.algebra, variables))


# -- running ---------------------------------------------------------------------------------

def touched_terms(delta: Delta, exclude: frozenset = frozenset()) -> set:
    """The subjects, predicates and non-literal objects of the change's triples."""
    found = set()
    for quad in delta.added | delta.removed:
        if quad.graph_name in exclude:
            continue
        found.update((quad.subject, quad.predicate))
        if not isinstance(quad.object, Literal):
            found.add(quad.object)
    return found


def check_change(checks: Iterable[Check], store: Store, delta: Delta, *,
                 exclude: frozenset = frozenset()) -> list[Finding]:
    """The rows each check gives after ``delta`` and not before, among the rows the change
    can alter (see the module docstring)."""
    changed = [(q.subject, q.predicate, q.object) for q in delta.added | delta.removed
               if q.graph_name not in exclude]
    if not changed:
        return []
    touched = touched_terms(delta, exclude)
    before, after = View(store, exclude=exclude), View(store, delta, exclude=exclude)
    found = []
    for check in checks:
        seeds = check_seeds(check, changed, (before, after))
        if seeds is None:  # a changed triple no anchor follows: the wider rule
            seeds = _wide_seeds(check, touched, delta, exclude)
            run = _filtered_rows
        else:
            run = _anchored_rows
        if not seeds:
            continue
        new = run(check, after, seeds)
        if new:
            new -= run(check, before, seeds)
        found += [check.finding(dict(row), touched) for row in sorted(new, key=str)]
    return found


def check_seeds(check: Check, changed: list[tuple], views: tuple = ()) -> dict[str, set] | None:
    """The seeds of each anchor of ``check``: for every changed triple that a pattern
    matches, the triple's term under the pattern's first anchor (subject, then object,
    then predicate: a predicate is the widest start; a literal only if nothing else).
    A match that would put a literal where every row has a node (``?sentence`` of
    ``?node ?property ?sentence`` when ``?sentence a fip:SourceSentence``) alters no row.
    A pattern with no anchor (``?note a fip:CuratorNote``) passes its match on: the
    anchors a walk reaches from it in ``views`` are seeded with the nodes reached. None
    if that walk cannot be complete."""
    seeds: dict[str, set] = {}
    for pattern in check.patterns:
        candidates = [v for v in (pattern[0], pattern[2], pattern[1])
                      if isinstance(v, Variable) and str(v) in check.anchors]
        for triple in changed:
            binding = _unify(pattern, triple)
            if binding is None or any(isinstance(binding[v], Literal) and str(v) in
                                      check.subjects for v in candidates):
                continue
            if not candidates:
                if not _pass_on(check, binding, views, seeds):
                    return None
                continue
            anchor = next((v for v in candidates if not isinstance(binding[v], Literal)),
                          candidates[0])
            seeds.setdefault(str(anchor), set()).add(binding[anchor])
    return seeds


def _pass_on(check: Check, binding: dict, views: tuple, seeds: dict) -> bool:
    """Seed the anchors reached by a walk from a variable of a match without anchor, in
    every view; False if no variable of the match can be walked from completely."""
    for variable, value in binding.items():
        if isinstance(value, Literal):
            continue
        reached = [reach(check, view, variable, {value}) for view in views]
        if views and all(r is not None for r in reached):
            for bound in reached:
                for anchor, nodes in bound.items():
                    if str(anchor) in check.anchors:
                        seeds.setdefault(str(anchor), set()).update(nodes)
            return True
    return False


def _unify(pattern: tuple, triple: tuple) -> dict | None:
    """The binding of the pattern's variables that makes it ``triple``, or None."""
    binding: dict = {}
    for term, value in zip(pattern, triple):
        if isinstance(term, Variable):
            if binding.setdefault(term, value) != value:
                return None
        elif _ox(term) != value:
            return None
    return binding


@lru_cache(maxsize=1024)
def _ox(term):
    """A constant of a pattern as a pyoxigraph term (converted once per constant)."""
    return to_ox(term)


def _wide_seeds(check: Check, touched: set, delta: Delta, exclude: frozenset) -> dict:
    """Every touched node for every variable (the change's predicates too, for a variable
    that stands for terms: see :func:`_takes_predicates`)."""
    nodes = {t for q in delta.added | delta.removed if q.graph_name not in exclude
             for t in (q.subject, q.object) if not isinstance(t, Literal)}
    return {v: (touched if _takes_predicates(check, Variable(v)) else nodes)
            for v in check.variables}


def check_full(checks: Iterable[Check], before: Store, after: Store, touched: set) -> list[Finding]:
    """The rows each check gives on the whole of ``after`` and not on ``before`` (the
    reference the incremental run must equal); ``touched`` chooses the focus nodes."""
    found = []
    for check in checks:
        new = _run(check, after) - _run(check, before)
        found += [check.finding(dict(row), touched) for row in sorted(new, key=str)]
    return found


def _run(check: Check, store: Store) -> set[tuple]:
    rows = store.query(check.query, use_default_graph_as_union=True)
    return {tuple((v, row[v]) for v in check.variables if row[v] is not None) for row in rows}


def _collect(check: Check, view: View, seeds: dict) -> tuple[Store, set]:
    """The quads of ``view`` each seeded variable's walk collects, in a store of their
    own (each in its graph, for the patterns inside ``GRAPH``), and the variables whose
    walk was complete."""
    local = Store()
    quads: set = set()
    complete = set()
    for root, nodes in seeds.items():
        found = walk(check, view, Variable(root), nodes)
        if found is not None:
            quads |= found
            complete.add(root)
    local.extend(quads)
    return local, complete


def _anchored_rows(check: Check, view: View, seeds: dict) -> set[tuple]:
    """The check's rows in ``view`` whose anchor is one of its seeds, anchor by anchor."""
    local, _ = _collect(check, view, seeds)
    rows: set = set()
    for anchor, nodes in seeds.items():
        rows |= _run_bound(check, local, anchor, nodes)
    return rows


def _filtered_rows(check: Check, view: View, seeds: dict) -> set[tuple]:
    """The check's rows on the triples collected from the seeds, in ``view``, that name a
    seed at a variable whose walk was complete (the wider rule)."""
    local, complete = _collect(check, view, seeds)
    return {row for row in _run(check, local)
            if any(v in complete and term in seeds[v] for v, term in row)}


def _run_bound(check: Check, store: Store, variable: str, nodes: set) -> set[tuple]:
    """The check's rows in ``store`` with ``variable`` one of ``nodes``: bound by a VALUES
    clause where the query allows it, so a check that pairs nodes pairs these only."""
    if check.where < 0 or any(isinstance(n, BlankNode) for n in nodes):  # no VALUES for these
        return {row for row in _run(check, store) if dict(row).get(variable) in nodes}
    values = f"VALUES ?{variable} {{ {' '.join(str(n) for n in nodes)} }} "
    bound = replace(check, query=check.query[:check.where] + values + check.query[check.where:])
    return _run(bound, store)


def _takes_predicates(check: Check, variable: Variable) -> bool:
    """Whether ``variable`` is bound to the change's predicates too: when it stands for a
    predicate somewhere and no pattern would read a predicate's uses whole from it
    (``?assertion rdf:predicate ?predicate`` would). A row about a changed triple names
    its subject anyway; only a check about terms (``?s ?term ?o``) needs the predicate."""
    return any(p == variable for _, p, _ in check.patterns) and not any(
        o == variable and str(s) not in check.leaves for s, _, o in check.patterns)
