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
from ..namespaces import RDF_TYPE, compact
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
    before, after = View(store, exclude=exclude), View(store, delta, exclude=exclude)
    found = []
    for check in checks:
        new = _rows(check, after, touched)
        if new:
            new -= _rows(check, before, touched)
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


def _rows(check: Check, view: View, touched: set) -> set[tuple]:
    """The check's rows on the triples it can read from the touched nodes, in ``view``,
    that name a touched node at a variable whose walk was complete."""
    local = Store()
    triples: set = set()
    complete = set()
    for root in check.variables:
        found = _walk(check, view, Variable(root), touched)
        if found is not None:
            triples |= found
            complete.add(root)
    local.extend(Quad(s, p, o) for s, p, o in triples if not isinstance(s, Literal))
    return {row for row in _run(check, local)
            if any(v in complete and term in touched for v, term in row)}


def _walk(check: Check, view: View, root: Variable, touched: set) -> set | None:
    """The triples matching the check's patterns reachable from ``root`` bound to the
    touched terms; None when that would read every triple of a touched predicate (a row
    is then about the nodes on either side, walked from their own variables)."""
    bound: dict = {root: {t for t in touched if not isinstance(t, Literal)}}
    triples: set = set()
    todo = list(check.patterns)
    while todo:
        step = _next_step(todo, bound)
        if step is None:
            break
        todo.remove(step)
        s, p, o = step
        s_nodes, o_nodes = _values(s, bound), _values(o, bound)
        p_nodes = _values(p, bound)
        if s_nodes is None and o_nodes is None:  # reached by its predicate only
            if not {str(s), str(o)} <= check.leaves:
                return None
            for predicate in p_nodes:
                triples |= _matching(view, None, predicate, None, 1)
            continue
        forward = s_nodes is not None
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
        if isinstance(far, Variable) and far not in bound:
            bound[far] = reached
        if isinstance(p, Variable) and p not in bound:
            bound[p] = predicates
    return triples


def _values(term, bound: dict):
    """The nodes ``term`` stands for: a constant itself, a reached variable its nodes."""
    if isinstance(term, Variable):
        return bound.get(term)
    return {to_ox(term)}


def _next_step(todo: list, bound: dict):
    """The next pattern to walk: from a reached variable, forwards first, ``rdf:type``
    backwards last; from a constant only when nothing else is left."""
    def reached(term) -> bool:
        return isinstance(term, Variable) and term in bound

    ranked = []
    for s, p, o in todo:
        if reached(s):
            ranked.append((0, (s, p, o)))
        elif reached(o):
            ranked.append((2 if p == rdflib.RDF.type else 1, (s, p, o)))
        elif reached(p):
            ranked.append((1, (s, p, o)))
        elif not isinstance(s, Variable) or not isinstance(o, Variable):
            ranked.append((3, (s, p, o)))
    return min(ranked, key=lambda r: r[0])[1] if ranked else None


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
