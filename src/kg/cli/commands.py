"""The ``kg`` command: subcommands that mirror the HTTP operations and call the same core.

Exit codes: 0 ok, 1 a query or validation failure, 2 bad usage or unreadable input,
3 a remote endpoint (a SERVICE call, Wikidata) could not be queried.
Errors are one line on stderr; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sys
import traceback
from pathlib import Path

import click

from .. import reasoning
from ..version import __version__
from ..config import Config
from ..errors import KGError, UsageError
from ..engine import Engine
from ..sparql.federation import ServicePolicy
from ..sparql.request import QueryLimits, make_request
from ..sparql.formats import RDF_INPUT_FORMATS, TABLE, ResultKind, by_name, for_path
from ..namespaces import GRAPHS, PREFIXES
from ..store import KnowledgeGraph, Source
from .backup import backup, dump, restore
from .link import link
from .options import data_dir_option, open_graph
from .serve import serve
from .writes import review, update, validate

_LARGE_INPUT = 8 * 1024 * 1024  # bytes; above this `kg load` shows a progress bar


class _Group(click.Group):
    """Turns core errors into one line on stderr and the documented exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KGError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            click.echo(f"kg: error: {exc.message}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kg")
@data_dir_option
@click.option("-q", "--quiet", is_flag=True, help="Only print errors on stderr.")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.pass_context
def main(ctx: click.Context, data_dir: str | None, quiet: bool, debug: bool) -> None:
    """France's security and police cooperation in the Indo-Pacific, as a knowledge graph.

    With no --data-dir the store lives in memory and is filled from the bundled ontology
    and data at every start; with --data-dir DIR it persists on disk.

    \b
    Examples:
      kg query 'SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }'
      kg stats
      kg --data-dir ./store load extra.ttl
    """
    level = logging.DEBUG if debug else logging.ERROR if quiet else logging.INFO
    logging.basicConfig(format="kg: %(message)s")  # the root handler stays at WARNING
    logging.getLogger("kg").setLevel(level)
    # rdflib logs an ill-typed literal ("2026-13-45"^^xsd:date) with a traceback; validation
    # reports it as a violation, so the traceback is for --debug only
    logging.getLogger("rdflib.term").setLevel(logging.DEBUG if debug else logging.CRITICAL)
    ctx.obj = {"data_dir": data_dir, "debug": debug}


@main.command()
@click.argument("sparql", required=False)
@click.option("-f", "--file", "query_file", type=click.File("r", encoding="utf-8"),
              help="Read the query from a file ('-' for stdin).")
@click.option("--format", "format_name", metavar="NAME",
              help="table|json|xml|csv|tsv for SELECT/ASK; turtle|ntriples|nquads|jsonld|"
                   "rdfxml for CONSTRUCT/DESCRIBE. Default: table on a terminal, else "
                   "json / turtle.")
@click.option("--graph", "default_graphs", multiple=True, metavar="IRI",
              help="Query these graphs as the default graph instead of the union of all "
                   "(as the protocol's default-graph-uri: GRAPH then sees no named graph).")
@click.option("--no-inference", "no_inference", is_flag=True,
              help="Answer from the asserted graphs only: the union leaves out the inferred "
                   "graph (a dataset named by FROM or --graph is used as given).")
@data_dir_option
@click.pass_context
def query(ctx, sparql, query_file, format_name, default_graphs, no_inference, data_dir):
    """Run a SPARQL 1.1 query (SELECT, ASK, CONSTRUCT, DESCRIBE).

    The prefixes listed by `kg prefixes` are predeclared. Answers include what the
    ontology entails (the inferred graph) unless --no-inference is given.

    \b
    Examples:
      kg query 'SELECT ?label WHERE { fipid:dcsd rdfs:label ?label }'
      kg query --format csv -f question.rq > answer.csv
      kg query --format turtle 'DESCRIBE fipid:dcsd'
      kg query --no-inference 'SELECT ?org WHERE { ?org a org:Organization }'
    """
    if (sparql is None) == (query_file is None):
        raise click.UsageError("give the query as an argument or with -f FILE (not both)")
    text = sparql if sparql is not None else query_file.read()
    config = Config.load({"data_dir": data_dir or ctx.obj.get("data_dir")})
    # the endpoint's request, guard and serialiser; checked before the store is opened,
    # run in this process
    request = make_request(text, limits=QueryLimits.from_config(config),
                           services=ServicePolicy.from_config(config), format=format_name,
                           default_graphs=default_graphs, inference=not no_inference,
                           table=True)
    kg = KnowledgeGraph.open(config)
    engine = Engine.from_config(kg, dataclasses.replace(config, workers=0, cache_size=0))
    if format_name is None and request.kind is ResultKind.SOLUTIONS and sys.stdout.isatty():
        request = dataclasses.replace(request, format=TABLE)
    # the whole answer first, then stdout: a query that fails while it is read (a SERVICE
    # call, an evaluation error) leaves no half-written document behind its error
    answer = engine.query(request)
    try:
        for chunk in answer.chunks():
            sys.stdout.buffer.write(chunk)
    finally:
        engine.close()
    if sys.stdout.isatty() and answer.format is not TABLE:
        sys.stdout.buffer.write(b"\n")  # JSON and XML end without one; keep the prompt apart
    sys.stdout.flush()


