"""The ``kg`` commands that validate and write: ``validate``, ``update``, ``review``.

They call :class:`kg.writes.writer.Writer`, the same gate as the endpoint's routes (as agent
``cli``: the change log says a change came from the command line).
"""

from __future__ import annotations

import sys

import click

from .options import data_dir_option
from ..config import SETTINGS, Config
from ..errors import ValidationFailedError
from ..sparql.formats import FORMATS, REPORT_TEXT, ResultKind, by_name, for_path
from ..namespaces import GRAPHS
from ..store.graph import KnowledgeGraph
from ..store.sources import Source, read_sources

_CLI_AGENT = "cli"
_CURATED_FLAG = next(s.flag for s in SETTINGS if s.name == "allow_curated_writes")

@click.command()
@click.argument("sparql", required=False)
@click.option("-f", "--file", "update_file", type=click.File("r", encoding="utf-8"),
              help="Read the update from a file ('-' for stdin).")
@click.option(_CURATED_FLAG, "allow_curated", is_flag=True,
              help="Allow changes to the curated graphs (ontology, fact sheet, Wikidata).")
@click.option("--on-invalid", type=click.Choice(["reject", "quarantine"]), default="reject",
              show_default=True, help="What to do with a change that fails validation.")
@data_dir_option
@click.pass_context
def update(ctx, sparql, update_file, allow_curated, on_invalid, data_dir):
    """Run a SPARQL 1.1 update on a persistent store (needs --data-dir), validated first.

    As on the endpoint: triples written without GRAPH go to the user graph, the curated
    graphs need --allow-curated-writes, and a change that breaks the shapes is refused
    (exit 1, with the report) or, with --on-invalid quarantine, kept for `kg review`.

    \b
    Example:
      kg --data-dir ./store update 'INSERT DATA { fipid:x rdfs:label "x"@en }'
    """
    if (sparql is None) == (update_file is None):
        raise click.UsageError("give the update as an argument or with -f FILE (not both)")
    writer = _writer(ctx, data_dir, allow_curated=allow_curated, persistent=True)
    try:
        outcome = writer.update(sparql if sparql is not None else update_file.read(),
                                agent=_CLI_AGENT, on_invalid=on_invalid)
    except ValidationFailedError as exc:
        click.echo(writer.report(exc.result, REPORT_TEXT, delta=exc.delta).decode(), err=True)
        raise
    _print_outcome(writer, outcome)


@click.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--format", "format_name", default="text", show_default=True,
              type=click.Choice([f.name for f in FORMATS[ResultKind.REPORT]]),
              help="The report: readable text, or the standard sh:ValidationReport "
                   "(turtle, jsonld, ntriples, rdfxml), or json for scripts.")
@click.option("--input-format", "input_format", metavar="NAME",
              help="turtle|ntriples|nquads|trig|rdfxml|jsonld (default: by extension; "
                   "needed for stdin).")
@click.option("--graph", metavar="IRI", help=f"Graph the triples would go to (default "
              f"{GRAPHS['user']}); N-Quads and TriG keep their own graphs.")
@click.option("--shapes", "shapes_files", multiple=True, metavar="FILE",
              help="Your own SHACL shapes (Turtle), added to the project's; with --graph "
                   "IRI of a graph of your own, used alone on that graph. Repeatable.")
@data_dir_option
@click.pass_context
def validate(ctx, files, format_name, input_format, graph, shapes_files, data_dir):
    """Check new triples against the ontology, the shapes and the graph, without storing them.

    The triples are validated as additions to the graph: shapes from shapes/, RDFS
    inference over the ontology, and the existing data they refer to. The report lists
    what they break or still lack, grouped by focus node, then warnings (likely typos of
    terms and IRIs, missing language tags, Wikidata links not in entity form). Exit 0
    when they conform, 1 when they violate a shape, 2 when a file cannot be read
    (file:line:column: message).

    \b
    Examples:
      kg validate new-links.ttl
      kg validate --format turtle batch.jsonld > report.ttl
      cat link.ttl | kg validate --input-format turtle -
      kg validate --shapes my-shapes.ttl new-links.ttl
      kg validate --graph https://example.org/my-graph --shapes my-shapes.ttl my-data.ttl
    """
    from pathlib import Path

    from ..validation.validate import load_turtle

    shapes = load_turtle([Path(f) for f in shapes_files]) if shapes_files else None
    writer = _writer(ctx, data_dir)
    sources = [Source(name) for name in files]
    for source in sources:  # fail on a bad name before parsing anything
        if input_format is None:
            for_path(source.name)
    delta, result = writer.validate(sources, graph=graph, format=input_format, shapes=shapes)
    fmt = by_name(format_name, FORMATS[ResultKind.REPORT])
    sys.stdout.buffer.write(writer.report(result, fmt, delta=delta))
    if fmt is REPORT_TEXT:
        sys.stdout.buffer.write(b"\n")
    sys.stdout.flush()
    ctx.exit(result.exit_code)





