"""The example queries of the query page: the competency questions in ``queries/*.rq``.

Each file opens with comment lines (``# Question: …``, ``# Answer (from the fact sheet): …``,
``# expect: …``); the page shows the question in words and puts the query in the editor with
its question as a comment.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ...config import Config
from ...store.sources import bundle_root


@dataclass(frozen=True)
class Example:
    """One competency question: its id (``cq-24``), question and query text."""

    id: str
    question: str
    query: str


def parse(name: str, text: str) -> Example:
    """Read one ``.rq`` file.

    >>> e = parse("cq-01-x.rq", "# Question: Who?\\n# expect: fipid:a\\nSELECT * {}\\n")
    >>> e.id, e.question, e.query
    ('cq-01', 'Who?', '# Who?\\nSELECT * {}\\n')
    """
    question, body = "", []
    for line in text.splitlines():
        if line.startswith("# Question:"):
            question = line.split(":", 1)[1].strip()
        elif not (line.startswith("#") and not body):
            body.append(line)
    stem = "-".join(Path(name).stem.split("-")[:2])
    query = (f"# {question}\n" if question else "") + "\n".join(body).strip() + "\n"
    return Example(stem, question or stem, query)


def examples(config: Config) -> list[Example]:
    """The competency questions shipped with the data, in order; [] when there are none."""
    return list(_load(bundle_root(config) / "queries"))


@lru_cache(maxsize=4)
def _load(folder: Path) -> tuple[Example, ...]:
    if not folder.is_dir():
        return ()
    return tuple(parse(path.name, path.read_text(encoding="utf-8"))
                 for path in sorted(folder.glob("*.rq"), key=_number_first))


def _number_first(path: Path) -> tuple[int, str]:
    # cq-9x before cq-100: by the number, not the text
    number = path.name.split("-")[1] if path.name.count("-") else ""
    return (int(number) if number.isdigit() else 10 ** 9, path.name)
