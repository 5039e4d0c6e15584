"""Wikidata linking: a polite SPARQL client, checking, suggesting and applying links, the
offline snapshot, SSSOM mapping tables, and the fuzzy name matching they share."""
