"""The web pages for people: query editor, entity pages, ontology, map, validation, dataset.

Pages are Jinja2 templates with autoescaping; no page carries an inline script (the
Content-Security-Policy set in :mod:`kg.web.headers` forbids them), and data reaches scripts only as
JSON in ``data-`` attributes or fetched from a JSON route. The linked-data and SPARQL routes
call :func:`entity_page`, :func:`ontology_page` and :func:`query_page` when content
negotiation picks HTML.
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from .content import geo, ontodoc, present
from .extensions import get_config, get_reader, get_writer
from .headers import csp_nonce
from .content.describe import DATASET, void_description
from ..errors import InputSyntaxError, NotAcceptableError, NotFoundError, UsageError
from .content.examples import examples
from ..sparql.formats import HTML, RDF_INPUT_FORMATS, ResultKind, by_name, for_path, negotiate
from ..namespaces import BASE, GRAPHS, ID_NS, ONTOLOGY_IRI, PREFIXES, compact
from ..validation.report import as_json
from ..store.sources import Source
from .shared import rdf_response

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")


@bp.app_template_filter("href")
def href(iri: str) -> str:
    """Where a link to ``iri`` goes: this server for the project's IRIs, else the IRI."""
    if iri.startswith(BASE) and not iri.startswith(BASE + "graph/"):
        return url_for("pages.home") + iri[len(BASE):]
    return iri if iri.lower().startswith(("http://", "https://")) else ""


@bp.app_template_filter("compact")
def _compact(iri: str) -> str:
    return compact(iri)


@bp.app_context_processor
def _globals() -> dict:
    return {"site_root": url_for("pages.home"), "csp_nonce": csp_nonce}


def wants_page(kind: ResultKind, override: str | None = None) -> bool:
    """True when content negotiation picks the HTML page over the ``kind``'s formats."""
    if override:
        return override.strip().lower() in HTML.media_types + (HTML.name,)
    accept = request.headers.get("Accept")
    if not accept or "html" not in accept.lower():
        return False  # the page is never a wildcard's first choice (it is offered last)
    try:
        return negotiate(accept, kind, extra=(HTML,)) is HTML
    except NotAcceptableError:  # the route's own negotiation answers 406 with its formats
        return False


def _page(template: str, status: int = 200, **context) -> Response:
    response = Response(render_template(template, **context), status,
                        content_type="text/html; charset=utf-8")
    response.headers["Vary"] = "Accept"
    return response


@bp.route("/favicon.ico")
def favicon() -> Response:
    """The site's icon, for browsers that ask for it by its old name (on non-HTML pages)."""
    return bp.send_static_file("favicon.svg")


# -- the query page ----------------------------------------------------------------------

#: The parameters of /sparql that the query page passes on with every query it sends (the
#: dataset of the SPARQL 1.1 Protocol, and whether inferred triples count).
DATASET_PARAMETERS = ("default-graph-uri", "named-graph-uri", "inference")


@bp.route("/")
def home() -> Response:
    """The query page (``?query=`` puts a query in the editor and runs it;
    ``default-graph-uri``, ``named-graph-uri`` and ``inference`` are kept for it)."""
    return query_page(request.args.get("query"), request.args)


def query_page(query: str | None = None, params: MultiDict | None = None) -> Response:
    """The query editor, with ``query`` in it (else the first example).

    The dataset ``params`` of the request (:data:`DATASET_PARAMETERS`) are shown on the page
    and sent with every query the page runs and every download it offers, so that the page
    answers what ``/sparql`` answers to the same parameters.
    """
    cqs = examples(get_config())
    words = sorted(f"{prefix}:" for prefix in PREFIXES)
    dataset = [(name, value) for name in DATASET_PARAMETERS
               for value in (params.getlist(name) if params else ())]
    return _page("query.html", examples=cqs, query=query or (cqs[0].query if cqs else
                 "SELECT * WHERE { ?s ?p ?o } LIMIT 10\n"), run=query is not None,
                 prefixes=PREFIXES, words=words, endpoint=url_for("sparql.endpoint"),
                 dataset=dataset, whole=url_for("pages.home", query=query))


