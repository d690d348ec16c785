"""What a local model is asked right after its answer, for the confidence signals.

:func:`self_check`: P(yes) of "is your answer stated in the documents?" (Kadavath et al. 2022).
:func:`draw_samples`: extra answers drawn at a higher temperature, a consistency signal.

An answer the model gives again when it samples is likelier right than one it changes each time
(self-consistency: Wang et al. 2022; SelfCheckGPT, Manakul et al. 2023). The prompt is the one
llama.cpp has just evaluated, so each sample costs only its own tokens. Each sample has its own
fixed seed: the same answer gets the same samples. :mod:`chat.confidence.signals` compares them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from backends.llama_cpp.logprobs import (
    NO_SPELLINGS,
    SELF_CHECK_QUESTION,
    YES_SPELLINGS,
    FirstStep,
    first_token_ids,
)

log = logging.getLogger(__name__)

TEMPERATURE = 0.8
"""Sampling temperature of the extra answers (the answer itself is greedy)."""
MAX_SAMPLE_TOKENS = 96
"""At most this many tokens per sample: enough to see whether it says the same thing."""


def draw_samples(
    llama: Any,
    *,
    count: int,
    messages: Sequence[Any] | None,
    text: str | None,
    max_tokens: int,
    stop: Sequence[str] = (),
    name: str = "",
) -> tuple[str, ...]:
    """``count`` sampled answers to the chat ``messages`` (or the completion ``text``).

    A failure costs the signal, never the answer: it is logged and no samples are returned.
    """
    limit = min(max_tokens, MAX_SAMPLE_TOKENS)
    found: list[str] = []
    try:
        for seed in range(count):
            if messages is not None:
                reply = llama.create_chat_completion(
                    messages=list(messages), max_tokens=limit, temperature=TEMPERATURE, seed=seed
                )
                found.append(str(reply["choices"][0]["message"]["content"] or "").strip())
            else:
                reply = llama.create_completion(
                    text, max_tokens=limit, temperature=TEMPERATURE, seed=seed, stop=list(stop)
                )
                found.append(str(reply["choices"][0]["text"] or "").strip())
    except (ValueError, RuntimeError) as e:
        log.warning("%s: drawing samples failed (%s); no consistency signal for this answer", name, e)
        return ()
    return tuple(found)


def self_check(
    llama: Any, *, messages: Sequence[Any] | None, text: str | None, answer: str, name: str = ""
) -> float | None:
    """P(yes) of "is your answer stated in the documents?", asked right after the answer.

    The conversation so far is what llama.cpp just evaluated, so only the question's few tokens
    are new. A failure here costs the signal, never the answer.
    """
    from llama_cpp import LogitsProcessorList

    step = FirstStep()
    try:
        if messages is not None:
            asked = [
                *messages,
                {"role": "assistant", "content": answer},
                {"role": "user", "content": SELF_CHECK_QUESTION},
            ]
            llama.create_chat_completion(
                messages=asked, max_tokens=1, temperature=0.0, logits_processor=LogitsProcessorList([step])
            )
        else:
            llama.create_completion(
                f"{text} {answer}\n{SELF_CHECK_QUESTION}\nReply:",
                max_tokens=1,
                temperature=0.0,
                logits_processor=LogitsProcessorList([step]),
            )
    except (ValueError, RuntimeError) as e:
        log.warning("%s: the self-check failed (%s); no self-check signal for this answer", name, e)
        return None
    return step.p_yes(
        first_token_ids(llama.tokenize, YES_SPELLINGS), first_token_ids(llama.tokenize, NO_SPELLINGS)
    )


@dataclass(frozen=True)
class Afterwards:
    """What a generator asks after each answer: the self-check, and how many samples."""

    self_check: bool
    samples: int
    max_tokens: int
    stop: Sequence[str] = ()
    name: str = ""


def ask_afterwards(
    llama: Any, asked: Afterwards, *, messages: Sequence[Any] | None, text: str | None, answer: str
) -> tuple[float | None, tuple[str, ...]]:
    """The self-check's P(yes) (None: not asked or failed) and the samples (empty: none drawn)."""
    checked = (
        self_check(llama, messages=messages, text=text, answer=answer, name=asked.name)
        if asked.self_check
        else None
    )
    drawn = (
        draw_samples(
            llama,
            count=asked.samples,
            messages=messages,
            text=text,
            max_tokens=asked.max_tokens,
            stop=asked.stop,
            name=asked.name,
        )
        if asked.samples
        else ()
    )
    return checked, drawn
