"""The SPARQL quality checks of ``shapes/checks/``, run on a change.

Each ``*-violation.rq`` is a SELECT whose every row names an offender (see
``shapes/README.md``); its header says what it checks (``# Check:``) and how a row reads
(``# Message:``, with ``{variable}`` placeholders). On the whole graph a check must return
no row. On a change, the rows that matter are the rows the check gives *after* the change
and not *before*, among the rows that name a node the change touches (its subjects, objects
and predicates) — a check's rows name the nodes it reads around, so these are all of them.

They are found without running the check on the whole graph. From every node the change
touches, bound to each projected variable in turn, the check's triple patterns are walked
outwards (predicates followed forwards or backwards, variable predicates too), collecting
the triples the query can match; the check runs on those triples, before and after the
change, and only the rows naming a touched node are kept: for them the triples collected
are all the triples the full graph offers, so the rows are the full graph's rows.

Two economies keep hubs (a class, a country) cheap: a walk goes forwards first and leaves
``rdf:type`` backwards for last, and a pattern whose other end is a variable used nowhere
else (``FILTER NOT EXISTS { ?any ?p ?sentence }``) needs one matching triple, not all.
Property paths other than a single IRI are not walked: :func:`load_checks` refuses them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import rdflib
from pyoxigraph import Literal, NamedNode, Quad, Store
from rdflib import URIRef, Variable

from ..errors import UsageError
from ..namespaces import compact
from ..store.delta import Delta
from ..terms import to_ox, to_rdflib
from .entail import View
from .lint import SHAPES_NS
from .scope import triple_patterns
from .validate import Finding

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

    @property
    def iri(self) -> URIRef:
        """The check's IRI, the ``sh:sourceShape`` of its results (``fipsh:DuplicateEntityCheck``)."""
        return URIRef(SHAPES_NS + "".join(w.capitalize() for w in self.name.split("-")) + "Check")

    def finding(self, row: dict, touched: set) -> Finding:
        """A violation for one row: its focus is the first touched node the row names."""
        focus = next((row[v] for v in self.variables if row.get(v) in touched),
                     next(iter(row.values())))
        values = {v: _show(row.get(v)) for v in self.variables}
        return Finding(focus_node=to_rdflib(focus), path=None, value=None,
                       message=self.message.format(**values), severity="Violation",
                       source_shape=self.iri)


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
    patterns = tuple(triple_patterns(query.algebra))
    for _, predicate, _ in patterns:
        if not isinstance(predicate, (URIRef, Variable)):
            raise UsageError(f"{path}: property paths are not supported in checks ({predicate})")
    counts = {v: len(re.findall(r"[?$]" + re.escape(v) + r"\b", text)) for v in
              {str(t) for p in patterns for t in p if isinstance(t, Variable)}}
    return Check(name=name, query=text, description=" ".join(headers["Check"]),
                 message=" ".join(headers["Message"]), variables=variables,
                 patterns=patterns, leaves=frozenset(v for v, n in counts.items() if n == 1))


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
    """The rows each check gives after ``delta`` and not before, naming a touched node."""
    touched = touched_terms(delta, exclude)
    if not touched:
        return []
    nodes = {t for q in delta.added | delta.removed if q.graph_name not in exclude
             for t in (q.subject, q.object) if not isinstance(t, Literal)}
    before, after = View(store, exclude=exclude), View(store, delta, exclude=exclude)
    found = []
    for check in checks:
        new = _rows(check, after, touched, nodes)
        if new:
            new -= _rows(check, before, touched, nodes)
        found += [check.finding(dict(row), touched) for row in sorted(new, key=str)]
    return found


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


def _rows(check: Check, view: View, touched: set, nodes: set) -> set[tuple]:
    """The check's rows on the triples it can read from the touched nodes, in ``view``,
    that name a touched node at a variable whose walk was complete."""
    local = Store()
    triples: set = set()
    complete = set()
    for root in check.variables:
        found = _walk(check, view, Variable(root), touched if _takes_predicates(
            check, Variable(root)) else nodes)
        if found is not None:
            triples |= found
            complete.add(root)
    local.extend(Quad(s, p, o) for s, p, o in triples if not isinstance(s, Literal))
    return {row for row in _run(check, local)
            if any(v in complete and term in touched for v, term in row)}


