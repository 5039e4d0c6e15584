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
from typing import TYPE_CHECKING, Iterator

from ..errors import ForbiddenFeatureError, QueryTooComplexError, TooLargeError

if TYPE_CHECKING:
    from .federation import ServicePolicy

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


def scan(text: str) -> tuple[int, set[str]]:
    """The deepest bracket nesting of ``text`` and the forbidden keywords it uses.

    Both the text as written and with its ``\\u`` escapes decoded are scanned, and the
    worse answer counts, so an escape cannot hide a keyword or a bracket.

    >>> scan('SELECT * { ?s ?p "{{{" . FILTER(?s < <http://e/x>) } # {{')
    (2, set())
    >>> scan('select * { service <http://x/> { ?s ?p ?o } }')
    (2, {'SERVICE'})
    >>> scan('SELECT ?service { ?service ex:load ?o }')
    (1, set())
    """
    raw_depth, raw_found = _scan(text)
    if "\\" not in text:  # no escape: the decoded text is the same
        return raw_depth, raw_found
    depth, found = _scan(unescape(text))
    return max(raw_depth, depth), raw_found | found


def _plainly_safe(text: str, max_nesting: int) -> bool:
    # most queries have no escape, fewer brackets than the nesting limit and no forbidden
    # word anywhere (not even in a string): nothing for the scanner to find, so skip it
    if "\\" in text or sum(text.count(char) for char in _OPEN) > max_nesting:
        return False
    lowered = text.lower()
    return not any(word.lower() in lowered for word in FORBIDDEN)


def _scan(text: str) -> tuple[int, set[str]]:
    depth = deepest = 0
    found: set[str] = set()
    for match in _TOKEN.finditer(text):
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
            if token.upper() in FORBIDDEN:
                found.add(token.upper())
    return deepest, found


def check_query(text: str, *, max_length: int, max_nesting: int,
                services: "ServicePolicy | None" = None,
                allow: frozenset[str] = frozenset()) -> str:
    """Refuse a query that is too long, nested too deep, or uses LOAD (unless ``allow``
    has it) or a SERVICE that ``services`` does not allow (every SERVICE when it is None);
    return the query to run, its SERVICE IRIs rewritten by ``services``.

    >>> check_query("ASK {}", max_length=10, max_nesting=5)
    'ASK {}'
    >>> check_query("ASK " + "{" * 9 + "}" * 9, max_length=100, max_nesting=5)
    Traceback (most recent call last):
    ...
    kg.errors.QueryTooComplexError: the query nests { ( [ 9 levels deep; at most 5 are accepted
    """
    if len(text) > max_length:
        raise TooLargeError(f"the query is {len(text)} characters long; at most "
                            f"{max_length} are accepted")
    if _plainly_safe(text, max_nesting):
        return text
    depth, forbidden = scan(text)
    if depth > max_nesting:
        raise QueryTooComplexError(f"the query nests {{ ( [ {depth} levels deep; at most "
                                   f"{max_nesting} are accepted")
    forbidden -= allow
    if "SERVICE" in forbidden and services is not None:
        forbidden.discard("SERVICE")
        if not forbidden:
            return services.rewrite(text)
    if forbidden:
        raise ForbiddenFeatureError("; ".join(FORBIDDEN[word] for word in sorted(forbidden)))
    return text


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
