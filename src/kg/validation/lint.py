"""Checks of new triples that shapes cannot express, reported as warnings.

* a property or class that the ontology does not declare and the graph never uses (a likely
  typo: ``fip:subOrganisationOf``), with the nearest known term;
* a literal without language tag where the graph tags that property's literals;
* an IRI outside the project's base whose local name is the one of a project IRI
  (``http://w3id.org/fr-indopacific/id/dcsd``), or a project IRI that nothing describes and
  that is close to one that exists (``fipid:dcds``);
* a Wikidata IRI that is not the entity IRI ``http://www.wikidata.org/entity/Q…``.

Each finding is a ``sh:ValidationResult`` of severity ``sh:Warning`` whose source shape is one
of the check IRIs below (``fipsh:…Check``); warnings never make a change fail.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from pyoxigraph import Literal, NamedNode, Quad

from .entail import RDF_TYPE, View
from ..namespaces import BASE, ID_NS, ONTOLOGY_NS, PREFIXES, compact

SHAPES_NS = BASE + "shapes#"
UNDECLARED_TERM = SHAPES_NS + "UndeclaredTermCheck"
LANGUAGE_TAG = SHAPES_NS + "LanguageTagCheck"
IRI_TYPO = SHAPES_NS + "IriTypoCheck"
WIKIDATA_IRI = SHAPES_NS + "WikidataIriCheck"
#: Checks that the shapes partly make too: dropped where a shape already reports a violation.
MIRRORED = frozenset({LANGUAGE_TAG, WIKIDATA_IRI})

_WIKIDATA = re.compile(r"^https?://(?:www\.|m\.)?wikidata\.org/(?:wiki/|entity/|wiki/Special:EntityPage/)?"
                       r"(?:(?:Item|Property):)?([QPL]\d+)\b", re.IGNORECASE)
_XSD_STRING = PREFIXES["xsd"] + "string"
_TAGGED_SHARE = 0.8  # a property is "tagged" when this share of its literals have a language


@dataclass(frozen=True)
class LintWarning:
    """One finding of a check (a ``sh:Warning`` result)."""

    focus: object
    path: NamedNode | None
    value: object
    message: str
    check: str


def lint(added: set[Quad], view: View, *, ontology_terms: set[str]) -> list[LintWarning]:
    """The warnings about the triples ``added`` to the graph seen through ``view``."""
    found: list[LintWarning] = []
    triples = {(q.subject, q.predicate, q.object) for q in added}
    known = _Known(view, ontology_terms)
    for s, p, o in sorted(triples, key=str):
        if not known.term(p):
            found.append(LintWarning(s, p, None, _undeclared(p, "property", known), UNDECLARED_TERM))
        if p == RDF_TYPE and isinstance(o, NamedNode) and not known.term(o, as_class=True):
            found.append(LintWarning(s, p, o, _undeclared(o, "class", known), UNDECLARED_TERM))
        if isinstance(o, Literal) and o.datatype.value == _XSD_STRING and known.tagged(p):
            found.append(LintWarning(s, p, o, f"{compact(p.value)} values in this graph carry a "
                                  f"language tag; write \"{o.value}\"@en (or the language it is "
                                  "written in)", LANGUAGE_TAG))
        for node, path in ((s, None), (o, p)):
            if isinstance(node, NamedNode):
                message = _wikidata(node) or known.typo(node, triples)
                if message:
                    check = WIKIDATA_IRI if "wikidata" in node.value.lower() else IRI_TYPO
                    found.append(LintWarning(s, path, node, message, check))
    return list({(w.focus, w.path, w.value, w.check): w for w in found}.values())


def add_to_report(report, warnings: list[LintWarning]) -> None:
    """Add ``warnings`` to an rdflib ``sh:ValidationReport`` graph as ``sh:Warning`` results."""
    import rdflib
    from rdflib import RDF

    from ..terms import to_rdflib

    sh = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    node = report.value(predicate=RDF.type, object=sh.ValidationReport)
    for warning in warnings:
        result = rdflib.BNode()
        report.add((node, sh.result, result))
        report.add((result, RDF.type, sh.ValidationResult))
        report.add((result, sh.focusNode, to_rdflib(warning.focus)))
        if warning.path is not None:
            report.add((result, sh.resultPath, to_rdflib(warning.path)))
        if warning.value is not None:
            report.add((result, sh.value, to_rdflib(warning.value)))
        report.add((result, sh.resultMessage, rdflib.Literal(warning.message, lang="en")))
        report.add((result, sh.resultSeverity, sh.Warning))
        report.add((result, sh.sourceShape, rdflib.URIRef(warning.check)))


def _undeclared(term: NamedNode, kind: str, known: "_Known") -> str:
    message = (f"{compact(term.value)} is a {kind} that the ontology does not declare and the "
               "graph does not use")
    nearest = known.nearest(term)
    return message + (f"; did you mean {compact(nearest)}?" if nearest else "")


def _wikidata(node: NamedNode) -> str | None:
    match = _WIKIDATA.match(node.value)
    if not match:
        return None
    good = f"http://www.wikidata.org/entity/{match.group(1).upper()}"
    if node.value == good and good.split("/")[-1].startswith("Q"):
        return None
    if not match.group(1).upper().startswith("Q"):
        return (f"<{node.value}> is a Wikidata property or lexeme; link entities to items: "
                "http://www.wikidata.org/entity/Q…")
    return f"Wikidata items are linked by their entity IRI: write <{good}>"


class _Known:
    """What the graph knows: declared and used terms, described IRIs (looked up lazily)."""

    def __init__(self, view: View, ontology_terms: set[str]) -> None:
        self.view, self.ontology_terms = view, ontology_terms
        self._vocabulary: list[str] | None = None

    def term(self, term: NamedNode, *, as_class: bool = False) -> bool:
        if term.value in self.ontology_terms or not term.value.startswith(("http", "urn")):
            return True
        pattern = (None, RDF_TYPE, term) if as_class else (None, term, None)
        return next(self.view.stored(*pattern), None) is not None

    def tagged(self, predicate: NamedNode) -> bool:
        tagged = plain = 0
        for quad in self.view.stored(None, predicate, None):
            if isinstance(quad.object, Literal):
                if quad.object.language:
                    tagged += 1
                elif quad.object.datatype.value == _XSD_STRING:
                    plain += 1
            if tagged + plain >= 200:  # a sample is enough
                break
        return tagged > 0 and tagged >= _TAGGED_SHARE * (tagged + plain)

    def vocabulary(self) -> list[str]:
        if self._vocabulary is None:
            used = self.view.store.query("SELECT DISTINCT ?t WHERE { { ?s ?t ?o } UNION "
                                         "{ ?s a ?t } }", use_default_graph_as_union=True)
            self._vocabulary = sorted(self.ontology_terms | {row["t"].value for row in used
                                                            if isinstance(row["t"], NamedNode)})
        return self._vocabulary

    def nearest(self, term: NamedNode) -> str | None:
        local = re.split(r"[#/]", term.value)[-1]
        candidates = {re.split(r"[#/]", iri)[-1].lower(): iri for iri in self.vocabulary()}
        match = difflib.get_close_matches(local.lower(), list(candidates), n=1, cutoff=0.75)
        return candidates[match[0]] if match else None

    def described(self, node: NamedNode, triples: set) -> bool:
        return any(s == node for s, _, _ in triples) or bool(self.view.outgoing(node))

    def typo(self, node: NamedNode, triples: set) -> str | None:
        iri = node.value
        if iri.startswith(ONTOLOGY_NS) or self.described(node, triples):
            return None
        if iri.startswith(BASE):
            return self._dangling(node) if iri.startswith(ID_NS) else None
        # outside the base: an IRI that resembles the project's, with a known local name
        local = re.split(r"[#/]", iri.rstrip("/"))[-1]
        namespace = iri[: len(iri) - len(local)]
        guess = NamedNode(ID_NS + local)
        if local and difflib.SequenceMatcher(None, namespace, ID_NS).ratio() >= 0.8 \
                and self.view.outgoing(guess):
            return f"<{iri}> is outside the project's IRIs; did you mean {compact(guess.value)}?"
        return None

    def _dangling(self, node: NamedNode) -> str:
        local = node.value[len(ID_NS):]
        message = f"{compact(node.value)} is not described in the graph (nor in this change)"
        query = ("SELECT DISTINCT ?e WHERE { ?e a ?type FILTER(STRSTARTS(STR(?e), \"%s%s\")) }"
                 % (ID_NS, local[:1]))
        names = sorted({row["e"].value[len(ID_NS):] for row in
                        self.view.store.query(query, use_default_graph_as_union=True)})
        match = difflib.get_close_matches(local, names, n=1, cutoff=0.7)
        return message + (f"; did you mean {compact(ID_NS + match[0])}?" if match else "")
