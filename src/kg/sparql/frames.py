"""SPARQL solutions as pandas DataFrames, for notebooks: the same columns and types whether
the solutions come from this package's engine (:meth:`QueryResult.to_dataframe
<kg.sparql.execute.QueryResult.to_dataframe>`) or from a remote endpoint as SPARQL JSON
results (:func:`from_sparql_json`, e.g. what SPARQLWrapper's ``convert()`` returns).

Each column gets the pandas type of its values' datatype when they all have one:

=====================================  ==================================================
values                                 column
=====================================  ==================================================
xsd:integer and its subtypes           ``Int64`` (nullable integers)
xsd:decimal, xsd:double, xsd:float     ``Float64``
xsd:boolean                            ``boolean``
xsd:date, xsd:dateTime                 ``datetime64`` (UTC when any value has an offset)
xsd:gYear, xsd:gYearMonth              ``period[Y]``, ``period[M]``
IRIs                                   strings: the IRI, or ``fipid:x`` with ``compact=True``
anything else, or a mix                strings: the lexical forms (blank nodes ``_:b0``)
=====================================  ==================================================

Unbound values are missing (``<NA>``, ``NaT``). With ``languages=True`` a column holding
language-tagged literals gets a companion ``NAME_lang`` column with the tags.

pandas is an optional dependency: ``pip install 'kg-fr-indopacific[notebook]'``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

from pyoxigraph import BlankNode, NamedNode

from ..errors import UsageError
from ..namespaces import PREFIXES, compact as compact_iri

if TYPE_CHECKING:
    import pandas

XSD = PREFIXES["xsd"]
_INTEGERS = {XSD + name for name in (
    "integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger",
    "nonPositiveInteger", "negativeInteger", "unsignedLong", "unsignedInt", "unsignedShort",
    "unsignedByte")}
_FLOATS = {XSD + "decimal", XSD + "double", XSD + "float"}
_DATES = {XSD + "date", XSD + "dateTime", XSD + "dateTimeStamp"}
_PERIODS = {XSD + "gYear": ("Y", re.compile(r"\d{4}")),
            XSD + "gYearMonth": ("M", re.compile(r"\d{4}-\d{2}"))}
_OFFSET = re.compile(r"(Z|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True)
class Cell:
    """One bound value, whatever it came from: ``kind`` is ``iri``, ``bnode`` or
    ``literal``; literals have a datatype IRI and, when tagged, a language."""

    kind: str
    value: str
    datatype: str | None = None
    language: str | None = None


def from_sparql_json(results: dict, *, compact: bool = False,
                     languages: bool = False) -> "pandas.DataFrame":
    """A DataFrame of SPARQL 1.1 JSON results (a SELECT's), as SPARQLWrapper's
    ``convert()`` gives them for ``returnFormat=JSON``.

    >>> frame = from_sparql_json({"head": {"vars": ["n"]},
    ...     "results": {"bindings": [{"n": {"type": "literal", "value": "3",
    ...         "datatype": "http://www.w3.org/2001/XMLSchema#integer"}}, {}]}})
    >>> frame["n"].tolist(), str(frame["n"].dtype)
    ([3, <NA>], 'Int64')
    """
    if "boolean" in results:
        raise UsageError("an ASK answer is one boolean, not a table")
    variables = results["head"]["vars"]
    rows = ([_json_cell(binding.get(name)) for name in variables]
            for binding in results["results"]["bindings"])
    return frame(variables, rows, compact=compact, languages=languages)


def term_cell(term) -> Cell | None:
    """A pyoxigraph term (or None: unbound) as a :class:`Cell`."""
    if term is None:
        return None
    if isinstance(term, NamedNode):
        return Cell("iri", term.value)
    if isinstance(term, BlankNode):
        return Cell("bnode", term.value)
    return Cell("literal", term.value, None if term.language else term.datatype.value,
                term.language)


def _json_cell(term: dict | None) -> Cell | None:
    if term is None:
        return None
    kind = {"uri": "iri", "bnode": "bnode"}.get(term["type"], "literal")
    if kind != "literal":
        return Cell(kind, term["value"])
    language = term.get("xml:lang")
    datatype = term.get("datatype") or (None if language else XSD + "string")
    return Cell(kind, term["value"], datatype, language)


def frame(variables: Sequence[str], rows: Iterable[Sequence[Cell | None]], *,
          compact: bool = False, languages: bool = False) -> "pandas.DataFrame":
    """A DataFrame with one typed column per variable (see the module's table)."""
    pandas = _pandas()
    table = [list(row) for row in rows]
    columns: dict[str, pandas.Series] = {}
    for index, name in enumerate(variables):
        cells = [row[index] for row in table]
        columns[name] = _column(pandas, cells, compact)
        tags = [cell.language if cell is not None else None for cell in cells]
        if languages and any(tags):
            columns[f"{name}_lang"] = pandas.Series(tags, dtype="string")
    return pandas.DataFrame(columns, index=pandas.RangeIndex(len(table)))


def _pandas():
    try:
        import pandas
    except ImportError:
        raise UsageError("DataFrames need pandas: pip install 'kg-fr-indopacific[notebook]'"
                         ) from None
    return pandas


def _column(pandas, cells: list[Cell | None], compact: bool) -> "pandas.Series":
    bound = [cell for cell in cells if cell is not None]
    datatypes = {cell.datatype if cell.kind == "literal" else cell.kind for cell in bound}
    typed = _typed(pandas, cells, datatypes) if len(datatypes) == 1 else None
    if typed is not None:
        return typed
    return pandas.Series([_text(cell, compact) for cell in cells], dtype="string")


def _typed(pandas, cells: list[Cell | None], datatypes: set) -> "pandas.Series | None":
    """The column in the pandas type of its one datatype (None: strings, or a lexical form
    that is not valid for its datatype, which is then shown as it is)."""
    datatype = next(iter(datatypes))
    values = [cell.value.strip() if cell is not None else None for cell in cells]
    try:
        if datatype in _INTEGERS:
            return pandas.Series([None if v is None else int(v) for v in values], dtype="Int64")
        if datatype in _FLOATS:
            return pandas.Series([None if v is None else float(v) for v in values],
                                 dtype="Float64")
        if datatype == XSD + "boolean":
            return pandas.Series([None if v is None else _boolean(v) for v in values],
                                 dtype="boolean")
        if datatype in _DATES:
            utc = any(v is not None and _OFFSET.search(v) for v in values)
            return pandas.Series(pandas.to_datetime(values, format="ISO8601", utc=utc))
        if datatype in _PERIODS:
            freq, pattern = _PERIODS[datatype]
            if not all(v is None or pattern.fullmatch(v) for v in values):
                return None  # a time zone or a year beyond 9999: kept as text
            return pandas.Series(pandas.PeriodIndex(values, freq=freq))
    except ValueError:
        return None
    return None


def _boolean(value: str) -> bool:
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise ValueError(value)


def _text(cell: Cell | None, compact: bool) -> str | None:
    if cell is None:
        return None
    if cell.kind == "bnode":
        return f"_:{cell.value}"
    if cell.kind == "iri" and compact:
        name = compact_iri(cell.value)
        return cell.value if name.startswith("<") else name
    return cell.value
