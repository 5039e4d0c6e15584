"""What the pages and the reconciliation service show, gathered from the store with SPARQL
(no Flask, no HTML here): entity views, ontology documentation, the map, the example
queries, and reconciliation of names against the graph."""
