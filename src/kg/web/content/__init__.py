"""What the pages, the service's descriptions of itself and the reconciliation service show,
gathered with SPARQL through a :class:`~kg.web.content.reader.Reader` (no Flask, no HTML
here): entity views, ontology documentation, the map, the example
queries, the service description and VoID, and reconciliation of names against the graph."""
