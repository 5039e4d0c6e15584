"""SPARQL, the query language, on the floor below the store: the checks a query passes
first (guard, SERVICE policy, pinned addresses and the relay), a query as one request
object, execution on an Oxigraph store, result formats (with the one content-negotiation
function), serialised answers, and SPARQL 1.1 Update as a delta. Who runs queries, where and
under which deadline is the engine's business (:mod:`kg.engine`)."""
