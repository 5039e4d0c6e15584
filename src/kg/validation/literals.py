"""Is a literal's lexical form in its datatype's lexical space?

RDF 1.1 calls a literal whose lexical form is outside its datatype's lexical space
*ill-typed*; neither the Turtle parser nor SHACL (on a property no shape names) refuses it,
and rdflib does not check ``xsd:gYear`` or ``xsd:gYearMonth`` at all. This module tells, for
every XSD datatype, whether a literal is well-typed, relying on the libraries first:

* Oxigraph's XSD casts (``xsd:gYear(STR(?l))`` is unbound for ``"20x4"``) for the types it
  implements: numbers, booleans, dates and times, durations, the ``g`` types;
* rdflib's ``Literal.ill_typed`` for the integer subtypes (``xsd:byte``...) and the binary
  types;
* a pattern from XML Schema 1.1 Part 2 for the rest (see ``_PATTERNS``).

A datatype IRI in the XSD namespace that XSD does not define (``xsd:gyear``) is reported
too, with the nearest datatype. Language tags need nothing here: the parsers refuse a
malformed tag (BCP 47) with its line and column.

>>> from pyoxigraph import Literal, NamedNode
>>> XSD = "http://www.w3.org/2001/XMLSchema#"
>>> problem(Literal("20x4", datatype=NamedNode(XSD + "gYear")))
'"20x4" is not a valid xsd:gYear (a year such as "2024")'
>>> problem(Literal("2024-12", datatype=NamedNode(XSD + "gYearMonth"))) is None
True
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache

from pyoxigraph import Literal, Store

XSD = "http://www.w3.org/2001/XMLSchema#"

#: Types whose lexical space Oxigraph's cast functions check, with an example of each.
_CAST = {"boolean": "true", "decimal": "1.5", "integer": "42", "float": "1.5E2",
         "double": "1.5E2", "date": "2024-05-31", "time": "13:20:00", "dateTime":
         "2024-05-31T13:20:00", "duration": "P1Y2M", "yearMonthDuration": "P1Y2M",
         "dayTimeDuration": "P3DT4H", "gYear": "2024", "gYearMonth": "2024-05",
         "gMonth": "--05", "gDay": "---31", "gMonthDay": "--05-31"}
#: Types rdflib converts to Python values, failing on an ill-typed form.
_RDFLIB = {"long": "42", "int": "42", "short": "42", "byte": "42", "nonNegativeInteger": "0",
           "positiveInteger": "1", "nonPositiveInteger": "0", "negativeInteger": "-1",
           "unsignedLong": "42", "unsignedInt": "42", "unsignedShort": "42",
           "unsignedByte": "42", "hexBinary": "0FB7", "base64Binary": "aGk="}
_NAME_START = r"[^\W\d]|[_:]"  # XML 1.0 NameStartChar, approximated by Unicode letters
#: Patterns of XML Schema 1.1 Part 2 (https://www.w3.org/TR/xmlschema11-2/), section noted.
_PATTERNS = {
    # 3.4.28 dateTimeStamp: a dateTime whose timezone is required
    "dateTimeStamp": (r"-?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
                      "2024-05-31T13:20:00Z"),
    # 3.4.1 normalizedString: no carriage return, line feed or tab
    "normalizedString": (r"[^\r\n\t]*", "text"),
    # 3.4.2 token: normalized, no leading, trailing or doubled spaces
    "token": (r"([^\s]+( [^\s]+)*)?", "a token"),
    # 3.4.3 language: the pattern given there
    "language": (r"[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*", "en-GB"),
    # 3.4.4 NMTOKEN, 3.4.5 Name, 3.4.7 NCName (XML 1.0 names, letters approximated by \w)
    "NMTOKEN": (r"[\w.\-:\u00B7]+", "a-name"),
    "Name": (rf"({_NAME_START})[\w.\-:\u00B7]*", "a-name"),
    "NCName": (r"[^\W\d][\w.\-\u00B7]*|_[\w.\-\u00B7]*", "a-name"),
}
_OTHER = {"string", "anyURI", "QName", "NOTATION", "anyAtomicType", "anySimpleType",
          "ID", "IDREF", "ENTITY", "IDREFS", "ENTITIES", "NMTOKENS"}
#: Every datatype XML Schema 1.1 defines (for "is this a datatype at all?").
DATATYPES = frozenset(_CAST) | frozenset(_RDFLIB) | frozenset(_PATTERNS) | _OTHER

_SCRATCH = Store()  # no data: it evaluates the casts only


def problem(literal: Literal) -> str | None:
    """Why ``literal`` is ill-typed (with a well-typed example), or None if it is fine or
    its datatype is not XSD's."""
    datatype = literal.datatype.value if literal.datatype else ""
    if not datatype.startswith(XSD):
        return None
    name = datatype[len(XSD):]
    if name not in DATATYPES:
        nearest = difflib.get_close_matches(name.lower(), [d.lower() for d in DATATYPES], n=1)
        hint = next((d for d in DATATYPES if nearest and d.lower() == nearest[0]), None)
        return (f"xsd:{name} is not an XML Schema datatype"
                + (f"; did you mean xsd:{hint}?" if hint else ""))
    example = _example(name)
    if example is None or _well_typed(name, literal.value):
        return None
    return f'"{literal.value}" is not a valid xsd:{name} ({_EXAMPLES.get(name, "such as")} "{example}")'


_EXAMPLES = {"gYear": "a year such as", "gYearMonth": "a year and month such as",
             "date": "a date such as", "dateTime": "a date and time such as"}


def _example(name: str) -> str | None:
    for table in (_CAST, _RDFLIB):
        if name in table:
            return table[name]
    return _PATTERNS[name][1] if name in _PATTERNS else None


@lru_cache(maxsize=4096)
def _well_typed(name: str, lexical: str) -> bool:
    if name in _CAST:
        rows = _SCRATCH.query(f"SELECT (<{XSD}{name}>({Literal(lexical)}) AS ?v) WHERE {{}}")
        return lexical == lexical.strip() and next(iter(rows))["v"] is not None
    if name in _RDFLIB:
        import rdflib

        # rdflib logs the failed conversion (with a traceback) on the rdflib.term logger;
        # the kg command silences that logger unless --debug
        return not rdflib.Literal(lexical, datatype=rdflib.URIRef(XSD + name)).ill_typed
    if name == "dateTimeStamp" and not _well_typed("dateTime", lexical):
        return False
    return re.fullmatch(_PATTERNS[name][0], lexical) is not None


def is_xsd(term) -> bool:
    """Whether ``term`` is a literal with a datatype in the XSD namespace."""
    return isinstance(term, Literal) and term.datatype is not None and \
        term.datatype.value.startswith(XSD) and not term.language


def literal_problems(triples) -> list[tuple]:
    """``(subject, predicate, literal, why)`` for every ill-typed literal object of
    ``triples`` (pyoxigraph terms)."""
    found = []
    for s, p, o in triples:
        if is_xsd(o):
            why = problem(o)
            if why:
                found.append((s, p, o, why))
    return found

