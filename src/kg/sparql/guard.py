"""Cheap checks a query passes before any parser sees it.

Oxigraph's parser recurses once per nesting level: about 2,000 nested ``{``, ``(`` or
``[`` overflow the stack and kill the whole process, so depth is measured here, by a
scanner that skips strings, IRIs and comments (a ``{`` inside ``"…"`` nests nothing).
The same scan finds the keywords that make the engine fetch URLs (``SERVICE``, and
``LOAD`` in updates). LOAD is refused unless the caller allows it (updates: the writer
fetches from allowlisted hosts itself). SERVICE is refused unless a
:class:`kg.sparql.federation.ServicePolicy` is given, which lets through (and rewrites) the
allowlisted endpoints only: Oxigraph would otherwise contact any host, loopback included.
:func:`lex` gives the tokens with their offsets, for reading the structure of an update.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, Protocol

from ..errors import ForbiddenFeatureError, QueryTooComplexError, TooLargeError

class ServicePolicy(Protocol):
    """What the guard asks of a :class:`kg.sparql.federation.ServicePolicy`: the query with
    its SERVICE IRIs rewritten, or refused."""

    def rewrite(self, text: str) -> str: ...

#: Keywords refused, with the reason given to the client.
FORBIDDEN = {
    "SERVICE": "federated queries (SERVICE) are disabled on this endpoint: the server "
               "does not fetch remote data",
    "LOAD": "LOAD is disabled in queries: it is an update operation (and the server "
            "fetches only from the hosts of --load-allowlist)",
}

_OPEN, _CLOSE = "{([", "})]"
# strings first (long forms before short), then IRIs, comments and words; a '<' that does
# not start an IRIREF is the less-than operator
_TOKEN = re.compile(r'''
    (?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""|'\'\'(?:[^'\\]|\\.|'(?!''))*\'\'\'
              |"(?:[^"\\\n\r]|\\.)*"|'(?:[^'\\\n\r]|\\.)*')
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<escape>\\.)
  | (?P<comment>\#[^\n\r]*)
  | (?P<word>[?$:]?[A-Za-z_][\w\-.:]*)
  | (?P<bracket>[{}()\[\]])
  | (?P<punct>[;.,:])
''', re.VERBOSE | re.DOTALL)
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
# The prologue (PREFIX and BASE declarations, spaces, comments) read in one match: clients
# send dozens of declarations with every query, and token by token they were most of the
# scan. An IRI there nests nothing and no keyword hides in it (the parser reads an IRIREF).
_PROLOGUE = re.compile(r"""(?:\s+|\#[^\n\r]*
    |(?i:PREFIX)\s*(?:[A-Za-z][\w\-.]*)?:\s*<[^<>"{}|^`\\\x00-\x20]*>
    |(?i:BASE)\s*<[^<>"{}|^`\\\x00-\x20]*>)*""", re.VERBOSE)


def unescape(text: str) -> str:
    """``text`` with its ``\\u``/``\\U`` escapes decoded.

    SPARQL decodes them anywhere in a query before parsing, so an escaped keyword is the
    keyword.

    >>> unescape("\\\\u0053ERVICE")
    'SERVICE'
    """
    return _ESCAPE.sub(lambda m: chr(int(m[1] or m[2], 16)), text)


def tokens(text: str) -> Iterator[re.Match]:
    """The tokens of ``text`` the scanner knows, each a match whose ``lastgroup`` is its kind
    (string, iri, escape, comment, word, bracket, punct for ``;`` ``.`` ``,`` ``:``);
    spaces are skipped."""
    return _TOKEN.finditer(text)


@dataclass(frozen=True)
class Token:
    """A token of :func:`lex`: its kind (see :func:`tokens`), text and offset."""

    kind: str
    text: str
    start: int

    @property
    def end(self) -> int:
        """The offset just after the token."""
        return self.start + len(self.text)


def lex(text: str) -> list[Token]:
    """The tokens of ``text`` with their offsets, comments dropped.

    >>> [t.text for t in lex('INSERT DATA { <a:b> <a:c> "}" } ; # }\\nCLEAR ALL')]
    ['INSERT', 'DATA', '{', '<a:b>', '<a:c>', '"}"', '}', ';', 'CLEAR', 'ALL']
    """
    return [Token(m.lastgroup, m.group(), m.start()) for m in _TOKEN.finditer(text)
            if m.lastgroup != "comment"]


#: The words a query's shape records: its form, and the keywords that change how it runs.
FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
_NOTED = frozenset(FORMS) | {"SERVICE", "LOAD", "FROM"}


@dataclass(frozen=True)
class Shape:
    """What one lex of a query tells before any parser sees it."""

    depth: int  #: the deepest nesting of ``{`` ``(`` ``[``
    keywords: frozenset[str]  #: of SERVICE, LOAD and FROM, those it uses as keywords
    form: str | None  #: SELECT, ASK, CONSTRUCT or DESCRIBE; None when none was found

    @property
    def forbidden(self) -> set[str]:
        """The keywords of :data:`FORBIDDEN` it uses."""
        return {word for word in self.keywords if word in FORBIDDEN}


def read(text: str) -> Shape:
    """The shape of ``text``: nesting depth, the keywords it uses, its form.

    Both the text as written and with its ``\\u`` escapes decoded are read, and the worse
    answer counts, so an escape cannot hide a keyword or a bracket.

    >>> read('SELECT * { ?s ?p "{{{" . FILTER(?s < <http://e/x>) } # {{')
    Shape(depth=2, keywords=frozenset(), form='SELECT')
    >>> read('PREFIX ask: <http://e/> select * { service <http://x/> { ?s ?p ?o } }').keywords
    frozenset({'SERVICE'})
    >>> read('SELECT ?service { ?service ex:load ?o }').keywords
    frozenset()
    """
    shape = _read(text)
    if "\\" not in text:  # no escape: the decoded text is the same
        return shape
    decoded = _read(unescape(text))
    return Shape(max(shape.depth, decoded.depth), shape.keywords | decoded.keywords,
                 shape.form or decoded.form)


def _read(text: str) -> Shape:
    depth = deepest = 0
    found: set[str] = set()
    form = None
    for match in _TOKEN.finditer(text, _PROLOGUE.match(text).end()):
        kind = match.lastgroup
        token = match.group()
        if kind in ("bracket", "iri"):
            # brackets inside what looks like an IRI count too: `?a<((1))>?b` is an IRI to
            # this scanner but nested expressions to the parser
            for char in token:
                if char in _OPEN:
                    depth += 1
                    deepest = max(deepest, depth)
                elif char in _CLOSE:
                    depth = max(0, depth - 1)
        elif kind == "word" and token[0] not in "?$:" and ":" not in token:
            word = token.upper()
            if word in _NOTED:
                if word in FORMS:
                    form = form or word
                else:
                    found.add(word)
    return Shape(deepest, frozenset(found), form)


def inspect_query(text: str, *, max_length: int, max_nesting: int,
                  services: "ServicePolicy | None" = None,
                  allow: frozenset[str] = frozenset()) -> tuple[str, Shape]:
    """Refuse a query that is too long, nested too deep, or uses LOAD (unless ``allow``
    has it) or a SERVICE that ``services`` does not allow (every SERVICE when it is None);
    return the query to run (its SERVICE IRIs rewritten by ``services``) and its shape.

    >>> inspect_query("ASK {}", max_length=10, max_nesting=5)
    ('ASK {}', Shape(depth=1, keywords=frozenset(), form='ASK'))
    >>> inspect_query("ASK " + "{" * 9 + "}" * 9, max_length=100, max_nesting=5)
    Traceback (most recent call last):
    ...
    kg.errors.QueryTooComplexError: the query nests { ( [ 9 levels deep; at most 5 are accepted
    """
    if len(text) > max_length:
        raise TooLargeError(f"the query is {len(text)} characters long; at most "
                            f"{max_length} are accepted")
    shape = read(text)
    if shape.depth > max_nesting:
        raise QueryTooComplexError(f"the query nests {{ ( [ {shape.depth} levels deep; at "
                                   f"most {max_nesting} are accepted")
    forbidden = shape.forbidden - allow
    if "SERVICE" in forbidden and services is not None:
        forbidden.discard("SERVICE")
        if not forbidden:
            return services.rewrite(text), shape
    if forbidden:
        raise ForbiddenFeatureError("; ".join(FORBIDDEN[word] for word in sorted(forbidden)))
    return text, shape


def check_query(text: str, *, max_length: int, max_nesting: int,
                services: "ServicePolicy | None" = None,
                allow: frozenset[str] = frozenset()) -> str:
    """:func:`inspect_query` without the shape: the text to run (for updates).

    >>> check_query("LOAD <http://e/x>", max_length=100, max_nesting=5)
    Traceback (most recent call last):
    ...
    kg.errors.ForbiddenFeatureError: LOAD is disabled in queries: it is an update operation (and the server fetches only from the hosts of --load-allowlist)
    """
    return inspect_query(text, max_length=max_length, max_nesting=max_nesting,
                         services=services, allow=allow)[0]


def uses_keyword(text: str, keyword: str) -> bool:
    """Whether ``keyword`` occurs as a keyword of ``text`` (not in a string, IRI or comment).

    >>> uses_keyword('SELECT * FROM <http://e/g> { ?s ?p ?o }', "FROM")
    True
    >>> uses_keyword('SELECT * { ?s ?p "from" } # FROM', "FROM")
    False
    """
    if "\\" not in text and keyword.lower() not in text.lower():
        return False
    wanted = keyword.upper()
    return any(match.lastgroup == "word" and match.group().upper() == wanted
               for match in _TOKEN.finditer(unescape(text)))
