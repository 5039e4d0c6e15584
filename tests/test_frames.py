"""QueryResult.to_dataframe and from_sparql_json: typed pandas columns, the same from the
engine and from SPARQL JSON results."""

from __future__ import annotations

import json

import pandas
import pytest

from kg.errors import UsageError
from kg.sparql.formats import JSON
from kg.sparql.frames import from_sparql_json

TYPED = """SELECT ?i ?d ?f ?b ?day ?moment ?year ?month ?iri ?text ?tagged ?wkt ?blank WHERE {
  VALUES (?i ?d ?f ?b ?day ?moment ?year ?month ?iri ?text ?tagged ?wkt) {
    (1 1.5 "2.5e0"^^xsd:double true "2020-01-02"^^xsd:date "2020-01-02T03:04:05Z"^^xsd:dateTime
     "2020"^^xsd:gYear "2023-05"^^xsd:gYearMonth fipid:mongolia "plain" "Mongolie"@fr
     "Point(1 2)"^^geo:wktLiteral)
    (UNDEF UNDEF UNDEF false UNDEF "2021-06-07T00:00:00+02:00"^^xsd:dateTime
     "2019"^^xsd:gYear UNDEF <http://example.org/elsewhere> UNDEF "Mongolia"@en UNDEF)
  }
  BIND(BNODE() AS ?blank)
}"""


@pytest.fixture(scope="module")
def typed(bundled):
    return bundled.query(TYPED).to_dataframe()


@pytest.mark.parametrize("column, dtype", [
    ("i", "Int64"), ("d", "Float64"), ("f", "Float64"), ("b", "boolean"),
    ("day", "datetime64[ns]"), ("moment", "datetime64[ns, UTC]"), ("year", "period[Y-DEC]"),
    ("month", "period[M]"), ("iri", "string"), ("text", "string"), ("tagged", "string"),
    ("wkt", "string"), ("blank", "string"),
])
def test_each_datatype_has_its_pandas_type(typed, column, dtype):
    actual = typed[column].dtype
    if dtype.startswith("datetime64"):  # the unit (ns, us) depends on the pandas version
        assert pandas.api.types.is_datetime64_any_dtype(actual)
        assert (getattr(actual, "tz", None) is not None) == ("UTC" in dtype)
    elif dtype == "string":
        assert pandas.api.types.is_string_dtype(actual)
    else:
        assert str(actual) == dtype


def test_values_and_missing_values(typed):
    first, second = typed.iloc[0], typed.iloc[1]
    assert first["i"] == 1 and pandas.isna(second["i"]) and first["d"] == 1.5
    assert bool(first["b"]) is True and bool(second["b"]) is False
    assert first["day"] == pandas.Timestamp("2020-01-02")
    assert second["moment"] == pandas.Timestamp("2021-06-06T22:00:00Z")
    assert first["year"] == pandas.Period("2020", freq="Y") and pandas.isna(second["month"])
    assert first["iri"] == "https://w3id.org/fr-indopacific/id/mongolia"
    assert second["iri"] == "http://example.org/elsewhere"
    assert first["tagged"] == "Mongolie" and first["wkt"] == "Point(1 2)"
    assert typed["blank"].str.startswith("_:").all()


def test_compact_names_on_request(bundled):
    frame = bundled.query(TYPED).to_dataframe(compact=True)
    # a prefix that fits gives a prefixed name; an IRI no prefix fits stays whole
    assert frame["iri"].tolist() == ["fipid:mongolia", "http://example.org/elsewhere"]


def test_language_tags_in_a_companion_column(bundled):
    frame = bundled.query(TYPED).to_dataframe(languages=True)
    assert frame["tagged_lang"].tolist() == ["fr", "en"]
    assert "text_lang" not in frame and "i_lang" not in frame  # only where there are tags
    assert "tagged_lang" not in bundled.query(TYPED).to_dataframe()


def test_a_lexical_form_that_is_not_valid_stays_text(bundled):
    frame = bundled.query('SELECT ?n WHERE { VALUES ?n { 1 "many"^^xsd:integer } }'
                          ).to_dataframe()
    assert frame["n"].tolist() == ["1", "many"]


def test_a_column_of_mixed_datatypes_is_text(bundled):
    frame = bundled.query('SELECT ?x WHERE { VALUES ?x { 1 "one" fipid:mongolia } }'
                          ).to_dataframe(compact=True)
    assert frame["x"].tolist() == ["1", "one", "fipid:mongolia"]


def test_the_fact_sheet_as_a_frame(bundled):
    # a happening's date is an xsd:date (its precision beside it, docs/modelling.md)
    frame = bundled.query("""SELECT ?link ?date WHERE { ?link a fip:CooperationLink ;
        dcterms:date ?date }""").to_dataframe(compact=True)
    assert str(frame["date"].dtype).startswith("datetime64")
    assert "fipid:event-france-joins-aseanapol" in frame["link"].tolist()
    assert frame.loc[frame["link"] == "fipid:event-france-joins-aseanapol",
                     "date"].iloc[0].year == 2019


def test_a_graph_gives_subject_predicate_object(bundled):
    frame = bundled.query("CONSTRUCT WHERE { fipid:mongolia rdfs:label ?l }").to_dataframe(
        compact=True, languages=True)
    assert list(frame.columns) == ["subject", "predicate", "object", "object_lang"]
    assert set(frame["predicate"]) == {"rdfs:label"} and "Mongolia" in frame["object"].tolist()


def test_ask_has_no_table(bundled):
    with pytest.raises(UsageError):
        bundled.query("ASK {}").to_dataframe()
    with pytest.raises(UsageError):
        from_sparql_json({"head": {}, "boolean": True})


def test_sparql_json_results_give_the_same_frame(bundled):
    # what a remote user gets through SPARQLWrapper equals what the engine gives here
    remote = from_sparql_json(json.loads(bundled.query(TYPED).serialize(JSON)),
                              compact=True, languages=True)
    local = bundled.query(TYPED).to_dataframe(compact=True, languages=True)
    # blank node labels differ from one evaluation to the next
    pandas.testing.assert_frame_equal(remote.drop(columns="blank"), local.drop(columns="blank"))
