"""The properties documented for each class, and the one a researcher most likely meant.

A property is *documented* for a class when a shape of that class reads it (the
``sh:path`` of a property shape of a node shape with ``sh:targetClass``) or when the
ontology gives the class as its ``rdfs:domain``; what is documented for a class is
documented for its subclasses too. When a submission uses a property that does not exist
(``fip:type``) or one documented for another class (``fip:coveredBy``, whose domain is
``schema:Place``, on an embassy), the useful hint is the property documented for the node's
own classes whose name fits — ``fip:cooperationType (documented for fip:CooperationLink)`` —
not the nearest term of the whole vocabulary (``rdf:type``).

>>> import rdflib
>>> shapes = rdflib.Graph().parse(format="turtle", data='''
...     @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix e: <http://e/> .
...     e:LinkShape sh:targetClass e:Link ;
...         sh:property [ sh:path e:cooperationType ] , [ sh:path e:provider ] .''')
>>> documented = Documented(shapes, rdflib.Graph())
>>> documented.suggest("http://e/type", {"http://e/Link"})
('http://e/cooperationType', 'http://e/Link')
>>> documented.suggest("http://e/colour", {"http://e/Link"}) is None
True
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from typing import Iterable

from rdflib import RDFS, Graph, URIRef

from ..namespaces import PREFIXES, compact
from .validate import SH

#: Words that tell nothing about what a property means (``partOf``, ``hasPart``).
_GLUE = frozenset({"of", "has", "is", "in", "by", "to", "at", "for", "the", "a", "an"})
#: How close two local names must be when they share no word (``coveredBy``/``covers``).
_CLOSE = 0.75
#: Properties of every node (names, notes, provenance): no hint for a misplaced relation.
_GENERAL = tuple(PREFIXES[p] for p in ("rdfs", "skos", "dcterms", "prov", "owl"))


class Documented:
    """What the shapes and the ontology document for each class (IRIs as strings)."""

    def __init__(self, shapes: Graph, ontology: Graph) -> None:
        self._by_class: dict[str, set[str]] = defaultdict(set)
        for shape, cls in shapes.subject_objects(SH.targetClass):
            for prop in shapes.objects(shape, SH.property):
                path = shapes.value(prop, SH.path)
                if isinstance(path, URIRef):
                    self._by_class[str(cls)].add(str(path))
        self.domains: dict[str, set[str]] = defaultdict(set)
        for prop, cls in ontology.subject_objects(RDFS.domain):
            if isinstance(prop, URIRef) and isinstance(cls, URIRef):
                self.domains[str(prop)].add(str(cls))
        self._parents: dict[str, set[str]] = defaultdict(set)
        for sub, sup in ontology.subject_objects(RDFS.subClassOf):
            if isinstance(sup, URIRef):
                self._parents[str(sub)].add(str(sup))
        self._shape_paths = frozenset().union(*self._by_class.values()) if self._by_class \
            else frozenset()

    def classes(self, types: Iterable[str]) -> set[str]:
        """``types`` and all their superclasses."""
        found, todo = set(), list(types)
        while todo:
            cls = todo.pop()
            if cls not in found:
                found.add(cls)
                todo.extend(self._parents.get(cls, ()))
        return found

    def specific(self, types: Iterable[str]) -> set[str]:
        """The classes of ``types`` that no other of them is a subclass of (a node typed
        by RDFS too is named by the class it was given)."""
        types = set(types)
        broader = set().union(*((self.classes([t]) - {t}) for t in types)) if types else set()
        return (types - broader) or types

    def properties(self, types: Iterable[str]) -> dict[str, str]:
        """The properties documented for a node of ``types``, each with the class that
        documents it (the shapes' first, then the ontology's domains)."""
        classes = self.classes(types)
        found: dict[str, str] = {}
        for cls in sorted(classes):
            for prop in sorted(self._by_class.get(cls, ())):
                found.setdefault(prop, cls)
        for prop, domains in sorted(self.domains.items()):
            for cls in sorted(domains & classes):
                found.setdefault(prop, cls)
        return found

    def misplaced(self, prop: str, types: Iterable[str]) -> set[str] | None:
        """The ``rdfs:domain`` classes of ``prop`` when it is documented for none of the
        classes of ``types`` (a node of ``types`` is not what the property describes);
        None when it is documented for them, has no domain, or ``types`` is empty."""
        classes = self.classes(types)
        domains = self.domains.get(prop)
        if not classes or not domains or domains & classes or prop in self.properties(types):
            return None
        return domains

    def suggest(self, used: str, types: Iterable[str], *,
                present: Iterable[str] = ()) -> tuple[str, str] | None:
        """The property documented for ``types`` whose name fits ``used`` best, with the
        class documenting it, or None if none fits. A property the node already has
        (``present``) is the weaker guess."""
        name = _local(used)
        present = set(present)
        best, best_key = None, None
        for prop, cls in self.properties(types).items():
            if prop == used:
                continue
            fit = _fit(name, _local(prop))
            if fit <= 0:
                continue
            key = (prop not in present, fit, -len(prop), prop)
            if best_key is None or key > best_key:
                best, best_key = (prop, cls), key
        return best


def _local(iri: str) -> str:
    return re.split(r"[#/]", iri)[-1]


def _words(name: str) -> set[str]:
    """The words of a camelCase or hyphenated name, lower case, without glue words."""
    return {w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)} - _GLUE


def _fit(used: str, candidate: str) -> float:
    """How well ``candidate`` fits ``used``: above 1 when they share a word (more shared,
    better), the likeness of the two names when they share none but look alike, else 0."""
    likeness = difflib.SequenceMatcher(None, used.lower(), candidate.lower()).ratio()
    ours, theirs = _words(used), _words(candidate)
    shared = ours & theirs
    if shared:
        return 1 + len(shared) / len(ours | theirs) + likeness / 10
    return likeness if likeness >= _CLOSE else 0.0


def hint(documented: Documented, used: str, types: set[str], present: set[str]) -> str | None:
    """``fip:cooperationType (documented for fip:CooperationLink)``, or None."""
    found = documented.suggest(used, types, present=present)
    return f"{compact(found[0])} (documented for {compact(found[1])})" if found else None


def misplaced_message(documented: Documented, used: str, types: set[str],
                      present: set[str]) -> str | None:
    """Why ``used`` does not fit a node of ``types`` and what does, or None if it fits."""
    domains = documented.misplaced(used, types)
    if domains is None:
        return None
    classes = ", ".join(compact(c) for c in sorted(documented.specific(types)))
    domain = ", ".join(compact(d) for d in sorted(domains))
    message = (f"{compact(used)} is documented for {domain} (its rdfs:domain), not for "
               f"{classes}: RDFS infers that the node is a {domain} too")
    better = hint(documented, used, types, present)
    if better:
        return message + f"; did you mean {better}?"
    relations = [compact(p) for p in documented.properties(types) if not p.startswith(_GENERAL)]
    if relations:
        return message + f"; the properties documented for {classes} are " \
            + ", ".join(sorted(relations))
    return message
