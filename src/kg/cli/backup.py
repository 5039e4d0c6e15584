"""``kg dump``, ``kg restore``, ``kg backup``: copies of the whole store (see :mod:`kg.store.backup`)."""

from __future__ import annotations

from pathlib import Path

import click

from ..store import backup as copies
from ..config import Config
from ..sparql.formats import RDF_INPUT_FORMATS, by_name, for_path
from ..store.graph import KnowledgeGraph


def _store(ctx: click.Context, *, load_bundled: bool = True) -> KnowledgeGraph:
    return KnowledgeGraph.open(Config.load({"data_dir": ctx.obj.get("data_dir")}),
                               load_bundled=load_bundled)


def _format(name: str | None, path: str):
    return by_name(name, RDF_INPUT_FORMATS) if name else for_path(path)


@click.command()
@click.option("-o", "--output", required=True, metavar="FILE",
              help="The dump file (.nq or .trig; written whole or not at all).")
@click.option("--format", "format_name", metavar="NAME",
              help="nquads|trig (default: by the extension of FILE).")
@click.pass_context
def dump(ctx, output, format_name):
    """Dump every named graph (the change log included) as N-Quads or TriG.

    \b
    Examples:
      kg --data-dir ./store dump -o kg.nq
      kg --data-dir ./backups/kg-20261127T120000.000000Z dump -o kg.trig
    """
    count = copies.dump(_store(ctx), Path(output), _format(format_name, output))
    click.echo(f"{count} quads dumped to {output}", err=True)


@click.command()
@click.argument("file")
@click.option("--format", "format_name", metavar="NAME",
              help="nquads|trig (default: by the extension of FILE).")
@click.pass_context
def restore(ctx, file, format_name):
    """Restore a dump into a new, empty store (--data-dir), all or nothing.

    \b
    Example:
      kg --data-dir ./restored restore kg.nq
    """
    if not ctx.obj.get("data_dir"):
        raise click.UsageError("restore into an on-disk store: pass --data-dir NEW-FOLDER")
    count = copies.restore(_store(ctx, load_bundled=False), Path(file),
                           _format(format_name, file))
    click.echo(f"{count} quads restored", err=True)


@click.command()
@click.argument("folder")
@click.pass_context
def backup(ctx, folder):
    """Back up the on-disk store into a new folder under FOLDER (a store --data-dir opens).

    The store must not be in use; a running server takes its own backups (POST /backup).

    \b
    Example:
      kg --data-dir ./store backup ./backups
    """
    if not ctx.obj.get("data_dir"):
        raise click.UsageError("only an on-disk store can be backed up: pass --data-dir")
    target = copies.backup(_store(ctx, load_bundled=False), Path(folder))
    click.echo(f"backup written to {target}", err=True)
