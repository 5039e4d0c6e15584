"""Reasoning: the inferred graph, what the ontology entails over the data.

:mod:`kg.reasoning.reasoner` is owlrl and the rules it runs; :mod:`kg.reasoning.materialise`
keeps the inferred graph in the store, computed in full or followed write by write.
"""

from .materialise import (INFERRED, Outcome, asserted_graphs, closure, ensure, inferred_count,
                          is_asserted_graph, is_small, recompute, update)
from .reasoner import RULES

__all__ = ["INFERRED", "RULES", "Outcome", "asserted_graphs", "closure", "ensure",
           "inferred_count", "is_asserted_graph", "is_small", "recompute", "update"]
