"""Answers kept for repeated queries, and the tags that let clients revalidate them.

An answer is keyed by the dataset version, the query (with everything that changes its
answer: the dataset parameters, the base IRI, inference) and the negotiated format. Any
write bumps the version (:meth:`kg.engine.engine.Engine.dataset_changed`), so an answer is never
served for data it was not computed on, and the entries of older versions are dropped.

The same key names the answer outside: :func:`fingerprint` is its tag (the HTTP ETag), and
the version is sent beside it, so that a result can be cited with the state of the data it
came from. A client holding a tag for the current version needs no new answer (HTTP 304),
which the engine tells without running the query.
Nothing here knows about HTTP.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from typing import Any

_WANTED_KEPT = 10_000  # tags looked for in vain, remembered (a few bytes each)


def new_epoch() -> str:
    """A label for one life of a store in one server: versions restart at each start.

    >>> len(new_epoch().split("-"))
    2
    """
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def fingerprint(version: str, key: tuple) -> str:
    """The tag of the answer to a request with ``key`` (:attr:`QueryRequest.key`, which
    includes the format) at ``version``.

    >>> a = fingerprint("e-1", ("ASK {}", "json"))
    >>> a == fingerprint("e-1", ("ASK {}", "json")), a == fingerprint("e-2", ("ASK {}", "json"))
    (True, False)
    """
    digest = hashlib.blake2b(repr(key).encode("utf-8", "surrogatepass"), digest_size=12)
    return f"{version}-{digest.hexdigest()}"


class ResultCache:
    """A size-bounded LRU of complete answers, each under its :func:`fingerprint`.

    An answer is kept only the second time it is looked for in vain (:meth:`get`): a
    query asked once, as most are, costs no memory; asked again, it is kept. Without this,
    distinct queries filled the bound with answers never asked for again.

    >>> cache = ResultCache(max_bytes=80)
    >>> for i in range(9):
    ...     for _ in range(2):
    ...         cache.get(f"v1-{i}")
    ...         cache.put(f"v1-{i}", f"answer {i}", 10)
    >>> cache.get("v1-0") is None, cache.get("v1-8")
    (True, 'answer 8')
    >>> _ = cache.get("v1-once"); cache.put("v1-once", "asked for once", 10)
    >>> cache.get("v1-once") is None
    True
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        # tags looked for in vain: True once asked for twice (that answer is kept)
        self._wanted: dict[str, bool] = {}
        self._size = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, tag: str):
        """The answer stored under ``tag``, or None."""
        with self._lock:
            entry = self._entries.get(tag)
            if entry is None:
                self.misses += 1
                if len(self._wanted) >= _WANTED_KEPT:
                    self._wanted.clear()
                # asked before and not kept: its answer is wanted this time
                self._wanted[tag] = tag in self._wanted
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
            if tag in self._entries or not self._wanted.get(tag):
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
