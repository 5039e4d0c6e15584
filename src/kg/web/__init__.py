"""The endpoint's blueprints (``sparql``: the protocol; ``linked``: IRIs, ontology, VoID)
and the helpers they share to turn core answers into responses."""

from __future__ import annotations

from typing import Iterable

from flask import Response, request
from pyoxigraph import Triple, serialize

from ..engine import Answer
from ..errors import UsageError
from ..formats import ResultKind, negotiate
from ..describe import SD, VOID
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


def query_response(engine, text: str, **options) -> Response:
    """The answer to a query, or 304 Not Modified when the client's ``If-None-Match``
    names the answer the query would give now (the query is not run again)."""
    tag = engine.tag(text, **options) if request.if_none_match else None
    if tag and request.if_none_match.contains(tag):
        return _not_modified(tag, engine.dataset_version)
    answer = engine.query(text, **options)
    if request.if_none_match.contains(answer.tag):  # computed again, and still the same
        answer.close()
        return _not_modified(answer.tag, answer.version)
    return stream_answer(answer)


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
