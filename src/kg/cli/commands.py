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

from .. import __version__, reasoning
from ..config import SETTINGS, Config
from ..errors import KGError, UsageError
from ..engine import Engine
from ..sparql.federation import ServicePolicy
from ..sparql.request import QueryLimits, make_request
from ..sparql.formats import RDF_INPUT_FORMATS, TABLE, ResultKind, by_name, for_path
from ..namespaces import GRAPHS, PREFIXES
from ..store import KnowledgeGraph, Source

_SETTING = {setting.name: setting for setting in SETTINGS}
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


def data_dir_option(func):
    """The --data-dir option every command takes."""
    setting = _SETTING["data_dir"]
    return click.option(setting.flag, "data_dir", type=click.Path(file_okay=False),
                        envvar=setting.env_var, help=setting.help)(func)


def _open(ctx: click.Context, data_dir: str | None) -> KnowledgeGraph:
    config = Config.load({"data_dir": data_dir or ctx.obj.get("data_dir")})
    return KnowledgeGraph.open(config)


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
    kg = _open(ctx, data_dir)
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
    outcome = reasoning.recompute(_open(ctx, data_dir))
    click.echo(f"{outcome.inferred} inferred triples in <{reasoning.INFERRED}> "
               f"(+{outcome.added} -{outcome.removed}) in {outcome.seconds:.2f} s", err=True)


@main.command()
@click.option("--graph", metavar="IRI", help="Export one named graph only.")
@click.option("--format", "format_name", default="nquads", show_default=True,
              help="nquads|trig|turtle|ntriples|rdfxml|jsonld (turtle and the other "
                   "one-graph formats need --graph).")
@click.option("--network", type=click.Choice(["graphml", "gexf", "json"]),
              help="Export the cooperation network instead (agents as nodes, cooperation "
                   "links as edges; see kg.web.content.network) for networkx or Gephi.")
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
    kg = _open(ctx, data_dir)
    with (open(output, "wb") if output else _stdout()) as stream:
        if network:
            from ..web.content.network import cooperation_network, write_network  # networkx: slow import
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
    numbers = _open(ctx, data_dir).stats()
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


_SERVE_SETTINGS = ("store", "store_update", "host", "port", "base_url", "timeout", "workers",
                   "heavy_queries", "heavy_after", "threads", "client_requests", "proxy_hops",
                   "max_query_length", "max_body_size", "max_header_size", "max_nesting",
                   "max_rows", "cache_size", "service_allowlist", "service_map", "update_token",
                   "update_token_file", "backup_dir",
                   "allow_curated_writes", "load_allowlist", "graph_shapes")


def _serve_options(func):
    # one flag per setting of the table, read as text and parsed by Config.load, so flags,
    # KG_* variables and defaults follow one precedence
    for name in reversed(_SERVE_SETTINGS):
        setting = _SETTING[name]
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


@main.command()
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


@main.command()
def prefixes():
    """List the prefixes predeclared in every query.

    \b
    Example:
      kg prefixes
    """
    for prefix, namespace in PREFIXES.items():
        click.echo(f"PREFIX {prefix + ':':9} <{namespace}>")



@main.command()
@click.option("--check", "action", flag_value="check",
              help="Verify every link against the endpoint; exit 1 if any is suspicious.")
@click.option("--suggest", "action", flag_value="suggest",
              help="Write candidate links for unlinked entities to an SSSOM table.")
@click.option("--apply", "apply_file", type=click.Path(dir_okay=False, exists=True),
              metavar="FILE.sssom.tsv",
              help="Validate and add the mappings a curator accepted (needs --data-dir).")
@click.option("--refresh", "action", flag_value="refresh",
              help="Rebuild the offline snapshot data/wikidata/snapshot.ttl.")
@click.option("--wikidata-endpoint", "--endpoint", "endpoint", metavar="URL",
              help=_SETTING["wikidata_endpoint"].help + " [default: "
              f"{_SETTING['wikidata_endpoint'].default}; env KG_WIKIDATA_ENDPOINT]")
@click.option("--link-search", "--search", "search", type=click.Choice(["sparql", "api"]),
              help=_SETTING["link_search"].help + " [default: sparql; env KG_LINK_SEARCH]")
@click.option("--wikidata-api", metavar="URL", help=_SETTING["wikidata_api"].help
              + " [env KG_WIKIDATA_API]")
