"""The one table of routes (kg.web.routes) says what the app serves: each entry is a route
of the app, every route of the app is under an entry, and the start-up log, the 404 answer
and the service description read it."""

from __future__ import annotations

import logging
import re

from kg.web.routes import ROUTES, SPARQL, paths, urls
from kg.web.server import build_app
from helpers import clean_config

#: Routes no client starts from: assets, and the form the validation page posts to.
_NOT_ENTRY_POINTS = {"/static/<filename>", "/favicon.ico", "/validate/form",
                     "/map.json", "/network.json"}


def _rules(app) -> dict[str, set[str]]:
    rules: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", rule.rule)  # <path:slug> as <slug>
        rules.setdefault(path, set()).update(rule.methods - {"HEAD", "OPTIONS"})
    return rules


def test_every_entry_of_the_table_is_a_route_with_its_methods(app):
    rules = _rules(app)
    for route in ROUTES:
        assert "/" + route.path in rules, route
        assert set(route.methods) - {"HEAD"} <= set().union(*(
            methods for path, methods in rules.items()
            if path == "/" + route.path or path.startswith("/" + route.path + "/"))), route


def test_every_route_of_the_app_is_under_an_entry_of_the_table(app):
    entries = {"/" + route.path for route in ROUTES}
    for path in set(_rules(app)) - _NOT_ENTRY_POINTS:
        assert path in entries or any(path.startswith(entry.rstrip("/") + "/")
                                      for entry in entries - {"/"}), path


def test_the_404_answer_lists_the_table(client):
    answer = client.get("/nowhere", headers={"Accept": "text/plain"})
    assert answer.status_code == 404 and paths() in answer.get_data(as_text=True)


def test_the_service_description_names_the_endpoint_of_the_table(client):
    answer = client.get("/sparql", headers={"Accept": "application/n-triples"})
    endpoint = clean_config().public_url + SPARQL.path
    assert f"<{endpoint}> <http://www.w3.org/ns/sparql-service-description#endpoint>" \
        in answer.get_data(as_text=True)


def test_the_start_up_log_lists_the_table(caplog):
    config = clean_config({"workers": 0, "port": 7999})
    with caplog.at_level(logging.INFO, logger="kg"):
        build_app(config)
    logged = [record.getMessage() for record in caplog.records]
    for url, what in urls(config):
        assert f"serving {url}  ({what})" in logged
