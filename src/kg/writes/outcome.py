"""What became of a write (the answer of every :class:`kg.writes.writer.Writer` method)."""

from __future__ import annotations

from dataclasses import dataclass

from ..validation.validate import ValidationResult


@dataclass(frozen=True)
class Outcome:
    """What became of a write: ``committed``, ``unchanged`` (nothing to do) or ``quarantined``."""

    status: str
    added: int = 0
    removed: int = 0
    #: The change-log record of a committed write, or the pending change of a quarantined one.
    iri: str | None = None
    #: The validation result (warnings of a committed write, violations of a quarantined one).
    result: ValidationResult | None = None
