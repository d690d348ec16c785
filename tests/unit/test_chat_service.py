"""AnswerService with a fake retriever and fake generators: no index, no model, no server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Generator as PyGenerator
from collections.abc import Sequence
from dataclasses import replace

import pytest
from cascade_parts import BANDS, CAROL, HOTEL, LEAVE, hit

from chat.results import NOT_FOUND_TEXT, Question
from chat.rewrite import HeuristicRewriter
from chat.service import AnswerService, GeneratorSlot
from core.domain import Hit, Sensitivity, Usage, User
from core.errors import ConfigError, GenerationError
from core.filters import SearchFilters
from core.prompt import Prompt, Turn
from core.protocols import GenerationResult, TextStream


class FakeRetriever:
    """Returns fixed hits and records every query."""

    def __init__(self, hits: Sequence[Hit]) -> None:
        self.hits = list(hits)
        self.queries: list[tuple[str, User, SearchFilters | None]] = []

    def retrieve(
        self, query: str, *, user: User, filters: SearchFilters | None = None, top_k: int | None = None
    ) -> list[Hit]:
        self.queries.append((query, user, filters))
        return list(self.hits)


class FakeGenerator:
    """Streams ``reply`` word by word and records the prompts it was given."""

    def __init__(
        self,
        name: str,
        reply: str,
        *,
        off_premises: bool = False,
        fail_after: int | None = None,
        error: Exception | None = None,
        barrier: threading.Barrier | None = None,
        max_sensitivity: Sensitivity | None = None,
    ) -> None:
        self.name = name
        self.label = f"Fake {name}"
        self.endpoint = f"fake://{name}"
        self.off_premises = off_premises
        self.max_sensitivity = max_sensitivity or (
            Sensitivity.INTERNAL if off_premises else Sensitivity.CONFIDENTIAL
        )
        self.reply = reply
        self.fail_after = fail_after
        self.error = error or GenerationError(f"{name} broke; try again later")
        self.barrier = barrier
        self.prompts: list[Prompt] = []

    def stream(self, prompt: Prompt, *, max_tokens: int | None = None) -> TextStream:
        self.prompts.append(prompt)
        return TextStream(self._pieces())

    def _pieces(self) -> PyGenerator[str, None, GenerationResult]:
        if self.barrier is not None:
            self.barrier.wait(timeout=10)  # both generators must be running at once
        words = self.reply.split(" ")
        for i, word in enumerate(words):
            if self.fail_after is not None and i >= self.fail_after:
                raise self.error
            yield word if i == 0 else f" {word}"
        return GenerationResult(self.reply, Usage(100, len(words), 0.0), "stop")


def service(
    hits: Sequence[Hit], *generators: FakeGenerator | GeneratorSlot
) -> tuple[AnswerService, FakeRetriever]:
    """A service over fixed hits; a generator gets a slot of its own name."""
    retriever = FakeRetriever(hits)
    slots = [g if isinstance(g, GeneratorSlot) else GeneratorSlot(g.name, g) for g in generators]
    return AnswerService(retriever, slots, HeuristicRewriter()), retriever


def local() -> FakeGenerator:
    return FakeGenerator("slm", "Secondary carers get 4 weeks of paid leave.")


def hosted(**kwargs: object) -> FakeGenerator:
    return FakeGenerator("llm", "Secondary carers get 4 weeks at full pay [1].", off_premises=True, **kwargs)  # type: ignore[arg-type]


def test_both_generators_answer_from_one_retrieval_with_verified_citations() -> None:
    slm, llm = local(), hosted()
    svc, retriever = service([LEAVE, HOTEL], slm, llm)
    result = svc.compare(Question("How long is secondary carer leave?", CAROL))
    assert len(retriever.queries) == 1 and retriever.queries[0][1] == CAROL
    assert [a.generator for a in result.answers] == ["slm", "llm"]
    assert slm.prompts[0].blocks == llm.prompts[0].blocks
    answer = result.answer("llm")
    assert answer.error is None and not answer.abstained
    assert [c.source for c in answer.citations] == [LEAVE.chunk.source]
    assert answer.citations[0].snippet in LEAVE.chunk.text
    local_answer = result.answer("slm")
    assert local_answer.citations and local_answer.citations[0].attributed  # no marker written
    assert answer.timings.first_token_s is not None
    assert 0 <= answer.timings.first_token_s <= answer.timings.total_s <= result.wall_s


def test_confidential_hits_are_withheld_from_off_premises_generators_only() -> None:
    slm, llm = local(), hosted()
    svc, _ = service([BANDS, LEAVE], slm, llm)
    result = svc.compare(Question("salary band?", CAROL))
    sent_to_llm = [b.hit for b in llm.prompts[0].blocks]
    assert sent_to_llm == [LEAVE] and BANDS.chunk.text not in llm.prompts[0].passages()
    assert [b.hit for b in slm.prompts[0].blocks] == [BANDS, LEAVE]
    remote, here = result.answer("llm").privacy, result.answer("slm").privacy
    assert remote.withheld_count == 1 and remote.sent_chunk_ids == ("c1",) and remote.off_premises
    assert here.withheld_count == 0 and here.sent_chunk_ids == ("c2", "c1") and not here.off_premises


def test_hosted_generator_is_not_called_when_every_hit_is_confidential() -> None:
    slm, llm = local(), hosted()
    svc, _ = service([BANDS], slm, llm)
    answer = svc.compare(Question("salary band?", CAROL)).answer("llm")
    assert llm.prompts == [] and len(slm.prompts) == 1
    assert answer.abstained and "at most internal" in answer.text and answer.error is None
    assert answer.privacy.withheld_count == 1 and answer.privacy.sent_chunk_ids == ()
    assert not answer.privacy.off_premises  # nothing left the building


def test_each_generator_receives_passages_up_to_its_own_ceiling() -> None:
    public_only = FakeGenerator("public", "ok [1]", off_premises=True, max_sensitivity=Sensitivity.PUBLIC)
    own_server = FakeGenerator("vllm", "ok [1]", max_sensitivity=Sensitivity.INTERNAL)
    svc, _ = service([BANDS, LEAVE], local(), public_only, own_server)
    result = svc.compare(Question("leave?", CAROL))
    assert public_only.prompts == []  # LEAVE is internal, BANDS confidential: nothing may go
    assert result.answer("public").privacy.withheld_count == 2
    assert [b.hit for b in own_server.prompts[0].blocks] == [LEAVE]
    assert result.answer("vllm").privacy.withheld_count == 1
    assert result.answer("vllm").label == "Fake vllm"


def test_off_premises_generators_never_see_earlier_assistant_turns() -> None:
    slm, llm = local(), hosted()
    svc, _ = service([LEAVE], slm, llm)
    history = (Turn("user", "What is the L4 band?"), Turn("assistant", "78,000 GBP [1]."))
    svc.compare(Question("And for a secondary carer?", CAROL, history=history))
    assert slm.prompts[0].history == history
    assert llm.prompts[0].history == (Turn("user", "What is the L4 band?"),)
    assert "78,000" not in "".join(m.content for m in llm.prompts[0].messages())


def test_no_hits_abstains_for_every_generator_without_calling_them() -> None:
    slm, llm = local(), hosted()
    svc, _ = service([], slm, llm)
    result = svc.compare(Question("What is the guest Wi-Fi password?", CAROL))
    assert slm.prompts == [] and llm.prompts == []
    for answer in result.answers:
        assert answer.text == NOT_FOUND_TEXT and answer.abstained and answer.error is None
        assert answer.privacy.sent_chunk_ids == () and answer.citations == ()


def test_a_failing_generator_reports_its_error_and_the_other_still_answers() -> None:
    llm = hosted(fail_after=2)
    svc, _ = service([LEAVE], local(), llm)
    result = svc.compare(Question("secondary carer leave?", CAROL))
    failed, ok = result.answer("llm"), result.answer("slm")
    assert failed.error == "llm broke; try again later" and failed.text == ""
    assert failed.privacy.sent_chunk_ids == ("c1",)  # the prompt did leave: keep the record
    assert failed.timings.first_token_s is not None  # two pieces arrived before the failure
    assert ok.error is None and "4 weeks" in ok.text


def test_a_crashing_generator_is_isolated_too() -> None:
    llm = hosted(fail_after=0, error=RuntimeError("socket exploded"))
    svc, _ = service([LEAVE], local(), llm)
    result = svc.compare(Question("secondary carer leave?", CAROL))
    assert result.answer("llm").error == "RuntimeError: socket exploded"
    assert result.answer("llm").privacy.sent_chunk_ids == ("c1",)
    assert result.answer("slm").error is None


def test_events_start_with_retrieval_and_end_each_generator_with_its_answer() -> None:
    svc, _ = service([LEAVE], local(), hosted())
    events = list(svc.stream(Question("secondary carer leave?", CAROL), ["slm", "llm"]))
    assert events[0].kind == "retrieval" and events[0].retrieval is not None
    assert all(e.kind != "retrieval" for e in events[1:])
    for name in ("slm", "llm"):
        mine = [e for e in events if e.generator == name]
        assert [e.kind for e in mine].count("answer") == 1 and mine[-1].kind == "answer"
        streamed = "".join(e.text for e in mine if e.kind == "token")
        assert streamed and mine[-1].answer is not None
        assert streamed.replace(" [1]", "") in mine[-1].answer.text.replace(" [1]", "")


def test_generators_run_at_the_same_time() -> None:
    barrier = threading.Barrier(2)  # each waits for the other: a sequential run would time out
    slm = FakeGenerator("slm", "Four weeks.", barrier=barrier)
    llm = FakeGenerator("llm", "Four weeks [1].", off_premises=True, barrier=barrier)
    svc, _ = service([LEAVE], slm, llm)
    result = svc.compare(Question("secondary carer leave?", CAROL))
    assert [a.error for a in result.answers] == [None, None]


class EndlessGenerator(FakeGenerator):
    """Keeps talking (bounded) until it is closed; records that it was."""

    def __init__(self, name: str, **kwargs: object) -> None:
        super().__init__(name, "", **kwargs)  # type: ignore[arg-type]
        self.closed = threading.Event()
        self.pieces_sent = 0

    def _pieces(self) -> PyGenerator[str, None, GenerationResult]:
        try:
            for _ in range(2000):  # about 20 s: far longer than the test waits
                self.pieces_sent += 1
                yield " word"
                time.sleep(0.01)
            return GenerationResult("word " * 2000, Usage(100, 2000, 0.0), "length")
        finally:
            self.closed.set()


def test_abandoning_the_stream_stops_every_generator() -> None:
    slm, llm = EndlessGenerator("slm"), EndlessGenerator("llm", off_premises=True)
    svc, _ = service([LEAVE], slm, llm)
    events = svc.stream(Question("secondary carer leave?", CAROL), ["slm", "llm"])
    seen = set()
    for event in events:
        seen.add(event.generator)
        if {"slm", "llm"} <= seen:
            break
    events.close()  # what a closed browser tab or a Streamlit rerun does
    assert slm.closed.wait(5) and llm.closed.wait(5)
    assert max(slm.pieces_sent, llm.pieces_sent) < 2000


def test_unknown_or_missing_generator_names_list_the_known_ones() -> None:
    svc, retriever = service([LEAVE], local(), hosted(), GeneratorSlot("gpt", unavailable="not configured"))
    with pytest.raises(ConfigError, match=r"unknown generator\(s\) claude; known: slm, llm, gpt"):
        list(svc.stream(Question("q", CAROL), ["slm", "claude"]))
    with pytest.raises(ConfigError, match="none given"):
        list(svc.stream(Question("q", CAROL), []))
    assert retriever.queries == []  # checked before any search


def test_an_unavailable_generator_answers_with_its_reason() -> None:
    svc, _ = service([LEAVE], local(), GeneratorSlot("llm", unavailable="set OPENAI_API_KEY"))
    result = svc.compare(Question("secondary carer leave?", CAROL))
    assert [a.generator for a in result.answers] == ["slm", "llm"]
    assert result.answer("llm").error == "set OPENAI_API_KEY"
    assert result.answer("slm").error is None


def test_duplicate_names_answer_once() -> None:
    slm = local()
    svc, _ = service([LEAVE], slm)
    result = svc.compare(Question("secondary carer leave?", CAROL), ["slm", "slm"])
    assert [a.generator for a in result.answers] == ["slm"] and len(slm.prompts) == 1


def test_max_passages_caps_what_one_generator_reads_and_the_privacy_record_says_so() -> None:
    slm, llm = local(), hosted()
    hits = [LEAVE, HOTEL, hit(4, "Anchor days are Tuesday and Thursday.")]
    svc, _ = service(hits, GeneratorSlot("slm", slm, max_passages=2), llm)
    result = svc.compare(Question("secondary carer leave?", CAROL))
    assert [b.hit for b in slm.prompts[0].blocks] == hits[:2]
    assert [b.hit for b in llm.prompts[0].blocks] == hits
    assert result.answer("slm").privacy.sent_chunk_ids == ("c1", "c3")


def test_follow_ups_retrieve_with_the_rewritten_query() -> None:
    slm = local()
    svc, retriever = service([LEAVE], slm)
    history = (Turn("user", "How long is paid parental leave for a primary carer?"),)
    question = Question("And for a secondary carer?", CAROL, history=history)
    result = svc.compare(question)
    expected = "How long is paid parental leave for a primary carer? And for a secondary carer?"
    assert retriever.queries[0][0] == expected and result.retrieval.query == expected
    assert slm.prompts[0].question == "And for a secondary carer?"  # the model sees it as asked


def test_comparison_json_is_serialisable_and_complete() -> None:
    svc, _ = service([BANDS, LEAVE], local(), hosted())
    data = svc.compare(Question("salary band?", CAROL)).to_json()
    decoded = json.loads(json.dumps(data))
    assert decoded["user"] == "carol" and decoded["standalone_query"] == "salary band?"
    assert [h["chunk_id"] for h in decoded["retrieval"]["hits"]] == ["c2", "c1"]
    assert decoded["retrieval"]["hits"][0]["sensitivity"] == "confidential"
    llm = decoded["answers"][1]
    assert llm["generator"] == "llm" and llm["privacy"]["withheld_count"] == 1
    assert llm["privacy"]["sent_chunk_ids"] == ["c1"]


def test_comparison_answer_names_the_generators_that_answered() -> None:
    svc, _ = service([LEAVE], local())
    result = svc.compare(Question("q?", CAROL))
    with pytest.raises(KeyError, match="answered: \\['slm'\\]"):
        result.answer("llm")


def test_retrieval_failures_propagate_before_any_generator_runs() -> None:
    class Broken(FakeRetriever):
        def retrieve(self, query: str, **kwargs: object) -> list[Hit]:  # type: ignore[override]
            raise ConfigError("index missing; run docduet ingest")

    slm = local()
    svc = AnswerService(Broken([]), [GeneratorSlot("slm", slm)], HeuristicRewriter())
    with pytest.raises(ConfigError, match="index missing"):
        svc.compare(Question("q?", CAROL))
    assert slm.prompts == []


def test_a_busy_local_model_says_how_many_questions_are_ahead() -> None:
    busy = FakeGenerator("slm", "Fine [1].")
    busy.ahead = lambda: 2  # type: ignore[attr-defined]
    svc, _ = service([LEAVE], busy, local_free := FakeGenerator("free", "Fine [1]."))
    events = list(svc.stream(Question("leave?", CAROL), ["slm", "free"]))
    status = {e.generator: e.text for e in events if e.kind == "status"}
    assert status["slm"] == "Queued: 2 answers ahead of yours on the local models…"
    assert status["free"] == "Reading 1 passages…" and local_free.prompts


def test_the_wait_and_the_measured_core_seconds_are_part_of_the_answers_timings() -> None:
    class Queued(FakeGenerator):
        def _pieces(self) -> PyGenerator[str, None, GenerationResult]:
            result = yield from super()._pieces()
            return replace(result, queue_s=3.5, core_seconds=7.25)

    svc, _ = service([LEAVE], Queued("slm", "Fine [1]."), hosted())
    result = svc.compare(Question("leave?", CAROL))
    assert result.answer("slm").timings.queue_s == 3.5
    assert result.answer("llm").timings.queue_s == 0.0  # no line in front of it
    assert result.answer("slm").timings.core_s == 7.25
    assert result.answer("llm").timings.core_s is None  # a hosted model measures none
    timings = result.to_json()["answers"][0]["timings"]  # type: ignore[index]
    assert timings["queue_s"] == 3.5 and timings["core_s"] == 7.25


@pytest.mark.parametrize("reply", ["", " ", "[1]", " [1]."])
def test_an_answer_with_no_words_is_reported_not_shown_as_a_blank_column(reply: str) -> None:
    slm = FakeGenerator("slm", reply)
    svc, _ = service([LEAVE], slm, hosted())
    result = svc.compare(Question("secondary carer leave?", CAROL))
    empty = result.answer("slm")
    assert empty.text == "" and not empty.citations
    assert empty.error is not None and "no answer text" in empty.error and "Ask again" in empty.error
    assert empty.privacy.sent_chunk_ids == ("c1",)
    assert result.answer("llm").error is None


def test_an_unavailable_generator_is_shown_by_its_title_and_ordered_after_the_ready_ones() -> None:
    svc, _ = service([LEAVE], GeneratorSlot("llm", unavailable="no key", title="Hosted model"), local())
    assert svc.generator_names == ["slm", "llm"]
    assert svc.label("llm") == "Hosted model" and svc.label("slm") == "Fake slm"
    info = svc.describe("llm")
    assert info.unavailable == "no key" and info.endpoint == "" and info.max_sensitivity is None


def test_a_slot_holds_a_generator_or_the_reason_it_is_missing_and_names_are_unique() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        GeneratorSlot("slm")
    with pytest.raises(ValueError, match="exactly one"):
        GeneratorSlot("slm", local(), unavailable="broken")
    with pytest.raises(ValueError, match="repeat"):
        service([LEAVE], local(), GeneratorSlot("slm", unavailable="again"))
