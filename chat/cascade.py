"""A cascade column: ask the steps in order, serve the first answer sure enough to clear its threshold.

``kind: cascade`` in the generators file, ``steps: [slm, slm-large, llm]`` and a threshold for each
step but the last. Each step is given the shared retrieval's passages within its own sensitivity
ceiling; a step that may read none of them, or that is not available, is skipped and never sent
anything. A step whose answer's calibrated probability is below its threshold, has none (no
calibration fits its model) or failed hands over to the next; the last step that can run is
served whatever its confidence. A step's generation is shared with that generator's own column
(:mod:`chat.shared`), so no model runs twice for one question.

The served answer says which model answered (``label``) and what every step did (``steps``); its
timings are the whole cascade's, its usage the sum of every step's, and its privacy record the
union of what every step sent (the served step's passages first, so its citations still
resolve through ``sent_chunk_ids``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from chat.results import Event, GeneratorInfo, Retrieval
from chat.selective import Gate, apply_gate
from chat.shared import Listener, Shared
from chat.slots import GeneratorSlot, Plan
from core.domain import Answer, Escalation, Privacy, Sensitivity, Timings, Usage


@dataclass(frozen=True)
class CascadeSlot:
    """A cascade column: its steps (slots of their own, built or not) and a threshold per step but the last.

    ``gate``: the cascade's own selective answering; without one, the served step's applies.
    """

    name: str
    steps: tuple[GeneratorSlot, ...]
    thresholds: tuple[float, ...]
    title: str = ""
    gate: Gate | None = None

    def __post_init__(self) -> None:
        if not self.steps or len(self.thresholds) != len(self.steps) - 1:
            raise ValueError(
                f"cascade {self.name!r} takes one threshold per step but the last: "
                f"{len(self.steps)} steps, {len(self.thresholds)} thresholds"
            )

    @property
    def label(self) -> str:
        return self.title or self.name

    @property
    def ready(self) -> tuple[GeneratorSlot, ...]:
        """The steps that can run (built)."""
        return tuple(s for s in self.steps if s.generator is not None)

    @property
    def unavailable(self) -> str | None:
        """Why no step can run, or None when one can."""
        if self.ready:
            return None
        return "no step of this cascade is available: " + "; ".join(
            f"{s.name}: {s.unavailable}" for s in self.steps
        )


def cascade_info(cascade: CascadeSlot) -> GeneratorInfo:
    """What a cascade column shows before it answers: off premises when a step that can run is,
    with the most sensitive passage that may leave (else the most sensitive any step reads)."""
    ready = [g for s in cascade.ready if (g := s.generator) is not None]
    hosted = [g for g in ready if g.off_premises]
    ceilings = [g.max_sensitivity for g in hosted or ready]
    return GeneratorInfo(
        name=cascade.name,
        label=cascade.label,
        off_premises=bool(hosted),
        max_sensitivity=max(ceilings, key=_rank) if ceilings else None,
        endpoint=" → ".join(s.name for s in cascade.steps),
        unavailable=cascade.unavailable,
    )


class StepRunner(Protocol):
    """What a cascade needs from the answer service."""

    def plan(self, slot: GeneratorSlot, retrieval: Retrieval) -> Plan: ...

    def run(self, slot: GeneratorSlot, plan: Plan, listener: Listener) -> Shared:
        """The step's answer to the question from ``plan``'s passages (shared with its column)."""
        ...

    def abstained(self, name: str, ceiling: Sensitivity, privacy: Privacy) -> Answer:
        """The answer of a column given no passages (none matched, or all were withheld)."""
        ...

    def failed(self, name: str, error: str, privacy: Privacy) -> Answer: ...


@dataclass(frozen=True)
class _Step:
    slot: GeneratorSlot
    threshold: float | None
    plan: Plan | None
    """None when the step is unavailable."""
    skip: str | None
    """Why it does not run (unavailable, no passage it may read); None when it runs."""


@dataclass(frozen=True)
class _Ran:
    slot: GeneratorSlot
    shared: Shared


def answer_cascade(
    cascade: CascadeSlot, retrieval: Retrieval, started: float, out: Listener, runner: StepRunner
) -> Answer:
    """Run ``cascade``'s steps in order for one question; ``out`` receives its column's events."""
    if not retrieval.hits:
        return runner.abstained(cascade.name, Sensitivity.CONFIDENTIAL, Privacy("", False, (), 0))
    prepared = _prepare(cascade, retrieval, runner)
    last = max((i for i, s in enumerate(prepared) if s.skip is None), default=-1)
    steps: list[Escalation] = []
    ran: list[_Ran] = []
    for i, step in enumerate(prepared):
        if step.plan is None or step.skip is not None:
            steps.append(Escalation(step.slot.name, step.slot.label, None, f"skipped: {step.skip}"))
            continue
        if out.cancelled:  # nobody listens any more: ask no further model (nor send it anything)
            break
        listener = out.renamed(cascade.name)
        if ran:
            listener = _announce(out, cascade.name, step.slot.label)
        shared = runner.run(step.slot, step.plan, listener)
        ran.append(_Ran(step.slot, shared))
        outcome = _outcome(shared.answer, step.threshold, final=i == last)
        steps.append(_escalation(step.slot, shared, outcome))
        if outcome == "served":
            return _served(cascade, ran[-1], steps, ran, retrieval, started)
    return _unserved(cascade, prepared, steps, ran, retrieval, started, runner)


def _announce(out: Listener, column: str, label: str) -> Listener:
    """Tell ``column`` that the next model takes over; that model's status lines say so too."""
    announce = f"Checking with {label}…"
    out(Event(column, "status", text=announce, restart=True))
    return out.renamed(column, status=lambda text: f"{announce} {text}")


