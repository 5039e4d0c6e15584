"""Reading RDF: the bundled files and the graph each belongs in, inputs to load (files,
standard input, bytes) parsed into a scratch store, and their syntax errors with source,
line and column. Nothing here writes to the knowledge graph."""

from __future__ import annotations

import ctypes
import io
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Sequence

from pyoxigraph import NamedNode, Store, parse

from ..config import Config
from ..errors import InputSyntaxError, UnreadableInputError, UsageError
from ..namespaces import GRAPHS
from ..sparql.formats import QUAD_FORMATS, RDF_INPUT_FORMATS, Format, by_name, for_path

#: Bundled folders and the named graph each one is loaded into.
BUNDLED_SOURCES: tuple[tuple[str, str], ...] = (
    ("ontology", GRAPHS["ontology"]),
    ("data", GRAPHS["factsheet"]),
    ("data/curation", GRAPHS["curation"]),
    ("data/wikidata", GRAPHS["wikidata"]),
)

#: Called while loading with the number of bytes read since the previous call.
ProgressCallback = Callable[[int], None]


def bundle_root(config: Config) -> Path:
    """Where the bundled ``ontology/`` and ``data/`` folders are.

    The wheel ships them inside the package (``kg/bundled``); a source checkout has them
    at the top of the repository.
    """
    if config.bundle_dir is not None:
        return config.bundle_dir
    packaged = Path(__file__).parents[1] / "bundled"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3]


def bundled_files(root: Path) -> list[tuple[Path, str]]:
    """Every bundled RDF file with the graph it belongs in, in a stable order."""
    files = []
    for folder, graph in BUNDLED_SOURCES:
        directory = root / folder
        if directory.is_dir():
            for path in sorted(directory.iterdir()):
                if path.is_file() and _is_rdf(path):
                    files.append((path, graph))
    return files


def _is_rdf(path: Path) -> bool:
    try:
        for_path(path.name)
    except UsageError:
        return False
    return True


@dataclass(frozen=True)
class Source:
    """One input to load: a path (``-`` for standard input) or bytes with a name."""

    name: str
    data: bytes | None = None

    def open(self) -> IO[bytes]:
        """A binary stream over the input."""
        if self.data is not None:
            return io.BytesIO(self.data)
        if self.name == "-":
            return sys.stdin.buffer
        try:
            return Path(self.name).open("rb")
        except OSError as exc:
            raise UnreadableInputError(f"{self.name}: {exc.strerror or exc}") from exc


class _CountingReader(io.RawIOBase):
    """A reader that reports progress while the parser pulls bytes."""

    def __init__(self, raw: IO[bytes], progress: ProgressCallback) -> None:
        super().__init__()
        self._raw, self._progress = raw, progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._raw.read(len(buffer))
        buffer[: len(chunk)] = chunk
        self._progress(len(chunk))
        return len(chunk)


def release_memory() -> None:
    """Hand the free pages of the C heap back to the system.

    Parsing and the reasoner's temporary sets leave it fragmented: at 100k triples this
    gives back a third of the server's memory. glibc only; elsewhere nothing happens.
    """
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def read(source: Source, action: Callable[[IO[bytes]], object],
         progress: ProgressCallback | None) -> None:
    """Run ``action`` (a parser) on the stream of ``source``; its syntax errors as
    InputSyntaxError with the source, line and column."""
    stream = source.open()
    try:
        action(_CountingReader(stream, progress) if progress else stream)
    except SyntaxError as exc:
        raise _syntax_error(exc, source.name) from None
    except UnicodeDecodeError as exc:
        raise InputSyntaxError(f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                               source=source.name) from None
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def drain(stream: IO[bytes], fmt: Format) -> None:
    """Parse ``stream`` without storing anything: Oxigraph's parser, one light object per
    quad (a syntax check before a bulk load)."""
    # parse without storing: Oxigraph's parser, one light object per quad
    for _ in parse(stream, fmt.engine):
        pass


def _syntax_error(exc: SyntaxError, source: str) -> InputSyntaxError:
    message, *rest = exc.args or ("syntax error",)
    if "LoadDocumentCallback" in str(message):  # pyoxigraph's JSON-LD parser, by design
        message = ("the JSON-LD document refers to a remote context (an @context URL), which "
                   "is never fetched: put the context inline")
    position = rest[0] if rest and isinstance(rest[0], tuple) else ()
    line = position[1] if len(position) > 2 else None
    column = position[2] if len(position) > 2 else None
    return InputSyntaxError(str(message), source=source, line=line, column=column)


def read_sources(sources: Sequence[Source], *, graph: str | None = None,
                 format: str | None = None, progress: ProgressCallback | None = None) -> Store:
    """Parse every source into a new in-memory store (nothing else is touched).

    Triples go to ``graph`` (default: the user-additions graph); quad formats keep their
    own graphs. A syntax error raises InputSyntaxError with the source, line and column.
    JSON-LD ``@context`` URLs are never fetched: a remote context is a syntax error.
    """
    target = NamedNode(graph or GRAPHS["user"])
    staging = Store()
    for source in sources:
        fmt = by_name(format, RDF_INPUT_FORMATS) if format else for_path(source.name)
        read(source, lambda stream, fmt=fmt: staging.load(
            stream, fmt.engine, to_graph=None if fmt in QUAD_FORMATS else target), progress)
    return staging