@click.option("--user-agent", metavar="TEXT", help=_SETTING["user_agent"].help
              + " [env KG_USER_AGENT]")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="--suggest: write the SSSOM table here (default: stdout).")
@click.option("--snapshot-dir", type=click.Path(file_okay=False),
              help="--refresh: folder of the snapshot (default: data/wikidata/ of the bundle).")
@data_dir_option
@click.pass_context
def link(ctx, action, apply_file, endpoint, search, wikidata_api, user_agent, output,
         snapshot_dir, data_dir):
    """Link the graph to Wikidata: check, suggest, apply, refresh the offline snapshot.

    \b
    Exit codes: 0 ok; 1 suspicious links (--check) or mappings that break the shapes
    (--apply); 2 bad usage or input; 3 the endpoint could not be reached.

    \b
    Examples:
      kg link --check
      kg link --suggest -o candidates.sssom.tsv
      kg --data-dir ./store link --apply candidates.sssom.tsv
      kg link --refresh --endpoint http://localhost:7879/query
    """
    from ..wikidata import linking, snapshot, sssom
    from ..store.sources import bundle_root
    from ..wikidata.client import WikidataClient
    from ..writes.writer import Writer

    if (action is None) == (apply_file is None):
        raise click.UsageError("choose one of --check, --suggest, --apply FILE, --refresh")
    config = Config.load({"data_dir": data_dir or ctx.obj.get("data_dir"),
                          "wikidata_endpoint": endpoint, "link_search": search,
                          "wikidata_api": wikidata_api, "user_agent": user_agent})
    kg = KnowledgeGraph.open(config)
    client = WikidataClient.from_config(config)
    if apply_file:
        if config.data_dir is None:
            raise click.UsageError("mappings applied to the in-memory store would be lost "
                                   "when the command ends: pass --data-dir DIR")
        triples = linking.accepted(sssom.read(apply_file))
        outcome = linking.apply(Writer(kg, config=config), triples)
        click.echo(f"{len(triples)} accepted mapping(s); {outcome.added} new triple(s) in "
                   f"{GRAPHS['user']} ({outcome.status}"
                   f"{', change ' + outcome.iri if outcome.iri else ''})", err=True)
    elif action == "check":
        findings, checked = linking.check(kg, client)
        _print_findings(findings)
        # the links the mapping table holds with less than full confidence wait for this check
        table = bundle_root(config) / "mappings" / "wikidata.sssom.tsv"
        if table.is_file():
            for subject, obj, confidence, passed in linking.tentative(sssom.read(table),
                                                                     findings):
                click.echo(f"{subject} {obj} (confidence {confidence} in {table.name}): "
                           + ("passes the check" if passed else "SUSPICIOUS, see above"),
                           err=True)
        click.echo(f"{checked} link(s) checked against {config.wikidata_endpoint}; "
                   f"{len({(f.entity, f.qid) for f in findings})} suspicious", err=True)
        ctx.exit(1 if findings else 0)
    elif action == "suggest":
        mapping_set = linking.suggest(kg, client, search=config.link_search,
                                      api_url=config.wikidata_api)
        if output:
            with open(output, "w", encoding="utf-8", newline="") as stream:
                sssom.write(mapping_set, stream)
        else:
            sssom.write(mapping_set, sys.stdout)
        click.echo(f"{len(mapping_set.mappings)} candidate(s) written", err=True)
    else:
        folder = Path(snapshot_dir) if snapshot_dir else bundle_root(config) / "data" / "wikidata"
        path, count = snapshot.refresh(kg, client, folder)
        click.echo(f"snapshot of {count} item(s) written to {path}", err=True)


def _print_findings(findings) -> None:
    if not findings:
        return
    rows = [(f.entity.replace(PREFIXES["fipid"], "fipid:"), f.qid, f.problem,
             "" if f.score is None else f"{f.score:.2f}", f.detail) for f in findings]
    header = ("entity", "item", "problem", "score", "detail")
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(4)]
    for row in [header] + rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths))
                   + "  " + row[4])


# the commands that copy the whole store, and those that validate and write, live in their
# own modules
from .backup import backup, dump, restore  # noqa: E402
from .writes import review, update, validate  # noqa: E402

for _command in (dump, restore, backup, validate, update, review):
    main.add_command(_command)
