"""The ``kg`` command: the group and its reading commands, and the commands that write
and copy the store (see :mod:`kg.cli.commands`)."""

from .commands import main

__all__ = ["main"]
