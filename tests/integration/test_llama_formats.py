"""Prompt-lookup drafting, flash attention and derived quantizations with real models (issue 24).

The packaged small model (Qwen2.5-Coder-0.5B-Instruct) gives the same greedy answer, and nearly the
same token log-probabilities, with and without drafts from the prompt, in fewer steps; the prompt is
longer than llama.cpp's batch (llama-cpp-python's own drafting evaluation fails there). Flash
attention (the default) reaches llama.cpp, and answers as plain attention does. A real
quantization (llama.cpp's quantize API on the packaged SmolLM2 135M) is derived once, loads, and
is derived again when its file is changed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backends.llama_cpp.derived import file_sha256, plan_derived
from backends.llama_cpp.generator import LlamaCppGenerator
from backends.llama_cpp.packaged import resolve_model
from chat.prompt import build_prompt
from core.domain import Access, Chunk, Hit, Sensitivity
from core.settings import Settings

pytestmark = pytest.mark.integration

HANDBOOK = Path(__file__).resolve().parents[2] / "corpora" / "handbook" / "employee-handbook.md"
QUESTION = "How many unused holiday days can I carry over into next year, and until when can I use them?"


def hits() -> list[Hit]:
    """The handbook in passages of about a thousand characters, as the index would give them."""
    paragraphs = [p for p in HANDBOOK.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    passages, current = [], ""
    for paragraph in paragraphs:
        current += paragraph + "\n\n"
        if len(current) > 1000:
            passages.append(current)
            current = ""
    return [
        Hit(
            Chunk(
                f"c{n}", "handbook/employee-handbook.md", "corpora", "Employee handbook", text, n, "md",
                "Leave", None, datetime(2024, 1, 1, tzinfo=UTC), f"h{n}",
                Access(("employees",), Sensitivity.INTERNAL),
            ),
            1.0,
        )
        for n, text in enumerate(passages[:3])
    ]  # fmt: skip


def test_prompt_lookup_gives_the_same_greedy_answer_in_fewer_steps(gguf_path: Path) -> None:
    prompt = build_prompt(QUESTION, hits())
    answers = {}
    for lookup in (0, 10):
        slm = LlamaCppGenerator(
            gguf_path,
            n_ctx=2048,
            n_threads=1,
            max_tokens=40,
            examples=1,
            self_check=False,
            prompt_lookup=lookup,
        )
        result = slm.stream(prompt).collect()
        answers[lookup] = (result, slm._model().steps)
    (plain, plain_steps), (drafted, drafted_steps) = answers[0], answers[10]
    assert plain.usage.prompt_tokens > 512  # more than one batch of the prompt
    assert drafted.text == plain.text and "5" in plain.text, (plain.text, drafted.text)
    assert plain_steps >= plain.usage.completion_tokens - 1  # one evaluation per token
    assert drafted_steps < plain_steps, (drafted_steps, plain_steps)  # several tokens a step
    assert len(drafted.token_logprobs) == len(plain.token_logprobs)
    assert drafted.token_logprobs == pytest.approx(plain.token_logprobs, abs=0.05)


def test_flash_attention_reaches_llama_cpp_and_answers_as_plain_attention_does(gguf_path: Path) -> None:
    from llama_cpp import LLAMA_FLASH_ATTN_TYPE_DISABLED, LLAMA_FLASH_ATTN_TYPE_ENABLED

    prompt = build_prompt(QUESTION, hits())
    answers = {}
    for flash in (True, False):
        slm = LlamaCppGenerator(
            gguf_path, n_ctx=2048, n_threads=1, max_tokens=40, examples=1, self_check=False, flash_attn=flash
        )
        result = slm.stream(prompt).collect()
        wanted = LLAMA_FLASH_ATTN_TYPE_ENABLED if flash else LLAMA_FLASH_ATTN_TYPE_DISABLED
        assert slm._model().context_params.flash_attn_type == wanted
        answers[flash] = result
    assert LlamaCppGenerator(gguf_path, n_ctx=2048, n_threads=1, max_tokens=8).flash_attn  # the default
    fused, plain = answers[True], answers[False]
    assert fused.usage.prompt_tokens == plain.usage.prompt_tokens > 512
    assert "5" in fused.text and "5" in plain.text, (fused.text, plain.text)
    # the same sums in another order: the first tokens agree, their log-probabilities nearly
    assert fused.token_logprobs[:5] == pytest.approx(plain.token_logprobs[:5], abs=0.05)


def test_a_real_derived_quantization_loads_and_a_changed_file_is_derived_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    name = "smollm2-135m-instruct"
    source = resolve_model(name, Settings().paths.cache_dir)
    derived = plan_derived(name, source, "q4_0", tmp_path)
    path = derived.prepare()
    digest = file_sha256(path)
    assert path.name.startswith(f"{name}.q4_0.") and digest != file_sha256(source)
    slm = LlamaCppGenerator(
        path, n_ctx=1024, n_threads=1, max_tokens=8, self_check=False, prepare=derived.prepare
    )
    assert slm.stream(build_prompt("Which days are the anchor days?", hits()[:1])).collect().text

    with path.open("r+b") as f:  # one byte of the weights changed, size kept
        f.seek(path.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))
    with caplog.at_level(logging.WARNING, logger="backends.llama_cpp.derived"):
        assert derived.prepare() == path
    assert "deriving it again" in caplog.text
    assert file_sha256(path) == digest  # llama.cpp's quantization is deterministic
