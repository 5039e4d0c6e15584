"""SPARQL 1.1 Update as a :class:`~kg.delta.Delta`, computed before anything is written.

Oxigraph can run an update but not say what it would change, so each operation is
evaluated here: ``INSERT DATA``/``DELETE DATA`` give their quads; ``DELETE``/``INSERT …
WHERE`` run the WHERE pattern as a ``SELECT *`` in Oxigraph's engine and instantiate the
templates with each solution (fresh blank nodes per solution, quads with unbound
variables skipped, delete before insert); ``CLEAR``, ``DROP``, ``ADD``, ``MOVE``, ``COPY``
read the graphs they name; ``LOAD`` asks a loader (which decides what may be fetched).
Oxigraph's parser checks the whole request first, so syntax errors keep their position.

Dataset of an update, the same as for queries: the WHERE pattern sees the **union of all
graphs** as its default graph (unless ``USING``, ``WITH`` or the protocol's
``using-graph-uri``/``using-named-graph-uri`` say otherwise); triples written or deleted
**without ``GRAPH``** go to the **user-additions graph** (or the ``WITH`` graph), so that
curated graphs change only when named. ``DEFAULT`` in ``CLEAR``/``DROP``/``ADD``/``MOVE``/
``COPY`` is that graph too; ``NAMED`` is every other named graph and ``ALL`` every graph,
except the server's own graphs (change log, review queue), which no update clears.

Operations run in order, each seeing the effect of the ones before: when an operation
reads the store (a WHERE pattern) after earlier ones changed it, it is evaluated on a staging
copy of the store with those changes applied (its cost grows with the store).

>>> from pyoxigraph import Store
>>> delta = update_delta(Store(), 'INSERT DATA { fipid:a rdfs:label "A"@en }',
...                      write_default="http://e/user")
>>> [str(q) for q in delta.added]
['<https://w3id.org/fr-indopacific/id/a> <http://www.w3.org/2000/01/rdf-schema#label> "A"@en <http://e/user>']
"""

from __future__ import annotations

from typing import Callable, Sequence

from pyoxigraph import BlankNode, DefaultGraph, NamedNode, Quad, RdfFormat, Store, parse

from ..delta import Delta, commit
from ..errors import ForbiddenFeatureError, QueryEvaluationError, UsageError
from .guard import lex
from ..namespaces import PREFIXES
from .operations import Operation, check_syntax, parse_update
from .execute import execute_query

#: Fetches a LOAD source: (IRI, SILENT) -> the triples of the document (default graph).
Loader = Callable[[str, bool], list[Quad]]

_VAR = "urn:x-kg-update-variable:"


def update_delta(store: Store, text: str, *, write_default: str, base_iri: str | None = None,
                 using_graphs: Sequence[str] = (), using_named_graphs: Sequence[str] = (),
                 keep: frozenset[str] = frozenset(), loader: Loader | None = None) -> Delta:
    """The change ``text`` (a SPARQL 1.1 update) would make to ``store``; nothing is written.

    ``write_default`` is the graph of triples written without ``GRAPH``; ``keep`` the graphs
    that ``CLEAR``/``DROP ALL|NAMED`` leave alone; ``using_graphs``/``using_named_graphs`` the
    protocol's dataset; ``loader`` fetches ``LOAD`` sources (none: LOAD is refused).
    Raises QuerySyntaxError (with line and column), UsageError, ForbiddenFeatureError.
    """
    operations = parse_update(text, base_iri=base_iri)
    check_syntax(text, operations, base_iri)
    if (using_graphs or using_named_graphs) and any(
            op.using or op.using_named or op.with_graph for op in operations):
        raise UsageError("using-graph-uri / using-named-graph-uri cannot be combined with "
                         "USING, USING NAMED or WITH in the update (SPARQL 1.1 Protocol 2.2.3)")
    run = _Run(store, write_default=write_default, keep=keep, loader=loader,
               dataset=(list(using_graphs), list(using_named_graphs)))
    for op in operations:
        run.operation(op)
    return run.delta


# -- evaluating it --------------------------------------------------------------------------