def _prepare(cascade: CascadeSlot, retrieval: Retrieval, runner: StepRunner) -> list[_Step]:
    """Each step's threshold and passages, or why it is skipped (decided before anything runs)."""
    prepared = []
    thresholds: list[float | None] = [*cascade.thresholds, None]
    for slot, threshold in zip(cascade.steps, thresholds, strict=True):
        if slot.generator is None:
            prepared.append(_Step(slot, threshold, None, f"unavailable ({slot.unavailable})"))
            continue
        plan = runner.plan(slot, retrieval)
        n = len(retrieval.hits)
        skip = None if plan.hits else f"may read none of the {n} passage{'s' if n != 1 else ''}"
        prepared.append(_Step(slot, threshold, plan, skip))
    return prepared


def _outcome(answer: Answer, threshold: float | None, *, final: bool) -> str:
    """``served``, ``escalated: 0.42 < 0.60``, ``escalated: confidence not calibrated`` or ``failed: …``."""
    if answer.error:
        return f"failed: {answer.error}"
    probability = answer.confidence.probability if answer.confidence else None
    if final or threshold is None:
        return "served"
    if probability is None:
        return "escalated: confidence not calibrated"
    if probability >= threshold:
        return "served"
    return f"escalated: {probability:.2f} < {threshold:.2f}"


def _escalation(slot: GeneratorSlot, shared: Shared, outcome: str) -> Escalation:
    answer = shared.answer
    probability = answer.confidence.probability if answer.confidence else None
    return Escalation(
        slot.name,
        slot.label,
        probability,
        outcome,
        round(shared.seconds, 3),
        answer.usage.cost_usd,
        answer.timings.core_s,
    )


