"""Gated writes: the writer (every change a delta, validated, committed whole or not at
all) with its review queue and LOAD's fetch, who may write (tokens), and the change log
and review queue as RDF."""
