"""Linked data through Flask's test client: entity IRIs, the ontology IRI, VoID."""

from __future__ import annotations

import pyoxigraph
import pytest
import rdflib


from test_web_protocol import parse_graph

FIP = "https://w3id.org/fr-indopacific/"
VOID = rdflib.Namespace("http://rdfs.org/ns/void#")


@pytest.fixture(scope="module")
def client(make_shared_app):
    app = make_shared_app(workers=1, timeout=20, base_url="https://kg.example.org/fip")
    return app.test_client()


@pytest.mark.parametrize("accept, rdf_format", [
    ("text/turtle", "turtle"), ("application/ld+json", "json-ld"),
    ("application/n-triples", "nt")])
def test_entity_dereferences(client, accept, rdf_format):
    response = client.get("/id/dcsd", headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == accept
    graph = parse_graph(response.data, accept or "text/turtle")
    dcsd = rdflib.URIRef(FIP + "id/dcsd")
    assert (dcsd, None, None) in graph  # outgoing
    assert (None, None, dcsd) in graph  # incoming
    neighbours = set(graph.objects(dcsd, None)) | set(graph.subjects(None, dcsd))
    labelled = {s for s in graph.subjects(rdflib.RDFS.label, None)}
    assert labelled & (neighbours - {dcsd})  # labels of the neighbours


def test_entity_tells_inferred_from_asserted_triples(client):
    """In TriG each triple comes in its named graph; inference=false leaves inferred out."""
    papeete = rdflib.URIRef(FIP + "id/oclaesp-papeete")
    gendarmerie = rdflib.URIRef(FIP + "id/french-gendarmerie")
    transitive = rdflib.URIRef("http://www.w3.org/ns/org#transitiveSubOrganizationOf")
    response = client.get("/id/oclaesp-papeete", headers={"Accept": "application/trig"})
    assert response.status_code == 200 and response.mimetype == "application/trig"
    quads = {(str(q.subject.value), str(q.predicate.value), str(q.object.value),
               q.graph_name.value)
             for q in pyoxigraph.parse(response.data, pyoxigraph.RdfFormat.TRIG)}
    assert {FIP + "graph/factsheet", FIP + "graph/inferred"} <= {q[3] for q in quads}
    assert (str(papeete), str(transitive), str(gendarmerie), FIP + "graph/inferred") in quads
    asserted = client.get("/id/oclaesp-papeete?inference=false",
                          headers={"Accept": "text/turtle"})
    assert asserted.headers["Content-Location"].endswith("?inference=false")
    graph = parse_graph(asserted.data, "text/turtle")
    assert (papeete, None, None) in graph and (papeete, transitive, None) not in graph
    union = parse_graph(client.get("/id/oclaesp-papeete").data, "text/turtle")
    assert (papeete, transitive, gendarmerie) in union


def test_public_base_path_is_served_too(client):
    assert client.get("/fip/id/dcsd").status_code == 200


def test_unknown_entity_is_a_helpful_404(client):
    response = client.get("/id/no-such-thing")
    assert response.status_code == 404
    assert b"no entity <https://w3id.org/fr-indopacific/id/no-such-thing>" in response.data
    assert b"https://kg.example.org/fip/sparql" in response.data


def test_entity_format_parameter_and_406(client):
    assert client.get("/id/dcsd?format=ntriples").mimetype == "application/n-triples"
    assert client.get("/id/dcsd", headers={"Accept": "image/png"}).status_code == 406


def test_ontology_iri(client):
    response = client.get("/ontology", headers={"Accept": "text/turtle"})
    graph = parse_graph(response.data, "text/turtle")
    assert (rdflib.URIRef(FIP + "ontology"), rdflib.RDF.type, rdflib.OWL.Ontology) in graph
    assert client.get("/ontology/0.1.0").status_code == 200


def test_void(client):
    response = client.get("/.well-known/void", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    graph = parse_graph(response.data, "text/turtle")
    dataset = rdflib.URIRef(FIP + "dataset")
    assert (dataset, rdflib.RDF.type, VOID.Dataset) in graph
    assert (dataset, VOID.sparqlEndpoint, rdflib.URIRef("https://kg.example.org/fip/sparql")) \
        in graph
    assert (dataset, rdflib.DCTERMS.license, None) in graph
    factsheet = rdflib.URIRef(FIP + "graph/factsheet")
    assert (dataset, VOID.subset, factsheet) in graph
    assert int(graph.value(factsheet, VOID.triples)) > 0
    assert any(True for _ in graph.objects(dataset, VOID.classPartition))
    assert any(True for _ in graph.objects(dataset, VOID.propertyPartition))
    inferred = rdflib.URIRef(FIP + "graph/inferred")
    assert (dataset, VOID.subset, inferred) in graph
    assert (inferred, rdflib.DCTERMS.conformsTo, None) in graph
    assert (inferred, rdflib.PROV.wasDerivedFrom, factsheet) in graph
    assert (factsheet, rdflib.PROV.wasDerivedFrom, None) not in graph
    assert "owl:sameAs is not applied" in str(graph.value(inferred, rdflib.DCTERMS.description))
    linksets = set(graph.subjects(rdflib.RDF.type, VOID.Linkset))
    assert {graph.value(link, VOID.linkPredicate) for link in linksets} == {rdflib.OWL.sameAs}
    assert client.get("/.well-known/void").headers["Access-Control-Allow-Origin"] == "*"
