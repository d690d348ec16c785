"""From the generators file's entries to the answer service's columns: generator and cascade slots.

The composition root builds the generators (back ends); this decides what else a column needs:
a cascade's steps (built even when they are not columns themselves, never when disabled), each
column's selective answering, and the slots themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from chat.cascade import CascadeSlot
from chat.generators import GeneratorSpec, is_enabled
from chat.generators.spec import cascade_options
from chat.selective import Gate
from chat.slots import GeneratorSlot
from core.protocols import Generator

Slot = GeneratorSlot | CascadeSlot

PACKAGED_CALIBRATIONS = Path(__file__).parent / "confidence" / "calibrations"
"""Calibrations shipped with docduet, one ``<generator id>.json`` each."""


def calibration_folders(data_dir: Path) -> list[Path]:
    """Where calibrations are read, later ones replacing earlier ones of the same generator: the
    packaged ones, then ``DATA_DIR/calibration`` (written by ``docduet eval --calibrate``)."""
    return [PACKAGED_CALIBRATIONS, data_dir / "calibration"]


def gate_of(spec: GeneratorSpec) -> Gate | None:
    """The spec's ``min_confidence`` and ``below``; None when it sets no minimum."""
    return None if spec.min_confidence is None else Gate(spec.min_confidence, spec.below)


def step_ids(specs: Sequence[GeneratorSpec]) -> list[str]:
    """The steps of ``specs``' cascades that are not among ``specs`` themselves, in order."""
    listed = {s.id for s in specs}
    steps = (step for s in specs if s.is_cascade for step in cascade_options(s).steps)
    return [step for step in dict.fromkeys(steps) if step not in listed]


def to_build(specs: Sequence[GeneratorSpec], steps: Sequence[GeneratorSpec]) -> list[GeneratorSpec]:
    """The generators to build: every plain column asked for, and each enabled step."""
    return [*(s for s in specs if not s.is_cascade), *(s for s in steps if is_enabled(s))]


def disabled_reason(spec: GeneratorSpec) -> str:
    """Why a cascade step that is not a column was not built."""
    if spec.enabled == "auto":
        return f"{spec.id} is not configured (enabled: auto; set its endpoint or key)"
    return f"{spec.id} is disabled in the generators file"


def build_slots(
    specs: Sequence[GeneratorSpec],
    steps: Sequence[GeneratorSpec],
    ready: Mapping[str, Generator],
    unavailable: Mapping[str, str],
) -> list[Slot]:
    """One slot per spec of ``specs``, in order; a cascade's slot holds its steps' slots."""
    plain = {s.id: _slot(s, ready, unavailable) for s in [*specs, *steps] if not s.is_cascade}
    slots: list[Slot] = []
    for spec in specs:
        if not spec.is_cascade:
            slots.append(plain[spec.id])
            continue
        options = cascade_options(spec)
        slots.append(
            CascadeSlot(
                spec.id,
                tuple(plain[step] for step in options.steps),
                tuple(options.thresholds),
                spec.title,
                gate_of(spec),
            )
        )
    return slots


def _slot(
    spec: GeneratorSpec, ready: Mapping[str, Generator], unavailable: Mapping[str, str]
) -> GeneratorSlot:
    generator = ready.get(spec.id)
    why = None if generator is not None else unavailable.get(spec.id) or disabled_reason(spec)
    return GeneratorSlot(
        spec.id, generator, why, spec.max_passages, spec.title, gate_of(spec), spec.context_tokens
    )