def _served(
    cascade: CascadeSlot,
    served: _Ran,
    steps: Sequence[Escalation],
    ran: Sequence[_Ran],
    retrieval: Retrieval,
    started: float,
) -> Answer:
    """The served step's answer as the cascade's: gated, labelled, every step's time, cost and privacy."""
    gated = apply_gate(served.shared.answer, retrieval.hits, cascade.gate or served.slot.gate)
    others = [r.shared.answer.privacy for r in ran if r is not served]
    return replace(
        gated,
        generator=cascade.name,
        label=f"{cascade.label} · answered by {served.slot.label}",
        steps=tuple(steps),
        timings=_timings(ran, retrieval, started),
        usage=_usage(ran),
        privacy=union_privacy([gated.privacy, *others]),
    )


def _unserved(
    cascade: CascadeSlot,
    prepared: Sequence[_Step],
    steps: list[Escalation],
    ran: Sequence[_Ran],
    retrieval: Retrieval,
    started: float,
    runner: StepRunner,
) -> Answer:
    """No step was served: the last step failed (serve the latest answer there is), or none ran."""
    answered = [r for r in ran if not r.shared.answer.error]
    if answered:  # a later step failed: an earlier answer, however unsure, beats none
        fallback = answered[-1]
        at = next(i for i, s in enumerate(steps) if s.generator == fallback.slot.name)
        steps[at] = replace(steps[at], outcome="served")
        return _served(cascade, fallback, steps, ran, retrieval, started)
    privacy = union_privacy([r.shared.answer.privacy for r in ran])
    if ran:
        answer = runner.failed(cascade.name, "every step failed: " + "; ".join(
            f"{r.slot.name}: {r.shared.answer.error}" for r in ran
        ), privacy)  # fmt: skip
    elif cascade.ready:  # every step that could run may read none of the passages
        plans = [s.plan for s in prepared if s.plan is not None]
        ceiling = max((g.max_sensitivity for s in cascade.ready if (g := s.generator)), key=_rank)
        withheld = min(p.privacy.withheld_count for p in plans)
        answer = runner.abstained(cascade.name, ceiling, replace(privacy, withheld_count=withheld))
    else:
        answer = runner.failed(cascade.name, cascade.unavailable or "unavailable", privacy)
    timings = replace(answer.timings, total_s=time.perf_counter() - started)
    return replace(answer, steps=tuple(steps), timings=timings, usage=_usage(ran))


def _rank(sensitivity: Sensitivity) -> int:
    return sensitivity.rank


def union_privacy(records: Sequence[Privacy]) -> Privacy:
    """What every step sent, together: never less than any one of them.

    The first record's chunk ids come first (the served step: its citations number them), then
    the others' not yet listed; off premises when any step sent passages off premises; the
    endpoints of the steps that were sent passages; the first record's withheld count.
    """
    if not records:
        return Privacy("", False, (), 0)
    ids = dict.fromkeys(i for p in records for i in p.sent_chunk_ids)
    endpoints = dict.fromkeys(p.endpoint for p in records if p.endpoint and p.sent_chunk_ids)
    return Privacy(
        endpoint=", ".join(endpoints),
        off_premises=any(p.off_premises for p in records),
        sent_chunk_ids=tuple(ids),
        withheld_count=records[0].withheld_count,
    )


def _timings(ran: Sequence[_Ran], retrieval: Retrieval, started: float) -> Timings:
    firsts = [r.shared.answer.timings.first_token_s for r in ran]
    return Timings(
        retrieval.seconds,
        next((f for f in firsts if f is not None), None),
        time.perf_counter() - started,
        sum(r.shared.answer.timings.queue_s for r in ran),
        _core_s(ran),
    )


def _core_s(ran: Sequence[_Ran]) -> float | None:
    """The steps' measured core-seconds together; None when no step measured any."""
    measured = [c for r in ran if (c := r.shared.answer.timings.core_s) is not None]
    return round(sum(measured), 3) if measured else None


def _usage(ran: Sequence[_Ran]) -> Usage:
    usages = [r.shared.answer.usage for r in ran]
    return Usage(
        sum(u.prompt_tokens for u in usages),
        sum(u.completion_tokens for u in usages),
        sum(u.cost_usd for u in usages),
    )