def _takes_predicates(check: Check, variable: Variable) -> bool:
    """Whether ``variable`` is bound to the change's predicates too: when it stands for a
    predicate somewhere and no pattern would read a predicate's uses whole from it
    (``?assertion rdf:predicate ?predicate`` would). A row about a changed triple names
    its subject anyway; only a check about terms (``?s ?term ?o``) needs the predicate."""
    return any(p == variable for _, p, _ in check.patterns) and not any(
        o == variable and str(s) not in check.leaves for s, _, o in check.patterns)


def _walk(check: Check, view: View, root: Variable, touched: set) -> set | None:
    """The triples matching the check's patterns reachable from ``root`` bound to the
    touched terms; None when the walk cannot be complete without reading a hub whole
    (every triple of a touched predicate; every node with a constant value, such as the
    instances of a class) — its rows are then found from the other variables."""
    bound: dict = {root: {t for t in touched if not isinstance(t, Literal)}}
    triples: set = set()
    todo = list(check.patterns)
    while todo:
        steps = _next_steps(todo, bound)
        if not steps:
            break
        reached_by: dict = {}
        for step in steps:  # every pattern reaching the same variable (UNION branches)
            todo.remove(step)
            found = _step(check, view, step, bound, triples)
            if found is None:
                return None
            if found[0] is not None:
                reached_by.setdefault(found[0], set()).update(found[1])
        for variable, nodes in reached_by.items():
            bound.setdefault(variable, set()).update(nodes)
    if any(isinstance(t, Variable) and t not in bound for pattern in todo for t in pattern):
        return None  # reachable from constants only: a hub would be read whole
    return triples


def _step(check: Check, view: View, step: tuple, bound: dict, triples: set):
    """Walk one pattern from its reached end; the variable it reaches and the nodes, or
    (None, ()) when it reaches none; None when it would read a predicate whole."""
    s, p, o = step
    s_nodes, o_nodes = _values(s, bound), _values(o, bound)
    p_nodes = _values(p, bound)
    if not _reached(s, bound) and not _reached(o, bound):  # reached by its predicate only
        if not {str(s), str(o)} <= check.leaves:
            return None
        for predicate in p_nodes:
            triples |= _matching(view, None, predicate, None, 1)
        return None, ()
    forward = _reached(s, bound)
    start, far = (s_nodes, o) if forward else (o_nodes, s)
    limit = 1 if (str(far) in check.leaves and (not isinstance(p, Variable)
                                                 or str(p) in check.leaves)) else None
    reached, predicates = set(), set()
    for node in start:
        for predicate in (p_nodes if p_nodes is not None else [None]):
            for triple in _matching(view, node if forward else None, predicate,
                                    None if forward else node, limit):
                triples.add(triple)
                predicates.add(triple[1])
                reached.add(triple[2] if forward else triple[0])
    if isinstance(p, Variable) and p not in bound:
        bound[p] = predicates
    if isinstance(far, Variable) and far not in bound:
        return far, reached
    return None, ()


def _reached(term, bound: dict) -> bool:
    return isinstance(term, Variable) and term in bound


def _values(term, bound: dict):
    """The nodes ``term`` stands for: a constant itself, a reached variable its nodes."""
    if isinstance(term, Variable):
        return bound.get(term)
    return {to_ox(term)}


def _next_steps(todo: list, bound: dict) -> list:
    """The next patterns to walk: from a reached variable, forwards first, ``rdf:type``
    backwards last, never from a constant (a class, ``true``: a hub). When the best
    leads to an unreached variable, every pattern of the same rank leading there comes
    along (the branches of a UNION reach it each their own way)."""
    ranked = []
    for s, p, o in todo:
        if _reached(s, bound):
            ranked.append((0, o, (s, p, o)))
        elif _reached(o, bound):
            ranked.append((2 if p == rdflib.RDF.type else 1, s, (s, p, o)))
        elif _reached(p, bound):
            ranked.append((1, None, (s, p, o)))
    if not ranked:
        return []
    rank, far, step = min(ranked, key=lambda r: (r[0], str(r[2])))
    if not isinstance(far, Variable) or far in bound:
        return [step]
    return [st for r, f, st in ranked if r == rank and f == far]


def _matching(view: View, s, p, o, limit: int | None) -> set:
    """Triples of ``view`` matching the pattern (None: any), at most ``limit`` of them."""
    if isinstance(s, Literal):
        return set()
    found = set()
    for triple in view.matching(s, p, o):
        found.add(triple)
        if limit is not None and len(found) >= limit:
            break
    return found