@main.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--graph", metavar="IRI", help=f"Graph for triples (default {GRAPHS['user']}). "
              "N-Quads and TriG keep their own graphs.")
@click.option("--format", "format_name", metavar="NAME",
              help="turtle|ntriples|nquads|trig|rdfxml|jsonld (default: by extension).")
@data_dir_option
@click.pass_context
def load(ctx, files, graph, format_name, data_dir):
    """Load RDF files into the store, all of them or nothing.

    A syntax error is reported as file:line:column and nothing of the call is stored.
    Without --data-dir the store lives in memory, so the load only lasts this command.

    \b
    Examples:
      kg --data-dir ./store load more.ttl other.nq
      kg --data-dir ./store load --graph https://example.org/g data.nt
      cat data.ttl | kg --data-dir ./store load --format turtle -
    """
    kg = open_graph(ctx, data_dir)
    sources = [Source(name) for name in files]
    for source in sources:  # fail on a bad name before parsing anything
        if format_name is None:
            for_path(source.name)
        elif source.name != "-" and not Path(source.name).is_file():
            raise click.BadParameter(f"{source.name}: no such file", param_hint="FILES")
    total = sum(Path(s.name).stat().st_size for s in sources
                if s.name != "-" and Path(s.name).is_file())
    if sys.stderr.isatty() and total > _LARGE_INPUT:
        with click.progressbar(length=total, label="loading", file=sys.stderr) as bar:
            added = kg.load(sources, graph=graph, format=format_name,
                            progress=bar.update)
    else:
        added = kg.load(sources, graph=graph, format=format_name)
    click.echo(f"loaded {added} triples from {len(sources)} file(s); "
               f"the store holds {len(kg)} triples", err=True)


@main.command()
@data_dir_option
@click.pass_context
def reason(ctx, data_dir):
    """Recompute the inferred graph from scratch and report what changed.

    Writes keep the inferred graph up to date on their own; this rebuilds it (after
    editing a store by other means, or to check it: +0 -0 means it was right).

    \b
    Example:
      kg --data-dir ./store reason
    """
    outcome = reasoning.recompute(open_graph(ctx, data_dir))
    click.echo(f"{outcome.inferred} inferred triples in <{reasoning.INFERRED}> "
               f"(+{outcome.added} -{outcome.removed}) in {outcome.seconds:.2f} s", err=True)


@main.command()
@click.option("--graph", metavar="IRI", help="Export one named graph only.")
@click.option("--format", "format_name", default="nquads", show_default=True,
              help="nquads|trig|turtle|ntriples|rdfxml|jsonld (turtle and the other "
                   "one-graph formats need --graph).")
@click.option("--network", type=click.Choice(["graphml", "gexf", "json"]),
              help="Export the cooperation network instead (agents as nodes, cooperation "
                   "links as edges; see kg.network) for networkx or Gephi.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file instead of stdout.")
@click.option("--materialised", is_flag=True,
              help="One graph: the asserted triples plus the inferred ones, for a store "
                   "without our reasoner (any format; not with --graph).")
@data_dir_option
@click.pass_context
def export(ctx, graph, format_name, network, output, data_dir, materialised):
    """Export the dataset (or one graph) as RDF, or the cooperation network.

    \b
    Examples:
      kg export -o dump.nq
      kg export --graph https://w3id.org/fr-indopacific/graph/ontology --format turtle
      kg export --network graphml -o cooperation.graphml
      kg export --materialised --format turtle -o kg-materialised.ttl
    """
    if network and graph:
        raise UsageError("--network exports the whole cooperation network; it takes no --graph")
    fmt = None if network else by_name(format_name, RDF_INPUT_FORMATS)
    kg = open_graph(ctx, data_dir)
    with (open(output, "wb") if output else _stdout()) as stream:
        if network:
            # networkx is a slow import: only for --network
            from ..network import cooperation_network, write_network

            write_network(cooperation_network(kg), network, stream)
        else:
            kg.export(stream, fmt, graph=graph, materialised=materialised)


@contextlib.contextmanager
def _stdout():
    yield sys.stdout.buffer
    sys.stdout.flush()


@main.command()
@data_dir_option
@click.pass_context
def stats(ctx, data_dir):
    """Triples per named graph, and counts of classes, properties and typed entities.

    \b
    Example:
      kg stats
    """
    numbers = open_graph(ctx, data_dir).stats()
    width = max([len(iri) for iri in numbers.graphs] + [len("(default graph)")])
    click.echo("triples per graph:")
    for iri, count in numbers.graphs.items():
        click.echo(f"  {iri.ljust(width)}  {count:>8}")
    if numbers.default_graph:
        click.echo(f"  {'(default graph)'.ljust(width)}  {numbers.default_graph:>8}")
    click.echo(f"  {'total'.ljust(width)}  {numbers.triples:>8}")
    click.echo(f"classes:        {numbers.classes}")
    click.echo(f"properties:     {numbers.properties}")
    click.echo(f"typed entities: {numbers.typed_entities}")


@main.command()
def prefixes():
    """List the prefixes predeclared in every query.

    \b
    Example:
      kg prefixes
    """
    for prefix, namespace in PREFIXES.items():
        click.echo(f"PREFIX {prefix + ':':9} <{namespace}>")



# the commands that copy the whole store, validate and write, link to Wikidata and serve
# live in modules of their own
for _command in (dump, restore, backup, validate, update, review, link, serve):
    main.add_command(_command)
