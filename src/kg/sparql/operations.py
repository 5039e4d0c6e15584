"""The operations of a SPARQL 1.1 Update request, read without evaluating them.

:func:`parse_update` splits a request into its operations (``INSERT DATA``, ``DELETE …
WHERE``, ``CLEAR``, ``LOAD``…) with the prefixes and base each one sees and the source text
of its ``{…}`` blocks, using the tokens of :func:`kg.sparql.guard.lex` (strings, IRIs and comments
are never mistaken for structure). :func:`check_syntax` lets Oxigraph's parser judge the whole
request, so that errors keep Oxigraph's message and position. :mod:`kg.sparql.update` evaluates.

>>> [(op.kind, op.graphs) for op in parse_update("CLEAR SILENT GRAPH <http://e/g> ; "
...                                              "INSERT DATA { <http://e/a> <http://e/b> 1 }")]
[('CLEAR', ['http://e/g']), ('INSERT_DATA', [])]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin

from pyoxigraph import Store

from ..errors import QuerySyntaxError
from .guard import Token, lex
from ..namespaces import PREFIXES
from .execute import query_syntax_error

_GRAPH_OPS = {"CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "LOAD"}


@dataclass
class Operation:
    """One operation of an update request, as written (blocks are ``{…}`` source text)."""

    kind: str  # LOAD CLEAR DROP CREATE ADD MOVE COPY INSERT_DATA DELETE_DATA DELETE_WHERE MODIFY
    start: int
    end: int
    prefixes: dict[str, str]
    base: str | None
    silent: bool = False
    graphs: list[str] = field(default_factory=list)  # IRIs or DEFAULT / NAMED / ALL
    delete: str | None = None
    insert: str | None = None
    where: str | None = None
    with_graph: str | None = None
    using: list[str] = field(default_factory=list)
    using_named: list[str] = field(default_factory=list)


def parse_update(text: str, *, base_iri: str | None = None) -> list[Operation]:
    """The operations of an update request with their prefixes and base (no evaluation)."""
    return _Parser(text, base_iri).operations()


class _Parser:
    def __init__(self, text: str, base: str | None) -> None:
        self.text, self.base = text, base
        self.toks: list[Token] = lex(text)
        self.i = 0
        self.prefixes: dict[str, str] = {}

    def operations(self) -> list[Operation]:
        ops = []
        while self.i < len(self.toks):
            self._prologue()
            if self.i >= len(self.toks):
                break
            ops.append(self._operation())
            if self.i < len(self.toks):
                self._expect(";")
        return ops

    # tokens
    def _peek(self, offset: int = 0) -> str:
        j = self.i + offset
        return self.toks[j].text.upper() if j < len(self.toks) else ""

    def _next(self) -> Token:
        if self.i >= len(self.toks):
            raise self._error("unexpected end of the update", len(self.text))
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def _expect(self, word: str) -> Token:
        tok = self._next()
        if tok.text.upper() != word:
            raise self._error(f"expected {word}, found {tok.text!r}", tok.start)
        return tok

    def _accept(self, word: str) -> bool:
        if self._peek() == word:
            self.i += 1
            return True
        return False

    def _error(self, message: str, offset: int) -> QuerySyntaxError:
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return QuerySyntaxError(f"SPARQL syntax error: {message} at {line}:{column}",
                                line=line, column=column)

    # grammar
    def _prologue(self) -> None:
        while self._peek() in ("BASE", "PREFIX"):
            if self._next().text.upper() == "BASE":
                self.base = self._iri()
            else:
                name = self._next()
                if not name.text.endswith(":"):
                    raise self._error(f"expected a prefix name, found {name.text!r}", name.start)
                self.prefixes[name.text[:-1]] = self._iri()

    def _iri(self) -> str:
        tok = self._next()
        if tok.kind == "iri":
            iri = tok.text[1:-1]
            return urljoin(self.base, iri) if self.base and ":" not in iri.split("/")[0] else iri
        if tok.kind == "word" and ":" in tok.text and tok.text[0] not in "?$":
            prefix, local = tok.text.split(":", 1)
            namespace = self.prefixes.get(prefix, PREFIXES.get(prefix))
            if namespace is not None:
                return namespace + local.replace("\\", "")
            raise self._error(f"unknown prefix {prefix!r}", tok.start)
        raise self._error(f"expected an IRI, found {tok.text!r}", tok.start)

    def _block(self) -> str:
        open_ = self._expect("{")
        depth = 1
        while depth:
            tok = self._next()
            if tok.text == "{":
                depth += 1
            elif tok.text == "}":
                depth -= 1
        return self.text[open_.start:tok.end]

    def _graph_ref(self, *, allow: tuple[str, ...]) -> str:
        word = self._peek()
        if word in allow and word != "GRAPH":
            self.i += 1
            return word
        self._accept("GRAPH") if "GRAPH" in allow else self._expect("GRAPH")
        return self._iri()

    def _operation(self) -> Operation:
        start = self.toks[self.i].start
        op = Operation("", start, start, dict(self.prefixes), self.base)
        word = self._next().text.upper()
        if word in _GRAPH_OPS:
            op.kind = word
            op.silent = self._accept("SILENT")
            if word == "LOAD":
                op.graphs.append(self._iri())
                if self._accept("INTO"):
                    self._expect("GRAPH")
                    op.graphs.append(self._iri())
            elif word in ("CLEAR", "DROP"):
                op.graphs.append(self._graph_ref(allow=("DEFAULT", "NAMED", "ALL")))
            elif word == "CREATE":
                self._expect("GRAPH")
                op.graphs.append(self._iri())
            else:
                op.graphs.append(self._graph_ref(allow=("DEFAULT", "GRAPH")))
                self._expect("TO")
                op.graphs.append(self._graph_ref(allow=("DEFAULT", "GRAPH")))
        elif word in ("INSERT", "DELETE") and self._peek() in ("DATA", "WHERE"):
            op.kind = f"{word}_{self._next().text.upper()}"
            block = self._block()
            if op.kind == "INSERT_DATA":
                op.insert = block
            elif op.kind == "DELETE_DATA":
                op.delete = block
            else:
                op.delete = op.where = block
        else:
            op.kind = "MODIFY"
            if word == "WITH":
                op.with_graph = self._iri()
                word = self._next().text.upper()
            if word == "DELETE":
                op.delete = self._block()
                if self._accept("INSERT"):
                    op.insert = self._block()
            elif word == "INSERT":
                op.insert = self._block()
            else:
                raise self._error(f"expected an update operation, found {word!r}", start)
            while self._accept("USING"):
                (op.using_named if self._accept("NAMED") else op.using).append(self._iri())
            self._expect("WHERE")
            op.where = self._block()
        op.end = self.toks[self.i - 1].end
        return op


def check_syntax(text: str, operations: list[Operation], base_iri: str | None) -> None:
    """Let Oxigraph's parser check the request (positions kept) on an empty scratch store.

    LOAD operations are replaced by blanks of the same shape first: Oxigraph would fetch.
    """
    checked = text
    for op in operations:
        if op.kind == "LOAD":
            span = text[op.start:op.end]
            filler = "DROP ALL"
            blank = "".join(c if c in "\r\n" else " " for c in span[len(filler):])
            checked = checked[:op.start] + (filler + blank)[:len(span)].ljust(len(span)) \
                + checked[op.end:]
    try:
        Store().update(checked, prefixes=PREFIXES, base_iri=base_iri)
    except SyntaxError as exc:
        raise query_syntax_error(exc) from None
    except (RuntimeError, OSError):
        pass  # an empty store cannot run every operation (CLEAR GRAPH <g>); syntax is fine
