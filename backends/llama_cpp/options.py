"""The ``llama_cpp`` kind's own fields in the generators file, and the defaults the generator's
keyword arguments take from them (one default per setting)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LlamaCppOptions(BaseModel):
    """The ``llama_cpp`` kind's own fields in the generators file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    threads: int = Field(default=1, ge=1)
    n_ctx: int = Field(default=4096, ge=256)
    prompt_format: Literal["auto", "chat", "completion"] = "auto"
    repeat_penalty: float = Field(default=1.1, ge=1.0)
    pool_size: int = Field(default=1, ge=1, le=16)
    """llama.cpp instances, each answering one question at a time (memory: one model each)."""
    queue_timeout_s: float = Field(default=300.0, gt=0)
    """Longest a question waits for a free instance before it is told to try again."""
    examples: int = Field(default=2, ge=0, le=2)
    """Worked exchanges at the head of chat prompts: 2 (answered + abstained), 1, or 0."""
    self_check: bool = True
    """After answering, ask the model whether its answer is stated in the passages (one token,
    the prompt reused from llama.cpp's cache): a confidence signal (chat.confidence)."""
    samples: int = Field(default=0, ge=0, le=8)
    """After answering, draw this many more answers at temperature 0.8 (the prompt reused from
    llama.cpp's cache): how often they say the same is a confidence signal (consistency)."""
    share_cores: bool = True
    """Threads follow the local generations running in the process: one alone uses every core
    other processes leave free, n at once an equal share of them (backends/llama_cpp/cores.py);
    false: always ``threads``."""
    flash_attn: bool = True
    """llama.cpp's flash attention (fused attention over the KV cache): measured here on 2 cores,
    1,252 prompt tokens, it evaluates a prompt 1.15x (Qwen 0.5B) and 1.07x (Qwen 1.5B) faster at
    the same decoding speed; the sums' other order rewords about 1 answer in 8, and on SQuAD-mini
    200 both models' outcomes were the same (docs/performance.md); false: plain attention."""
    run_alone: bool = True
    """Each generation waits for the process's other local generations to finish and then runs
    alone on every free core, the smallest model first (backends/llama_cpp/turns.py): measured on
    2 cores, one after the other finishes both sooner than both at once (docs/performance.md);
    false: run at once with the others, sharing the cores."""
    draft: Literal["none", "prompt_lookup"] = "none"
    """prompt_lookup: draft the next tokens from what followed the answer's last ones in the
    prompt, verified in one evaluation (backends/llama_cpp/instance.py); the answer is the same."""
    draft_tokens: int = Field(default=10, ge=1, le=64)
    """Tokens drafted per step with prompt_lookup (llama-cpp-python's ``num_pred_tokens``)."""
    quantize: Literal["none", "q4_0", "iq4_nl"] = "none"
    """Derive this format from the model once, into the cache (backends/llama_cpp/derived.py)."""


DEFAULTS = LlamaCppOptions.model_construct(model="")
"""The kind's one set of defaults (the generator's keyword defaults are these)."""
