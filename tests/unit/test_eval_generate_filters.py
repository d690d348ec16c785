"""Generated test sets: the filters an item passes and the writer's prompt and reply."""

from __future__ import annotations

import pytest

from core.domain import Hit
from core.prompt import ABSTAIN_TEXT
from evaluation.generate.filters import (
    NearDuplicates,
    declines,
    index_words,
    names,
    names_passage,
    round_trip_matches,
    span_found,
    swapped,
)
from evaluation.generate.prompts import ANSWERABLE_REMINDER, parse_reply, task_prompt
from tests.fakes import HashingEmbedder, make_chunk


def test_the_span_is_found_normalised_and_on_word_boundaries() -> None:
    text = "The office anchor days are Tuesday and Thursday; claims up to 400 EUR."
    assert span_found("tuesday and thursday.", text)
    assert span_found("the Office Anchor days", text)
    assert not span_found("40 EUR", text)  # inside 400
    assert not span_found("Wednesday", text)
    assert not span_found("", text)


@pytest.mark.parametrize(
    "question",
    [
        "According to the text, which days are anchor days?",
        "What does the passage say about laptops?",
        "Based on the provided document, who approves travel?",
        "In this document, what is the VPN client?",
        "When does this policy take effect?",
        "Who is responsible for reviewing this document?",
        "Where can employees find information about this handbook?",
    ],
)
def test_questions_that_name_their_passage_are_caught(question: str) -> None:
    assert names_passage(question)


def test_standalone_questions_pass() -> None:
    assert not names_passage("Which days are the office anchor days at Corvala?")
    assert not names_passage("What does the travel policy allow for meals per day?")
    assert not names_passage("How many days of leave can I carry over this year?")
    assert not names_passage("When does the information security policy take effect?")


def test_the_round_trip_accepts_the_gold_in_a_sentence_and_rejects_another_fact() -> None:
    assert round_trip_matches("The anchor days are Tuesday and Thursday.", "Tuesday and Thursday")
    assert round_trip_matches("Tuesday, Thursday", "Tuesday and Thursday")
    assert not round_trip_matches("Monday", "Tuesday and Thursday")


def test_near_duplicates_are_dropped_by_embedding_and_by_words() -> None:
    embedder = HashingEmbedder(dim=64)
    kept = NearDuplicates(embedder)
    assert kept.admit("Which days are the office anchor days?")
    assert not kept.admit("which days are the office anchor days")  # same words
    assert kept.admit("How much was the Series B round?")
    words_only = NearDuplicates(None)
    assert words_only.admit("Who approves travel?") and not words_only.admit("travel approves who")


def test_the_writing_prompt_has_the_passage_and_no_worked_answers() -> None:
    chunk = make_chunk("The office anchor days are Tuesday and Thursday.")
    messages = task_prompt(Hit(chunk, 1.0)).messages(examples=2)
    assert [m.role for m in messages] == ["system", "user"]  # no worked answering exchange
    assert "Tuesday and Thursday" in messages[1].content
    assert messages[1].content.endswith(ANSWERABLE_REMINDER)


def test_replies_are_parsed_and_bad_ones_refused() -> None:
    got = parse_reply(
        '**Question:** Which days are anchor days?\n**Answer:** "Tuesday and Thursday [1]."', answerable=True
    )
    assert got is not None and (got.question, got.answer) == (
        "Which days are anchor days?",
        "Tuesday and Thursday",
    )
    assert parse_reply("Question: Which days?", answerable=True) is None  # no answer line
    assert parse_reply("Answer: Tuesday", answerable=True) is None
    assert parse_reply("Question: " + "x" * 400 + "\nAnswer: y", answerable=True) is None
    sentence = "The new building has 12 car parking spaces in the basement, including 2 with EV chargers"
    assert parse_reply(f"Question: How many parking spaces?\nAnswer: {sentence}", answerable=True) is None
    unanswerable = parse_reply("Question: Who owns the Leeds office lease?", answerable=False)
    assert unanswerable is not None and unanswerable.answer is None


def test_a_rewrite_counts_as_swapped_only_when_it_drops_a_name_for_one_no_passage_has() -> None:
    words = index_words(
        ["The Leeds office is at 21 Whitehall Quay.", "Tickets: 2,431 in Q1 2025 at Corvala's."]
    )
    assert names("How many tickets did Corvala's team get in Q1 2025?") == {"corvala", "q1", "2025"}
    original = "What is the address of the Leeds office?"
    assert swapped(original, "What is the address of the Manchester office?", words)
    assert not swapped(
        original, "What is the address of the Leeds office in Manchester?", words
    )  # added only
    assert not swapped("How many tickets in Q1 2025?", "How many tickets in Q1 2,431?", words)  # in a passage
    assert swapped("How many tickets in Q1 2025?", "How many tickets in Q3 2027?", words)


def test_an_abstention_in_the_models_own_words_counts_as_no_answer() -> None:
    assert declines(ABSTAIN_TEXT)
    assert declines("The CEO's salary is not mentioned in the documents.")  # measured, slm-large
    assert declines("The documents do not state when the course must be completed [1].")
    assert not declines("The probation period is 6 months in the UK [2].")
    assert not declines("It is not mentioned often, but the deadline is 30 days [1].")
