"""A deterministic generator of synthetic data in the project's own shape, for benchmarks.

    PYTHONPATH=src python bench/generate.py 100k          # or 10k, 1M, or a number
    PYTHONPATH=src python bench/generate.py 1M --out /tmp/kg-bench

It writes ``bench/data/<size>/`` (git-ignored):

* ``bundle/`` — a bundle folder for ``kg serve --bundle-dir``: the project's ontology and
  data (links to the real files) plus ``data/80-synthetic.ttl``;
* ``dataset.nq`` — the whole dataset as ``kg`` holds it once opened on that bundle (every
  named graph), the one file the other servers load, so that all serve the same quads.

The synthetic part imitates more fact sheets of the series, each about another set of
countries: a place tree (regions, countries, provinces, cities, with ``fip:partOf`` and
Wikidata links) shared by all sheets, and per sheet a ministry with sub-organisation chains
four levels deep, foreign partners, posts, cooperation links with domains, types, places,
dates and quantities, dated events (seizures, training courses), source sentences with text,
and reified hierarchy assertions with their provenance. Terms come from the ontology and its
vocabularies (thematic domains, cooperation types, roles, hedges), so the competency
questions and the shapes apply. The same size and seed always give the same bytes.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
SHEET_TRIPLES = 3_300  # what one synthetic sheet adds, places and inferred triples included

DOMAINS = """security-cooperation transnational-organised-crime cybercrime child-protection
drug-trafficking arms-trafficking environmental-crime illegal-fishing waste-trafficking
public-health-crime terrorism money-laundering maritime-safety maritime-security
search-and-rescue navigation-surveillance pollution-response civil-protection
forest-fire-management internal-security defence peacekeeping transport-safety
francophonie""".split()
COOPTYPES = """training expert-secondment expert-mission technical-assistance
logistical-assistance equipment-supply funding information-sharing joint-operation
operational-coordination institutional-support capacity-building""".split()
ROLES = """internal-security-attache customs-attache regional-cybercrime-advisor
maritime-safety-advisor civil-protection-advisor technical-expert liaison-officer cooperant
development-worker police-officer""".split()
HEDGES = "exact lower-bound approximate".split()
ORG_TYPES = ["SecurityForce", "GovernmentAgency", "School", "RescueCoordinationCentre",
             "InformationFusionCentre", "RegionalOrganization"]
UNIT_TYPES = ["Directorate", "CentralOffice", "Detachment"]
GOODS = ["heroin", "methamphetamine", "cocaine", "cannabis", "ivory", "timber", "waste"]
WORDS = """France cooperation security police maritime training officers regional centre
support network crime drugs trafficking fisheries rescue coast guard navy customs
cybercrime environment piracy forest fire civil protection experts seconded agreement
signed ministry directorate office school participants course surveillance information
sharing port airport seizure tonnes heroin partners island ocean sea capacity building
operation joint command coordination advisor attaché embassy""".split()


class Sheet:
    """Writes one synthetic fact sheet's entities as Turtle blocks."""

    def __init__(self, number: int, rng: random.Random, places: list[str],
                 countries: list[str], out) -> None:
        self.n, self.rng, self.places, self.countries, self.out = (
            number, rng, places, countries, out)
        self.p = f"x{number}"  # slug prefix of the sheet's entities
        self.sentences: list[str] = []
        self.orgs: list[str] = []

    def block(self, subject: str, *lines: str) -> None:
        self.out.write(f"fipid:{subject} " + " ;\n    ".join(lines) + " .\n\n")

    def pick(self, items, k: int = 1) -> list:
        return self.rng.sample(items, k)

    def iris(self, items) -> str:
        return " , ".join(f"fipid:{item}" for item in items)

    def write(self) -> None:
        self.document()
        self.organisations()
        self.posts_and_links()
        self.events()
        self.assertions()

    def document(self) -> None:
        rng, p = self.rng, self.p
        self.block(f"fact-sheet-{p}", "a fip:FactSheet",
                   f'dcterms:title "Synthetic fact sheet {self.n}"@en , '
                   f'"Fiche synthétique {self.n}"@fr',
                   f'rdfs:label "Fact sheet {p}"@en', f"schema:position {100 + self.n}",
                   "schema:isPartOf fipid:fip-series", "prov:wasDerivedFrom fipid:fs5-s001")
        sections = [f"{p}-section-{i}" for i in range(1, 6)]
        for i, section in enumerate(sections, 1):
            self.block(section, "a fip:Section", f'rdfs:label "Section {i} of sheet {p}"@en',
                       f"schema:position {i}", f"dcterms:isPartOf fipid:fact-sheet-{p}")
        for i in range(1, 41):
            words = rng.choices(WORDS, k=rng.randint(8, 20))
            text = " ".join(words).capitalize() + f" (sheet {self.n}, sentence {i})."
            sentence = f"{p}-s{i:03d}"
            self.sentences.append(sentence)
            self.block(sentence, "a fip:SourceSentence", f'rdf:value "{text}"@en',
                       f"schema:position {i}", f"fip:inSection fipid:{sections[(i - 1) // 8]}",
                       f"dcterms:isPartOf fipid:fact-sheet-{p}")

    def organisation(self, slug: str, kind: str, label: str, *extra: str) -> None:
        rng = self.rng
        lines = [f"a fip:{kind} , prov:Agent", f'rdfs:label "{label}"@en , "{label} (fr)"@fr',
                 f'skos:altLabel "{slug.upper().replace("-", "")[:8]}"',
                 f"fip:basedIn fipid:{rng.choice(self.places)}",
                 f"fip:thematicDomain {self.iris('domain-' + d for d in self.pick(DOMAINS, 2))}",
                 f"fip:mentionedIn {self.iris(self.pick(self.sentences, 2))}", *extra]
        if rng.random() < 0.3:
            lines.append(f"owl:sameAs <http://www.wikidata.org/entity/Q{rng.randint(10**6, 10**8)}>")
        self.orgs.append(slug)
        self.block(slug, *lines)

    def organisations(self) -> None:
        p = self.p
        ministry = f"{p}-ministry"
        self.organisation(ministry, "Ministry", f"Ministry of security, sheet {self.n}")
        for d in range(1, 3):
            directorate = f"{p}-directorate-{d}"
            self.organisation(directorate, "Directorate", f"Directorate {d} of sheet {self.n}",
                              f"org:unitOf fipid:{ministry}")
            for o in range(1, 4):
                office = f"{directorate}-office-{o}"
                self.organisation(office, "CentralOffice", f"Office {d}.{o}, sheet {self.n}",
                                  f"org:subOrganizationOf fipid:{directorate}")
                for u in range(1, 3):
                    self.organisation(f"{office}-unit-{u}", "Detachment",
                                      f"Unit {d}.{o}.{u}, sheet {self.n}",
                                      f"org:subOrganizationOf fipid:{office}")
        for f in range(1, 11):
            country = self.rng.choice(self.countries)
            self.organisation(f"{p}-partner-{f}", self.rng.choice(ORG_TYPES),
                              f"Partner {f} in {country}, sheet {self.n}")

    def quantity(self, slug: str, of: str) -> str:
        rng = self.rng
        hedge = rng.choice(HEDGES)
        value = rng.randint(1, 5000)
        kind = "schema:minValue" if hedge == "lower-bound" else "schema:value"
        self.block(slug, "a schema:QuantitativeValue", f'rdfs:label "about {value} {of}"@en',
                   f"{kind} {value}", f"fip:hedge fipid:hedge-{hedge}",
                   f'schema:unitCode "{rng.choice(["KGM", "TNE", "C62"])}"',
                   f"prov:wasDerivedFrom fipid:{rng.choice(self.sentences)}")
        return slug

    def posts_and_links(self) -> None:
        rng, p = self.rng, self.p
        posts = []
        for i in range(1, 16):
            post = f"{p}-post-{i}"
            posts.append(post)
            self.block(post, "a org:Post", f'rdfs:label "Post {i} of sheet {self.n}"@en',
                       f"org:postIn fipid:{rng.choice(self.orgs)}",
                       f"org:role fipid:role-{rng.choice(ROLES)}",
                       "fip:holderNationality fipid:france",
                       f"fip:secondedBy fipid:{rng.choice(self.orgs[:27])}",
                       f"fip:basedIn fipid:{rng.choice(self.places)}",
                       f"fip:thematicDomain fipid:domain-{rng.choice(DOMAINS)}",
                       f"prov:wasDerivedFrom fipid:{rng.choice(self.sentences)}")
        for i in range(1, 61):
            link = f"{p}-coop-{i}"
            lines = ["a fip:CooperationLink",
                     f'rdfs:label "Cooperation link {i} of sheet {self.n}"@en',
                     f"fip:provider fipid:{rng.choice(self.orgs[:27])}",
                     f"fip:beneficiary fipid:{rng.choice(self.orgs[27:] + self.countries)}",
                     f"fip:thematicDomain {self.iris('domain-' + d for d in self.pick(DOMAINS, 2))}",
                     f"fip:cooperationType fipid:cooptype-{rng.choice(COOPTYPES)}",
                     f"prov:atLocation fipid:{rng.choice(self.places)}",
                     f'dcterms:date "{rng.randint(1995, 2024)}-{rng.randint(1, 12):02d}"'
                     "^^xsd:gYearMonth",
                     f"prov:wasDerivedFrom fipid:{rng.choice(self.sentences)}"]
            if rng.random() < 0.5:
                lines.append(f"fip:partner fipid:{rng.choice(self.orgs)}")
            if rng.random() < 0.3:
                lines.append(f"fip:involvesPost fipid:{rng.choice(posts)}")
            if rng.random() < 0.25:
                lines.append("fip:quantity fipid:"
                             + self.quantity(f"{p}-qty-coop-{i}", "participants"))
            self.block(link, *lines)

    def events(self) -> None:
        rng, p = self.rng, self.p
        for i in range(1, 21):
            event = f"{p}-event-{i}"
            kind = rng.choice(["Seizure", "TrainingCourse"])
            of = rng.choice(GOODS) if kind == "Seizure" else "trainees"
            date = f"{rng.randint(1995, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            self.block(event, f"a fip:{kind}", f'rdfs:label "{kind} {i} of sheet {self.n}: {of}"@en',
                       f"prov:wasAssociatedWith fipid:{rng.choice(self.orgs)}",
                       f"fip:thematicDomain fipid:domain-{rng.choice(DOMAINS)}",
                       f'dcterms:date "{date}"^^xsd:date',
                       f"prov:atLocation fipid:{rng.choice(self.places)}",
                       "fip:quantity fipid:" + self.quantity(f"{p}-qty-event-{i}", of),
                       f"prov:wasDerivedFrom fipid:{rng.choice(self.sentences)}")

    def assertions(self) -> None:
        for i, org in enumerate(self.orgs[1:11], 1):
            parent = self.orgs[0] if "-office-" not in org else org.rsplit("-office-", 1)[0]
            predicate = "org:unitOf" if parent == self.orgs[0] else "org:subOrganizationOf"
            self.block(f"{self.p}-assertion-{i}", "a fip:Assertion",
                       f"rdf:subject fipid:{org}", f"rdf:predicate {predicate}",
                       f"rdf:object fipid:{parent}",
                       f"prov:wasDerivedFrom fipid:{self.rng.choice(self.sentences)}")


