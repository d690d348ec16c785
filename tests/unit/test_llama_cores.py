"""The share of the cores a local generation gets, and LlamaCppGenerator.warm() over its pool, with
fakes (issue 24; the real model: tests/integration/test_llama_warm.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backends.llama_cpp.busy import OtherWork
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


# --- cores other processes keep busy ---------------------------------------------------------------


class Ticks:
    """Scripted /proc counters: each read advances the clock by ``step`` seconds, the watched CPUs'
    busy ticks by ``busy`` per second and this process's ticks by ``own`` per second (100 a second)."""

    def __init__(self, busy: float, own: float, step: float = 0.5) -> None:
        self.now, self.busy_ticks, self.own_ticks = 0.0, 0.0, 0.0
        self.busy, self.own, self.step, self.reads = busy, own, step, 0

    def read(self, cpus: object) -> tuple[int, int]:
        self.reads += 1
        self.now += self.step
        self.busy_ticks += 100 * self.busy * self.step
        self.own_ticks += 100 * self.own * self.step
        return int(self.busy_ticks), int(self.own_ticks)

    def clock(self) -> float:
        return self.now


def watcher(ticks: Ticks, cpus: int = 2) -> OtherWork:
    return OtherWork(range(cpus), read=ticks.read, clock=ticks.clock, sleep=lambda s: None, ticks_per_s=100)


def test_other_work_is_the_busy_time_less_this_process_own() -> None:
    ticks = Ticks(busy=1.8, own=0.8)  # our generation uses 0.8 of a core, something else 1.0
    assert watcher(ticks).cores() == pytest.approx(1.0)


def test_one_core_busy_elsewhere_leaves_a_generation_one_thread_and_an_idle_machine_every_core() -> None:
    assert CoreShare(2, watcher(Ticks(busy=1.0, own=0.0))).threads() == 1
    assert CoreShare(2, watcher(Ticks(busy=0.3, own=0.0))).threads() == 2  # less than half a core
    idle = CoreShare(8, watcher(Ticks(busy=2.0, own=2.0), cpus=8))  # only our own work
    assert idle.threads() == 8
    with idle.running(), idle.running():
        assert idle.threads() == 4
    full = CoreShare(2, watcher(Ticks(busy=2.0, own=0.0)))
    assert full.threads() == 1  # never none


def test_an_estimate_is_kept_while_fresh_and_measured_again_after_a_pause() -> None:
    ticks = Ticks(busy=1.0, own=0.0, step=0.1)
    other = OtherWork(
        range(2), read=ticks.read, clock=ticks.clock, sleep=lambda s: None, fresh_s=1.0, ticks_per_s=100
    )
    other.cores()
    reads = ticks.reads
    other.cores()  # 0.1 s later: the same estimate, no read
    assert ticks.reads == reads
    ticks.busy = 0.0
    ticks.now += 5.0  # nobody asked for 5 s: measured afresh over a new window
    assert other.cores() == pytest.approx(0.0)


def test_unreadable_counters_mean_every_core_as_before() -> None:
    def broken(cpus: object) -> tuple[int, int]:
        raise OSError("no /proc here")

    other = OtherWork(range(4), read=broken, sleep=lambda s: None)
    assert other.cores() is None
    assert CoreShare(4, other).threads() == 4
