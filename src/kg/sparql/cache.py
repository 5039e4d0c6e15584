"""Answers kept for repeated queries, and the tags that let clients revalidate them.

An answer is keyed by the dataset version, the query (with everything that changes its
answer: the dataset parameters, the base IRI, inference) and the negotiated format. Any
write bumps the version (:meth:`kg.sparql.engine.Engine.dataset_changed`), so an answer is never
served for data it was not computed on, and the entries of older versions are dropped.

The same key names the answer outside: :func:`fingerprint` is its tag (the HTTP ETag), and
the version is sent beside it, so that a result can be cited with the state of the data it
came from. A client holding a tag for the current version needs no new answer (HTTP 304),
which the engine can tell without running the query once it knows the query's kind.
Nothing here knows about HTTP.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from typing import Any, Mapping

#: Request fields that change an answer (besides the version and the format).
KEY_FIELDS = ("query", "default_graphs", "named_graphs", "base_iri", "inference",
              "quads_query", "max_rows")
_KINDS_KEPT = 10_000  # query kinds remembered (a few bytes each)


def new_epoch() -> str:
    """A label for one life of a store in one server: versions restart at each start.

    >>> len(new_epoch().split("-"))
    2
    """
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def fingerprint(version: str, request: Mapping[str, Any], format_name: str) -> str:
    """The tag of the answer to ``request`` in ``format_name`` at ``version``.

    >>> a = fingerprint("e-1", {"query": "ASK {}"}, "json")
    >>> a == fingerprint("e-1", {"query": "ASK {}"}, "json"), a == fingerprint("e-2", {"query": "ASK {}"}, "json")
    (True, False)
    """
    digest = hashlib.blake2b(digest_size=12)
    for part in (version, format_name, *(repr(request.get(name)) for name in KEY_FIELDS)):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\x00")
    return f"{version}-{digest.hexdigest()}"


class ResultCache:
    """A size-bounded LRU of complete answers, each under its :func:`fingerprint`.

    An answer is kept only once it was looked for in vain (:meth:`get`): a query asked
    once, as most are, costs no memory; asked again, it is kept. Without this, distinct
    queries filled the bound with answers never asked for again.

    >>> cache = ResultCache(max_bytes=80)
    >>> for i in range(9):
    ...     cache.get(f"v1-{i}")
    ...     cache.put(f"v1-{i}", f"answer {i}", 10)
    >>> cache.get("v1-0") is None, cache.get("v1-8")
    (True, 'answer 8')
    >>> cache.put("v1-once", "not asked for before", 10)
    >>> cache.get("v1-once") is None
    True
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._wanted: dict[str, None] = {}  # tags looked for in vain: their answer is kept
        self._kinds: dict[bytes, Any] = {}
        self._size = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, tag: str):
        """The answer stored under ``tag``, or None."""
        with self._lock:
            entry = self._entries.get(tag)
            if entry is None:
                self.misses += 1
                if len(self._wanted) >= _KINDS_KEPT:
                    self._wanted.clear()
                self._wanted[tag] = None
                return None
            self._entries.move_to_end(tag)
            self.hits += 1
            return entry[0]

    def put(self, tag: str, answer, size: int) -> None:
        """Keep ``answer`` (``size`` bytes) if its tag was looked for before, dropping the
        least recently used beyond the bound; an answer larger than an eighth of the bound
        is not kept."""
        if size > self.max_bytes // 8 and size > 0:
            return
        with self._lock:
            if tag in self._entries or tag not in self._wanted:
                return
            del self._wanted[tag]
            self._entries[tag] = (answer, size)
            self._size += size
            while self._size > self.max_bytes and self._entries:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._size -= dropped

    def forget_before(self, version: str) -> None:
        """Drop every answer of another version than ``version`` (after a write)."""
        prefix = version + "-"
        with self._lock:
            self._wanted.clear()
            for tag in [tag for tag in self._entries if not tag.startswith(prefix)]:
                self._size -= self._entries.pop(tag)[1]

    def kind(self, query: str):
        """The result kind of ``query`` if it ran before (it does not depend on the data)."""
        return self._kinds.get(_digest(query))

    def remember_kind(self, query: str, kind) -> None:
        """Note the result kind of ``query`` (under a digest: queries may be 100 KB long)."""
        if len(self._kinds) >= _KINDS_KEPT:
            self._kinds.clear()
        self._kinds[_digest(query)] = kind


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