def _writer(ctx: click.Context, data_dir: str | None, *, allow_curated: bool = False,
            persistent: bool = False):
    from ..writes.writer import Writer  # the validator loads only when a command needs it

    data_dir = data_dir or ctx.obj.get("data_dir")
    if persistent and not data_dir:
        raise click.UsageError("the in-memory store starts afresh at every command, with "
                               "nothing to change or review: pass --data-dir DIR")
    config = Config.load({"data_dir": data_dir, "allow_curated_writes": allow_curated or None})
    return Writer(KnowledgeGraph.open(config), config=config)


def _print_outcome(writer, outcome) -> None:
    if outcome.result is not None and outcome.result.results:
        click.echo(writer.report(outcome.result, REPORT_TEXT).decode(), err=True)
    if outcome.status == "quarantined":
        click.echo(f"kept for review as {outcome.iri} (see `kg review show`)", err=True)
    else:
        click.echo(f"{outcome.status}: {outcome.added} triples added, {outcome.removed} removed"
                   + (f" ({outcome.iri})" if outcome.iri else "")
                   + f"; the store holds {len(writer.kg)} triples", err=True)


@click.group()
def review():
    """The changes kept for review (sent with on-invalid=quarantine); needs --data-dir.

    \b
    Examples:
      kg --data-dir ./store review list
      kg --data-dir ./store review show 20260101T120000000000Z-a1b2c3
      kg --data-dir ./store review accept 20260101T120000000000Z-a1b2c3 --with fixed.ttl
      kg --data-dir ./store review discard 20260101T120000000000Z-a1b2c3
    """


@review.command("list")
@data_dir_option
@click.pass_context
def review_list(ctx, data_dir):
    """List the pending changes, oldest first."""
    pending = _writer(ctx, data_dir, persistent=True).pending()
    for item in pending:
        click.echo(f"{item.id}  {item.time}  {item.agent:<12}  +{item.added} -{item.removed}  "
                   f"{item.description}")
    click.echo(f"{len(pending)} pending change{'s' if len(pending) != 1 else ''}", err=True)


@review.command("show")
@click.argument("pending_id")
@click.option("--format", "format_name", default="text", show_default=True,
              type=click.Choice([f.name for f in FORMATS[ResultKind.REPORT]]),
              help="Format of the report.")
@data_dir_option
@click.pass_context
def review_show(ctx, pending_id, format_name, data_dir):
    """Show a pending change and validate it again against the graph as it is now.

    Exit 0 when it would now conform, 1 when it still violates the shapes.
    """
    writer = _writer(ctx, data_dir, persistent=True)
    pending = writer.pending_change(pending_id)
    delta, result = writer.recheck(pending_id)
    added, removed = delta.to_nquads()
    click.echo(f"# {pending.id}: {pending.description}, sent by {pending.agent} at "
               f"{pending.time}", err=True)
    click.echo(f"# would add {len(delta.added)} and remove {len(delta.removed)} quads:", err=True)
    for line in added.decode().splitlines():
        click.echo(f"+ {line}", err=True)
    for line in removed.decode().splitlines():
        click.echo(f"- {line}", err=True)
    fmt = by_name(format_name, FORMATS[ResultKind.REPORT])
    sys.stdout.buffer.write(writer.report(result, fmt, delta=delta) + b"\n")
    sys.stdout.flush()
    ctx.exit(result.exit_code)


@review.command("accept")
@click.argument("pending_id")
@click.option("--with", "fixed", metavar="FILE",
              help="A fixed version of the change's added triples (replaces them).")
@click.option(_CURATED_FLAG, "allow_curated", is_flag=True,
              help="Allow changes to the curated graphs.")
@data_dir_option
@click.pass_context
def review_accept(ctx, pending_id, fixed, allow_curated, data_dir):
    """Commit a pending change if it validates now (exit 1 with the report if not)."""
    writer = _writer(ctx, data_dir, persistent=True, allow_curated=allow_curated)
    replacement = list(read_sources([Source(fixed)])) if fixed else None
    try:
        outcome = writer.accept(pending_id, agent=_CLI_AGENT, replacement=replacement)
    except ValidationFailedError as exc:
        click.echo(writer.report(exc.result, REPORT_TEXT, delta=exc.delta).decode(), err=True)
        raise
    _print_outcome(writer, outcome)


@review.command("discard")
@click.argument("pending_id")
@data_dir_option
@click.pass_context
def review_discard(ctx, pending_id, data_dir):
    """Drop a pending change from the queue."""
    _writer(ctx, data_dir, persistent=True).discard(pending_id)
    click.echo(f"discarded {pending_id}", err=True)
