"""What the endpoint's blueprints (``sparql``: the protocol; ``graphstore``: the Graph Store
Protocol; ``validation``: validating without writing; ``review``: the review queue;
``linked``: IRIs, ontology, VoID) share: answers to responses, the credentials of a write,
request bodies."""

from __future__ import annotations

from typing import Iterable

from flask import Response, json, request
from pyoxigraph import Triple, serialize

from .extensions import get_credentials, get_writer
from ..writes.auth import authenticate, refuse_url_credentials
from ..delta import Delta
from ..engine import Engine
from ..sparql.answer import Answer
from ..sparql.request import QueryRequest
from ..errors import UnsupportedMediaTypeError, UsageError
from ..sparql.formats import RDF_INPUT_FORMATS, Format, ResultKind, negotiate
from ..validation.validate import ValidationResult
from ..writes.outcome import Outcome
from .content.describe import SD, VOID
from ..namespaces import PREFIXES

_PREFIXES = {**PREFIXES, "sd": SD, "void": VOID}


def _content_type(media_type: str) -> str:
    # text/* types carry their charset; the others (JSON, XML, N-Triples) are UTF-8 by spec
    return media_type + ("; charset=utf-8" if media_type.startswith("text/") else "")


#: The response header naming the dataset version an answer was computed on.
VERSION_HEADER = "KG-Dataset-Version"


def stream_answer(answer: Answer) -> Response:
    """Stream a complete answer, in chunks, with its length, media type, ETag and the
    dataset version it came from."""
    response = Response(answer.chunks(), content_type=_content_type(answer.format.media_type))
    if answer.size is not None:  # else streamed from a remote store: chunked
        response.headers["Content-Length"] = str(answer.size)
    _validators(response, answer.tag, answer.version)
    response.call_on_close(answer.close)  # also when the client leaves before the end
    return response


def query_response(engine: Engine, query: QueryRequest) -> Response:
    """The answer to a query, or 304 Not Modified when the client's ``If-None-Match``
    names the answer the query would give now (the query is not run)."""
    if request.if_none_match:
        tag = engine.tag(query)
        if tag and request.if_none_match.contains(tag):
            return _not_modified(tag, engine.dataset_version)
    return stream_answer(engine.query(query))


def _not_modified(tag: str, version: str) -> Response:
    response = Response(status=304)
    _validators(response, tag, version)
    return response


def _validators(response: Response, tag: str, version: str) -> None:
    response.headers["Vary"] = "Accept"
    if tag:
        response.set_etag(tag)
        response.headers[VERSION_HEADER] = version
        # answers change with the data: a cache may keep one but asks again each time
        response.headers["Cache-Control"] = "no-cache"


def inference_parameter(value: str | None) -> bool:
    """The ``inference`` parameter: ``true`` (the default) or ``false`` (asserted only).

    >>> inference_parameter(None), inference_parameter("false")
    (True, False)
    """
    if value is None or value.strip().lower() == "true":
        return True
    if value.strip().lower() == "false":
        return False
    raise UsageError(f"inference={value!r}: use inference=true (asserted and inferred "
                     "triples, the default) or inference=false (asserted triples only)")


def rdf_response(triples: Iterable[Triple], accept: str | None,
                 override: str | None = None) -> Response:
    """A small graph built by the server (service description, VoID), negotiated."""
    fmt = negotiate(accept, ResultKind.GRAPH, override=override)
    body = serialize(list(triples), None, fmt.engine, prefixes=_PREFIXES)
    response = Response(body, content_type=_content_type(fmt.media_type))
    response.headers["Vary"] = "Accept"
    return response


def writer_agent() -> str:
    """The name of the credential a write request presents (401/403 otherwise).

    A credential in the URL is refused whatever the header says: URLs are logged.
    """
    credentials = get_credentials()
    refuse_url_credentials(request.args.items(multi=True), credentials)
    return authenticate(request.headers.get("Authorization"), credentials)


def read_body() -> bytes:
    """The request body, whole. Its size is checked once, by the :class:`~kg.web.limits.Limits`
    middleware (declared and chunked bodies alike): past ``max_body_size`` reading raises
    TooLargeError (413), so a body is never cut short and used."""
    stream, chunks = request.stream, []
    while chunk := stream.read(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def rdf_body(choices: Iterable[Format] = RDF_INPUT_FORMATS) -> tuple[Format, bytes]:
    """The RDF format of the request body (by Content-Type, among ``choices``) and the body;
    415 when the Content-Type is none of them."""
    choices = tuple(choices)
    fmt = next((f for f in choices if request.mimetype in f.media_types), None)
    if fmt is None:
        raise UnsupportedMediaTypeError(
            f"send RDF as one of {', '.join(f.media_type for f in choices)}, not "
            f"{request.mimetype or 'no media type'}")
    return fmt, read_body()


def report_response(result: ValidationResult, *, status: int = 200, delta: Delta | None = None,
                    extra: dict | None = None) -> Response:
    """A validation report, negotiated among the report formats (JSON by default); ``extra``
    fields go first in the JSON form."""
    fmt = negotiate(request.headers.get("Accept"), ResultKind.REPORT,
                    override=request.args.get("format"))
    body = get_writer().report(result, fmt, delta=delta)
    if extra and fmt.name == "json":
        body = json.dumps({**extra, **json.loads(body)}, ensure_ascii=False, indent=1).encode() + b"\n"
    response = Response(body, status, content_type=_content_type(fmt.media_type))
    response.headers["Vary"] = "Accept"
    return response


def outcome_response(outcome: Outcome) -> Response:
    """The answer to a write: 200 (committed or nothing to do), 202 (kept for review)."""
    summary = {"status": outcome.status, "added": outcome.added, "removed": outcome.removed}
    if outcome.iri:
        summary["change" if outcome.status == "committed" else "pending"] = outcome.iri
    if outcome.status == "quarantined":
        response = report_response(outcome.result, status=202, extra=summary)
        response.headers["Location"] = outcome.iri
        return response
    if outcome.result is not None and outcome.result.results:
        summary["warnings"] = [str(f) for f in outcome.result.results]
    return Response(json.dumps(summary, ensure_ascii=False) + "\n", 200,
                    mimetype="application/json")
