"""The ``kg`` command: the group and its reading commands (:mod:`.commands`), and one module
each for the commands that validate and write, copy the store, link to Wikidata and serve."""

from .commands import main

__all__ = ["main"]
