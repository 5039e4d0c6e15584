"""SPARQL: execution and result formats (with the one content-negotiation function), the
checks a query passes first, the worker pool that runs queries under deadlines, the answer
cache, federation, the endpoint's descriptions of itself, and SPARQL 1.1 Update."""
