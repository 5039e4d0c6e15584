"""Checks of new triples that shapes cannot express.

* a property or class that the ontology does not declare and the graph never uses (a likely
  typo: ``fip:subOrganisationOf``), with the property documented for the node's classes that
  fits its name (``fip:type`` -> ``fip:cooperationType``, see :mod:`kg.validation.documented`),
  else the nearest known term;
* a property documented for another class (its ``rdfs:domain``) than the node's, with the
  properties documented for the node's classes (always a warning: the shapes judge what
  RDFS then makes of the node);
* a literal without language tag where the graph tags that property's literals;
* an IRI outside the project's base whose local name is the one of a project IRI
  (``http://w3id.org/fr-indopacific/id/dcsd``), or a project IRI that nothing describes and
  that is close to one that exists (``fipid:dcds``);
* a Wikidata IRI that is not the entity IRI ``http://www.wikidata.org/entity/Q…``;
* a name (``rdfs:label``, ``skos:prefLabel``) whose language tag looks wrong: tagged ``@en``
  with two French function words and no English one, or the reverse (always a warning: a
  French name may be a proper name in an English gloss).

Each finding is a ``sh:ValidationResult`` whose source shape is one of the check IRIs below
(``fipsh:…Check``). Inside the project's own namespaces (``fip:``, ``fipid:``) an unknown term
or an undescribed IRI is a violation: a misspelt class there turns every shape of the node
off, and the project knows all its terms and IRIs. Elsewhere they stay warnings, which
never make a change fail.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from pyoxigraph import Literal, NamedNode, Quad

from .documented import Documented, hint, misplaced_message
from .entail import RDF_TYPE, View
from ..namespaces import BASE, ID_NS, ONTOLOGY_NS, PREFIXES, compact

SHAPES_NS = BASE + "shapes#"
UNDECLARED_TERM = SHAPES_NS + "UndeclaredTermCheck"
LANGUAGE_TAG = SHAPES_NS + "LanguageTagCheck"
IRI_TYPO = SHAPES_NS + "IriTypoCheck"
WIKIDATA_IRI = SHAPES_NS + "WikidataIriCheck"
NAME_LANGUAGE = SHAPES_NS + "NameLanguageCheck"
MISPLACED = SHAPES_NS + "MisplacedPropertyCheck"
#: Checks that the shapes partly make too: dropped where a shape already reports a violation.
MIRRORED = frozenset({LANGUAGE_TAG, WIKIDATA_IRI})

_WIKIDATA = re.compile(r"^https?://(?:www\.|m\.)?wikidata\.org/(?:wiki/|entity/|wiki/Special:EntityPage/)?"
                       r"(?:(?:Item|Property):)?([QPL]\d+)\b", re.IGNORECASE)
_XSD_STRING = PREFIXES["xsd"] + "string"
_NAMES = frozenset({PREFIXES["rdfs"] + "label", PREFIXES["skos"] + "prefLabel"})
#: Function words that tell French from English in a name (articles, prepositions, "and").
_FUNCTION_WORDS = {
    "fr": re.compile(r"(?:^|[\s'’(-])(de|du|des|la|le|les|et|pour|aux|au|sur|dans|avec)(?=[\s',)-]|$)", re.I),
    "en": re.compile(r"(?:^|[\s(-])(the|of|and|for|at|in|to|with|on)(?=[\s',)-]|$)", re.I),
}
_TAGGED_SHARE = 0.8  # a property is "tagged" when this share of its literals have a language


@dataclass(frozen=True)
class LintResult:
    """One finding of a check (pyoxigraph terms)."""

    focus: object
    path: NamedNode | None
    value: object
    message: str
    check: str
    severity: str = "Warning"

    def as_finding(self):
        """The same as a :class:`kg.validation.validate.Finding` (rdflib terms)."""
        import rdflib

        from ..terms import to_rdflib
        from .validate import Finding

        return Finding(focus_node=to_rdflib(self.focus),
                       path=to_rdflib(self.path) if self.path is not None else None,
                       value=to_rdflib(self.value) if self.value is not None else None,
                       message=self.message, severity=self.severity,
                       source_shape=rdflib.URIRef(self.check))


def _severity(iri: str) -> str:
    return "Violation" if iri.startswith(BASE) else "Warning"


def lint(added: set[Quad], view: View, *, ontology_terms: set[str],
         documented: Documented | None = None) -> list[LintResult]:
    """The findings about the triples ``added`` to the graph seen through ``view``;
    ``documented`` (the shapes' and ontology's properties per class) gives the hints
    about misplaced properties."""
    found: list[LintResult] = []
    triples = {(q.subject, q.predicate, q.object) for q in added}
    known = _Known(view, ontology_terms)
    for s, p, o in sorted(triples, key=str):
        if not known.term(p):
            better = documented and hint(documented, p.value, *_node(view, s))
            found.append(LintResult(s, p, None, _undeclared(p, "property", known, better),
                                    UNDECLARED_TERM, _severity(p.value)))
        elif documented is not None and p.value in documented.domains:
            why = misplaced_message(documented, p.value, *_node(view, s))
            if why:
                found.append(LintResult(s, p, o, why, MISPLACED))
        if p == RDF_TYPE and isinstance(o, NamedNode) and not known.term(o, as_class=True):
            found.append(LintResult(s, p, o, _undeclared(o, "class", known), UNDECLARED_TERM,
                                    _severity(o.value)))
        if isinstance(o, Literal) and o.datatype.value == _XSD_STRING and known.tagged(p):
            found.append(LintResult(s, p, o, f"{compact(p.value)} values in this graph carry a "
                                  f"language tag; write \"{o.value}\"@en (or the language it is "
                                  "written in)", LANGUAGE_TAG))
        if isinstance(o, Literal) and p.value in _NAMES and o.language in ("en", "fr"):
            reason = _wrong_language(o.value, o.language)
            if reason:
                found.append(LintResult(s, p, o, f"the name \"{o.value}\"@{o.language} may have "
                                        f"the wrong language tag: {reason}. Tag a name as "
                                        "written in French @fr, its English gloss @en",
                                        NAME_LANGUAGE))
        for node, path in ((s, None), (o, p)):
            if isinstance(node, NamedNode):
                message = _wikidata(node) or known.typo(node, triples)
                if message:
                    check = WIKIDATA_IRI if "wikidata" in node.value.lower() else IRI_TYPO
                    found.append(LintResult(s, path, node, message, check,
                                            "Violation" if node.value.startswith(ID_NS)
                                            else "Warning"))
    return list({(w.focus, w.path, w.value, w.check): w for w in found}.values())


def _wrong_language(text: str, tag: str) -> str | None:
    """Why ``text`` does not read as the language ``tag`` says (en or fr), or None."""
    other = "fr" if tag == "en" else "en"
    theirs = _FUNCTION_WORDS[other].findall(text)
    if len(theirs) >= 2 and not _FUNCTION_WORDS[tag].search(text):
        words = ", ".join(f"'{w}'" for w in dict.fromkeys(w.lower() for w in theirs))
        language = {"fr": "French", "en": "English"}
        return (f"it is tagged @{tag} but has {language[other]} words ({words}) and no "
                f"{language[tag]} ones")
    return None


def _undeclared(term: NamedNode, kind: str, known: "_Known", better: str | None = None) -> str:
    message = (f"{compact(term.value)} is a {kind} that the ontology does not declare and the "
               "graph does not use")
    if better is None:
        nearest = known.nearest(term)
        better = compact(nearest) if nearest else None
    return message + (f"; did you mean {better}?" if better else "")


def _node(view: View, node) -> tuple[set[str], set[str]]:
    """The classes ``node`` is stated to have (not those RDFS gives it) and the
    properties it has, after the change."""
    types = {t.value for t in view.objects(node, RDF_TYPE) if isinstance(t, NamedNode)}
    return types, {p.value for p, _ in view.outgoing(node)} if types else set()


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
        if term.value.startswith(ONTOLOGY_NS):  # the project's terms are the ontology's
            return False
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
