"""Warm start with the real packaged small model (Qwen2.5-Coder-0.5B-Instruct): after ``warm()`` the
first question, and every later one (after the self-check has left another conversation in the
cache), reuses the fixed head of the prompt from llama.cpp's cache; threads follow the share."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from backends.llama_cpp.cores import LOCAL_GENERATIONS
from backends.llama_cpp.generator import LlamaCppGenerator
from chat.prompt import SYSTEM_TEXT, build_prompt
from core.domain import Access, Chunk, Hit, Sensitivity
from core.prompt import CHAT_EXAMPLES

pytestmark = pytest.mark.integration

PASSAGES = (
    ("Travel policy", "Employees may claim up to 40 EUR per day for meals while travelling on business."),
    ("Office guide", "The office anchor days are Tuesday and Thursday; the office opens at 8:00."),
)


def hit(n: int, title: str, text: str) -> Hit:
    chunk = Chunk(
        f"c{n}", f"/docs/{n}.md", "/docs", title, text, 0, "md", "", None,
        datetime(2024, 1, 1, tzinfo=UTC), f"h{n}", Access(("employees",), Sensitivity.INTERNAL),
    )  # fmt: skip
    return Hit(chunk, 1.0)


def head_tokens(generator: LlamaCppGenerator) -> int:
    """Tokens of the fixed head (system message and worked examples) as the chat template renders it."""
    llama = generator._model()  # the instance the one-instance pool answers with
    formatter = Jinja2ChatFormatter(
        llama.metadata["tokenizer.chat_template"],
        eos_token="<|im_end|>",
        bos_token="",
        add_generation_prompt=False,
    )
    messages = [{"role": "system", "content": SYSTEM_TEXT}]
    messages += [{"role": m.role, "content": m.content} for m in CHAT_EXAMPLES[: 2 * generator.examples]]
    text = formatter(messages=messages).prompt  # type: ignore[arg-type]
    return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))


def test_warm_then_every_question_reuses_the_fixed_head(gguf_path: Path) -> None:
    share = max(1, LOCAL_GENERATIONS.cores // 2)
    slm = LlamaCppGenerator(
        gguf_path, n_ctx=2048, n_threads=share + 1, max_tokens=12, examples=2, share_cores=True
    )
    with LOCAL_GENERATIONS.running():  # another local generation runs all along: half the cores each
        slm.warm()
        head = head_tokens(slm)
        assert head > 300  # instructions and two worked exchanges
        instance = slm._model()
        assert instance.prompt_tokens > head and instance.reused_tokens == 0  # warm evaluated it all
        # loaded with one more thread, resized to its share (less where other work keeps cores busy)
        assert 1 <= instance.threads_now <= share
        meals = build_prompt("How much can I claim for meals per day?", [hit(1, *PASSAGES[0])])
        started = time.perf_counter()
        first = slm.stream(meals).collect()
        anchor = build_prompt("Which days are the anchor days?", [hit(2, *PASSAGES[1])])
        second = slm.stream(anchor).collect()
        elapsed = time.perf_counter() - started

    assert first.self_check is not None  # the self-check ran: the cache then held another conversation
    # what the cost figures price: each evaluation's seconds times its threads (at most the share)
    assert first.core_seconds is not None and second.core_seconds is not None
    assert 0 < first.core_seconds + second.core_seconds <= elapsed * share + 0.1
    for result in (first, second):
        assert result.usage.cached_prompt_tokens is not None
        assert result.usage.cached_prompt_tokens >= head, (result.usage, head)
