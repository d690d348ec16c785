"""The cascade column (issue 23): the first step sure enough is served, the others escalate or are
skipped, each step reads within its own ceiling, the privacy record is the union, no model runs twice."""

from __future__ import annotations

import threading

from cascade_parts import BANDS, CAROL, HOTEL, LEAVE, CountingGenerator, service_of

from chat.cascade import CascadeSlot, union_privacy
from chat.results import NOT_FOUND_TEXT, Event, Question
from chat.selective import Gate
from chat.service import GeneratorSlot, Slot
from core.domain import Privacy

QUESTION = Question("How long is secondary carer leave?", CAROL)


def slot(generator: CountingGenerator, gate: Gate | None = None) -> GeneratorSlot:
    return GeneratorSlot(generator.name, generator, gate=gate)


def small() -> CountingGenerator:
    return CountingGenerator("slm", "Maybe 31 days [1].")


def large() -> CountingGenerator:
    return CountingGenerator("slm-large", "Secondary carers get 4 weeks [1].")


def hosted(**kwargs: object) -> CountingGenerator:
    return CountingGenerator("llm", "4 weeks at full pay [1].", off_premises=True, cost_usd=0.002, **kwargs)  # type: ignore[arg-type]


def cascade(
    *steps: GeneratorSlot, thresholds: tuple[float, ...] = (0.6, 0.7), gate: Gate | None = None
) -> CascadeSlot:
    return CascadeSlot("cascade", steps, thresholds[: len(steps) - 1], "Cascade", gate)


def test_an_unsure_step_escalates_and_the_next_sure_one_is_served() -> None:
    slm, big, llm = small(), large(), hosted()
    svc = service_of([LEAVE, HOTEL], [cascade(slot(slm), slot(big), slot(llm))], slm=0.42, slm_large=0.9)
    answer = svc.compare(QUESTION).answer("cascade")
    assert answer.text.startswith("Secondary carers get 4 weeks") and answer.error is None
    assert answer.generator == "cascade" and answer.label == "Cascade · answered by Fake slm-large"
    assert [(s.generator, s.outcome) for s in answer.steps] == [
        ("slm", "escalated: 0.42 < 0.60"),
        ("slm-large", "served"),
    ]
    assert [s.probability for s in answer.steps] == [0.42, 0.9]
    assert llm.runs == 0  # the served step's answer ends the cascade
    assert answer.usage.completion_tokens == 4 + 6  # both steps' tokens
    assert answer.timings.total_s >= max(s.seconds for s in answer.steps)
    assert answer.confidence is not None and answer.confidence.probability == 0.9


def test_each_step_keeps_its_measured_core_seconds_and_the_column_sums_them() -> None:
    slm = CountingGenerator("slm", "Maybe 31 days [1].", core_seconds=2.5)
    big = CountingGenerator("slm-large", "Secondary carers get 4 weeks [1].", core_seconds=6.0)
    llm = hosted()
    svc = service_of([LEAVE], [cascade(slot(slm), slot(big), slot(llm))], slm=0.1, slm_large=0.2)
    answer = svc.compare(QUESTION).answer("cascade")
    assert [s.core_s for s in answer.steps] == [2.5, 6.0, None]  # the hosted step measured none
    assert answer.timings.core_s == 8.5
    other = CountingGenerator("llm-b", "4 weeks [1].", off_premises=True)
    only_hosted = service_of([LEAVE], [cascade(slot(hosted()), slot(other))], llm=0.1)
    assert only_hosted.compare(QUESTION).answer("cascade").timings.core_s is None


def test_a_sure_first_step_is_served_and_nothing_else_runs() -> None:
    slm, big = small(), large()
    svc = service_of([LEAVE], [cascade(slot(slm), slot(big))], slm=0.8)
    answer = svc.compare(QUESTION).answer("cascade")
    assert [(s.generator, s.outcome) for s in answer.steps] == [("slm", "served")]
    assert answer.text.startswith("Maybe 31 days") and big.runs == 0


def test_a_step_without_calibration_or_that_failed_escalates_and_the_last_is_served_however_unsure() -> None:
    slm, big, llm = small(), CountingGenerator("slm-large", "x", fail=True), hosted()
    svc = service_of([LEAVE], [cascade(slot(slm), slot(big), slot(llm))], llm=0.1)
    answer = svc.compare(QUESTION).answer("cascade")
    assert [s.outcome for s in answer.steps] == [
        "escalated: confidence not calibrated",
        "failed: slm-large is down; try again later",
        "served",
    ]
    assert answer.text.startswith("4 weeks at full pay") and answer.confidence is not None
    assert answer.confidence.probability == 0.1  # served whatever its confidence, and says so
    assert answer.usage.cost_usd == 0.002 and answer.steps[2].cost_usd == 0.002