class _Run:
    """The delta of the operations so far, and a staging store once one is needed."""

    def __init__(self, store: Store, *, write_default: str, keep: frozenset[str],
                 loader: Loader | None, dataset: tuple[list[str], list[str]]) -> None:
        self.store, self.loader, self.dataset = store, loader, dataset
        self.write_default = NamedNode(write_default)
        self.keep = keep
        self.delta = Delta()
        self.staging: Store | None = None

    # the store as the operations so far left it
    def _contains(self, quad: Quad) -> bool:
        if self.staging is not None:
            return quad in self.staging
        return quad in self.delta.added or (quad not in self.delta.removed and quad in self.store)

    def _graph(self, graph) -> set[Quad]:
        if self.staging is not None:
            return set(self.staging.quads_for_pattern(None, None, None, graph))
        found = {q for q in self.store.quads_for_pattern(None, None, None, graph)
                 if q not in self.delta.removed}
        return found | {q for q in self.delta.added if q.graph_name == graph}

    def _graph_names(self) -> set:
        store = self.staging or self.store
        names = set(store.named_graphs()) | {q.graph_name for q in self.delta.added}
        if any(True for _ in store.quads_for_pattern(None, None, None, DefaultGraph())):
            names.add(DefaultGraph())
        return {g for g in names if isinstance(g, DefaultGraph) or g.value not in self.keep}

    def _apply(self, added: set[Quad], removed: set[Quad]) -> None:
        removed = {q for q in removed if q not in added and self._contains(q)}
        added = {q for q in added if not self._contains(q)}
        step = Delta(frozenset(added), frozenset(removed))
        if self.staging is not None:
            commit(self.staging, step)
        self.delta = self.delta.then(step)

    def _reading_store(self) -> Store:
        if self.delta and self.staging is None:
            from pyoxigraph import RdfFormat as Fmt

            self.staging = Store()
            self.staging.load(self.store.dump(format=Fmt.N_QUADS), Fmt.N_QUADS)
            commit(self.staging, self.delta)
        return self.staging or self.store

    # operations
    def operation(self, op: Operation) -> None:
        if op.kind in ("INSERT_DATA", "DELETE_DATA"):
            quads = _instantiate(_templates(op.insert or op.delete, op), {}, self.write_default)
            self._apply(quads if op.insert else set(), quads if op.delete else set())
        elif op.kind in ("DELETE_WHERE", "MODIFY"):
            self._modify(op)
        elif op.kind in ("CLEAR", "DROP"):
            self._exists(op, op.graphs[0])
            removed: set[Quad] = set()
            for graph in self._targets(op.graphs[0]):
                removed |= self._graph(graph)
            self._apply(set(), removed)
        elif op.kind in ("ADD", "COPY", "MOVE"):
            self._exists(op, op.graphs[0])
            self._copy(op)
        elif op.kind == "LOAD":
            self._load(op)
        # CREATE: a graph exists once it holds a triple; nothing to do

    def _exists(self, op: Operation, ref: str) -> None:
        """A named graph that does not exist is an error, unless SILENT (SPARQL 1.1 Update 3.2)."""
        if op.silent or ref in ("DEFAULT", "NAMED", "ALL"):
            return
        if NamedNode(ref) not in self._graph_names() and not self._graph(NamedNode(ref)):
            raise QueryEvaluationError(f"update failed: the graph <{ref}> does not exist "
                                       f"(use {op.kind} SILENT to ignore)")

    def _targets(self, ref: str) -> list:
        if ref == "DEFAULT":
            return [self.write_default]
        if ref in ("NAMED", "ALL"):
            names = self._graph_names()
            if ref == "NAMED":
                names = {g for g in names if g != self.write_default
                         and not isinstance(g, DefaultGraph)}
            return sorted(names, key=str)
        return [NamedNode(ref)]

    def _copy(self, op: Operation) -> None:
        source, target = (self._targets(ref)[0] for ref in op.graphs)
        if source == target:
            return
        quads = self._graph(source)
        moved = {Quad(q.subject, q.predicate, q.object, target) for q in quads}
        removed = self._graph(target) if op.kind in ("COPY", "MOVE") else set()
        if op.kind == "MOVE":
            removed |= quads
        self._apply(moved, removed - moved)

    def _load(self, op: Operation) -> None:
        if self.loader is None:
            raise ForbiddenFeatureError("LOAD is disabled on this endpoint: the server does not "
                                        "fetch URLs")
        target = NamedNode(op.graphs[1]) if len(op.graphs) > 1 else self.write_default
        triples = self.loader(op.graphs[0], op.silent)
        self._apply({Quad(q.subject, q.predicate, q.object, target) for q in triples}, set())

    def _modify(self, op: Operation) -> None:
        default = NamedNode(op.with_graph) if op.with_graph else self.write_default
        delete = _templates(op.delete, op) if op.delete else []
        insert = _templates(op.insert, op) if op.insert else []
        removed, added = set(), set()
        for solution in self._solutions(op):
            removed |= _instantiate(delete, solution, default)
            added |= _instantiate(insert, solution, default)
        self._apply(added, removed)

    def _solutions(self, op: Operation) -> list[dict]:
        store = self._reading_store()
        default, named = self.dataset
        if op.using or op.using_named:
            default, named = op.using, op.using_named
        elif op.with_graph:
            default = [op.with_graph]
            named = [g.value for g in store.named_graphs() if isinstance(g, NamedNode)]
        prologue = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in op.prefixes.items())
        result = execute_query(store, f"{prologue}SELECT * WHERE {op.where}",
                               default_graphs=default, named_graphs=named, base_iri=op.base)
        solutions = result.solutions
        names = [v.value for v in solutions.variables]
        try:
            return [{name: row[name] for name in names if row[name] is not None}
                    for row in solutions]
        except RuntimeError as exc:
            raise QueryEvaluationError(f"update failed: {exc}") from exc