# -- entity pages ------------------------------------------------------------------------

def entity_page(iri: str) -> Response:
    """The page of the entity ``iri`` (404 when the store says nothing about it)."""
    view = present.describe(get_reader(), iri)
    if view is None:
        raise NotFoundError(f"no entity <{iri}> in this knowledge graph")
    slug = iri[len(ID_NS):]
    alternates = [("Turtle", "turtle", "text/turtle"), ("JSON-LD", "jsonld", "application/ld+json"),
                  ("N-Triples", "ntriples", "application/n-triples"),
                  ("TriG", "trig", "application/trig")]  # TriG: inferred in their own graph
    return _page("entity.html", view=view, slug=slug, alternates=alternates)


# -- the ontology ------------------------------------------------------------------------

def ontology_page() -> Response:
    """The documentation of the ontology, with its class diagram."""
    doc = ontodoc.document(get_reader())
    if doc is None:
        raise NotFoundError(f"the ontology <{ONTOLOGY_IRI}> is not loaded in this store")
    return _page("ontology.html", doc=doc, diagram=ontodoc.diagram(get_reader()))


# -- the map -----------------------------------------------------------------------------

@bp.route("/map")
def map_page() -> Response:
    """The map of the places of the cooperation links, coloured by heading."""
    kg = get_reader()
    places = geo.places(kg)
    return _page("map.html", places=places, headings=geo.headings(kg),
                 shapes=url_for("pages.static", filename="vendor/countries.json"),
                 data=url_for("pages.map_data"))


@bp.route("/map.json")
def map_data() -> Response:
    """The places of the map as JSON (read by static/js/map.js)."""
    kg = get_reader()
    places = [{**place.as_json(), "href": href(place.iri)} for place in geo.places(kg)]
    response = jsonify({"headings": [{"key": key, "label": label}
                                     for key, label in geo.headings(kg)], "places": places})
    response.headers["Cache-Control"] = "no-cache"
    return response


# -- validation --------------------------------------------------------------------------

@bp.route("/validate", methods=["GET"])
def validation_form() -> Response:
    """The validation form."""
    return _page("validate.html", text="", report=None)


@bp.route("/validate/form", methods=["POST"])
def validation_report() -> Response:
    """Validate pasted or uploaded RDF against the shapes, in the context of the graph.

    Nothing is stored. The form posts here (a form body); ``POST /validate`` takes the
    same RDF as a request body and answers the report by content negotiation.
    """
    text, name = request.form.get("data", ""), "pasted data"
    upload = request.files.get("file")
    fmt = by_name(request.form.get("format") or "turtle", RDF_INPUT_FORMATS)
    if upload is not None and upload.filename:
        text, name = upload.read().decode("utf-8", errors="replace"), upload.filename
        try:
            fmt = for_path(upload.filename)
        except UsageError:
            pass
    if not text.strip():
        return _page("validate.html", 400, text=text, report=None,
                     error="Paste some Turtle or choose a file first.")
    started = time.perf_counter()
    try:
        report = _validate_in_context(text, fmt, name)
    except InputSyntaxError as exc:
        return _page("validate.html", 400, text=text, report=None, error=exc.message)
    return _page("validate.html", text=text, report=report,
                 seconds=time.perf_counter() - started)


def _validate_in_context(text: str, fmt, name: str) -> dict:
    # the same check as `kg validate` and POST /validate (kg.writes.writer.Writer.validate): the new
    # triples as additions to the graph, parsed by pyoxigraph (no remote JSON-LD context is
    # ever fetched), validated incrementally, warnings included
    writer = get_writer()
    delta, result = writer.validate([Source(name, text.encode())], format=fmt.name)
    labels = writer.labels(result, delta)
    report = as_json(result, labels=labels, shapes=writer.checker.shapes)
    groups: dict[str, list] = {}
    for item in report["results"]:
        groups.setdefault(item["focusNode"], []).append({
            "severity": item["severity"], "message": item["message"],
            "path": item.get("path", ""), "value": item.get("value", ""),
            "shape": item.get("shape", "")})
    by_iri = {str(node): label for node, label in labels.items()}
    return {"conforms": result.conforms, "triples": len(delta.added),
            "groups": [(node, by_iri.get(node, ""), items) for node, items in groups.items()]}


