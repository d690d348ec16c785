"""The llama.cpp instance a generator loads: it reports what its prompt cache saved, shares the
cores, and may draft tokens from the prompt (prompt-lookup decoding).

Imported only when a model is loaded (llama-cpp-python is optional until then).
"""

from __future__ import annotations

import time
from collections.abc import Generator, Sequence
from typing import Any

from llama_cpp import Llama
from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

from backends.llama_cpp.cores import CoreShare

LOOKUP_NGRAM = 2
"""Prompt lookup matches the answer's last 2 (else 1) tokens against the prompt and drafts what
followed them there (llama-cpp-python's default)."""


class CachedLlama(Llama):
    """A ``Llama`` that counts the prompt tokens it reused from its cache, and resizes its threads.

    llama-cpp-python keeps the last evaluated sequence and, for a new prompt, keeps the longest
    common prefix in its KV cache and evaluates only the rest (``Llama.generate``). When the
    prompt's first evaluation starts, ``n_tokens`` is exactly the part it kept:
    :attr:`reused_tokens` of :attr:`prompt_tokens`. With ``share``, each evaluation first takes
    this generation's share of the cores (:class:`backends.llama_cpp.cores.CoreShare`).

    With ``prompt_lookup`` (tokens per draft), each step drafts up to that many tokens that
    followed the answer's last tokens in the prompt and verifies them in one evaluation: an
    answer that copies a passage takes several tokens per step, and greedy answers stay the same.
    """

    def __init__(
        self, *args: Any, share: CoreShare | None = None, prompt_lookup: int = 0, **kwargs: Any
    ) -> None:
        if prompt_lookup:
            kwargs["draft_model"] = LlamaPromptLookupDecoding(
                max_ngram_size=LOOKUP_NGRAM, num_pred_tokens=prompt_lookup
            )
        super().__init__(*args, **kwargs)
        self.share = share
        self.prompt_tokens = 0
        """Tokens of the last prompt given to :meth:`generate`."""
        self.reused_tokens = 0
        """Of those, the tokens taken from the cache rather than evaluated."""
        self.threads_now = self.n_threads
        """Threads of the last evaluation."""
        self.steps = 0
        """Evaluations after the prompt in the last generation: one per token, fewer with drafts."""
        self.core_seconds = 0.0
        """Every evaluation's seconds times its threads, summed since loading (never reset: a
        generation reads it before and after). llama.cpp's threads spin while they wait, so this is
        the CPU time an evaluation holds, whatever ``share`` gave it."""
        self._new_prompt = False

    def generate(self, tokens: Sequence[int], *args: Any, **kwargs: Any) -> Generator[int, Any, None]:
        self.prompt_tokens = len(tokens)
        self.reused_tokens = 0
        self.steps = 0
        self._new_prompt = True
        return super().generate(tokens, *args, **kwargs)

    def eval(self, tokens: Sequence[int]) -> None:
        prompt = self._new_prompt
        if prompt:  # generate has just kept the common prefix (or reset to 0)
            self._new_prompt = False
            self.reused_tokens = self.n_tokens
        else:
            self.steps += 1
        if self.share is not None:
            self.use_threads(self.share.threads())
        started = time.perf_counter()
        try:
            if self.draft_model is None:
                super().eval(tokens)
            else:
                self._eval_drafts(tokens, every_logit=not prompt)
        finally:
            self.core_seconds += (time.perf_counter() - started) * self.threads_now

    def use_threads(self, threads: int) -> None:
        """Evaluate with ``threads`` from now on (prompt batches and single tokens alike)."""
        if threads != self.threads_now:
            self._ctx.set_n_threads(threads, threads)
            self.threads_now = threads

    def _eval_drafts(self, tokens: Sequence[int], *, every_logit: bool) -> None:
        """``Llama.eval`` for drafting: logits of every token of a draft (each is checked), of only
        the last one of a prompt, and none copied into ``scores``.

        llama-cpp-python turns ``logits_all`` on for a draft model, which would compute the output
        layer for every prompt token (the 0.5B model's largest matrix: tens of percent more
        prompt time) and copy each row into ``scores``, sized for ``n_batch`` rows unless
        ``logits_all`` was asked for (then ``n_ctx`` rows, 2.5 GB for Qwen2.5): a prompt longer
        than ``n_batch`` fails there. Sampling reads the logits from llama.cpp, not ``scores``.
        """
        self._ctx.kv_cache_seq_rm(-1, self.n_tokens, -1)
        for start in range(0, len(tokens), self.n_batch):
            batch = tokens[start : start + self.n_batch]
            n_past = self.n_tokens
            self._batch.set_batch(batch=batch, n_past=n_past, logits_all=every_logit)
            self._ctx.decode(self._batch)
            self.input_ids[n_past : n_past + len(batch)] = batch
            self.n_tokens += len(batch)
            self._requires_eval = False
