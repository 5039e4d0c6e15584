"""``kg link``: check, suggest and apply links to Wikidata, refresh the offline snapshot."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..config import Config
from ..namespaces import GRAPHS, PREFIXES
from ..store import KnowledgeGraph
from ..store.sources import bundle_root
from .options import SETTING, data_dir_option

@click.command()
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
              help=SETTING["wikidata_endpoint"].help + " [default: "
              f"{SETTING['wikidata_endpoint'].default}; env KG_WIKIDATA_ENDPOINT]")
@click.option("--link-search", "--search", "search", type=click.Choice(["sparql", "api"]),
              help=SETTING["link_search"].help + " [default: sparql; env KG_LINK_SEARCH]")
@click.option("--wikidata-api", metavar="URL", help=SETTING["wikidata_api"].help
              + " [env KG_WIKIDATA_API]")
@click.option("--user-agent", metavar="TEXT", help=SETTING["user_agent"].help
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
    # the Wikidata client and the validator load only when a link command runs
    from ..wikidata import linking, snapshot, sssom
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
