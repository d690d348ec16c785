"""Citations: marker parsing, verification against passages, attribution, abstention."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from fakes import make_chunk

from chat.citations import (
    CitationPolicy,
    best_snippet,
    cite,
    is_abstention,
    marker_numbers,
    split_sentences,
)
from chat.prompt import build_prompt
from chat.support import LexicalSupport, content_words, overlap_f1
from core.domain import Hit
from core.prompt import ABSTAIN_TEXT

PASSAGES = [
    (
        "Travel policy",
        "Meals",
        2,
        "Business travel is booked through the portal. Employees may "
        "claim up to 40 EUR per day for meals while travelling. Receipts are required.",
    ),
    (
        "IT handbook",
        "Laptops",
        None,
        "Laptops are replaced every four years. Phones are replaced every three years.",
    ),
    ("Office guide", "Parking", 5, "Visitors park in the north lot and sign in at reception."),
]


def blocks(passages=PASSAGES):
    hits = []
    for i, (title, section, page, text) in enumerate(passages):
        chunk = make_chunk(
            text,
            chunk_id=f"c{i}",
            source=f"/docs/{title}.pdf",
            title=title,
            doc_type="pdf",
            section=section,
            page=page,
            modified=datetime(2024, 1, 1, tzinfo=UTC),
            content_hash=f"h{i}",
        )
        hits.append(Hit(chunk=chunk, score=1.0))
    return build_prompt("q", hits).blocks


@pytest.mark.parametrize(
    ("marker", "numbers"),
    [
        ("[1]", (1,)),
        ("[1, 3]", (1, 3)),
        ("[1,2,2]", (1, 2)),
        ("[2-4]", (2, 3, 4)),
        ("[ 3 ; 1 ]", (3, 1)),
        ("[1 and 2]", (1, 2)),
        ("[2–3]", (2, 3)),
        ("[1-99999]", tuple(range(1, 22))),
    ],
)
def test_marker_numbers(marker: str, numbers: tuple[int, ...]) -> None:
    assert marker_numbers(marker) == numbers


def test_markers_after_the_full_stop_belong_to_the_sentence_before() -> None:
    text = "Meals are 40 EUR per day. [1][2] Laptops last four years [2]. Done"
    sentences = split_sentences(text)
    assert [s.numbers for s in sentences] == [(1, 2), (2,), ()]
    assert sentences[0].claim == "Meals are 40 EUR per day."
    assert sentences[1].claim == "Laptops last four years."
    assert "".join(text[s.start : s.end] for s in sentences) == text


def test_abbreviations_decimals_and_newlines() -> None:
    text = "See e.g. the portal for 2.5 days.\n- Receipts are required [1]\n- Ask HR"
    claims = [s.claim for s in split_sentences(text)]
    assert claims == ["See e.g. the portal for 2.5 days.", "- Receipts are required", "- Ask HR"]


def test_supported_markers_are_kept_with_their_best_snippet() -> None:
    answer = "You may claim up to 40 EUR per day for meals [1]. Laptops are replaced every four years [2]."
    result = cite(answer, blocks())
    assert result.text == answer and result.flagged_markers == () and not result.abstained
    assert [c.number for c in result.citations] == [1, 2]
    first = result.citations[0]
    assert first.snippet == ("Employees may claim up to 40 EUR per day for meals while travelling.")
    assert (first.title, first.section, first.page, first.source) == (
        "Travel policy",
        "Meals",
        2,
        "/docs/Travel policy.pdf",
    )
    assert first.support >= 0.5 and not first.attributed
    assert result.citations[1].snippet == "Laptops are replaced every four years."


def test_marker_to_a_missing_passage_is_dropped_and_flagged() -> None:
    result = cite("Meals are capped at 40 EUR per day [1][7].", blocks())
    assert result.text == "Meals are capped at 40 EUR per day [1]."
    assert result.flagged_markers == (7,)
    assert [c.number for c in result.citations] == [1]


def test_marker_to_a_passage_that_does_not_support_the_sentence_is_dropped() -> None:
    result = cite("The moon is made of cheese [3]. Visitors park in the north lot [3].", blocks())
    assert result.text == "The moon is made of cheese. Visitors park in the north lot [3]."
    assert result.flagged_markers == (3,)  # flagged where it failed, kept where it held
    assert [c.number for c in result.citations] == [3]


def test_a_wrong_marker_is_replaced_by_an_attributed_one_when_a_passage_supports() -> None:
    # what the small model does: copies "[2]" from the few-shot example
    result = cite("Up to 40 EUR per day [2].", blocks())
    assert result.text == "Up to 40 EUR per day [1]."
    assert result.flagged_markers == (2,)
    (citation,) = result.citations
    assert citation.number == 1 and citation.attributed


def test_grouped_marker_keeps_only_supporting_numbers() -> None:
    result = cite("Laptops are replaced every four years [1, 2].", blocks())
    assert result.text == "Laptops are replaced every four years [2]."
    assert result.flagged_markers == (1,)


def test_unmarked_answer_is_attributed_above_threshold_only() -> None:
    answer = "Laptops are replaced every four years. The moon is made of cheese. Sure."
    result = cite(answer, blocks())
    assert result.text == ("Laptops are replaced every four years [2]. The moon is made of cheese. Sure.")
    (only,) = result.citations
    assert only.number == 2 and only.attributed and only.support >= 0.6
    assert result.flagged_markers == ()


def test_attribution_picks_the_best_passage() -> None:
    result = cite("Phones are replaced every three years", blocks())
    assert result.text == "Phones are replaced every three years [2]"
    assert result.citations[0].snippet == "Phones are replaced every three years."


def test_marked_answers_are_not_attributed() -> None:
    # one sentence is marked, so the unmarked one is left alone (not guessed)
    result = cite("Meals are 40 EUR per day [1]. Laptops are replaced every four years.", blocks())
    assert [c.number for c in result.citations] == [1]
    assert not any(c.attributed for c in result.citations)


@pytest.mark.parametrize(
    "answer",
    [
        ABSTAIN_TEXT,
        f"{ABSTAIN_TEXT} [1]",
        "I don’t know based on the documents you can access",
        '"I don\'t know based on the documents you can access."',
        "I don't know.",
    ],
)
def test_abstention_gets_no_citations(answer: str) -> None:
    result = cite(answer, blocks())
    assert result.abstained and result.citations == () and result.text == ABSTAIN_TEXT
    assert is_abstention(answer)


def test_abstain_markers_are_reported() -> None:
    assert cite(f"{ABSTAIN_TEXT} [2]", blocks()).flagged_markers == (2,)


def test_non_abstentions() -> None:
    assert not is_abstention("I don't know why, but meals are 40 EUR [1].")
    assert not cite("Meals are 40 EUR per day.", blocks()).abstained


def test_empty_answer_and_no_passages() -> None:
    assert cite("", blocks()).citations == ()
    result = cite("Meals are 40 EUR per day [1].", [])
    assert result.flagged_markers == (1,) and result.text == "Meals are 40 EUR per day."
    assert cite("Meals are 40 EUR per day.", []).citations == ()


def test_lexical_support_is_recall_of_content_words() -> None:
    assert content_words("The laptops are Bob's, the bus is") == {"laptop", "bob", "bus"}
    scores = LexicalSupport().score(
        "laptops replaced four years", ["Laptops are replaced every four years.", "nothing"]
    )
    assert scores == [1.0, 0.0]
    assert LexicalSupport().score("the of and", ["the of and"]) == [0.0]
    assert overlap_f1("a b", "") == 0.0 and overlap_f1("laptops", "laptop") == 1.0


class LetterScorer:
    """Cosine of bag-of-letters vectors: another support scorer, to test that one can be injected."""

    def score(self, claim: str, texts: Sequence[str]) -> list[float]:
        def bag(text: str) -> list[float]:
            return [float(text.lower().count(c)) for c in "abcdefghijklmnopqrstuvwxyz0123456789"]

        head = bag(claim)
        out = []
        for text in texts:
            v = bag(text)
            norm = math.sqrt(sum(x * x for x in head)) * math.sqrt(sum(y * y for y in v))
            out.append(sum(x * y for x, y in zip(head, v, strict=True)) / norm if norm else 0.0)
        return out


def test_another_support_scorer_is_injectable() -> None:
    scorer = LetterScorer()
    same = scorer.score(
        "Laptops are replaced every four years.", ["Laptops are replaced every four years.", "zzz"]
    )
    assert same[0] == pytest.approx(1.0) and same[1] < 0.5
    policy = CitationPolicy(min_support=0.9, min_attribution=0.95)
    result = cite("Laptops are replaced every four years.", blocks(), scorer=scorer, policy=policy)
    assert [c.number for c in result.citations] == [2]
    assert best_snippet("Phones every three years", PASSAGES[1][3], scorer).startswith("Phones")


ANCHOR = [
    (
        "Holiday calendar",
        "Leeds",
        1,
        "2025-04-22 Tuesday office open. 2025-04-24 Thursday office open. Days closed: none.",
    ),
    ("Office move", "", None, "On the anchor days (Tuesday and Thursday) please book a desk in the office."),
]


def test_rare_words_weigh_more_when_several_passages_are_scored() -> None:
    claim = "The office anchor days are Tuesday and Thursday."
    calendar, email = LexicalSupport().score(claim, [text for *_, text in ANCHOR])
    assert email == 1.0 and calendar < 0.75  # only the email holds "anchor"
    (alone,) = LexicalSupport().score(claim, [ANCHOR[0][3]])
    assert alone == pytest.approx(0.8)  # one text: plain recall, 4 of 5 words


def test_a_marker_to_a_clearly_weaker_passage_moves_to_the_better_one() -> None:
    answer = cite("The office anchor days are Tuesday and Thursday [1].", blocks(ANCHOR))
    assert answer.text == "The office anchor days are Tuesday and Thursday [2]."
    (citation,) = answer.citations
    assert citation.number == 2 and citation.attributed and answer.flagged_markers == (1,)


def test_a_marker_to_a_passage_about_as_good_as_the_best_stays() -> None:
    twins = [ANCHOR[1], ("Careers", "", None, "Two anchor days a week in the office: Tuesday and Thursday.")]
    answer = cite("The office anchor days are Tuesday and Thursday [2].", blocks(twins))
    assert [(c.number, c.attributed) for c in answer.citations] == [(2, False)]
    assert answer.flagged_markers == ()
