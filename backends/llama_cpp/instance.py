"""The llama.cpp instance a generator loads: it reports what its prompt cache saved, and shares the cores.

Imported only when a model is loaded (llama-cpp-python is optional until then).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

from llama_cpp import Llama

from backends.llama_cpp.cores import CoreShare


class CachedLlama(Llama):
    """A ``Llama`` that counts the prompt tokens it reused from its cache, and resizes its threads.

    llama-cpp-python keeps the last evaluated sequence and, for a new prompt, keeps the longest
    common prefix in its KV cache and evaluates only the rest (``Llama.generate``). When the
    prompt's first evaluation starts, ``n_tokens`` is exactly the part it kept:
    :attr:`reused_tokens` of :attr:`prompt_tokens`. With ``share``, each evaluation first takes
    this generation's share of the cores (:class:`backends.llama_cpp.cores.CoreShare`).
    """

    def __init__(self, *args: Any, share: CoreShare | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.share = share
        self.prompt_tokens = 0
        """Tokens of the last prompt given to :meth:`generate`."""
        self.reused_tokens = 0
        """Of those, the tokens taken from the cache rather than evaluated."""
        self.threads_now = self.n_threads
        """Threads of the last evaluation."""
        self._new_prompt = False

    def generate(self, tokens: Sequence[int], *args: Any, **kwargs: Any) -> Generator[int, Any, None]:
        self.prompt_tokens = len(tokens)
        self.reused_tokens = 0
        self._new_prompt = True
        return super().generate(tokens, *args, **kwargs)

    def eval(self, tokens: Sequence[int]) -> None:
        if self._new_prompt:  # generate has just kept the common prefix (or reset to 0)
            self._new_prompt = False
            self.reused_tokens = self.n_tokens
        if self.share is not None:
            self.use_threads(self.share.threads())
        super().eval(tokens)

    def use_threads(self, threads: int) -> None:
        """Evaluate with ``threads`` from now on (prompt batches and single tokens alike)."""
        if threads != self.threads_now:
            self._ctx.set_n_threads(threads, threads)
            self.threads_now = threads
