"""What an answer costs when local compute is counted: hosted tokens at their prices, local models
at a price per CPU core-hour (or GPU-hour) times the seconds they spent answering.

A local answer's compute seconds are its answer time without the wait for a free model instance
(``timings.queue_s``); a cascade's are its on-premises steps' seconds, each priced at its own
generator's rate. An off-premises answer has no local compute: its tokens are its cost.

On a CPU the price is per core-second. A local model measures its own (``timings.core_s``: each
evaluation's seconds times the threads it ran with), which counts what it really held: with
``share_cores`` a model answering alone takes every free core, not its ``threads``. An answer
recorded without them (an older run) is priced at its seconds times the generator's ``threads``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chat.generators import GeneratorSpec
from core.sections.costs import CostSettings

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class Pricing:
    """US dollars per second of each local generator's compute, and the monthly volume."""

    rates: Mapping[str, float] = field(default_factory=dict)
    """Generator id -> dollars per compute second; a generator absent here is free to run."""
    units: Mapping[str, str] = field(default_factory=dict)
    """Generator id -> what it was priced as ("measured CPU core-seconds at $0.05 per core-hour",
    "1 GPU at $2.50/h")."""
    per_month: int = 10_000
    core_rates: Mapping[str, float] = field(default_factory=dict)
    """Generator id -> dollars per measured CPU core-second (CPU generators only; a GPU's is
    priced by the second)."""

    def to_json(self) -> dict[str, Any]:
        """What results.json records of the prices used."""
        return {
            "rates_usd_per_s": dict(self.rates),
            "rates_usd_per_core_s": dict(self.core_rates),
            "priced_as": dict(self.units),
            "per_month": self.per_month,
        }


def pricing(costs: CostSettings, specs: Iterable[GeneratorSpec]) -> Pricing:
    """Each on-premises, non-cascade generator's rates: the CPU core-hour price per measured
    core-second (and, for answers without them, its threads (1 unless set) times that price per
    second), or the GPU-hour price when it is listed as running on a GPU."""
    rates: dict[str, float] = {}
    core_rates: dict[str, float] = {}
    units: dict[str, str] = {}
    for spec in specs:
        if not spec.on_premises or spec.is_cascade:
            continue
        if spec.id in costs.compute_gpu_generators:
            rates[spec.id] = costs.compute_price_gpu_hour / SECONDS_PER_HOUR
            units[spec.id] = f"1 GPU at ${costs.compute_price_gpu_hour:g}/h"
            continue
        cores = _threads(spec)
        core_rates[spec.id] = costs.compute_price_cpu_hour / SECONDS_PER_HOUR
        rates[spec.id] = cores * core_rates[spec.id]
        units[spec.id] = (
            f"measured CPU core-seconds at ${costs.compute_price_cpu_hour:g} per core-hour "
            f"({cores} core{'s' if cores != 1 else ''} where not measured)"
        )
    return Pricing(rates, units, costs.questions_per_month, core_rates)


def _threads(spec: GeneratorSpec) -> int:
    try:
        return max(1, int(spec.options.get("threads") or 1))
    except (TypeError, ValueError):
        return 1


def compute_seconds(generator: str, answer: Mapping[str, Any], prices: Pricing) -> float:
    """Seconds of local compute behind one recorded answer (``answer_json``'s shape): its own
    answer time less its queue wait, a cascade's local steps' (those ``prices`` rates), 0 off
    the premises."""
    steps = answer.get("steps") or []
    if steps:
        return sum(float(s.get("seconds") or 0.0) for s in steps if s.get("generator") in prices.rates)
    if (answer.get("privacy") or {}).get("off_premises"):
        return 0.0
    timings = answer.get("timings") or {}
    return max(0.0, float(timings.get("total_s") or 0.0) - float(timings.get("queue_s") or 0.0))


def compute_usd(generator: str, answer: Mapping[str, Any], prices: Pricing) -> float:
    """Dollars of local compute behind one recorded answer at ``prices``."""
    steps = answer.get("steps") or []
    if steps:
        return sum(
            _usd(s.get("generator", ""), s.get("core_s"), float(s.get("seconds") or 0.0), prices)
            for s in steps
        )
    core_s = (answer.get("timings") or {}).get("core_s")
    return _usd(generator, core_s, compute_seconds(generator, answer, prices), prices)


def _usd(generator: str, core_s: float | None, seconds: float, prices: Pricing) -> float:
    """An answer's or a step's compute: its measured core-seconds where it has them (CPU), else
    its seconds at the generator's rate."""
    if core_s is not None and generator in prices.core_rates:
        return float(core_s) * prices.core_rates[generator]
    return seconds * prices.rates.get(generator, 0.0)
