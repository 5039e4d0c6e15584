"""Validation: SHACL over the whole graph, incremental validation of a change (its scope and
RDFS entailment), lint warnings, and reports in words or as the standard report."""
