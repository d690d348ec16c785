"""Confidence signals from a local model: each answer token's log-probability, and P(yes) of a
self-check question asked right after the answer (Kadavath et al. 2022, "P(True)").

llama-cpp-python returns log-probabilities only from a model loaded with ``logits_all=True``,
which keeps ``n_ctx x vocabulary`` floats (2.5 GB for Qwen2.5 at 4,096 tokens). A logits
processor sees each step's logits anyway: :class:`TokenLogprobs` keeps the last step's
log-softmax and, when the next step shows which token was chosen, records its log-probability.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

SELF_CHECK_QUESTION = (
    "Is the answer you just gave stated in the documents above? Reply with one word: yes or no."
)
"""Asked after the answer, in the same conversation, so llama.cpp reuses the evaluated prompt."""


def _log_softmax(scores: npt.NDArray[np.single]) -> npt.NDArray[np.float64]:
    values = np.asarray(scores, dtype=np.float64)
    top = float(values.max())
    return values - (top + float(np.log(np.exp(values - top).sum())))


class TokenLogprobs:
    """A logits processor recording the log-probability of every token the model then chose.

    The token chosen at the last step (the end-of-answer token, or the one that hit the limit)
    is never shown to a later step, so it is not recorded. The token chosen at step ``k`` sits at
    position ``prompt + k`` of ``input_ids``: with prompt-lookup drafts, ``input_ids`` runs on past
    the step being sampled (the drafted tokens), so its last token is not the one chosen.
    """

    def __init__(self) -> None:
        self.values: list[float] = []
        self._previous: npt.NDArray[np.float64] | None = None
        self._prompt: int | None = None

    def __call__(
        self, input_ids: npt.NDArray[np.intc], scores: npt.NDArray[np.single]
    ) -> npt.NDArray[np.single]:
        if self._prompt is None:
            self._prompt = len(input_ids)  # the first step sees the evaluated prompt only
        elif self._previous is not None:
            chosen = self._prompt + len(self.values)
            if chosen < len(input_ids):
                self.values.append(float(self._previous[int(input_ids[chosen])]))
        self._previous = _log_softmax(scores)
        return scores


class FirstStep:
    """A logits processor keeping only the first step's log-probabilities (for a yes/no reply)."""

    def __init__(self) -> None:
        self.logprobs: npt.NDArray[np.float64] | None = None

    def __call__(
        self, input_ids: npt.NDArray[np.intc], scores: npt.NDArray[np.single]
    ) -> npt.NDArray[np.single]:
        if self.logprobs is None:
            self.logprobs = _log_softmax(scores)
        return scores

    def p_yes(self, yes_ids: Sequence[int], no_ids: Sequence[int]) -> float | None:
        """P(yes) among the yes and no spellings' first tokens; None before any step ran."""
        if self.logprobs is None:
            return None
        yes = float(np.exp(self.logprobs[list(yes_ids)]).sum())
        no = float(np.exp(self.logprobs[list(no_ids)]).sum())
        return yes / (yes + no) if yes + no > 0 else None


YES_SPELLINGS = ("yes", "Yes", " yes", " Yes", "YES")
NO_SPELLINGS = ("no", "No", " no", " No", "NO")


def first_token_ids(tokenize: Any, spellings: Sequence[str]) -> list[int]:
    """The first token of each spelling, without repeats (``tokenize`` is ``Llama.tokenize``)."""
    ids: list[int] = []
    for word in spellings:
        tokens = tokenize(word.encode("utf-8"), add_bos=False, special=False)
        if tokens and tokens[0] not in ids:
            ids.append(int(tokens[0]))
    return ids