# -- the dataset -------------------------------------------------------------------------

@bp.route("/dataset")
def dataset() -> Response:
    """The dataset: VoID figures, named graphs, change log, license, how to cite.

    RDF clients get the VoID description by content negotiation.
    """
    if not wants_page(ResultKind.GRAPH, request.args.get("format")):
        return rdf_response(void_description(get_reader(), get_config()),
                            request.headers.get("Accept"), request.args.get("format"))
    kg = get_reader()
    void = void_description(kg, get_config())
    figures = {t.predicate.value.rsplit("#", 1)[-1]: int(t.object.value) for t in void
               if t.subject == DATASET and t.predicate.value.rsplit("#", 1)[-1] in
               ("triples", "entities", "classes", "properties")}
    license_iri = next(t.object.value for t in void
                       if t.subject == DATASET and t.predicate.value.endswith("/license"))
    stats = kg.stats()
    taken = {row["g"].value: row["when"].value for row in kg.query(
        "SELECT ?g (MAX(STR(?t)) AS ?when) { ?g dcterms:modified|dcterms:created|"
        "prov:generatedAtTime ?t FILTER(STRSTARTS(STR(?g), STR(fipg:))) } GROUP BY ?g")
        .solutions}  # a snapshot records when it was taken
    graphs = [(graph, stats.graphs.get(graph, 0), name, taken.get(graph, "")[:10])
              for name, graph in GRAPHS.items()]
    graphs += [(graph, count, "", taken.get(graph, "")[:10])
               for graph, count in stats.graphs.items() if graph not in GRAPHS.values()]
    return _page("dataset.html", figures=figures, graphs=graphs, license=license_iri,
                 changes=_change_log(kg), sheet=_fact_sheet(kg),
                 void_url=url_for("linked.void"), version=current_app.config.get("KG_VERSION"))


def _change_log(kg) -> list[dict]:
    # accepted changes are prov:Activity nodes with a time, outside the curated graphs
    curated = " ".join(f"<{GRAPHS[name]}>" for name in ("ontology", "factsheet", "curation",
                                                                      "wikidata"))
    rows = kg.query(f"""SELECT ?change ?when ?label ?who WHERE {{
        GRAPH ?g {{ ?change a prov:Activity ;
                    (prov:endedAtTime|prov:startedAtTime|dcterms:date) ?when .
                    OPTIONAL {{ ?change rdfs:label|rdfs:comment ?label }}
                    OPTIONAL {{ ?change prov:wasAssociatedWith ?who }} }}
        FILTER(?g NOT IN ({curated.replace(' ', ', ')}))
    }} ORDER BY DESC(?when) LIMIT 50""").solutions
    return [{"iri": row["change"].value, "when": row["when"].value,
             "label": row["label"].value if row["label"] is not None else "",
             "who": row["who"].value if row["who"] is not None else ""} for row in rows]


def _fact_sheet(kg) -> dict:
    rows = list(kg.query("""SELECT ?title ?date ?author ?publisher WHERE {
        fipid:fact-sheet-5 dcterms:title ?title .
        OPTIONAL { fipid:fact-sheet-5 dcterms:date|dcterms:issued ?date }
        OPTIONAL { fipid:fact-sheet-5 dcterms:creator/rdfs:label ?author }
        OPTIONAL { fipid:fact-sheet-5 dcterms:publisher/rdfs:label ?publisher }
    } LIMIT 1""").solutions)
    if not rows:
        return {}
    return {key: rows[0][key].value if rows[0][key] is not None else ""
            for key in ("title", "date", "author", "publisher")}
