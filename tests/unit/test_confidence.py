"""Confidence: the signals measured on an answer, the calibration file, and what users are told."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
from fakes import ScriptedGenerator, StubRetriever, corpus, make_chunk

from backends.llama_cpp.logprobs import FirstStep, TokenLogprobs
from chat.confidence import (
    Assessor,
    Calibration,
    CalibrationError,
    fit_calibration,
    load_calibrations,
    measure,
)
from chat.confidence.assess import level_for, model_name
from chat.confidence.signals import retrieval_signals
from chat.results import Question, answer_json
from chat.rewrite import HeuristicRewriter
from chat.service import AnswerService, GeneratorSlot
from core.domain import Citation, ConfidenceLevel, Hit, Usage, User
from core.protocols import GenerationResult


def hit(similarity: float | None, score: float = 0.5) -> Hit:
    return Hit(make_chunk("text"), score, similarity)


def test_retrieval_signals_take_the_best_similarity_its_margin_and_the_close_ones() -> None:
    found = retrieval_signals([hit(0.80), hit(0.78), hit(0.60), hit(None, score=0.9)])
    assert found["top_similarity"] == pytest.approx(0.9)  # no similarity: the rank score counts
    assert found["similarity_margin"] == pytest.approx(0.1)
    assert found["close_passages"] == 0.0
    assert retrieval_signals([hit(0.7), hit(0.68), hit(0.66)])["close_passages"] == 2.0
    assert retrieval_signals([]) == {"top_similarity": 0.0, "similarity_margin": 0.0, "close_passages": 0.0}


def test_measure_reports_model_citation_and_abstention_signals_in_a_fixed_order() -> None:
    result = GenerationResult(
        "27 days [1].", Usage(700, 4, 0.0), token_logprobs=(-0.1, -0.5, -0.0, -2.0), self_check=0.8
    )
    cites = (
        Citation(1, "a", "A", "", None, "s", 0.6),
        Citation(2, "b", "B", "", None, "s", 0.2, attributed=True),
    )
    signals = dict(
        measure(hits=[hit(0.7)], result=result, citations=cites, dropped_markers=1, abstained=False)
    )
    assert signals["lp_mean"] == pytest.approx(-0.65) and signals["lp_min"] == -2.0
    assert signals["self_check"] == 0.8 and signals["answer_tokens"] == pytest.approx(math.log1p(4))
    assert signals["cited_support"] == pytest.approx(0.4) and signals["attributed_share"] == 0.5
    assert signals["dropped_markers"] == 1.0 and signals["abstained"] == 0.0
    bare = dict(measure(hits=[], result=None, citations=(), dropped_markers=0, abstained=True))
    assert "lp_mean" not in bare and "self_check" not in bare and bare["abstained"] == 1.0


def test_token_logprobs_records_the_chosen_tokens_log_probability_at_each_step() -> None:
    recorder = TokenLogprobs()
    steps = [np.array([2.0, 0.0, 0.0], dtype=np.single), np.array([0.0, 1.0, 0.0], dtype=np.single)]
    recorder(np.array([5, 6], dtype=np.intc), steps[0])  # prompt evaluated: nothing chosen yet
    recorder(np.array([5, 6, 0], dtype=np.intc), steps[1])  # token 0 was chosen from steps[0]
    recorder(np.array([5, 6, 0, 2], dtype=np.intc), steps[0])  # token 2 from steps[1]
    expected_0 = 2.0 - math.log(math.exp(2) + 2)
    expected_2 = 0.0 - math.log(math.e + 2)
    assert recorder.values == pytest.approx([expected_0, expected_2])


def test_first_step_gives_p_yes_among_the_yes_and_no_tokens() -> None:
    step = FirstStep()
    assert step.p_yes([0], [1]) is None
    step(np.array([1], dtype=np.intc), np.array([math.log(3), 0.0, 5.0], dtype=np.single))
    step(np.array([1, 2], dtype=np.intc), np.array([0.0, 9.0, 0.0], dtype=np.single))  # later steps ignored
    assert step.p_yes([0], [1]) == pytest.approx(0.75)


def rows(n: int = 200, seed: int = 3) -> list[tuple[dict[str, float], bool]]:
    """Answers whose self-check predicts correctness, plus a noise signal."""
    rng = random.Random(seed)
    made = []
    for _ in range(n):
        right = rng.random() < 0.5
        made.append(({"self_check": rng.gauss(0.7 if right else 0.4, 0.1), "noise": rng.random()}, right))
    return made


def test_a_fitted_calibration_ranks_by_the_informative_signal_and_round_trips_through_its_file(
    tmp_path: Path,
) -> None:
    calibration = fit_calibration("slm", "m.gguf", rows(), fitted_on={"data": ["test"], "date": "2026-12-07"})
    assert calibration.features == ("self_check", "noise")
    assert abs(calibration.weights[0]) > 5 * abs(calibration.weights[1])
    assert (
        calibration.probability({"self_check": 0.85})
        > 0.9
        > 0.1
        > calibration.probability({"self_check": 0.25})
    )
    assert calibration.probability({}) == pytest.approx(
        calibration.probability({"self_check": calibration.mean[0], "noise": calibration.mean[1]})
    )
    path = tmp_path / "slm.json"
    path.write_text(calibration.to_json())
    assert json.loads(path.read_text())["fitted_on"]["answers"] == 200
    assert Calibration.from_file(path) == calibration


def test_a_calibration_needs_right_and_wrong_answers() -> None:
    with pytest.raises(CalibrationError, match="some right and some wrong"):
        fit_calibration("slm", "m", [({"x": 1.0}, True)] * 30, fitted_on={})
    with pytest.raises(CalibrationError, match="carry no confidence signals"):
        fit_calibration("slm", "m", [({}, True)] * 15 + [({}, False)] * 15, fitted_on={})


def test_an_unusable_calibration_file_is_reported_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "slm.json").write_text("{not json")
    (tmp_path / "llm.json").write_text(json.dumps({"format": 99}))
    good = fit_calibration("slm-large", "m", rows(), fitted_on={})
    (tmp_path / "slm-large.json").write_text(good.to_json())
    assert list(load_calibrations([tmp_path, tmp_path / "missing"])) == ["slm-large"]
    assert "refit it with `docduet eval" in caplog.text


def test_a_later_folder_replaces_an_earlier_calibration(tmp_path: Path) -> None:
    packaged, own = tmp_path / "packaged", tmp_path / "own"
    packaged.mkdir(), own.mkdir()
    (packaged / "slm.json").write_text(
        fit_calibration("slm", "m", rows(seed=1), fitted_on={"data": ["a"]}).to_json()
    )
    (own / "slm.json").write_text(
        fit_calibration("slm", "m", rows(seed=2), fitted_on={"data": ["b"]}).to_json()
    )
    assert load_calibrations([packaged, own])["slm"].fitted_on["data"] == ["b"]


def test_levels_and_reasons() -> None:
    assert level_for(None) is ConfidenceLevel.UNKNOWN
    assert level_for(0.9) is ConfidenceLevel.HIGH and level_for(0.5) is ConfidenceLevel.MEDIUM
    assert level_for(0.2) is ConfidenceLevel.LOW
    assessor = Assessor(
        {"slm": fit_calibration("slm", "qwen.gguf", rows(), fitted_on={"data": ["squad"], "date": "d"})}
    )
    sure = assessor.assess("slm", (("self_check", 0.9),))
    assert (
        sure.level is ConfidenceLevel.HIGH
        and sure.reasons[0] == "the model confirmed its answer against the passages"
    )
    unsure = assessor.assess("slm", (("self_check", 0.2),))
    assert (
        unsure.level is ConfidenceLevel.LOW and unsure.reasons[0] == "the model doubted its answer when asked"
    )
    assert sure.calibration == "qwen.gguf, fitted on squad (d)"


def test_a_calibration_for_another_model_or_generator_gives_no_probability() -> None:
    calibration = fit_calibration("slm", "qwen.gguf", rows(), fitted_on={})
    other_model = Assessor({"slm": calibration}, models={"slm": "mine.gguf"}).assess(
        "slm", (("self_check", 0.9),)
    )
    assert other_model.level is ConfidenceLevel.UNKNOWN and other_model.probability is None
    assert other_model.signal("self_check") == 0.9  # the signals are measured all the same
    assert Assessor({"slm": calibration}).assess("llm", ()).probability is None
    assert model_name("/cache/qwen.gguf") == "qwen.gguf" and model_name("http://h/v1") == "http://h/v1"


def test_the_answer_service_puts_a_calibrated_confidence_on_every_answer(tmp_path: Path) -> None:
    calibration = fit_calibration(
        "slm", "local", [({"citations": float(ok)}, ok) for ok in [True, False] * 15], fitted_on={}
    )
    service = AnswerService(
        StubRetriever(corpus(tmp_path)),
        [GeneratorSlot("slm", ScriptedGenerator("slm"))],
        HeuristicRewriter(),
        assessor=Assessor({"slm": calibration}),
    )
    answered = service.compare(
        Question("How many days of leave do employees get?", User("alice", ("employees",)))
    )
    answer = answered.answers[0]
    assert answer.confidence is not None and answer.confidence.probability is not None
    assert answer.confidence.signal("citations") == 1.0 and answer.confidence.probability > 0.5
    assert answer_json(answer)["confidence"]["probability"] == answer.confidence.probability
    nothing = service.compare(Question("zzz qqq", User("alice", ("employees",)))).answers[0]
    assert nothing.confidence is not None and nothing.confidence.signal("abstained") == 1.0
