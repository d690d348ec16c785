"""The signals measured on every answer: what the model, the retrieval and the citations say.

Each is a number, named once here; a calibration (:mod:`chat.confidence.calibration`) weighs the
ones it was fitted on. A signal a back end cannot give (a hosted model without log-probabilities)
is left out and the calibration falls back on its average.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from chat.citations import is_abstention
from core.domain import Citation, Hit
from core.protocols import GenerationResult

SIGNALS: dict[str, str] = {
    "lp_mean": "mean log-probability of the answer's tokens",
    "lp_min": "lowest log-probability of any answer token",
    "self_check": "the model's P(yes) that its answer is stated in the passages",
    "consistency": "mean agreement of the answer with the model's sampled answers",
    "top_similarity": "best passage's similarity to the question",
    "similarity_margin": "best passage's similarity minus the second's",
    "close_passages": "passages within 0.05 similarity of the best one",
    "cited_support": "mean support of the shown citations for their sentences",
    "citations": "citations shown",
    "dropped_markers": "citation markers dropped as unsupported",
    "attributed_share": "share of citations docduet attributed (the model wrote no marker)",
    "abstained": "1 when the answer says the documents do not hold it",
    "answer_tokens": "log(1 + answer tokens)",
}
"""Every signal's name and meaning (the calibration file and the eval report use these names)."""

CLOSE = 0.05


def _similarity(hit: Hit) -> float:
    return hit.similarity if hit.similarity is not None else hit.score


def retrieval_signals(hits: Sequence[Hit]) -> dict[str, float]:
    """Best similarity, its margin over the second, how many passages come close to it."""
    if not hits:
        return {"top_similarity": 0.0, "similarity_margin": 0.0, "close_passages": 0.0}
    values = sorted((_similarity(h) for h in hits), reverse=True)
    top = values[0]
    return {
        "top_similarity": top,
        "similarity_margin": top - values[1] if len(values) > 1 else top,
        "close_passages": float(sum(1 for v in values[1:] if top - v <= CLOSE)),
    }


def model_signals(result: GenerationResult | None) -> dict[str, float]:
    """Token log-probabilities and the self-check, when the back end reported them."""
    if result is None:
        return {}
    signals: dict[str, float] = {"answer_tokens": math.log1p(result.usage.completion_tokens)}
    if result.token_logprobs:
        signals["lp_mean"] = sum(result.token_logprobs) / len(result.token_logprobs)
        signals["lp_min"] = min(result.token_logprobs)
    if result.self_check is not None:
        signals["self_check"] = result.self_check
    if result.samples:
        signals["consistency"] = consistency(result.text, result.samples)
    return signals


_MARKER = re.compile(r"\[\d+\]")
_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return _WORD.findall(_MARKER.sub(" ", text).casefold())


def agreement(first: str, second: str) -> float:
    """How far two answers say the same: 1 when both abstain, 0 when one does, else the F1 of
    their words (citation markers left out), as SQuAD scores an answer against its gold."""
    abstained = is_abstention(first), is_abstention(second)
    if any(abstained):
        return 1.0 if all(abstained) else 0.0
    a, b = _words(first), _words(second)
    if not a or not b:
        return 1.0 if a == b else 0.0
    common = sum(min(a.count(w), b.count(w)) for w in set(a) & set(b))
    if not common:
        return 0.0
    precision, recall = common / len(a), common / len(b)
    return 2 * precision * recall / (precision + recall)


def consistency(answer: str, samples: Sequence[str]) -> float:
    """Mean :func:`agreement` of the answer with each sampled answer."""
    return sum(agreement(answer, s) for s in samples) / len(samples)


def citation_signals(citations: Sequence[Citation], dropped: int) -> dict[str, float]:
    """How well the shown citations support the answer, and how many markers were dropped."""
    shown = len(citations)
    return {
        "cited_support": sum(c.support for c in citations) / shown if shown else 0.0,
        "citations": float(shown),
        "dropped_markers": float(dropped),
        "attributed_share": sum(c.attributed for c in citations) / shown if shown else 0.0,
    }


def measure(
    *,
    hits: Sequence[Hit],
    result: GenerationResult | None,
    citations: Sequence[Citation],
    dropped_markers: int,
    abstained: bool,
) -> tuple[tuple[str, float], ...]:
    """Every signal this answer has, in :data:`SIGNALS` order."""
    found = {
        **retrieval_signals(hits),
        **model_signals(result),
        **citation_signals(citations, dropped_markers),
        "abstained": 1.0 if abstained else 0.0,
    }
    return tuple((name, round(float(found[name]), 6)) for name in SIGNALS if name in found)