def places(rng: random.Random, sheets: int, out) -> tuple[list[str], list[str]]:
    """The shared place tree: regions > countries > provinces > cities (all part-of)."""
    names, countries = [], []

    def place(slug: str, kind: str, label: str, parent: str, wikidata: bool) -> None:
        lines = [f"a fip:{kind}", f'rdfs:label "{label}"@en , "{label} (fr)"@fr',
                 f'skos:prefLabel "{label}"@en', f"fip:partOf fipid:{parent}"]
        if wikidata:
            lines.append(f"owl:sameAs <http://www.wikidata.org/entity/Q{rng.randint(10**4, 10**7)}>")
        out.write(f"fipid:{slug} " + " ;\n    ".join(lines) + " .\n\n")
        names.append(slug)

    for r in range(1, 9):
        place(f"xregion-{r}", "Region", f"Synthetic region {r}", "indo-pacific", True)
        for c in range(1, 4 + sheets // 8):
            country = f"xcountry-{r}-{c}"
            place(country, "Country", f"Country {r}.{c}", f"xregion-{r}", True)
            countries.append(country)
            for v in range(1, 4):
                province = f"{country}-province-{v}"
                place(province, "AdministrativeArea", f"Province {r}.{c}.{v}", country, False)
                for t in range(1, 4):
                    place(f"{province}-city-{t}", "City", f"City {r}.{c}.{v}.{t}", province,
                          rng.random() < 0.2)
    return names, countries


PREFIXES = """@prefix rdf:     <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix owl:     <http://www.w3.org/2002/07/owl#> .
@prefix rdfs:    <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd:     <http://www.w3.org/2001/XMLSchema#> .
@prefix skos:    <http://www.w3.org/2004/02/skos/core#> .
@prefix org:     <http://www.w3.org/ns/org#> .
@prefix prov:    <http://www.w3.org/ns/prov#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix schema:  <http://schema.org/> .
@prefix fip:     <https://w3id.org/fr-indopacific/ontology#> .
@prefix fipid:   <https://w3id.org/fr-indopacific/id/> .

"""


def synthetic(target: int, bundled: int, out, seed: int = 8) -> int:
    """Write enough synthetic sheets to bring ``bundled`` triples to about ``target``."""
    rng = random.Random(seed)
    sheets = max(1, round((target - bundled) / SHEET_TRIPLES))
    out.write(f"# Synthetic data for benchmarks: {sheets} sheets (bench/generate.py, seed {seed}).\n\n")
    out.write(PREFIXES)
    tree, countries = places(rng, sheets, out)
    for number in range(1, sheets + 1):
        Sheet(number, rng, tree, countries, out).write()
    return sheets


def _link_bundle(bundle: Path) -> None:
    (bundle / "data").mkdir(parents=True, exist_ok=True)
    for name in ("ontology", "data/wikidata", "data/curation"):
        target = bundle / name
        if not target.exists():
            target.symlink_to(REPO / name, target_is_directory=True)
    for path in sorted((REPO / "data").glob("*.ttl")):
        target = bundle / "data" / path.name
        if not target.exists():
            target.symlink_to(path)


def generate(size: str, out_dir: Path, seed: int = 8) -> Path:
    """Write the bundle and ``dataset.nq`` for ``size``; return the folder."""
    from pyoxigraph import RdfFormat

    from kg import Config, KnowledgeGraph

    target = SIZES.get(size.lower()) or int(size)
    folder = out_dir / size.lower()
    bundle = folder / "bundle"
    _link_bundle(bundle)
    bundled = len(KnowledgeGraph.open(Config.load({}, environ={})))  # inferred included
    with open(bundle / "data" / "80-synthetic.ttl", "w", encoding="utf-8") as out:
        sheets = synthetic(target, bundled, out, seed)
    started = time.perf_counter()
    kg = KnowledgeGraph.open(Config.load({"bundle_dir": bundle}, environ={}))
    with open(folder / "dataset.nq", "wb") as out:
        kg.store.dump(out, RdfFormat.N_QUADS)
    print(f"{folder}: {sheets} synthetic sheets, {len(kg)} quads "
          f"(opened and dumped in {time.perf_counter() - started:.1f} s)", file=sys.stderr)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("size", help="10k, 100k, 1M or a number of triples")
    parser.add_argument("--out", type=Path, default=HERE / "data",
                        help="parent folder (default bench/data)")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    os.environ.pop("KG_BUNDLE_DIR", None)
    generate(args.size, args.out, args.seed)


if __name__ == "__main__":
    main()
