"""The map of the cooperation: which places, where, coloured by the fact sheet's headings.

The fact sheet's own map colours its marks by the five headings of its legend (DCSD,
domestic security, civil security, maritime security, environmental crime), which are also
the sections of its text. A place here takes the headings of the cooperation links it hosts
or benefits from, counted through the section of the sentence each link is derived from;
links it provides (France's own) do not colour it. Places inside a country colour the
country too. Every city the sheet names is on the map as well: one that neither hosts nor
benefits from a link takes the headings of the activities (links and missions) located at
it, whoever carries them out (so Papeete and Saint-Denis show the mission of the OCLAESP
detachments there, which the sheet's own legend lists under Environmental crime).

Geometry comes from the graph and a static file, never from a tile server:

* a country's shape: its ISO 3166-1 alpha-2 code (Wikidata ``wdt:P297``, on the place or on
  its ``owl:sameAs`` item in the Wikidata snapshot graph) names a shape of Natural Earth
  (``static/vendor/countries.json``, built by ``web-assets/``);
* a point: its coordinates (``wdt:P625``, a WKT ``Point(lon lat)``), projected here with the
  same Natural Earth I projection as the shapes.

A place with neither says why (:attr:`Place.unplaced`), and the page lists it under the map.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pyoxigraph import NamedNode

from ...namespaces import PREFIXES
from .reader import Reader

#: The shapes file built by web-assets/build.mjs.
SHAPES = Path(__file__).parents[1] / "static" / "vendor" / "countries.json"

#: The fact sheet's headings, in its order: the slug after ``fs5-section-`` and ``legend-``.
HEADINGS = ("dcsd", "domestic-security", "civil-security", "maritime-security",
            "environmental-crime")

_POINT = re.compile(r"^\s*(?:<[^>]*>\s*)?POINT\s*\(\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)\s*\)\s*$",
                    re.IGNORECASE)


@dataclass(frozen=True)
class Place:
    """A place of the map: where it is drawn and which headings colour it."""

    iri: str
    label: str
    kind: str  #: "country", "territory", "city", "island", … (the local name of its class)
    iso: str | None
    x: float | None
    y: float | None
    headings: dict[str, int]  #: heading -> number of cooperation links (of activities, for a
    #: city that hosts and receives none)
    unplaced: str | None = None  #: why the map cannot draw it (None: it is drawn)

    @property
    def heading(self) -> str:
        """The heading with the most links (ties: the fact sheet's order); "none" without links."""
        if not any(self.headings.values()):
            return "none"
        return max(HEADINGS, key=lambda h: (self.headings.get(h, 0), -HEADINGS.index(h)))

    def as_json(self) -> dict:
        """The place as the map's script reads it."""
        return {"iri": self.iri, "label": self.label, "kind": self.kind, "iso": self.iso,
                "x": self.x, "y": self.y, "headings": self.headings, "heading": self.heading,
                "unplaced": self.unplaced}


@lru_cache(maxsize=1)
def _shapes() -> dict:
    with SHAPES.open(encoding="utf-8") as stream:
        return json.load(stream)


def projection() -> dict:
    """The projection parameters the shapes were drawn with (from the shapes file)."""
    data = _shapes()
    return {**data["projection"], "width": data["width"], "height": data["height"],
            "checks": data["checks"]}


def has_shape(iso: str | None) -> bool:
    """Whether the shapes file draws the country of this ISO 3166-1 alpha-2 code."""
    return iso is not None and iso in _shapes()["countries"]


def project(lon: float, lat: float) -> tuple[float, float] | None:
    """Map coordinates of a point in degrees, as d3-geo's ``geoNaturalEarth1`` draws them;
    None outside the frame of the map.

    >>> [round(v) for v in project(106.9, 47.9)]   # Ulaanbaatar
    [433, 54]
    """
    p = projection()
    lam = math.radians(((lon + p["rotate"] + 180) % 360) - 180)
    phi = math.radians(lat)
    phi2 = phi * phi
    phi4 = phi2 * phi2
    x = lam * (0.8707 - 0.131979 * phi2 + phi4 * (-0.013791 + phi4 * (
        0.003971 * phi2 - 0.001529 * phi4)))
    y = phi * (1.007226 + phi2 * (0.015085 + phi4 * (-0.044475 + 0.028874 * phi2
                                                      - 0.005916 * phi4)))
    x, y = p["translate"][0] + p["scale"] * x, p["translate"][1] - p["scale"] * y
    if not (0 <= x <= p["width"] and 0 <= y <= p["height"]):
        return None
    return round(x, 2), round(y, 2)


def parse_point(wkt: str) -> tuple[float, float] | None:
    """(lon, lat) of a WKT point literal, as Wikidata writes P625; None if it is not one.

    >>> parse_point("Point(106.917 47.9167)")
    (106.917, 47.9167)
    >>> parse_point("<http://www.opengis.net/def/crs/OGC/1.3/CRS84> POINT(2 48)")
    (2.0, 48.0)
    """
    match = _POINT.match(wkt)
    if not match:
        return None
    lon, lat = float(match[1]), float(match[2])
    return (lon, lat) if -180 <= lon <= 360 and -90 <= lat <= 90 else None


_PLACES = """SELECT ?place ?section (COUNT(DISTINCT ?link) AS ?links) WHERE {
  ?link a fip:CooperationLink ;
        prov:wasDerivedFrom/fip:inSection ?section ;
        (fip:beneficiary|fip:partner|prov:atLocation|fip:covers)/fip:basedIn?/fip:partOf* ?place .
  ?place a ?class .
  FILTER(?class IN (schema:Country, fip:OverseasTerritory, schema:City, fip:Island, fip:Facility))
  FILTER NOT EXISTS { ?link fip:provider/fip:basedIn? ?place }
} GROUP BY ?place ?section"""

# every city the sheet names, with the activities (links, missions) located at it, whoever
# carries them out
_CITIES = """SELECT ?place ?section (COUNT(DISTINCT ?link) AS ?links) WHERE {
  ?place a schema:City ; fip:mentionedIn ?sentence .
  OPTIONAL { ?link a prov:Activity ;
                   prov:wasDerivedFrom/fip:inSection ?section ;
                   (prov:atLocation|fip:provider/fip:basedIn) ?place }
} GROUP BY ?place ?section"""

_WHERE = """SELECT ?place (SAMPLE(?name) AS ?label) (SAMPLE(?type) AS ?class)
       (SAMPLE(?code) AS ?iso) (SAMPLE(?point) AS ?coordinates) (SAMPLE(?same) AS ?item) WHERE {
  VALUES ?place { %s }
  OPTIONAL { ?place rdfs:label ?name FILTER(LANG(?name) = "en") }
  OPTIONAL { ?place a ?type FILTER(?type IN (schema:Country, fip:OverseasTerritory,
             schema:City, fip:Island, fip:Facility)) }
  OPTIONAL { ?place (owl:sameAs?)/wdt:P297 ?code }
  OPTIONAL { ?place (owl:sameAs?)/wdt:P625 ?point }
  OPTIONAL { ?place owl:sameAs ?same FILTER(STRSTARTS(STR(?same), STR(wd:))) }
} GROUP BY ?place"""


def places(kg: Reader) -> list[Place]:
    """Every place that hosts or benefits from a cooperation link, and every city the sheet
    names, with its headings and, for a place the map cannot draw, the reason."""
    counts = _headings(kg, _PLACES)
    for city, found in _headings(kg, _CITIES, every_place=True).items():
        counts.setdefault(city, found)
    if not counts:
        return []
    values = " ".join(f"<{iri}>" for iri in sorted(counts))
    found = []
    for row in kg.query(_WHERE % values).solutions:
        iri = row["place"].value
        point = parse_point(row["coordinates"].value) if row["coordinates"] is not None else None
        xy = project(*point) if point else None
        kind = row["class"].value.rsplit("#", 1)[-1].rsplit("/", 1)[-1] \
            if isinstance(row["class"], NamedNode) else "Place"
        iso = row["iso"].value.upper() if row["iso"] is not None else None
        item = row["item"].value[len(PREFIXES["wd"]):] if row["item"] is not None else None
        found.append(Place(
            iri, row["label"].value if row["label"] is not None else iri.rsplit("/", 1)[-1],
            kind, iso, xy[0] if xy else None, xy[1] if xy else None, counts[iri],
            None if xy or has_shape(iso) else _unplaced(item, point, iso)))
    found.sort(key=lambda place: place.label.lower())
    return found


def _headings(kg: Reader, query: str, *,
              every_place: bool = False) -> dict[str, dict[str, int]]:
    # place -> heading -> links, from a query of (?place ?section ?links) rows; a place none
    # of whose links is under a heading is kept (with no heading) only if ``every_place``
    counts: dict[str, dict[str, int]] = {}
    for row in kg.query(query).solutions:
        found = counts.setdefault(row["place"].value, {})
        if row["section"] is None:
            continue
        heading = row["section"].value.rsplit("fs5-section-", 1)[-1]
        if heading in HEADINGS:
            found[heading] = int(row["links"].value)
    return {place: found for place, found in counts.items() if found or every_place}


def _unplaced(item: str | None, point, iso: str | None) -> str:
    # why a place has neither a drawable point nor a country shape, in the page's words
    if point:
        return "its coordinates lie outside the frame of the map"
    if iso:
        return f"the shapes file has no country with the code {iso}"
    if item is None:
        return ("not linked to Wikidata: no stored source pairs it with an item yet "
                "(docs/wikidata-evidence.md), so the offline snapshot has no coordinates for it")
    return (f"linked to {item}, but the offline snapshot has no coordinates for that item "
            "yet (`kg link --refresh` fetches them)")


def headings(kg: Reader) -> list[tuple[str, str]]:
    """(heading, label) in the fact sheet's order, labelled by the map legend's groups."""
    rows = kg.query("SELECT ?group ?label { ?group a fip:LegendGroup ; skos:prefLabel ?label "
                    "FILTER(LANG(?label) = 'en') }").solutions
    labels = {row["group"].value.rsplit("legend-", 1)[-1]: row["label"].value for row in rows}
    return [(heading, labels.get(heading, heading.replace("-", " ").capitalize()))
            for heading in HEADINGS]
