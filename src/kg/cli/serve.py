"""``kg serve``: one flag per setting of the table, then the HTTP server."""

from __future__ import annotations

import click

from ..config import SETTINGS, Config
from .options import SETTING, data_dir_option

#: The settings that are not flags of ``kg serve``: the group's --data-dir, the bundle (an
#: environment variable only) and those of ``kg link``. Every other setting is one, in the
#: order of the table, so a new setting needs no line here.
_NOT_SERVED = {"data_dir", "bundle_dir", "wikidata_endpoint", "wikidata_api", "link_search",
               "user_agent"}
_SERVE_SETTINGS = tuple(s.name for s in SETTINGS if s.name not in _NOT_SERVED)


def _serve_options(func):
    # one flag per setting of the table, read as text and parsed by Config.load, so flags,
    # KG_* variables and defaults follow one precedence
    for name in reversed(_SERVE_SETTINGS):
        setting = SETTING[name]
        help_text = (f"{setting.help} [default: {_shown(setting.default)}; "
                     f"env {setting.env_var}]")
        if isinstance(setting.default, bool):
            func = click.option(setting.flag, name, is_flag=True, default=None,
                                help=help_text)(func)
        else:
            func = click.option(setting.flag, name, metavar=_metavar(setting),
                                help=help_text)(func)
    return func


def _metavar(setting) -> str:
    if setting.name == "load_allowlist":
        return "HOSTS"
    if setting.name == "graph_shapes":
        return "IRI=FILE"
    if setting.default is None:  # unset by default: its name says what it holds
        kind = setting.name.rpartition("_")[2]
        return {"dir": "DIR", "file": "FILE"}.get(kind, "TEXT")
    return {tuple: "URLS", dict: "IRI=URL"}.get(type(setting.default),
                                                 type(setting.default).__name__.upper())


def _shown(default) -> str:
    if isinstance(default, tuple):
        return " ".join(default) or "none"
    return str(default) if default not in (None, "", {}) else "unset"


@click.command()
@data_dir_option
@_serve_options
@click.pass_context
def serve(ctx, data_dir, **settings):
    """Serve the SPARQL 1.1 endpoint and the linked-data routes (granian).

    With no options: the bundled graph, in memory, at http://127.0.0.1:7878/sparql.

    \b
    Examples:
      kg serve
      kg serve --port 8080 --timeout 10
      kg --data-dir ./store serve --host 0.0.0.0 --base-url https://kg.example.org/
      KG_UPDATE_TOKEN=alice:$(openssl rand -hex 16) kg --data-dir ./store serve
    """
    from ..web.server import serve as run_server  # the HTTP server only when serving

    run_server(Config.load({"data_dir": data_dir or ctx.obj.get("data_dir"), **settings}))
