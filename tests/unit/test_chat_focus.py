"""A generator's context_tokens: passages cut to the sentences that answer, under a token budget."""

from __future__ import annotations

from collections.abc import Generator as PyGenerator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fakes import ScriptedGenerator, make_chunk

from chat.citations import cite
from chat.columns import build_slots
from chat.focus import GAP, estimate_tokens, focus_blocks
from chat.generators import load_specs
from chat.prompt import build_prompt
from chat.results import Question
from chat.rewrite import HeuristicRewriter
from chat.service import AnswerService, GeneratorSlot
from core.domain import Hit, Sensitivity, Usage, User
from core.errors import ConfigError
from core.filters import SearchFilters
from core.prompt import ContextBlock, Prompt
from core.protocols import GenerationResult, TextStream
from core.settings import Settings

CAROL = User("carol", ("employees",))
LEAVE = (
    "Every full-time employee gets 27 days of paid annual leave per leave year.\n"
    "You earn one extra day for every two full years of service, up to a maximum of 31 days.\n"
    "Part-time colleagues get leave pro rata to their contracted hours.\n"
    "The leave year runs from 1 January to 31 December.\n"
    "Carry-over: you may carry up to 5 unused days into the next leave year. Carried-over days "
    "must be taken by 31 March; after that they lapse.\n"
    "Book leave in Personio. Give at least two weeks' notice for any absence longer than three "
    "working days, and four weeks' notice for absences of two weeks or more."
)
SICKNESS = (
    "Tell your manager by 10:00 on the first day of absence, by phone or Slack message.\n"
    "You may self-certify up to 7 calendar days. From the 8th day a fit note is required.\n"
    "UK: full pay for up to 20 working days of sickness in any rolling 12 months, then "
    "Statutory Sick Pay."
)
CARRY = "How many unused days can I carry over into the next leave year?"
CARRY_SENTENCE = "you may carry up to 5 unused days into the next leave year"


def hit(n: int, text: str, section: str) -> Hit:
    chunk = make_chunk(text, chunk_id=f"c{n}", source=f"/docs/doc{n}.md", title=f"Doc {n}", section=section)
    return Hit(chunk=chunk, score=1.0 - n / 10)


HITS = (hit(1, LEAVE, "Annual leave"), hit(2, SICKNESS, "Sickness"))


def blocks(question: str = CARRY, *hits: Hit) -> tuple[ContextBlock, ...]:
    return build_prompt(question, hits or HITS).blocks


def tokens(focused: tuple[ContextBlock, ...]) -> int:
    return sum(estimate_tokens(b.text) for b in focused)


def test_each_passage_is_cut_to_its_best_sentences_under_the_budget() -> None:
    whole = blocks()
    focused = focus_blocks(CARRY, whole, 60)
    assert [b.number for b in focused] == [1, 2]  # numbers, titles and sections as they were
    assert [b.header for b in focused] == [b.header for b in whole]
    assert CARRY_SENTENCE in focused[0].text and "Carry-over:" in focused[0].text
    assert "27 days of paid annual leave" not in focused[0].text and GAP in focused[0].text
    assert tokens(focused) <= 60 + len(focused) < tokens(whole)


def test_passages_that_fit_the_budget_are_sent_whole() -> None:
    whole = blocks()
    assert focus_blocks(CARRY, whole, tokens(whole)) == whole


def test_every_passage_keeps_its_best_sentence_before_any_passage_gets_a_second() -> None:
    focused = focus_blocks("On which day is a fit note required?", blocks(), 48)
    assert [b.number for b in focused] == [1, 2]
    assert "fit note is required" in focused[1].text


def test_a_sentence_that_points_back_brings_the_one_before_it() -> None:
    opening = (
        "Our Leeds site opens its doors at 08:00 on weekdays, and the reception desk is staffed "
        "from then until the evening by the facilities team."
    )
    answer = "It closes at 18:00 on Fridays, an hour earlier, so that the cleaners can start sooner."
    rival = "Fridays: sign in at reception."  # matches too, and fits where the opening would
    text = f"{opening} {answer} {rival} Parking is free for staff with a permit. Bikes go in the yard."
    whole = blocks("When does the office close on Fridays?", hit(1, text, "Hours"))
    budget = estimate_tokens(opening) + estimate_tokens(answer) + 2
    focused = focus_blocks("When does the office close on Fridays?", whole, budget)
    assert focused[0].text.startswith(f"{opening} {answer}"), focused[0].text
    assert rival not in focused[0].text


def test_a_sentence_that_introduces_a_list_brings_the_item_after_it() -> None:
    intro = "To request a new laptop, a replacement charger or any other piece of hardware for home:"
    step = (
        "Open a ticket in ServiceNow, choose Hardware, name the item and the address it goes to, "
        "and attach the approval."
    )
    rival = "A new laptop is a 14-inch model."
    text = f"Laptops are replaced every four years.\n{intro}\n{step}\n{rival}\nMonitors are ordered apart."
    question = "How do I request a new laptop?"
    budget = estimate_tokens(intro) + estimate_tokens(step) + 2
    focused = focus_blocks(question, blocks(question, hit(1, text, "Laptops")), budget)
    assert f"{intro}\n{step}" in focused[0].text and rival not in focused[0].text


def test_a_long_sentence_is_cut_into_spans_and_the_budget_still_holds() -> None:
    row = " ".join(f"cell{i} value{i}" for i in range(200))  # a table row without punctuation
    question = "What is value150?"
    focused = focus_blocks(question, blocks(question, hit(1, row, "Table")), 50)
    assert "value150" in focused[0].text and tokens(focused) <= 51
    unbroken = "x" * 400  # no space to cut at: a span of the longest length
    smallest = focus_blocks(question, blocks(question, hit(1, unbroken, "Blob")), 48)
    assert len(smallest) == 1 and tokens(smallest) <= 48  # the smallest budget holds one span


