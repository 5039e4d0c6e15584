"""The endpoint's blueprints (``sparql``: the protocol; ``linked``: IRIs, ontology, VoID)
and the helpers they share to turn core answers into responses."""

from __future__ import annotations

from typing import Iterable

from flask import Response
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


def stream_answer(answer: Answer) -> Response:
    """Stream a complete answer, in chunks, with its length and media type."""
    response = Response(answer.chunks(), content_type=_content_type(answer.format.media_type))
    response.headers["Content-Length"] = str(answer.size)
    response.headers["Vary"] = "Accept"
    response.call_on_close(answer.close)  # also when the client leaves before the end
    return response


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