def test_a_step_that_may_read_none_of_the_passages_is_skipped_and_sent_nothing() -> None:
    slm, llm = small(), hosted()
    svc = service_of([BANDS], [cascade(slot(slm), slot(llm))], slm=0.2)
    answer = svc.compare(QUESTION).answer("cascade")
    # the hosted step may read none of the confidential passage: the local step is the last that
    # can run, so it is served however unsure, and nothing leaves the building
    assert [(s.generator, s.outcome) for s in answer.steps] == [("slm", "served")]
    assert llm.runs == 0 and not answer.privacy.off_premises

    svc = service_of([BANDS], [cascade(slot(llm), slot(slm))], llm=0.9)
    answer = svc.compare(QUESTION).answer("cascade")
    assert [(s.generator, s.outcome) for s in answer.steps] == [
        ("llm", "skipped: may read none of the 1 passage"),
        ("slm", "served"),
    ]
    assert llm.runs == 0 and answer.privacy.sent_chunk_ids == ("c2",) and not answer.privacy.off_premises


def test_an_unavailable_step_is_skipped() -> None:
    slm, big = small(), large()
    off = GeneratorSlot("llm", unavailable="llm is not configured (enabled: auto; set its endpoint or key)")
    svc = service_of([LEAVE], [cascade(slot(slm), off, slot(big))], slm=0.3)
    answer = svc.compare(QUESTION).answer("cascade")
    assert [s.outcome for s in answer.steps] == [
        "escalated: 0.30 < 0.60",
        "skipped: unavailable (llm is not configured (enabled: auto; set its endpoint or key))",
        "served",
    ]
    assert svc.generator_names == ["cascade"] and svc.describe("cascade").unavailable is None


def test_each_step_reads_within_its_own_ceiling_and_the_privacy_record_is_the_union() -> None:
    slm, llm = small(), hosted()
    svc = service_of([BANDS, LEAVE], [cascade(slot(slm), slot(llm))], slm=0.3, llm=0.9)
    answer = svc.compare(QUESTION).answer("cascade")
    assert [b.hit for b in slm.prompts[0].blocks] == [BANDS, LEAVE]
    assert [b.hit for b in llm.prompts[0].blocks] == [LEAVE]  # the confidential one never left
    privacy = answer.privacy
    assert privacy.off_premises and privacy.endpoint == "fake://llm, fake://slm"
    # the served step's passages first: its citation [1] still resolves through sent_chunk_ids
    assert privacy.sent_chunk_ids == ("c1", "c2") and answer.citations[0].source == LEAVE.chunk.source
    assert privacy.withheld_count == 1


def test_a_local_answer_served_after_a_hosted_step_still_records_what_left() -> None:
    slm, llm = small(), hosted()
    svc = service_of([LEAVE], [cascade(slot(llm), slot(slm))], llm=0.3)
    answer = svc.compare(QUESTION).answer("cascade")
    assert [s.outcome for s in answer.steps] == ["escalated: 0.30 < 0.60", "served"]
    assert answer.label.endswith("answered by Fake slm")
    assert answer.privacy.off_premises and answer.privacy.sent_chunk_ids == ("c1",)
    assert answer.usage.cost_usd == 0.002  # the hosted step's cost counts though its answer was not served


def test_union_privacy_never_understates() -> None:
    local = Privacy("/m/q.gguf", False, ("c2", "c1"), 0)
    remote = Privacy("https://api", True, ("c1", "c3"), 1)
    union = union_privacy([local, remote])
    assert union == Privacy("/m/q.gguf, https://api", True, ("c2", "c1", "c3"), 0)
    assert union_privacy([]) == Privacy("", False, (), 0)


def test_the_cascade_streams_its_first_step_then_says_it_checks_with_the_next() -> None:
    slm, big = small(), large()
    svc = service_of([LEAVE], [cascade(slot(slm), slot(big))], slm=0.2)
    events = [e for e in svc.stream(QUESTION, ["cascade"]) if e.generator == "cascade"]
    restarts = [i for i, e in enumerate(events) if e.kind == "status" and e.restart]
    assert len(restarts) == 1 and events[restarts[0]].text == "Checking with Fake slm-large…"
    before = "".join(e.text for e in events[: restarts[0]] if e.kind == "token")
    after = "".join(e.text for e in events[restarts[0] :] if e.kind == "token")
    assert before == slm.reply and after == big.reply
    statuses = [e.text for e in events[restarts[0] + 1 :] if e.kind == "status"]
    assert statuses == ["Checking with Fake slm-large… Reading 1 passages…"]
    assert events[-1].kind == "answer" and events[-1].answer is not None


def test_columns_running_the_same_model_on_the_same_passages_share_one_generation() -> None:
    slm, big = small(), large()
    columns: list[Slot] = [slot(slm), slot(big), cascade(slot(slm), slot(big))]
    svc = service_of([LEAVE, HOTEL], columns, slm=0.2, slm_large=0.9)
    result = svc.compare(QUESTION)
    assert slm.runs == 1 and big.runs == 1  # the cascade asked both, and each ran once
    assert result.answer("cascade").text == result.answer("slm-large").text
    assert result.answer("slm").text.startswith("Maybe 31 days") and result.answer("slm").generator == "slm"


