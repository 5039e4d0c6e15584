"""SSSOM mapping tables (https://mapping-commons.github.io/sssom/): a small writer and reader.

An SSSOM TSV file is a YAML metadata block, each line prefixed with ``#`` (the mapping
set: ``curie_map``, ``mapping_set_id``, ``license``, …), followed by a tab-separated
table with one mapping per row (``subject_id``, ``predicate_id``, ``object_id``,
``mapping_justification``, …) whose identifiers are CURIEs of the ``curie_map``.

The ``sssom`` library is the field's reference implementation, but it depends on pandas
and LinkML (tens of megabytes) for what is here a table of a few columns; so the project
writes and reads the format itself, and its tests check the output with ``sssom``'s own
validator (a test dependency only). The reader accepts the subset of YAML SSSOM files use
in practice: ``key: value`` lines and one level of nested mapping (``curie_map``).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable

from ..errors import InputSyntaxError, UnreadableInputError

#: Column order of the tables this project writes (a subset of SSSOM's slots).
COLUMNS = ("subject_id", "subject_label", "predicate_id", "object_id", "object_label",
           "mapping_justification", "confidence", "mapping_date", "mapping_tool", "see_also",
           "comment")
SEMAPV = "https://w3id.org/semapv/vocab/"
LEXICAL = "semapv:LexicalMatching"
MANUAL = "semapv:ManualMappingCuration"


@dataclass
class MappingSet:
    """The metadata of a mapping set and its mappings (each a dict of column -> text)."""

    curie_map: dict[str, str]
    metadata: dict[str, str] = field(default_factory=dict)
    mappings: list[dict[str, str]] = field(default_factory=list)

    def expand(self, curie: str) -> str:
        """The IRI of a CURIE of this set's ``curie_map`` (an IRI is returned as it is).

        >>> MappingSet({"wd": "http://www.wikidata.org/entity/"}).expand("wd:Q142")
        'http://www.wikidata.org/entity/Q142'
        """
        prefix, sep, local = curie.partition(":")
        if sep and prefix in self.curie_map:
            return self.curie_map[prefix] + local
        if curie.startswith(("http://", "https://")):
            return curie
        raise KeyError(f"{curie!r} uses a prefix that is not in the curie_map")

    def compress(self, iri: str) -> str:
        """A CURIE for ``iri`` with the longest fitting namespace of the ``curie_map``."""
        best = max((ns for ns in self.curie_map.values() if iri.startswith(ns)),
                   key=len, default=None)
        if best is None:
            return iri
        prefix = next(p for p, ns in self.curie_map.items() if ns == best)
        return f"{prefix}:{iri[len(best):]}"


def write(mapping_set: MappingSet, output: IO[str]) -> None:
    """Write ``mapping_set`` as SSSOM TSV (metadata block, then the table)."""
    output.write("#curie_map:\n")
    for prefix, namespace in sorted(mapping_set.curie_map.items()):
        output.write(f"#  {prefix}: {_yaml(namespace)}\n")
    for key, value in mapping_set.metadata.items():
        output.write(f"#{key}: {_yaml(value)}\n")
    columns = [c for c in COLUMNS if any(row.get(c) for row in mapping_set.mappings)]
    columns += sorted({key for row in mapping_set.mappings for key in row} - set(COLUMNS))
    writer = csv.writer(output, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for row in mapping_set.mappings:
        writer.writerow([_cell(row.get(column, "")) for column in columns])


def read(path: str | Path) -> MappingSet:
    """Read an SSSOM TSV file; errors name the file and line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UnreadableInputError(f"{path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InputSyntaxError(f"not UTF-8 text ({exc.reason})", source=str(path)) from None
    lines = text.splitlines()
    header = [line[1:] for line in lines if line.startswith("#")]
    body = [line for line in lines if not line.startswith("#") and line.strip()]
    metadata, curie_map = _read_metadata(header, str(path))
    if not body:
        raise InputSyntaxError("no table after the metadata block", source=str(path))
    rows = list(csv.DictReader(io.StringIO("\n".join(body)), delimiter="\t"))
    missing = {"subject_id", "predicate_id", "object_id"} - set(rows[0].keys() if rows else
                                                                  body[0].split("\t"))
    if missing:
        raise InputSyntaxError(f"the table lacks the column(s) {', '.join(sorted(missing))}",
                               source=str(path), line=len(header) + 1)
    return MappingSet(curie_map, metadata, [{k: v or "" for k, v in row.items()} for row in rows])


def _read_metadata(lines: Iterable[str], source: str) -> tuple[dict[str, str], dict[str, str]]:
    metadata: dict[str, str] = {}
    curie_map: dict[str, str] = {}
    nested: str | None = None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        key, sep, value = line.strip().partition(":")
        if not sep:
            raise InputSyntaxError(f"metadata line is not 'key: value': {line!r}",
                                   source=source, line=number)
        value = _unyaml(value.strip())
        if line.startswith((" ", "\t")) and nested == "curie_map":
            curie_map[key] = value
        elif not value:
            nested = key
        else:
            nested = None
            metadata[key] = value
    return metadata, curie_map


def _yaml(value: str) -> str:
    # a JSON string is a YAML scalar, and needs no quoting rules of its own
    text = str(value)
    plain = text and text[0].isalnum() and ": " not in text and " #" not in text
    return text if plain and not text.endswith(":") else json.dumps(text, ensure_ascii=False)


def _unyaml(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return json.loads(value)
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    return value


def _cell(value) -> str:
    # one line per mapping: tabs and newlines inside a value would break the table
    return " ".join(str(value).split()) if value is not None else ""
