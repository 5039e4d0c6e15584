"""Incremental SHACL validation of a change: only where the change can alter the verdict.

:meth:`Checker.check` answers "what does this change break or leave lacking?" for a
:class:`~kg.delta.Delta` not yet committed, in the context of the whole graph:

1. **Focus nodes.** The subjects of the triples the change adds or removes (with the triples
   RDFS entails from them); their objects when a shape reads that predicate backwards from
   its focus; every node whose RDFS types change; and, looking back, the nodes whose shapes
   read the changed node from further away (``sh:class`` on a value, nested shapes, SPARQL
   paths, hierarchies walked with ``+``), as derived from the shapes by :mod:`kg.validation.scope`.
2. **Neighbourhood.** From the focus nodes, the triples those shapes can read, up to the
   depth they read (transitive steps without a bound), plus the RDFS types of every node
   reached (by range, from triples pointing at it), closed under the RDFS instance rules.
3. **Validation.** pySHACL runs each shape on the focus nodes it targets only, on the
   neighbourhood after the change. When that finds results, the same focus nodes are
   validated before the change and the results found both times are dropped: the verdict
   is about what the change does, not about the graph's history.

The verdict equals a full pySHACL validation of the graph after minus before the change;
``tests/test_incremental.py`` checks it on every shape case. Changes to the schema itself
(``rdfs:subClassOf``, ``rdfs:domain``...) or shapes that :mod:`kg.validation.scope` cannot bound fall
back to the full validation.

pySHACL runs each shape on the focus nodes it targets only through
:class:`kg.validation.runner.Runner`.
"""

from __future__ import annotations

from collections import defaultdict, deque
from functools import lru_cache

import rdflib
from pyoxigraph import Literal, NamedNode, Store
from rdflib import Graph

from ..delta import Delta
from ..namespaces import GRAPHS, compact
from .entail import RDF_TYPE, SCHEMA_PREDICATES, Schema, View
from .scope import Scope, analyse
from ..terms import to_ox, to_rdflib
from .cycles import cycle_of, cycle_steps
from .documented import Documented
from .beyond import beyond_shapes, datatype_results
from .checks import Check, check_change, check_full, load_checks, touched_terms
from .findings import add, difference, result_of
from .runner import PreparedQueries, Runner
from .validate import SH, ValidationResult, findings, validate