def _templates(block: str, op: Operation) -> list[Quad]:
    """The quads of a ``{…}`` template, variables as placeholder IRIs, parsed as TriG."""
    inner = lex(block)[1:-1]
    pieces, last, depth, previous = [], 1, 0, None
    for tok in inner:
        text = tok.text
        if tok.kind == "word" and text[0] in "?$":
            text = f"<{_VAR}{text[1:]}>"
        elif depth == 0 and text == "." and previous == "}":
            text = " "  # TriG takes no '.' after a graph block; SPARQL allows one
        elif depth == 0 and text.upper() == "GRAPH" and previous not in (None, ".", "}"):
            text = ". " + text  # TriG ends triples with '.' before a graph; SPARQL need not
        pieces.append(block[last:tok.start] + text)
        last = tok.end
        depth += {"{": 1, "}": -1}.get(tok.text, 0)
        if depth == 0:
            previous = tok.text if tok.text in (".", "}") else "term"
    pieces.append(block[last:-1] + (" ." if previous == "term" else ""))
    prefixes = {**PREFIXES, **op.prefixes}
    document = "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in prefixes.items()) + "".join(pieces)
    try:
        return list(parse(document.encode(), RdfFormat.TRIG, base_iri=op.base))
    except SyntaxError as exc:
        raise QueryEvaluationError(f"cannot evaluate this update's template: {exc}") from None


def _instantiate(templates: list[Quad], solution: dict, default_graph: NamedNode) -> set[Quad]:
    """The quads of ``templates`` under one solution: fresh blank nodes, default graph
    replaced, quads with an unbound variable or an ill-formed term left out."""
    fresh: dict = {}
    out = set()
    for template in templates:
        terms = []
        for term in (template.subject, template.predicate, template.object, template.graph_name):
            if isinstance(term, NamedNode) and term.value.startswith(_VAR):
                term = solution.get(term.value[len(_VAR):])
                if term is None:
                    break
            elif isinstance(term, BlankNode):
                term = fresh.setdefault(term, BlankNode())
            elif isinstance(term, DefaultGraph):
                term = default_graph
            terms.append(term)
        else:
            try:
                out.add(Quad(*terms))
            except TypeError:  # e.g. a literal bound where a subject or graph goes
                continue
    return out
