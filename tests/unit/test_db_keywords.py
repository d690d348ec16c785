"""The keyword analyzer shared by the stemmed index fields and the BM25 query."""

from __future__ import annotations

import threading

from fakes import make_chunk

from backends.weaviate.chunks import chunk_properties
from backends.weaviate.keywords import STEMMED_FIELDS, STOP_WORDS, query_terms, stem, stemmed_properties
from backends.weaviate.schema import PROPERTIES


def test_inflections_share_a_stem() -> None:
    assert stem("policies") == stem("policy") == stem("Policy") == "polici"
    assert stem("running runs") == "run run"
    assert stem("reimbursed") == stem("reimburse") == stem("reimbursing")


def test_words_are_lower_cased_split_on_punctuation_and_stop_words_dropped() -> None:
    assert stem("The VPN-client's settings, in 2025!") == "vpn client s set 2025"
    assert stem("this is it") == ""  # stemmed, "this" would become "thi" and escape the stop list
    assert "thi" not in stem("This policy").split()
    assert {"the", "this", "a", "with"} <= STOP_WORDS


def test_stemming_is_deterministic_across_threads() -> None:
    text = "Employees travelling abroad claim their expenses within thirty days"
    expected = stem(text)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(stem(text))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == [expected] * 4


def test_every_searchable_field_has_a_stemmed_property_in_the_schema_and_the_objects() -> None:
    names = {p.name for p in PROPERTIES}
    assert set(STEMMED_FIELDS) <= names and set(STEMMED_FIELDS.values()) <= names
    chunk = make_chunk(
        "Hotels are booked by the travel desk.",
        chunk_id="00000000-0000-0000-0000-000000000001",
        source="/c/p.md",
        root="/c",
        title="Travel Policies",
        section="Booking hotels",
    )
    props = chunk_properties(chunk)
    assert props["text"] == chunk.text and props["title"] == "Travel Policies"  # kept for display
    assert props["text_stemmed"] == "hotel book travel desk"
    assert props["title_stemmed"] == "travel polici" and props["section_stemmed"] == "book hotel"
    assert stemmed_properties({"text": "Policies", "source": "x"}) == {"text_stemmed": "polici"}


def test_a_question_searches_its_content_words_and_not_its_question_words() -> None:
    assert query_terms("Which days are the office anchor days?") == "day offic anchor day"
    assert query_terms("How do I reset my password?") == "reset password"
    # Names that look like question words in lower case stay: the US, May.
    assert query_terms("What is the US mileage rate in May?") == "us mileag rate may"
    # The indexed text keeps them: only queries lose them.
    assert stem("Which policy") == "which polici"
