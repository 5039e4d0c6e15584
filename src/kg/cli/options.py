"""What the commands share: the table of settings by name, the --data-dir option every
command takes, and opening the store it names."""

from __future__ import annotations

import click

from ..config import SETTINGS, Config
from ..store import KnowledgeGraph

#: The settings of :mod:`kg.config`, by name: their flags, variables and help.
SETTING = {setting.name: setting for setting in SETTINGS}


def data_dir_option(func):
    """The --data-dir option every command takes."""
    setting = SETTING["data_dir"]
    return click.option(setting.flag, "data_dir", type=click.Path(file_okay=False),
                        envvar=setting.env_var, help=setting.help)(func)


def open_graph(ctx: click.Context, data_dir: str | None) -> KnowledgeGraph:
    """The knowledge graph of --data-dir (or the group's), in memory when none is given."""
    config = Config.load({"data_dir": data_dir or ctx.obj.get("data_dir")})
    return KnowledgeGraph.open(config)
