"""Generated test sets: several questions per passage, and passages written in batches before their checks."""

from __future__ import annotations

from core.prompt import Prompt
from evaluation.generate.flow import Plan
from evaluation.generate.prompts import ANSWERABLE_SYSTEM, Written, parse_replies, parse_reply
from tests.fakes import make_chunk
from tests.unit.generate_fakes import ANCHOR, FunctionGenerator, generation, one_per_file, reader


def test_a_reply_gives_each_question_with_its_own_answer_numbered_or_bold_at_most_three() -> None:
    reply = (
        "1. **Question:** Which days are the anchor days?\n**Answer:** Tuesday and Thursday\n\n"
        "Question 2: Where are desks booked?\n"  # no answer before the next question: left out
        "Question 3: Which tool books desks?\nAnswer 3: Officely [1].\n"
        "Question: What is the midpoint?\nAnswer: 78,000 pounds\n"
        "Question: One too many?\nAnswer: yes\n"
    )
    assert parse_replies(reply, answerable=True) == [
        Written("Which days are the anchor days?", "Tuesday and Thursday"),
        Written("Which tool books desks?", "Officely"),
        Written("What is the midpoint?", "78,000 pounds"),
    ]
    too_long = "Question: How many spaces?\nAnswer: " + " ".join(["word"] * 9)
    assert parse_replies(too_long, answerable=True) == []


def test_a_rewritten_question_is_the_first_question_line_of_its_reply() -> None:
    reply = "Question: Who owns the Glasgow lease?\n2. Question: When does it end?"
    assert parse_reply(reply, answerable=False) == Written("Who owns the Glasgow lease?")
    assert parse_reply("Sure, here it is.", answerable=False) is None


THREE = (
    "Question: Which days are the office anchor days?\nAnswer: Tuesday and Thursday\n"
    "Question: What is the salary band midpoint?\nAnswer: 78,000 pounds\n"
    "Question: How much did Corvala raise in its Series B?\nAnswer: 18 million pounds"
)


def test_one_passage_gives_up_to_three_items_each_with_its_own_id() -> None:
    chunk = make_chunk(
        "The office anchor days are Tuesday and Thursday. The salary band midpoint is 78,000 pounds. "
        "Corvala raised 18 million pounds in its Series B.",
        chunk_id="abcdef0123456789",
    )
    writer = FunctionGenerator("slm", lambda p: THREE if p.system == ANSWERABLE_SYSTEM else reader(p))
    items, tallies = generation({"slm": writer}, [chunk]).run([chunk], Plan(3, 0, min_passage_chars=10))
    assert [i.item_id for i in items] == ["a-abcdef012345", "a-abcdef012345-2", "a-abcdef012345-3"]
    assert [i.answer for i in items] == ["Tuesday and Thursday", "78,000 pounds", "18 million pounds"]
    assert tallies["answerable"].attempted == 1 and len(writer.prompts) == 4  # one writing, three checks


def test_a_batch_of_passages_is_written_before_any_is_checked() -> None:
    chunks = one_per_file("The office anchor days are Tuesday and Thursday in office")
    order: list[str] = []

    def reply(prompt: Prompt) -> str:
        writing = prompt.system == ANSWERABLE_SYSTEM
        order.append("write" if writing else "check")
        return ANCHOR.replace("office", f"office {len(order)}") if writing else reader(prompt)

    items, _ = generation({"slm": FunctionGenerator("slm", reply)}, chunks).run(
        chunks, Plan(2, 0, min_passage_chars=10, batch_passages=3)
    )
    # two items missing: two passages written, then checked; each check keeps one
    assert order == ["write", "write", "check", "check"]
    assert len(items) == 2


def test_the_counts_add_up_per_passage_and_per_question() -> None:
    chunks = [
        make_chunk(
            "The office anchor days are Tuesday and Thursday. The salary band midpoint is 78,000 pounds. "
            "Corvala raised 18 million pounds in its Series B.",
            chunk_id="c1",
            source="/d/1.md",
        ),
        make_chunk("Nothing to ask about here at all.", chunk_id="c2", source="/d/2.md"),
    ]
    writer = FunctionGenerator(
        "slm",
        lambda p: (
            (THREE if "anchor" in p.blocks[0].text else "no lines")
            if p.system == ANSWERABLE_SYSTEM
            else reader(p)
        ),
    )
    _, tallies = generation({"slm": writer}, chunks).run(chunks, Plan(2, 0, min_passage_chars=10))
    counts = tallies["answerable"].as_dict()
    assert counts["attempted"] == 2 and counts["passages_with_questions"] == 1
    assert counts["rejected_by"] == {"parsed": 1}  # the second passage's reply had no question
    assert counts["questions_written"] == 3 and counts["kept"] == 2 and counts["not_checked"] == 1


def test_unanswerable_questions_start_from_the_other_end_one_document_in_turn() -> None:
    from evaluation.generate.flow import candidates

    long = [
        make_chunk(f"{i} " + "x" * 50, chunk_id=f"h{i}", source="/handbook.md", index=i) for i in range(4)
    ]
    short = [make_chunk(f"{i} " + "y" * 50, chunk_id=f"a{i}", source="/a.md", index=i) for i in range(2)]
    assert [c.chunk_id for c in candidates([*long, *short], 20)] == ["a0", "h0", "a1", "h1", "h2", "h3"]
    # not the answerable list reversed (h3, h2, h1, a1, h0, a0): the long document would fill its head
    assert [c.chunk_id for c in candidates([*long, *short], 20, backwards=True)] == [
        "h3",
        "a1",
        "h2",
        "a0",
        "h1",
        "h0",
    ]
