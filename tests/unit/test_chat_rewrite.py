"""The follow-up rewriter: which questions lean on the conversation, and what query they become."""

from __future__ import annotations

import pytest

from chat.rewrite import HeuristicRewriter, QueryRewriter, is_follow_up, topic_question
from core.prompt import Turn

LEAVE = "How long is paid parental leave for a primary carer?"


def user(text: str) -> Turn:
    return Turn("user", text)


def assistant(text: str) -> Turn:
    return Turn("assistant", text)


@pytest.mark.parametrize(
    "question",
    [
        "And for a secondary carer?",
        "What about contractors?",
        "how about in Rotterdam?",
        "Why?",
        "How much?",
        "For a secondary carer?",
        "Contractors too?",
        "Is it paid at full salary?",
        "Can I split them into single days?",
        "Does that also apply to part-time staff in the Rotterdam office?",
    ],
)
def test_follow_ups_are_recognised(question: str) -> None:
    assert is_follow_up(question)


@pytest.mark.parametrize(
    "question",
    [
        "What is the VPN server address?",
        "Which days are the office anchor days?",
        "Is there a company car scheme?",
        "Are there parking spaces at the new Leeds office?",
        "How long is paid parental leave for a secondary carer?",
        "What is the salary band midpoint for a Senior Software Engineer (L4) in Leeds?",
        # long questions stand alone even when they use a referring word
        "I lost my laptop on the train this morning, what do I do and when do I get a new one?",
    ],
)
def test_standalone_questions_are_left_alone(question: str) -> None:
    assert not is_follow_up(question)
    assert HeuristicRewriter().standalone(question, [user(LEAVE)]) == question


def test_a_follow_up_is_prefixed_with_the_previous_question() -> None:
    history = [user(LEAVE), assistant("26 weeks at full pay.")]
    query = HeuristicRewriter().standalone("  And for a secondary carer? ", history)
    assert query == f"{LEAVE} And for a secondary carer?"


def test_without_history_nothing_changes() -> None:
    assert HeuristicRewriter().standalone("And for contractors?", []) == "And for contractors?"
    only_answers = [assistant("Anything else?")]
    assert HeuristicRewriter().standalone("Why?", only_answers) == "Why?"


def test_a_chain_of_follow_ups_keeps_its_topic() -> None:
    history = [
        user(LEAVE),
        assistant("26 weeks."),
        user("And for a secondary carer?"),
        assistant("4 weeks."),
    ]
    query = HeuristicRewriter().standalone("What about adoptive parents?", history)
    assert query == f"{LEAVE} What about adoptive parents?"


def test_a_new_topic_becomes_the_anchor_for_later_follow_ups() -> None:
    history = [user(LEAVE), user("What is the nightly hotel cap in London?")]
    query = HeuristicRewriter().standalone("And in Rotterdam?", history)
    assert query == "What is the nightly hotel cap in London? And in Rotterdam?"


def test_topic_falls_back_to_the_first_question_when_all_were_follow_ups() -> None:
    assert topic_question(["And for contractors?", "Why?"]) == "And for contractors?"


def test_assistant_turns_are_never_used_for_the_query() -> None:
    history = [user(LEAVE), assistant("The secret band midpoint is 78,000.")]
    query = HeuristicRewriter().standalone("Why?", history)
    assert "78,000" not in query


def test_the_heuristic_rewriter_satisfies_the_protocol() -> None:
    rewriter: QueryRewriter = HeuristicRewriter()
    assert rewriter.standalone(LEAVE, []) == LEAVE
