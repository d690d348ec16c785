"""What the answer service holds per column: a generator (or why it cannot run), what it may read.

A :class:`GeneratorSlot` is one configured generator; :func:`plan_for` decides which of the shared
retrieval's passages it is given (its sensitivity ceiling, its passage cap) and records what that
sends where. A cascade's steps are slots too (:mod:`chat.cascade`).
"""

from __future__ import annotations

from dataclasses import dataclass

from chat.results import Retrieval
from chat.selective import Gate
from core.domain import Hit, Privacy
from core.protocols import Generator


def may_receive(generator: Generator, hit: Hit) -> bool:
    """A passage goes to a generator only up to that generator's sensitivity ceiling."""
    return hit.chunk.access.sensitivity.at_most(generator.max_sensitivity)


@dataclass(frozen=True)
class GeneratorSlot:
    """One configured generator as the answer service holds it: built, or why it cannot run.

    ``unavailable`` is reported as that generator's error; ``max_passages`` caps how many of the
    best passages it reads; ``title`` is shown when the generator has no label of its own;
    ``gate`` is its selective answering (``min_confidence`` and ``below``), None for none;
    ``context_tokens`` cuts its passages to their best sentences, about that many tokens in all
    (:mod:`chat.focus`; None: whole passages).
    """

    name: str
    generator: Generator | None = None
    unavailable: str | None = None
    max_passages: int | None = None
    title: str = ""
    gate: Gate | None = None
    context_tokens: int | None = None

    def __post_init__(self) -> None:
        if (self.generator is None) == (self.unavailable is None):
            raise ValueError(
                f"generator slot {self.name!r} takes a generator or the reason it is unavailable "
                "(exactly one of them)"
            )

    @property
    def label(self) -> str:
        """What users see: the generator's own label, else the title, else the name."""
        if self.generator is not None and self.generator.label:
            return self.generator.label
        return self.title or self.name


@dataclass(frozen=True)
class Plan:
    """What one generator will be given: the passages and the privacy record of sending them."""

    hits: tuple[Hit, ...]
    privacy: Privacy


def plan_for(slot: GeneratorSlot, generator: Generator, retrieval: Retrieval) -> Plan:
    """The passages ``generator`` may read (best first, capped by its slot) and what that sends where."""
    allowed = tuple(h for h in retrieval.hits if may_receive(generator, h))
    withheld = len(retrieval.hits) - len(allowed)
    hits = allowed[: slot.max_passages] if slot.max_passages is not None else allowed
    privacy = Privacy(
        endpoint=generator.endpoint,
        off_premises=generator.off_premises and bool(hits),
        sent_chunk_ids=tuple(h.chunk.chunk_id for h in hits),
        withheld_count=withheld,
    )
    return Plan(hits=hits, privacy=privacy)
