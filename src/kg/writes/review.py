"""The review queue, as :class:`kg.writes.writer.Writer` serves it: the changes kept by
``on-invalid=quarantine`` listed, validated again against the graph as it is now, accepted
(through the one path of every write) or discarded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from pyoxigraph import Quad

from . import changelog
from ..delta import Delta, effective
from ..errors import NotFoundError
from ..store.lock import holding
from .outcome import Outcome

if TYPE_CHECKING:
    from ..validation.validate import ValidationResult


class ReviewQueue:
    """The review queue's part of :class:`~kg.writes.writer.Writer`, which inherits it; it
    calls the writer's ``check``, ``_write`` and ``_commit``."""

    @holding("reading", "kg.lock")
    def pending(self) -> list[changelog.Pending]:
        """The changes waiting for review, oldest first."""
        return changelog.pending_changes(self.kg.store)

    @holding("reading", "kg.lock")
    def pending_change(self, pending_id: str) -> changelog.Pending:
        """One pending change; NotFoundError if there is none with this id."""
        found = changelog.pending_change(self.kg.store, pending_id)
        if found is None:
            raise NotFoundError(f"no pending change {pending_id!r}; `kg review list` lists them")
        return found

    @holding("reading", "kg.lock")
    def recheck(self, pending_id: str) -> tuple[Delta, ValidationResult]:
        """A pending change as it would apply now, validated against the graph as it is now."""
        pending = self.pending_change(pending_id)
        delta = effective(self.kg.store, pending.delta.added, pending.delta.removed)
        return delta, self.check(delta)

    def accept(self, pending_id: str, *, agent: str,
               replacement: Iterable[Quad] | None = None) -> Outcome:
        """Commit a pending change (its added triples replaced by ``replacement``, the fixed
        version, if given) if it now validates; 422 with the report otherwise."""
        pending = self.pending_change(pending_id)
        added = pending.delta.added if replacement is None else frozenset(replacement)
        with self.kg.lock.reading():
            record = frozenset(changelog.pending_quads(self.kg.store, pending_id))
        return self._write(lambda store: effective(store, added, pending.delta.removed),
                           agent=agent, description=f"review: accepted {pending.description} "
                           f"sent by {pending.agent}", used=pending_id, also_remove=record)

    def discard(self, pending_id: str) -> None:
        """Drop a pending change from the review queue."""
        self.pending_change(pending_id)
        with self._lock, self.kg.lock.writing():
            self._commit(Delta(removed=frozenset(changelog.pending_quads(self.kg.store,
                                                                         pending_id))))
