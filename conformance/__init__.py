"""W3C SPARQL conformance harness: runs the W3C test suites through a SPARQL endpoint.

The suites (copied in ``../shared/w3c/``) are read from their manifests; every query
evaluation test loads its own dataset into a fresh endpoint, sends its query over the
SPARQL 1.1 Protocol and compares the answer with the expected results. The same run
drives Oxigraph's own server, so our endpoint's count can be compared with it.

Run ``python -m conformance --help`` for the command line.
"""
