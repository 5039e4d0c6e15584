"""``/sparql``: the SPARQL 1.1 Protocol query operation (https://www.w3.org/TR/sparql11-protocol/).

GET ``?query=``, POST ``application/x-www-form-urlencoded`` and POST
``application/sparql-query``; ``default-graph-uri`` and ``named-graph-uri`` set the dataset;
``format=`` overrides Accept; ``inference=false`` answers from the asserted graphs only
(the union default graph without the inferred graph). GET without a query answers the
Service Description. The endpoint is read-only: updates are refused with 403. A browser's GET
(``text/html`` preferred) gets the query page instead, with the query in the editor.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from flask import Blueprint, Response, request
from werkzeug.datastructures import MultiDict

from ..app import get_config, get_engine, get_store
from ..describe import service_description
from ..errors import ReadOnlyError, TooLargeError, UnsupportedMediaTypeError, UsageError
from ..formats import ResultKind
from . import inference_parameter, pages, query_response, rdf_response

bp = Blueprint("sparql", __name__)

_FORM = "application/x-www-form-urlencoded"
_QUERY = "application/sparql-query"
_UPDATE = "application/sparql-update"
_READ_ONLY = ("this endpoint is read-only: SPARQL Update is not accepted (writes arrive "
              "with validation)")


@bp.route("/sparql", methods=["GET", "POST"])
def endpoint() -> Response:
    """Answer a query, or describe the service when there is none."""
    params, body_query = _parameters()
    queries = params.getlist("query") + ([body_query] if body_query is not None else [])
    if "update" in params:
        raise ReadOnlyError(_READ_ONLY)
    if len(queries) > 1:
        raise UsageError("more than one query in the request; send exactly one `query`")
    if request.method == "GET" and _browser(params.get("format")):
        return pages.query_page(queries[0] if queries else None)
    if not queries:
        if request.method == "POST":
            raise UsageError("no query in the request: send `query` in the form or the body")
        return rdf_response(service_description(get_store(), get_config(), get_engine()),
                            request.headers.get("Accept"), params.get("format"))
    return query_response(
        get_engine(), queries[0], accept=request.headers.get("Accept"),
        format=params.get("format"), default_graphs=params.getlist("default-graph-uri"),
        named_graphs=params.getlist("named-graph-uri"), base_iri=request.base_url,
        inference=inference_parameter(params.get("inference")))


def _browser(override: str | None) -> bool:
    # a browser (text/html preferred over every format of both kinds of result) gets the
    # query page, which runs the query itself; SPARQL clients never ask for HTML first
    return all(pages.wants_page(kind, override)
               for kind in (ResultKind.SOLUTIONS, ResultKind.GRAPH))


def _parameters() -> tuple[MultiDict, str | None]:
    """The protocol parameters (URL and form) and the query sent as the body, if any."""
    params = MultiDict(request.args)
    if request.method != "POST":
        return params, None
    mimetype = request.mimetype
    if mimetype == _UPDATE:
        raise ReadOnlyError(_READ_ONLY)
    if mimetype not in (_FORM, _QUERY):
        raise UnsupportedMediaTypeError(
            f"a query is POSTed as {_FORM} or {_QUERY}, not {mimetype or 'no media type'}")
    charset = request.mimetype_params.get("charset", "utf-8")
    if mimetype == _QUERY and charset.lower().replace("-", "") != "utf8":
        # SPARQL 1.1 Protocol 2.1.3: a query in the body is UTF-8, nothing else
        raise UnsupportedMediaTypeError(f"{_QUERY} bodies are UTF-8; charset={charset} is "
                                        "not accepted")
    try:
        text = _read_body(get_config().max_body_size).decode(charset)
    except (UnicodeDecodeError, LookupError) as exc:
        raise UsageError(f"the request body cannot be read as text: {exc}") from None
    if mimetype == _QUERY:
        return params, text
    for key, value in parse_qsl(text, keep_blank_values=True, strict_parsing=False):
        params.add(key, value)
    return params, None


def _read_body(limit: int) -> bytes:
    # Werkzeug cuts a chunked body at MAX_CONTENT_LENGTH without a word, and the truncated
    # query would then run: read the raw stream here and refuse what goes past the limit
    declared = request.content_length
    if declared is not None and declared > limit:
        raise TooLargeError(f"the request body is {declared} bytes; at most {limit} are "
                            "accepted")
    stream = request.stream
    data = bytearray()
    while len(data) <= limit:
        chunk = stream.read(min(65536, limit + 1 - len(data)))
        if not chunk:
            return bytes(data)
        data += chunk
    raise TooLargeError(f"the request body is over {limit} bytes; at most {limit} are "
                        "accepted")