class Checker:
    """Validates changes against a store: incrementally, or fully for comparison.

    ``shapes`` and ``ontology`` are rdflib graphs (the bundled ones by default, see
    :func:`kg.validation.validate.load_shapes`); the schema used for RDFS inference is read from the
    store itself (the ontology graph and any schema triples in other graphs), so a checker
    follows the store it checks.
    """

    def __init__(self, shapes: Graph | None = None, ontology: Graph | None = None, *,
                 checks: tuple[Check, ...] | None = None) -> None:
        """``checks`` default to the bundled ones with the bundled shapes, else to none."""
        from .validate import load_ontology, load_shapes, shapes_dir

        if checks is None:
            checks = load_checks(shapes_dir() / "checks") if shapes is None else ()
        self.checks = checks
        self.shapes = load_shapes() if shapes is None else shapes
        self.ontology = load_ontology() if ontology is None else ontology
        self.scope: Scope = analyse(self.shapes)
        self._runner = Runner(self.shapes) if self.scope.bounded else None
        self._shape_terms = {str(term) for term in self.shapes.all_nodes()
                             if isinstance(term, rdflib.URIRef)}
        # the classes the shapes can tell apart: those they name (sh:targetClass, sh:class,
        # sh:hasValue...), unless a shape reads rdf:type as a path (counting every type)
        self._relevant_classes = None if (None, SH.path, rdflib.RDF.type) in self.shapes \
            else frozenset(NamedNode(term) for term in self._shape_terms)
        self._cycles = cycle_steps(self.shapes)  # shapes whose results name a loop
        self._documented = Documented(self.shapes, self.ontology)  # the lint's hints

    @classmethod
    @lru_cache(maxsize=1)
    def bundled(cls) -> "Checker":
        """The checker of the bundled shapes and ontology, made once per process (reading
        and analysing the shapes takes a few tenths of a second)."""
        return cls()

    # -- the verdict on a change -----------------------------------------------------------

    def check(self, store: Store, delta: Delta, *, exclude: frozenset = frozenset(),
              schema: Schema | None = None, lint: bool = True) -> ValidationResult:
        """The results ``delta`` adds to the validation of ``store`` (graphs in ``exclude``
        ignored): conforms when the change breaks nothing and lacks nothing. ``schema`` is
        the store's (:meth:`Schema.from_store`), if the caller keeps it. Beyond the shapes,
        the SPARQL checks and the lexical forms of literals are checked, and with ``lint``
        the added triples are linted (see :mod:`kg.validation.beyond`)."""
        result = self._check(store, delta, exclude=exclude, schema=schema)
        checked = check_change(self.checks, store, delta, exclude=exclude)
        return self._with_beyond(result, store, delta, checked, exclude=exclude, lint=lint)

    def _with_beyond(self, result: ValidationResult, store: Store, delta: Delta,
                     checked: list, *, exclude: frozenset, lint: bool) -> ValidationResult:
        """``result`` (the shapes') with the checks' rows, the literals and the lint; a
        cycle's result names the triples that form it."""
        looped = self._show_cycles(result.report, View(store, delta, exclude=exclude))
        found, replaced = beyond_shapes(store, delta, result.results, checked,
                                        ontology_terms=self._ontology_terms,
                                        exclude=exclude, lint=lint, documented=self._documented)
        if not found:
            return result_of(result.report) if looped else result
        for node in datatype_results(result.report, replaced):
            result.report.remove((node, None, None))
            result.report.remove((None, None, node))
        add(result.report, found)
        return result_of(result.report)

    def _show_cycles(self, report: Graph, view: View) -> bool:
        """Add to the message of each cycle in ``report`` the triples of the loop; whether
        there was one."""
        looped = False
        for node in list(report.subjects(SH.sourceShape, None)):
            steps = self._cycles.get(report.value(node, SH.sourceShape))
            focus = report.value(node, SH.focusNode)
            loop = steps and cycle_of(view, to_ox(focus), steps)
            if loop:
                message = report.value(node, SH.resultMessage)
                shown = " ".join(f"{_compact(s)} {_compact(p)} {_compact(o)} ."
                                 for s, p, o in loop)
                report.set((node, SH.resultMessage, rdflib.Literal(
                    f"{message} The loop: {shown}", lang="en")))
                looped = True
        return looped

    def _ontology_terms(self, store: Store) -> set[str]:
        """Terms the ontology declares, and the ones the shapes name (schema:startDate...)."""
        ontology = NamedNode(GRAPHS["ontology"])
        declared = {q.subject.value for q in store.quads_for_pattern(None, None, None, ontology)
                    if isinstance(q.subject, NamedNode)}
        return declared | self._shape_terms

    def _check(self, store: Store, delta: Delta, *, exclude: frozenset,
               schema: Schema | None) -> ValidationResult:
        if self._runner is None or any(q.predicate in SCHEMA_PREDICATES
                                       for q in delta.added | delta.removed):
            return self.full(store, delta, exclude=exclude)
        schema = schema or Schema.from_store(store, exclude=exclude)
        before, after = View(store, exclude=exclude), View(store, delta, exclude=exclude)
        focus = self.focus(before, after, delta, schema)
        if not focus:
            return result_of(Graph())
        nodes = {to_rdflib(node) for node in focus}
        report = self._runner.run(self.neighbourhood(after, focus, schema), nodes)
        if not findings(report):
            return result_of(report)
        old = self._runner.run(self.neighbourhood(before, focus, schema), nodes)
        return result_of(difference(report, old))

    def full(self, store: Store, delta: Delta, *, exclude: frozenset = frozenset(),
             lint: bool = True) -> ValidationResult:
        """The same verdict by two full pySHACL validations (after and before the change),
        and the SPARQL checks run on the whole graph after and before (its named graphs
        kept)."""
        before, after = union(store, exclude), union(store, exclude, delta)
        new = validate(after, shapes=self.shapes, ontology=self.ontology)
        report = new.report
        if not (new.conforms and not new.results):
            old = validate(before, shapes=self.shapes, ontology=self.ontology)
            report = difference(new.report, old.report)
        checked = check_full(self.checks, _quads(store, exclude), _quads(store, exclude, delta),
                             touched_terms(delta, exclude))
        return self._with_beyond(result_of(report), store, delta, checked, exclude=exclude,
                                 lint=lint)

    # -- focus nodes and neighbourhood -------------------------------------------------------

    def focus(self, before: View, after: View, delta: Delta, schema: Schema) -> set:
        """The nodes whose verdict the change may alter (see the module docstring)."""
        scope = self.scope
        focus: set = set()
        changes: dict = defaultdict(set)  # node -> the steps from it that changed
        typed: set = set()  # nodes whose RDFS types may change
        for quad in delta.added | delta.removed:
            triple = (quad.subject, quad.predicate, quad.object)
            if quad.graph_name in after.exclude or before.contains(triple) == after.contains(triple):
                continue  # another graph holds the triple: the graph as a whole is unchanged
            s, o = quad.subject, quad.object
            focus.add(s)
            if quad.predicate == RDF_TYPE or schema.types_from(quad.predicate, subject=True):
                typed.add(s)
            for predicate in schema.superproperties(quad.predicate):
                changes[s].add((predicate, True))
                if not isinstance(o, Literal):
                    changes[o].add((predicate, False))
                    if scope.read_at_focus(predicate, False):
                        focus.add(o)
            if schema.types_from(quad.predicate, subject=False):
                typed.add(o)  # a literal too: RDFS types it by the range (see Schema.entail)
        for node in typed:
            if self._seen_types(schema, before, node) != self._seen_types(schema, after, node):
                focus.add(node)
                changes[node].add((RDF_TYPE, True))
        near = {node for node, steps in changes.items()
                if any(scope.read_beyond_focus(p, f) for p, f in steps)}
        far = {node for node, steps in changes.items()
               if any(scope.read_after_transitive(p, f) for p, f in steps)}
        focus |= self._look_back(after, near, far)
        return focus

    def _seen_types(self, schema: Schema, view: View, node) -> tuple:
        """The RDFS types of ``node`` that the shapes can tell apart, and whether it has one."""
        types = schema.types(view, node, relevant=self._relevant_classes)
        if self._relevant_classes is None:
            return types, bool(types)
        return types & self._relevant_classes, bool(types)

    def _look_back(self, view: View, near: set, far: set) -> set:
        """The nodes from which a shape reads a node of ``near`` within its depth, or a node
        of ``far`` at the end of a transitive walk."""
        scope = self.scope
        found = set(near) | set(far)
        walks = [(sorted(scope.steps, key=str), scope.depth, near),
                 (sorted(scope.transitive, key=str), None, far)]
        for steps, limit, sources in walks:
            queue = deque((node, 0) for node in sources)
            while queue:
                node, hops = queue.popleft()
                if limit is not None and hops >= limit:
                    continue
                for predicate, forward in steps:
                    if forward:  # a shape at `earlier` follows predicate to `node`
                        earlier = view.incoming(node, predicate)
                    else:
                        earlier = {o for p, o in view.outgoing(node) if p == predicate}
                    for other in earlier:
                        if other not in found and not isinstance(other, Literal):
                            found.add(other)
                            queue.append((other, hops + 1))
        return found

    def neighbourhood(self, view: View, focus: set, schema: Schema) -> Graph:
        """What the shapes read from ``focus`` in ``view``, closed under RDFS, for pySHACL.

        A focus node brings all its triples; a node further away only the triples the shapes
        read at its depth (and along transitive steps), and its RDFS types — so a hub such as
        a country that thousands of nodes mention adds a handful of triples, not thousands.
        """
        scope = self.scope
        walked = {p for p, forward in scope.transitive | scope.after_transitive if forward}
        depth = {node: 0 for node in focus}
        only_walked = set()  # reached by a transitive walk only: read along the walk only
        queue = deque(focus)
        triples: set = set()

        def reach(node, at: int, by_walk: bool) -> None:
            if at > scope.depth or (node in depth and depth[node] <= at
                                    and (by_walk or node not in only_walked)):
                return
            depth[node] = min(at, depth.get(node, at))
            if by_walk and node not in focus and depth[node] == at and node not in queue:
                only_walked.add(node)
            elif not by_walk:
                only_walked.discard(node)
            queue.append(node)

        while queue:
            node = queue.popleft()
            d, walking = depth[node], node in only_walked
            walks = {(p, f) for p, f, at in scope.walks if at == d}  # walks that start here
            steps = walks if walking else {(p, f) for p, f, at in scope.reads if at == d} | walks
            if node in focus or (scope.any_forward and not walking):
                pairs = view.outgoing(node)
            else:
                predicates = {p for p, f in steps if f} | (walked if walking else set())
                pairs = {(p, o) for p in predicates for o in view.objects(node, p)}
            for p, o in pairs:
                triples.add((node, p, o))
                if isinstance(o, Literal):
                    continue
                if (p, True) in walks:
                    reach(o, d, True)
                elif (p, True) in steps or scope.any_forward:
                    reach(o, d + 1, False)
            for p, forward in steps:
                if forward:
                    continue
                for s in view.incoming(node, p):
                    triples.add((s, p, node))
                    if (p, False) in walks:
                        reach(s, d, True)
                    else:
                        reach(s, d + 1, False)
            triples.update((node, RDF_TYPE, c) for c in schema.types(
                view, node, relevant=self._relevant_classes))
        graph = PreparedQueries()
        for s, p, o in schema.entail(triples):
            graph.add((to_rdflib(s), to_rdflib(p), to_rdflib(o)))  # literal subjects too
        return graph


def _compact(term) -> str:
    return compact(term.value) if isinstance(term, NamedNode) else str(term)


# -- the graph as one -------------------------------------------------------------------

def union(store: Store, exclude: frozenset, delta: Delta | None = None) -> Graph:
    """The triples of every graph but ``exclude``, after ``delta`` if given."""
    removed = delta.removed if delta else frozenset()
    quads = [q for q in store if q.graph_name not in exclude and q not in removed]
    quads += [q for q in (delta.added if delta else ()) if q.graph_name not in exclude]
    graph = Graph()
    for q in quads:
        graph.add((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)))
    return graph


def _quads(store: Store, exclude: frozenset, delta: Delta | None = None) -> Store:
    """The quads of every graph but ``exclude``, after ``delta`` if given, in a store of
    their own: each in its graph, for the checks over named graphs."""
    removed = delta.removed if delta else frozenset()
    copy = Store()
    copy.extend(q for q in store if q.graph_name not in exclude and q not in removed)
    copy.extend(q for q in (delta.added if delta else ()) if q.graph_name not in exclude)
    return copy
