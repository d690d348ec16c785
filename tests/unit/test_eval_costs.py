"""Cost that counts local compute: prices per core- and GPU-hour, per 1,000 questions and per month."""

from __future__ import annotations

from typing import Any

import pytest
from eval_rows import local, row

from chat.generators import GeneratorSpec
from core.domain import Sensitivity
from core.settings import Settings
from evaluation.costs import Pricing, compute_seconds, compute_usd, pricing
from evaluation.scoring import summarize


def spec(id: str, kind: str = "llama_cpp", on_premises: bool = True, **options: Any) -> GeneratorSpec:
    return GeneratorSpec(
        id=id, kind=kind, on_premises=on_premises, max_sensitivity=Sensitivity.INTERNAL, **options
    )


SPECS = [
    spec("slm", threads=2),
    spec("big", threads=8),
    spec("gpu", threads=4),
    spec("llm", kind="openai_compatible", on_premises=False),
    spec("cascade", kind="cascade", steps=["slm", "llm"], thresholds=[0.6]),
]


def test_settings_price_cores_gpus_and_the_monthly_volume(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCDUET_COMPUTE_PRICE_CPU_HOUR", "0.36")
    monkeypatch.setenv("DOCDUET_COMPUTE_PRICE_GPU_HOUR", "3.6")
    monkeypatch.setenv("DOCDUET_COMPUTE_GPU_GENERATORS", "gpu, other")
    monkeypatch.setenv("DOCDUET_QUESTIONS_PER_MONTH", "50000")
    costs = Settings().costs
    assert costs.compute_gpu_generators == ("gpu", "other")
    prices = pricing(costs, SPECS)
    assert prices.rates == pytest.approx({"slm": 0.0002, "big": 0.0008, "gpu": 0.001})  # $/s
    assert prices.core_rates == pytest.approx({"slm": 0.0001, "big": 0.0001})  # $/core-s; none for the GPU
    assert prices.units["slm"] == (
        "measured CPU core-seconds at $0.36 per core-hour (2 cores where not measured)"
    )
    assert prices.units["gpu"] == "1 GPU at $3.6/h"
    assert prices.per_month == 50_000  # hosted and cascade entries have no rate of their own


def test_compute_seconds_leave_out_the_queue_and_the_hosted_steps() -> None:
    prices = Pricing({"slm": 0.001})
    assert compute_seconds("slm", local(5.0, queue_s=2.0), prices) == 3.0
    hosted = {"timings": {"total_s": 4.0}, "privacy": {"off_premises": True}}
    assert compute_seconds("llm", hosted, prices) == 0.0 and compute_usd("llm", hosted, prices) == 0.0
    cascade = local(9.0, steps=[{"generator": "slm", "seconds": 2.0}, {"generator": "llm", "seconds": 6.0}])
    assert compute_seconds("cascade", cascade, prices) == 2.0
    assert compute_usd("cascade", cascade, prices) == pytest.approx(0.002)


def test_measured_core_seconds_price_what_the_model_held_not_its_threads() -> None:
    """With share_cores a model that loads with 1 thread answers alone on every free core: its
    measured core-seconds count them; answers recorded without them fall back to seconds x threads."""
    prices = Pricing({"slm": 0.001, "gpu": 0.002}, core_rates={"slm": 0.001})
    two_cores = local(5.0, queue_s=1.0, core_s=8.0)
    assert compute_seconds("slm", two_cores, prices) == 4.0  # wall seconds, as before
    assert compute_usd("slm", two_cores, prices) == pytest.approx(0.008)  # 8 core-s, not 4 s x 1 thread
    assert compute_usd("slm", local(5.0, queue_s=1.0), prices) == pytest.approx(0.004)  # older record
    assert compute_usd("gpu", local(5.0, core_s=99.0), prices) == pytest.approx(0.010)  # GPU: by the second
    steps = [
        {"generator": "slm", "seconds": 2.0, "core_s": 3.5},
        {"generator": "slm", "seconds": 2.0},
        {"generator": "llm", "seconds": 6.0, "core_s": None},
    ]
    assert compute_usd("cascade", local(9.0, steps=steps), prices) == pytest.approx(0.0055)


def test_summary_adds_priced_compute_to_tokens_per_1000_and_per_month() -> None:
    records = [row("a", 2.0, 0.001), row("b", 4.0, 0.003)]
    s = summarize(records, "slm", Pricing({"slm": 0.01}, per_month=30_000))
    assert s["compute_s_mean"] == 3.0
    assert s["compute_usd_per_1k"] == pytest.approx(30.0)  # 3 s at $0.01/s, 1,000 times
    assert s["total_usd_per_1k"] == pytest.approx(32.0)  # plus $2 of tokens
    assert s["total_usd_per_month"] == pytest.approx(960.0)
    free = summarize(records, "slm")
    assert free["compute_usd_per_1k"] == 0.0 and free["total_usd_per_1k"] == pytest.approx(2.0)