def test_citations_are_verified_against_the_text_the_model_was_shown() -> None:
    focused = focus_blocks(CARRY, blocks(), 60)
    kept = cite("You may carry up to 5 unused days into the next leave year [1].", focused)
    assert [c.number for c in kept.citations] == [1] and kept.citations[0].snippet in focused[0].text
    cut = cite("Every full-time employee gets 27 days of paid annual leave [1].", focused)
    assert cut.citations == () and cut.flagged_markers == (1,)  # that sentence was not shown


def test_a_budget_under_one_span_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 48"):
        focus_blocks(CARRY, blocks(), 20)


class _Retriever:
    def retrieve(
        self, query: str, *, user: User, filters: SearchFilters | None = None, top_k: int | None = None
    ) -> list[Hit]:
        return list(HITS)


@dataclass
class _Recorder:
    """Answers ``reply`` and records its prompts; its prompt tokens are the passages' estimate."""

    name: str
    reply: str = "You may carry up to 5 unused days into the next leave year [1]."
    label: str = ""
    endpoint: str = "local"
    off_premises: bool = False
    max_sensitivity: Sensitivity = Sensitivity.CONFIDENTIAL
    prompts: list[Prompt] = field(default_factory=list)

    def stream(self, prompt: Prompt, *, max_tokens: int | None = None) -> TextStream:
        self.prompts.append(prompt)
        usage = Usage(estimate_tokens(prompt.passages()), 12, 0.0)
        return _once(self.reply, usage)


def _once(reply: str, usage: Usage) -> TextStream:
    def pieces() -> PyGenerator[str, None, GenerationResult]:
        yield reply
        return GenerationResult(reply, usage, "stop")

    return TextStream(pieces())


def test_the_answer_service_sends_a_budgeted_slot_the_focused_passages_only() -> None:
    focused, whole = _Recorder("focused"), _Recorder("whole")
    slots = [GeneratorSlot("focused", focused, context_tokens=60), GeneratorSlot("whole", whole)]
    service = AnswerService(_Retriever(), slots, HeuristicRewriter())
    result = service.compare(Question(CARRY, CAROL))
    assert whole.prompts[0].blocks == blocks()
    assert focused.prompts[0].blocks == focus_blocks(CARRY, blocks(), 60)
    answer = result.answer("focused")
    assert [c.number for c in answer.citations] == [1] and answer.text.endswith("[1].")
    assert answer.citations[0].snippet in focused.prompts[0].blocks[0].text
    assert answer.usage.prompt_tokens < result.answer("whole").usage.prompt_tokens


GENERATORS = """
generators:
  - id: short
    kind: llama_cpp
    model: gemma-3-270m
    on_premises: true
    max_sensitivity: confidential
    context_tokens: 400
  - id: whole
    kind: llama_cpp
    model: gemma-3-270m
    on_premises: true
    max_sensitivity: confidential
"""


def test_the_generators_file_sets_context_tokens_per_generator(tmp_path: Path) -> None:
    path = tmp_path / "generators.yaml"
    path.write_text(GENERATORS)
    specs = load_specs(Settings(generators_file=path))
    assert [s.context_tokens for s in specs] == [400, None]
    slots = build_slots(specs, [], {s.id: ScriptedGenerator(s.id) for s in specs}, {})
    assert [s.context_tokens for s in slots if isinstance(s, GeneratorSlot)] == [400, None]


def test_the_default_file_reads_the_local_models_budgets_from_the_settings() -> None:
    specs = {s.id: s for s in load_specs(Settings(slm_context_tokens=300))}  # type: ignore[call-arg]
    assert specs["slm"].context_tokens == 300 and specs["slm-large"].context_tokens is None
    assert {s.id: s.context_tokens for s in load_specs(Settings())}["slm"] is None  # off by default


CASCADE_ENTRY = "kind: cascade\n    steps: [short, whole]\n    thresholds: [0.5]\n    context_tokens: 300"
LOCAL_ENTRY = "kind: llama_cpp\n    on_premises: true\n    max_sensitivity: public\n    context_tokens: 10"


def test_zero_context_tokens_means_whole_passages(tmp_path: Path) -> None:
    path = tmp_path / "generators.yaml"
    path.write_text(GENERATORS.replace("context_tokens: 400", "context_tokens: 0"))
    assert [s.context_tokens for s in load_specs(Settings(generators_file=path))] == [None, None]


@pytest.mark.parametrize(
    ("entry", "message"),
    [(LOCAL_ENTRY, "0 .whole passages. or a budget of at least 48"), (CASCADE_ENTRY, "sets context_tokens")],
    ids=["too-small", "on-a-cascade"],
)
def test_a_bad_context_tokens_entry_is_refused(tmp_path: Path, entry: str, message: str) -> None:
    path = tmp_path / "generators.yaml"
    path.write_text(f"{GENERATORS}  - id: bad\n    {entry}\n")
    with pytest.raises(ConfigError, match=message):
        load_specs(Settings(generators_file=path))


def test_the_answer_latency_bench_gives_the_raw_model_the_focused_passages_docduet_sent() -> None:
    from bench.answer_latency import _messages
    from chat.results import Retrieval

    generator = _Recorder("slm")
    generator.examples = 1  # type: ignore[attr-defined]
    retrieval = Retrieval(CARRY, HITS, 0.1)
    slot = GeneratorSlot("slm", generator, context_tokens=60)
    sent = _messages(generator, slot, retrieval, CARRY)[-1]["content"]  # type: ignore[arg-type]
    assert build_prompt(CARRY, HITS, context_tokens=60).passages() in sent
    assert "27 days of paid annual leave" not in sent