def test_a_column_asking_while_the_shared_generation_runs_gets_every_token_once() -> None:
    gate = threading.Event()
    slm = CountingGenerator("slm", "Maybe 31 days [1].", gate=gate)
    svc = service_of([LEAVE], [slot(slm), cascade(slot(slm), slot(large()), thresholds=(0.1,))], slm=0.9)
    events: list[Event] = []
    stream = svc.stream(QUESTION, ["slm", "cascade"])
    for event in stream:
        events.append(event)
        if {e.generator for e in events if e.kind == "token"} == {"slm", "cascade"}:
            # the one generation waits after its first word, which both columns have now: the
            # second joined it while it ran; let it go on
            gate.set()
    tokens = {
        n: "".join(e.text for e in events if e.generator == n and e.kind == "token")
        for n in ("slm", "cascade")
    }
    assert slm.runs == 1 and tokens == {"slm": slm.reply, "cascade": slm.reply}


def test_the_cascades_own_minimum_gates_whatever_it_serves() -> None:
    slm, big = small(), large()
    steps = (slot(slm), slot(big, gate=Gate(0.95, "abstain")))
    svc = service_of([LEAVE], [cascade(*steps)], slm=0.2, slm_large=0.9)
    served = svc.compare(QUESTION).answer("cascade")
    assert served.abstained and served.withheld_text == big.reply  # the serving step's own gate
    assert served.text.startswith("Not sure enough to answer (confidence 0.90 < 0.95)")
    assert served.steps[-1].outcome == "served"

    svc = service_of(
        [LEAVE], [cascade(slot(small()), slot(large()), gate=Gate(0.95))], slm=0.2, slm_large=0.9
    )
    flagged = svc.compare(QUESTION).answer("cascade")
    assert not flagged.abstained and flagged.confidence is not None
    assert flagged.confidence.reasons[0] == "below this column's minimum confidence 0.95"


def test_when_every_step_fails_the_cascade_reports_each_error() -> None:
    broken = CountingGenerator("slm", "x", fail=True)
    down = CountingGenerator("llm", "x", fail=True, off_premises=True)
    svc = service_of([LEAVE], [cascade(GeneratorSlot("slm", broken), GeneratorSlot("llm", down))])
    answer = svc.compare(QUESTION).answer("cascade")
    assert (
        answer.error is not None and "slm: slm is down" in answer.error and "llm: llm is down" in answer.error
    )
    assert [s.outcome.split(":")[0] for s in answer.steps] == ["failed", "failed"]
    assert answer.privacy.off_premises  # the hosted step's prompt was sent before it failed


def test_a_later_failure_serves_the_earlier_answer() -> None:
    slm, llm = small(), hosted(fail=True)
    svc = service_of([LEAVE], [cascade(slot(slm), slot(llm))], slm=0.2)
    answer = svc.compare(QUESTION).answer("cascade")
    assert [s.outcome for s in answer.steps] == ["served", "failed: llm is down; try again later"]
    assert answer.text.startswith("Maybe 31 days") and answer.error is None


def test_without_passages_the_cascade_abstains_and_no_step_runs() -> None:
    slm = small()
    svc = service_of([], [cascade(slot(slm), slot(large()))])
    answer = svc.compare(QUESTION).answer("cascade")
    assert answer.abstained and answer.text == NOT_FOUND_TEXT and slm.runs == 0

    llm = hosted()
    svc = service_of([BANDS], [cascade(slot(llm), GeneratorSlot("slm", unavailable="not built"))])
    answer = svc.compare(QUESTION).answer("cascade")
    assert answer.abstained and "at most internal" in answer.text and llm.runs == 0
    assert answer.privacy.withheld_count == 1 and not answer.privacy.off_premises


def test_a_cascade_describes_what_may_leave() -> None:
    svc = service_of([], [cascade(slot(small()), slot(hosted()))])
    info = svc.describe("cascade")
    assert info.off_premises and info.max_sensitivity is not None and info.max_sensitivity.value == "internal"
    assert info.endpoint == "slm → llm" and info.label == "Cascade"


def test_an_abandoned_question_asks_no_further_step() -> None:
    gate = threading.Event()
    slm, llm = CountingGenerator("slm", "Maybe 31 days [1].", gate=gate), hosted()
    svc = service_of([LEAVE], [cascade(slot(slm), slot(llm))], slm=0.1)
    stream = svc.stream(QUESTION, ["cascade"])
    for event in stream:
        if event.kind == "token":
            break  # the reader goes away (a closed tab) while the first step is writing
    stream.close()
    gate.set()
    for thread in [t for t in threading.enumerate() if t.name == "docduet-cascade"]:
        thread.join(timeout=10)
        assert not thread.is_alive()
    assert slm.runs == 1 and llm.runs == 0  # the unsure first step was not escalated off premises
