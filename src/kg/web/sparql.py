"""``/sparql``: the SPARQL 1.1 Protocol (https://www.w3.org/TR/sparql11-protocol/), query
and update operations on one URL, as the protocol allows.

Queries: GET ``?query=``, POST ``application/x-www-form-urlencoded`` and POST
``application/sparql-query``; ``default-graph-uri`` and ``named-graph-uri`` set the dataset;
``format=`` overrides Accept; ``inference=false`` answers from the asserted graphs only
(the union default graph without the inferred graph). GET without a query answers the
Service Description. A browser's GET (``text/html`` preferred) gets the query page instead,
with the query in the editor.

Updates: POST ``update=`` (form) or ``application/sparql-update``, with
``using-graph-uri``/``using-named-graph-uri`` and ``on-invalid=reject|quarantine``; they need
``Authorization: Bearer TOKEN`` and go through :class:`kg.writes.writer.Writer` (validated first).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from flask import Blueprint, Response, request
from werkzeug.datastructures import MultiDict

from .app import get_config, get_engine, get_store, get_writer
from ..sparql.describe import service_description
from ..errors import UnsupportedMediaTypeError, UsageError
from ..sparql.formats import ResultKind
from . import pages
from .shared import (inference_parameter, outcome_response, query_response, rdf_response,
                     read_body, writer_agent)

bp = Blueprint("sparql", __name__)

_FORM = "application/x-www-form-urlencoded"
_QUERY = "application/sparql-query"
_UPDATE = "application/sparql-update"


@bp.route("/sparql", methods=["GET", "POST"])
def endpoint() -> Response:
    """Answer a query or run an update, or describe the service when there is neither."""
    params, body_query, body_update = _parameters()
    queries = params.getlist("query") + ([body_query] if body_query is not None else [])
    updates = params.getlist("update") + ([body_update] if body_update is not None else [])
    if updates:
        if request.method != "POST":
            raise UsageError("an update is sent with POST (as update= in a form, or as "
                             f"{_UPDATE}), never with GET")
        if queries or len(updates) > 1:
            raise UsageError("send exactly one `update` (and no `query`) in an update request")
        return _update(updates[0], params)
    if len(queries) > 1:
        raise UsageError("more than one query in the request; send exactly one `query`")
    if request.method == "GET" and _browser(params.get("format")):
        return pages.query_page(queries[0] if queries else None, params)
    if not queries:
        if request.method == "POST":
            raise UsageError("no query in the request: send `query` in the form or the body")
        return rdf_response(service_description(get_store(), get_config(), get_engine()),
                            request.headers.get("Accept"), params.get("format"))
    engine = get_engine()
    return query_response(engine, engine.request(
        queries[0], accept=request.headers.get("Accept"), format=params.get("format"),
        default_graphs=params.getlist("default-graph-uri"),
        named_graphs=params.getlist("named-graph-uri"), base_iri=request.base_url,
        inference=inference_parameter(params.get("inference"))))


def _browser(override: str | None) -> bool:
    # a browser (text/html preferred over every format of both kinds of result) gets the
    # query page, which runs the query itself; SPARQL clients never ask for HTML first
    return all(pages.wants_page(kind, override)
               for kind in (ResultKind.SOLUTIONS, ResultKind.GRAPH))


def _update(text: str, params: MultiDict) -> Response:
    agent = writer_agent()
    outcome = get_writer().update(
        text, agent=agent, base_iri=request.base_url,
        using_graphs=params.getlist("using-graph-uri"),
        using_named_graphs=params.getlist("using-named-graph-uri"),
        on_invalid=params.get("on-invalid", "reject"))
    return outcome_response(outcome)


def _parameters() -> tuple[MultiDict, str | None, str | None]:
    """The protocol parameters (URL and form) and the query or update sent as the body."""
    params = MultiDict(request.args)
    if request.method != "POST":
        return params, None, None
    mimetype = request.mimetype
    if mimetype not in (_FORM, _QUERY, _UPDATE):
        raise UnsupportedMediaTypeError(
            f"a query is POSTed as {_FORM} or {_QUERY}, an update as {_FORM} or {_UPDATE}, "
            f"not {mimetype or 'no media type'}")
    charset = request.mimetype_params.get("charset", "utf-8")
    if mimetype != _FORM and charset.lower().replace("-", "") != "utf8":
        # SPARQL 1.1 Protocol 2.1.3 and 2.2.2: a query or update in the body is UTF-8
        raise UnsupportedMediaTypeError(f"{mimetype} bodies are UTF-8; charset={charset} is "
                                        "not accepted")
    try:
        text = read_body().decode(charset)
    except (UnicodeDecodeError, LookupError) as exc:
        raise UsageError(f"the request body cannot be read as text: {exc}") from None
    if mimetype == _QUERY:
        return params, text, None
    if mimetype == _UPDATE:
        return params, None, text
    for key, value in parse_qsl(text, keep_blank_values=True, strict_parsing=False):
        params.add(key, value)
    return params, None, None
