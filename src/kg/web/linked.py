"""Linked data: the project's IRIs dereference here, and the VoID description.

A canonical IRI ``https://w3id.org/fr-indopacific/<path>`` is served at ``<base URL><path>``
(the ``base_url`` setting): ``/id/<slug>`` describes an entity (its triples both ways and
the labels of its neighbours; in TriG or N-Quads each triple comes in its named graph, so
inferred triples are told from asserted ones; ``inference=false`` leaves them out),
``/ontology`` answers with the ontology, and
``/.well-known/void`` describes the dataset (https://www.w3.org/TR/void/#well-known).
Turtle, JSON-LD, N-Triples… by content negotiation, ``format=`` overriding; browsers
(which prefer ``text/html``) get the web pages of :mod:`kg.web.pages`.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, request

from .extensions import get_config, get_engine, get_reader
from .content.describe import entity_quads_query, entity_query, ontology_query, void_description
from ..errors import NotFoundError
from ..sparql.formats import ResultKind
from ..namespaces import ID_NS, ONTOLOGY_IRI
from . import pages
from .shared import inference_parameter, rdf_response, stream_answer

bp = Blueprint("linked", __name__)

# the slugs the project mints (lowercase-with-hyphens), with room for other IRI-safe names
_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]*")


@bp.route("/id/<path:slug>")
def entity(slug: str) -> Response:
    """The description of the entity ``https://w3id.org/fr-indopacific/id/<slug>``."""
    iri = ID_NS + slug
    if not _SLUG.fullmatch(slug):
        raise _unknown(iri)
    if pages.wants_page(ResultKind.GRAPH, request.args.get("format")):
        return pages.entity_page(iri)
    inference = inference_parameter(request.args.get("inference"))
    answer = get_engine().query(entity_query(iri), accept=request.headers.get("Accept"),
                                format=request.args.get("format"), inference=inference,
                                quads_query=entity_quads_query(iri))
    if answer.rows == 0:
        answer.close()
        raise _unknown(iri)
    response = stream_answer(answer)
    response.headers["Content-Location"] = request.base_url + (
        "" if inference else "?inference=false")
    return response


@bp.route("/ontology")
@bp.route("/ontology/<version>")
def ontology(version: str | None = None) -> Response:
    """The ontology (its IRI and its version IRIs answer with the ontology graph); its
    documentation for browsers."""
    if pages.wants_page(ResultKind.GRAPH, request.args.get("format")):
        return pages.ontology_page()
    answer = get_engine().query(ontology_query(), accept=request.headers.get("Accept"),
                                format=request.args.get("format"))
    if answer.rows == 0:
        answer.close()
        raise NotFoundError(f"the ontology <{ONTOLOGY_IRI}> is not loaded in this store")
    return stream_answer(answer)


@bp.route("/.well-known/void")
def void() -> Response:
    """The VoID description of the dataset."""
    return rdf_response(void_description(get_reader(), get_config()),
                        request.headers.get("Accept"), request.args.get("format"))


def _unknown(iri: str) -> NotFoundError:
    base = get_config().public_url
    return NotFoundError(
        f"no entity <{iri}> in this knowledge graph. Entities are listed by "
        f"{base}sparql?query=SELECT+DISTINCT+%3Fe+%7B%3Fe+a+%3Fc+FILTER(STRSTARTS(STR(%3Fe)"
        f"%2C%22{ID_NS.replace(':', '%3A')}%22))%7D ; the dataset is described at "
        f"{base}.well-known/void")
