"""Fuzzy comparison of names, shared by ``kg link`` and the reconciliation service.

Names are compared after normalisation (case, accents, punctuation and spacing folded;
a leading article dropped), with :class:`difflib.SequenceMatcher`'s ratio, and with
acronyms recognised ("CTF 150" ~ "Combined Task Force 150"). Scores are in [0, 1].
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from typing import Iterable

_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)
_ARTICLES = {"the", "le", "la", "les", "l"}


def normalise(name: str) -> str:
    """A name folded for comparison only.

    >>> normalise("  L'Océan  Indien ")
    'ocean indien'
    """
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    words = _PUNCT.sub(" ", text).split()
    if len(words) > 1 and words[0] in _ARTICLES:
        words = words[1:]
    return " ".join(words)


def similarity(a: str, b: str) -> float:
    """How alike two names are, from 0 (nothing in common) to 1 (the same once folded).

    >>> similarity("Réunion", "La Réunion")
    1.0
    >>> similarity("CTF 150", "Combined Task Force 150")
    0.95
    >>> similarity("France", "Finland") < 0.7
    True
    """
    x, y = normalise(a), normalise(b)
    if not x or not y:
        return 0.0
    if x == y:
        return 1.0
    score = SequenceMatcher(None, x, y).ratio()
    if _is_acronym_of(x, y) or _is_acronym_of(y, x):
        score = max(score, 0.95)
    return round(score, 4)


def best_match(names: Iterable[str], others: Iterable[str]) -> tuple[float, str, str]:
    """The most similar pair between two lists of names: (score, name, other)."""
    others = list(others)
    best = (0.0, "", "")
    for name in names:
        for other in others:
            score = similarity(name, other)
            if score > best[0]:
                best = (score, name, other)
    return best


def _is_acronym_of(short: str, long: str) -> bool:
    # "ctf 150" and "combined task force 150": initials of the words, numbers kept whole
    words = long.split()
    if len(words) < 2:
        return False
    initials = "".join(word if word.isdigit() else word[0] for word in words
                       if word not in {"of", "and", "for", "de", "des", "du", "et", "pour"})
    compact = short.replace(" ", "")
    return len(compact) >= 2 and compact == initials
