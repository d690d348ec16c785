"""The share of the cores a local generation gets, and LlamaCppGenerator.warm() over its pool, with
fakes (issue 24; the real model: tests/integration/test_llama_warm.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backends.llama_cpp.cores import CoreShare
from backends.llama_cpp.generator import LlamaCppGenerator
from core.errors import GenerationError

# --- the share of the cores -----------------------------------------------------------------------


def test_a_generation_alone_gets_every_core_and_several_share_them() -> None:
    share = CoreShare(cores=8)
    assert share.threads() == 8  # nobody running: the next one would be alone
    with share.running():
        assert share.threads() == 8
        with share.running():
            assert share.threads() == 4
            with share.running(), share.running(), share.running():
                assert share.threads() == 1  # 5 on 8 cores: one each, never 0
        assert share.threads() == 8  # the others finished: all of them again
    assert share.now() == 0


def test_a_failed_generation_gives_its_share_back() -> None:
    share = CoreShare(cores=2)
    with pytest.raises(GenerationError), share.running():
        raise GenerationError("the model failed")
    assert share.now() == 0 and share.threads() == 2


# --- LlamaCppGenerator.warm: every instance of its pool ---------------------------------------------


class FakeLlama:
    """What warm() uses of a llama.cpp instance: the template, and a streamed chat completion."""

    def __init__(self) -> None:
        self.metadata = {"tokenizer.chat_template": "{{ messages }}"}
        self.calls: list[dict[str, Any]] = []
        self.prompt_tokens = 0

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        return list(range(len(text.split())))

    def create_chat_completion(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        self.prompt_tokens = sum(len(m["content"].split()) for m in kwargs["messages"])
        return iter([{"choices": [{"delta": {"content": "ok"}, "finish_reason": "length"}]}])


class FakeLoads(LlamaCppGenerator):
    def __init__(self, pool_size: int) -> None:
        super().__init__(Path("model.gguf"), n_ctx=2048, n_threads=1, max_tokens=8, pool_size=pool_size)
        self.loaded: list[FakeLlama] = []

    def _load(self) -> Any:
        self.loaded.append(FakeLlama())
        return self.loaded[-1]


def test_warm_loads_each_instance_of_the_pool_and_evaluates_the_fixed_head_in_each() -> None:
    slm = FakeLoads(pool_size=3)
    slm.warm()
    assert len(slm.loaded) == 3
    for llama in slm.loaded:
        (call,) = llama.calls
        messages = call["messages"]
        assert messages[0]["role"] == "system" and len(messages) == 2 * slm.examples + 2
        assert call["max_tokens"] == 1
    assert slm.ahead() == 0  # warming is no question in line
