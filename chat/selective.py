"""Selective answering: what a column does with an answer whose confidence is below its minimum.

Per generator, ``min_confidence`` and ``below`` in the generators file. ``flag`` keeps the answer
and puts "below this column's minimum confidence 0.60" first among its confidence's reasons;
``abstain`` replaces the text by "Not sure enough to answer …" and the passages the model read
(each still a citation, so every front end links it), keeping the model's own answer in
``withheld_text``. An answer without a calibrated probability (no calibration fits its model), an
error, or an answer at or above the minimum is never touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import Literal

from core.domain import Answer, Citation, Hit

Below = Literal["flag", "abstain"]
SNIPPET_CHARS = 200


@dataclass(frozen=True)
class Gate:
    """A column's minimum confidence and what it does below it."""

    min_confidence: float
    below: Below = "flag"

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError(f"min_confidence is a probability (0 to 1), got {self.min_confidence}")


def below_reason(gate: Gate) -> str:
    """The reason a gated answer's confidence shows first."""
    return f"below this column's minimum confidence {gate.min_confidence:.2f}"


def not_sure_text(probability: float, gate: Gate, read: Sequence[Hit]) -> str:
    """``Not sure enough to answer (confidence 0.31 < 0.60). Read these passages instead:`` and the list."""
    head = (
        f"Not sure enough to answer (confidence {probability:.2f} < {gate.min_confidence:.2f}). "
        "Read these passages instead:"
    )
    lines = [f"- [{n}] {_where(hit)}" for n, hit in enumerate(read, start=1)]
    return "\n".join([head, *lines])


def apply_gate(answer: Answer, hits: Sequence[Hit], gate: Gate | None) -> Answer:
    """``answer`` as its column shows it under ``gate`` (``hits``: the retrieval it was answered from)."""
    confidence = answer.confidence
    if gate is None or answer.error or confidence is None or confidence.probability is None:
        return answer
    probability = confidence.probability
    if probability >= gate.min_confidence:
        return answer
    flagged = replace(confidence, reasons=(below_reason(gate), *confidence.reasons))
    read = passages_read(answer, hits)
    if gate.below == "flag" or not read:  # nothing was read: there is nothing to point to instead
        return replace(answer, confidence=flagged)
    return replace(
        answer,
        text=not_sure_text(probability, gate, read),
        citations=reading_list(answer, read),
        abstained=True,
        withheld_text=answer.text,
        confidence=flagged,
        flags=(),  # they warn about words of the withheld text, which is not shown
        flagged_markers=(),
    )


def passages_read(answer: Answer, hits: Sequence[Hit]) -> tuple[Hit, ...]:
    """The passages sent to the model, in the order it numbered them (``privacy.sent_chunk_ids``)."""
    by_id = {h.chunk.chunk_id: h for h in hits}
    return tuple(by_id[i] for i in answer.privacy.sent_chunk_ids if i in by_id)


def reading_list(answer: Answer, read: Sequence[Hit]) -> tuple[Citation, ...]:
    """One citation per passage read, numbered as the model saw them; the model's own where it cited."""
    cited = {c.number: c for c in answer.citations}
    return tuple(cited.get(n) or _citation(n, hit) for n, hit in enumerate(read, start=1))


def _citation(number: int, hit: Hit) -> Citation:
    chunk = hit.chunk
    snippet = chunk.text.strip()
    if len(snippet) > SNIPPET_CHARS:
        snippet = snippet[:SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"
    return Citation(number, chunk.source, chunk.title, chunk.section, chunk.page, snippet, support=0.0)


def _where(hit: Hit) -> str:
    chunk = hit.chunk
    section = f" › {chunk.section}" if chunk.section and chunk.section != chunk.title else ""
    return f"{chunk.title or PurePath(chunk.source).name}{section} ({PurePath(chunk.source).name})"
