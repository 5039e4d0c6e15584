"""``/sparql``: the SPARQL 1.1 Protocol (https://www.w3.org/TR/sparql11-protocol/), query
and update operations on one URL, as the protocol allows.

Queries: GET ``?query=``, POST ``application/x-www-form-urlencoded`` and POST
``application/sparql-query``; ``default-graph-uri`` and ``named-graph-uri`` set the dataset;
``format=``, ``output=`` or ``results=`` (the parameters Virtuoso, Fuseki and SPARQLWrapper
send, with their tokens or a media type) override Accept; ``inference=false`` answers from
the asserted graphs only (the union default graph without the inferred graph). GET without
a query answers the Service Description. A browser's GET (``text/html`` preferred) gets the
query page instead, with the query in the editor.

Every parameter is read as UTF-8 after percent-decoding (SPARQL 1.1 Protocol 2.1.1): bytes
that are not UTF-8 are refused (400, naming the parameter and the byte), never replaced.

Updates: POST ``update=`` (form) or ``application/sparql-update``, with
``using-graph-uri``/``using-named-graph-uri`` and ``on-invalid=reject|quarantine``; they need
``Authorization: Bearer TOKEN`` and go through :class:`kg.writes.writer.Writer` (validated first).
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from flask import Blueprint, Response, request
from werkzeug.datastructures import MultiDict

from .extensions import get_config, get_engine, get_reader, get_writer
from .content.describe import service_description
from ..errors import UnsupportedMediaTypeError, UsageError
from ..sparql.formats import FORMAT_PARAMETERS, ResultKind
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
    formats = tuple(value for name in FORMAT_PARAMETERS for value in params.getlist(name))
    if request.method == "GET" and _browser(next(filter(None, formats), None)):
        return pages.query_page(queries[0] if queries else None, params)
    if not queries:
        if request.method == "POST":
            raise UsageError("no query in the request: send `query` in the form or the body")
        return rdf_response(service_description(get_reader(), get_config()),
                            request.headers.get("Accept"), formats)
    engine = get_engine()
    return query_response(engine, engine.request(
        queries[0], accept=request.headers.get("Accept"), format=formats,
        default_graphs=params.getlist("default-graph-uri"),
        named_graphs=params.getlist("named-graph-uri"), base_iri=_base_iri(),
        inference=inference_parameter(params.get("inference"))))


def _base_iri() -> str:
    """The endpoint's IRI as the client reached it: the base of relative IRIs in a query."""
    # what request.base_url gives, without its round trip through werkzeug's URI-to-IRI
    # conversion (a tenth of the CPU of a tiny query)
    return f"{request.scheme}://{request.host}{request.root_path}{request.path}"


def _browser(override: str | None) -> bool:
    # a browser (text/html preferred over every format of both kinds of result) gets the
    # query page, which runs the query itself; SPARQL clients never ask for HTML first
    return all(pages.wants_page(kind, override)
               for kind in (ResultKind.SOLUTIONS, ResultKind.GRAPH))


def _update(text: str, params: MultiDict) -> Response:
    agent = writer_agent()
    outcome = get_writer().update(
        text, agent=agent, base_iri=_base_iri(),
        using_graphs=params.getlist("using-graph-uri"),
        using_named_graphs=params.getlist("using-named-graph-uri"),
        on_invalid=params.get("on-invalid", "reject"))
    return outcome_response(outcome)


def _parameters() -> tuple[MultiDict, str | None, str | None]:
    """The protocol parameters (URL and form) and the query or update sent as the body."""
    params = MultiDict(_decoded_pairs(request.query_string, "utf-8", "the URL"))
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
    body = read_body()
    if mimetype == _FORM:
        for key, value in _decoded_pairs(body, charset, "the form"):
            params.add(key, value)
        return params, None, None
    what = "query" if mimetype == _QUERY else "update"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"the {what} in the body ({mimetype}) is not UTF-8: byte "
                         f"0x{body[exc.start]:02X} at offset {exc.start}") from None
    return (params, text, None) if mimetype == _QUERY else (params, None, text)


def _decoded_pairs(raw: bytes, charset: str, where: str) -> list[tuple[str, str]]:
    """The name=value pairs of a query string or form body, percent-decoded, then read in
    ``charset``; bytes that are not text in it are a 400 naming the parameter and the byte
    (Werkzeug and urllib would replace them, and a changed query would run)."""
    pairs = []
    for piece in raw.split(b"&"):
        if not piece:
            continue
        name, _, value = (unquote_to_bytes(part.replace(b"+", b" "))
                          for part in piece.partition(b"="))
        pairs.append((_text(name, charset, where, None), _text(value, charset, where, name)))
    return pairs


def _text(data: bytes, charset: str, where: str, name: bytes | None) -> str:
    try:
        return data.decode(charset)
    except LookupError:
        raise UnsupportedMediaTypeError(f"unknown charset={charset}") from None
    except UnicodeDecodeError as exc:
        shown = (name if name is not None else data).decode(charset, "replace")
        label = (f"the value of the parameter {shown!r}" if name is not None
                 else f"the parameter name {shown!r}")
        raise UsageError(f"{label} in {where} is not {charset.upper()} once percent-decoded: "
                         f"byte 0x{data[exc.start]:02X} at offset {exc.start}") from None
