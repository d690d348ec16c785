"""The ``llama_cpp`` kind: a local GGUF model through llama-cpp-python.

The model is a packaged model's name (backends/llama_cpp/packaged.py) or the path of the user's own GGUF. An
instruction-tuned GGUF is prompted through its own chat template; a base model (no template)
through a few-shot completion prompt. llama.cpp keeps the evaluated prompt between calls and
reuses its longest common prefix, so the fixed instructions at the head of every prompt are
evaluated once per model, not once per question.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from collections.abc import Generator as PyGenerator
from contextlib import AbstractContextManager, ExitStack, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backends.llama_cpp.afterwards import Afterwards, ask_afterwards
from backends.llama_cpp.cores import LOCAL_GENERATIONS
from backends.llama_cpp.logprobs import TokenLogprobs
from backends.llama_cpp.logs import route_llama_logs
from backends.llama_cpp.options import DEFAULTS, LlamaCppOptions
from backends.llama_cpp.packaged import check_gguf
from backends.llama_cpp.turns import LOCAL_TURNS
from chat.generators.pool import InstancePool
from chat.prompt import build_prompt
from core.domain import Sensitivity, Usage
from core.errors import ConfigError, GenerationError
from core.prompt import COMPLETION_STOP, Prompt, fit_prompt
from core.protocols import GenerationResult, TextStream

if TYPE_CHECKING:
    from backends.llama_cpp.instance import CachedLlama as Llama

log = logging.getLogger(__name__)

__all__ = ["DEFAULTS", "LlamaCppGenerator", "LlamaCppOptions"]

PROMPT_FORMATS = ("auto", "chat", "completion")
_LOAD_LOCK = threading.Lock()
"""One model load at a time in the whole process: llama-cpp-python silences a load by pointing
the process's stdout/stderr descriptors at /dev/null and back, and two loads at once (two columns
starting together) could leave them pointing there for good: seen as a `docduet compare` that
printed nothing and exited 0."""
_CONTEXT_MARGIN = 16
"""Tokens kept free besides the answer: BOS, template glue the estimate may miss."""


class LlamaCppGenerator:
    """Streams answers from a GGUF model; loads it once, lazily, and serialises generation."""

    off_premises = False

    def __init__(
        self,
        model_path: Path,
        *,
        n_ctx: int,
        n_threads: int,
        max_tokens: int,
        prompt_format: str = DEFAULTS.prompt_format,
        repeat_penalty: float = DEFAULTS.repeat_penalty,
        name: str = "slm",
        label: str = "",
        max_sensitivity: Sensitivity = Sensitivity.CONFIDENTIAL,
        examples: int = DEFAULTS.examples,
        pool_size: int = DEFAULTS.pool_size,
        queue_timeout_s: float = DEFAULTS.queue_timeout_s,
        self_check: bool = True,
        samples: int = 0,
        share_cores: bool = True,
        flash_attn: bool = DEFAULTS.flash_attn,
        run_alone: bool = DEFAULTS.run_alone,
        prompt_lookup: int = 0,
        prepare: Callable[[], Path] | None = None,
    ) -> None:
        if prompt_format not in PROMPT_FORMATS:
            raise ConfigError(
                f"unknown prompt_format {prompt_format!r} for generator {name!r}; use one of "
                + ", ".join(PROMPT_FORMATS)
            )
        self.name = name
        self.label = label or model_path.stem
        self.max_sensitivity = max_sensitivity
        self.examples = examples
        self.model_path = model_path
        self.endpoint = str(model_path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.max_tokens = max_tokens
        self.prompt_format = prompt_format
        self.repeat_penalty = repeat_penalty
        self.self_check = self_check
        self.samples = samples
        self.share_cores = share_cores
        self.flash_attn = flash_attn
        self.run_alone = run_alone
        """Each generation waits for the process's other local generations that run alone
        (backends/llama_cpp/turns.py), the smallest model first."""
        self.prompt_lookup = prompt_lookup
        """Tokens drafted per step from the prompt (0: no drafting)."""
        self._prepare = prepare
        """Makes ``model_path`` on the first load (a derived quantization), else None."""
        self._llama: Llama | None = None
        self._load_lock = threading.Lock()
        self._pool: InstancePool[Llama] = InstancePool(
            self._instance, size=pool_size, timeout_s=queue_timeout_s, what=f"The local model {name!r}"
        )
        self._first_leased = False
        self._warming = 0

    def stream(self, prompt: Prompt, *, max_tokens: int | None = None) -> TextStream:
        """Stream the answer; prompt tokens are counted by the model's own tokenizer."""
        return TextStream(self._generate(prompt, max_tokens or self.max_tokens))

    def ahead(self) -> int:
        """Questions a new one would wait behind (each instance answers one at a time; warming is
        not a question), and with ``run_alone`` the local generations that go before it."""
        own = max(0, self._pool.ahead() - self._warming)
        return own + (LOCAL_TURNS.ahead(self._rank()) if self.run_alone else 0)

    def _rank(self) -> int:
        """Its place among waiting local generations: the model file's size (smaller first)."""
        try:
            return self.model_path.stat().st_size
        except OSError:  # a derived file not made yet: the size of nothing is no claim to go first
            return 1 << 62

    def _alone(self) -> AbstractContextManager[float]:
        """The process's local turn for the block (yields the seconds waited), or no wait."""
        if not self.run_alone:
            return nullcontext(0.0)
        return LOCAL_TURNS.turn(
            self._rank(), timeout_s=self._pool.timeout_s, what=f"The local model {self.name!r}"
        )

    def warm(self) -> None:
        """Load every instance of the pool and evaluate the fixed head of the prompt in each.

        The head (instructions, worked examples) is the same in every prompt and llama.cpp keeps
        the longest common prefix of the last one it evaluated, so the first question evaluates
        only its own part. Instances are held until all are warm (each lease gets a new one).
        """
        started = time.perf_counter()
        chat = self.uses_chat_template()  # loads the first instance
        head = build_prompt("", ())
        with ExitStack() as held:
            for _ in range(self._pool.size):
                llama, _waited = held.enter_context(self._pool.turn())
                self._count_warming(+1)
                held.callback(self._count_warming, -1)
                with self._alone(), LOCAL_GENERATIONS.running():
                    chunks, _tokens = self._start(llama, head, 1, chat, TokenLogprobs())
                    for _chunk in chunks:
                        pass
        log.info(
            "%s: warm: %d instance(s) loaded, %d prompt tokens evaluated in each, in %.1f s",
            self.name,
            self._pool.size,
            llama.prompt_tokens,
            time.perf_counter() - started,
        )

    def _count_warming(self, change: int) -> None:
        with self._load_lock:
            self._warming += change

    def uses_chat_template(self) -> bool:
        """Whether prompts go through the GGUF's chat template (else: few-shot completion)."""
        if self.prompt_format != "auto":
            return self.prompt_format == "chat"
        return bool(self._model().metadata.get("tokenizer.chat_template"))

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in this model's vocabulary (BOS included)."""
        return len(self._model().tokenize(text.encode("utf-8"), add_bos=True, special=True))

    def _model(self) -> Llama:
        if self._llama is None:
            with self._load_lock:
                if self._llama is None:
                    self._llama = self._load()
        return self._llama

    def _instance(self) -> Llama:
        """A pool instance: the first is the one already loaded for tokenizing, then new ones."""
        with self._load_lock:
            first = not self._first_leased
            self._first_leased = True
        return self._model() if first else self._load()

    def _load(self) -> Llama:
        try:
            from backends.llama_cpp.instance import CachedLlama
        except ImportError as e:
            raise ConfigError(
                "llama-cpp-python is not installed; run scripts/setup.sh (it builds it from "
                "source) or choose another generator"
            ) from e
        path = check_gguf(self._prepare() if self._prepare else self.model_path)
        route_llama_logs()
        log.info(
            "loading %s (n_ctx=%d, threads=%d, flash_attn=%s)",
            path,
            self.n_ctx,
            self.n_threads,
            self.flash_attn,
        )
        try:
            with _LOAD_LOCK:
                llama = CachedLlama(
                    share=LOCAL_GENERATIONS if self.share_cores else None,
                    prompt_lookup=self.prompt_lookup,
                    model_path=str(path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    n_threads_batch=self.n_threads,
                    flash_attn=self.flash_attn,
                    verbose=False,
                )
        except (ValueError, RuntimeError) as e:
            raise ConfigError(
                f"llama.cpp could not load {path} ({e}); the file may be corrupt, truncated or too "
                f"new: point generator {self.name!r} at another GGUF (DOCDUET_SLM_MODEL_PATH for "
                "the default one), or a packaged model name"
            ) from e
        if self.prompt_format == "chat" and not llama.metadata.get("tokenizer.chat_template"):
            raise ConfigError(
                f"{path} has no chat template; set prompt_format to completion or auto "
                f"(generator {self.name!r}; DOCDUET_SLM_PROMPT_FORMAT for the default one)"
            )
        return llama

    def _fit(self, prompt: Prompt, max_tokens: int, chat: bool) -> Prompt:
        budget = self.n_ctx - max_tokens - _CONTEXT_MARGIN
        render = self._chat_text if chat else Prompt.completion
        fitted = fit_prompt(prompt, budget, self.count_tokens, render)
        if self.count_tokens(render(fitted)) > budget:
            raise GenerationError(
                f"the question alone exceeds the local model's context ({self.n_ctx} tokens); "
                "ask a shorter question or raise DOCDUET_SLM_N_CTX"
            )
        if len(fitted.blocks) < len(prompt.blocks):
            log.info(
                "kept %d of %d passages for n_ctx=%d",
                len(fitted.blocks),
                len(prompt.blocks),
                self.n_ctx,
            )
        return fitted

    def _generate(self, prompt: Prompt, max_tokens: int) -> PyGenerator[str, None, GenerationResult]:
        chat = self.uses_chat_template()
        prompt = self._fit(prompt, max_tokens, chat)
        pieces: list[str] = []
        finish: str | None = None
        recorder = TokenLogprobs()
        with (
            self._pool.turn() as (llama, waited),  # one at a time per instance
            self._alone() as alone_waited,  # after the instance: a holder of the turn waits for nothing
            LOCAL_GENERATIONS.running(),
        ):
            spent = llama.core_seconds
            chunks, prompt_tokens = self._start(llama, prompt, max_tokens, chat, recorder)
            try:
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    piece = (choice.get("delta") or {}).get("content") if chat else choice["text"]
                    piece = piece if pieces or not piece else piece.lstrip()
                    finish = choice.get("finish_reason") or finish
                    if piece:
                        pieces.append(piece)
                        yield piece
            except (ValueError, RuntimeError) as e:
                raise GenerationError(f"the local model failed while generating: {e}") from e
            answer = "".join(pieces)
            reused = self._reused(llama)
            completion_tokens = len(llama.tokenize(answer.encode("utf-8"), add_bos=False))
            checked, drawn = self._afterwards(llama, prompt, answer, max_tokens, chat)
            spent = llama.core_seconds - spent
        usage = Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=0.0,
            cached_prompt_tokens=reused,
        )
        return GenerationResult(
            text=answer,
            usage=usage,
            finish_reason=finish,
            queue_s=waited + alone_waited,
            core_seconds=round(spent, 3),
            token_logprobs=tuple(recorder.values),
            self_check=checked,
            samples=drawn,
        )

    def _reused(self, llama: Llama) -> int:
        """The answer's prompt tokens llama.cpp took from its cache (logged at debug level)."""
        log.debug(
            "%s: prompt of %d tokens: %d reused from the cache, %d evaluated (%d threads); %d steps after it",
            self.name,
            llama.prompt_tokens,
            llama.reused_tokens,
            llama.prompt_tokens - llama.reused_tokens,
            llama.threads_now,
            llama.steps,
        )
        return llama.reused_tokens

    def _conversation(self, prompt: Prompt, chat: bool) -> tuple[list[Any] | None, str | None]:
        """The prompt as llama.cpp was given it: chat messages, or the completion text."""
        if chat:
            return [
                {"role": m.role, "content": m.content} for m in prompt.messages(examples=self.examples)
            ], None
        return None, prompt.completion()

    def _afterwards(
        self, llama: Llama, prompt: Prompt, answer: str, max_tokens: int, chat: bool
    ) -> tuple[float | None, tuple[str, ...]]:
        """The self-check and the samples, asked right after the answer (chat.confidence weighs them)."""
        if not answer:
            return None, ()
        messages, text = self._conversation(prompt, chat)
        return ask_afterwards(
            llama,
            Afterwards(self.self_check, self.samples, max_tokens, COMPLETION_STOP, self.name),
            messages=messages,
            text=text,
            answer=answer,
        )

    def _chat_text(self, prompt: Prompt) -> str:
        """The chat messages as one string, for token budgeting (template glue is in the margin)."""
        return "\n".join(f"{m.role}: {m.content}" for m in prompt.messages(examples=self.examples))

    def _start(
        self, llama: Llama, prompt: Prompt, max_tokens: int, chat: bool, recorder: TokenLogprobs
    ) -> tuple[Iterator[Any], int]:
        """Start a streaming call; returns the chunk iterator and the prompt's token count."""
        from llama_cpp import LogitsProcessorList

        if chat:
            messages: list[Any] = [
                {"role": m.role, "content": m.content} for m in prompt.messages(examples=self.examples)
            ]
            deltas = llama.create_chat_completion(
                messages=messages,
                max_tokens=max_tokens,
                temperature=0.0,
                stream=True,
                repeat_penalty=self.repeat_penalty,
                logits_processor=LogitsProcessorList([recorder]),
            )
            return iter(deltas), self.count_tokens(self._chat_text(prompt))
        text = prompt.completion()
        chunks = llama.create_completion(
            text,
            max_tokens=max_tokens,
            temperature=0.0,
            stop=list(COMPLETION_STOP),
            stream=True,
            repeat_penalty=self.repeat_penalty,
            logits_processor=LogitsProcessorList([recorder]),
        )
        return iter(chunks), self.count_tokens(text)
