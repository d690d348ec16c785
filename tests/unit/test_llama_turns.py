"""backends.llama_cpp.turns: local generations one at a time, the smallest model first."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial

import pytest

from backends.llama_cpp.turns import SECONDS_PER_GB, LocalTurns
from core.errors import GenerationError

GB = 1_000_000_000


def wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def test_waiting_generations_go_smallest_model_first_then_in_arrival_order() -> None:
    turns = LocalTurns()
    order: list[str] = []
    threads = []
    with turns.turn(5, timeout_s=5, what="holder"):
        for name, rank in (("large-1", GB), ("small", GB // 10), ("large-2", GB)):
            thread = threading.Thread(target=lambda n=name, r=rank: _take(turns, r, n, order), name=name)
            thread.start()
            threads.append(thread)
            queued = 1 + len(threads)
            wait_for(partial(_in_line, turns, queued))  # it is in line before the next comes
        assert turns.ahead(GB // 10) == 2  # the holder and the small one go before another small one
        assert turns.ahead(0) == 1
    for thread in threads:
        thread.join(5)
    assert order == ["small", "large-1", "large-2"]
    assert turns.ahead(GB) == 0


def test_a_larger_model_that_waited_long_enough_is_not_overtaken(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("backends.llama_cpp.turns._now", lambda: clock[0])
    turns = LocalTurns()
    order: list[str] = []
    with turns.turn(0, timeout_s=1e6, what="holder"):
        large = threading.Thread(target=_take, args=(turns, GB, "large", order))
        large.start()
        wait_for(partial(_in_line, turns, 2))
        clock[0] += SECONDS_PER_GB + 1  # a small model's question comes after the large one's delay
        small = threading.Thread(target=_take, args=(turns, GB // 10, "small", order))
        small.start()
        wait_for(partial(_in_line, turns, 3))
    large.join(5)
    small.join(5)
    assert order == ["large", "small"]


def _in_line(turns: LocalTurns, count: int) -> bool:
    return turns.ahead(10 * GB) == count


def _take(turns: LocalTurns, rank: int, name: str, order: list[str]) -> None:
    with turns.turn(rank, timeout_s=5, what=name):
        order.append(name)


def test_one_holder_at_a_time_and_the_wait_is_reported() -> None:
    turns = LocalTurns()
    inside = 0
    most = 0
    lock = threading.Lock()
    waits: list[float] = []

    def work() -> None:
        nonlocal inside, most
        with turns.turn(1, timeout_s=10, what="w") as waited:
            waits.append(waited)
            with lock:
                inside += 1
                most = max(most, inside)
            time.sleep(0.02)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert most == 1 and len(waits) == 4
    assert max(waits) >= 0.04  # the last waited for at least two others


def test_the_holders_own_thread_goes_through_again() -> None:
    turns = LocalTurns()
    with turns.turn(3, timeout_s=1, what="outer"), turns.turn(3, timeout_s=1, what="nested") as waited:
        assert waited == 0.0
    with turns.turn(3, timeout_s=1, what="after"):  # released once both blocks ended
        pass


def test_a_wait_past_the_timeout_says_what_to_do_and_leaves_the_line() -> None:
    turns = LocalTurns()
    failed: list[Exception] = []

    def late() -> None:
        try:
            with turns.turn(1, timeout_s=0.05, what="The local model 'slm'"):
                pass
        except GenerationError as e:
            failed.append(e)

    with turns.turn(9, timeout_s=1, what="holder"):
        thread = threading.Thread(target=late)
        thread.start()
        thread.join(5)
    assert failed and "The local model 'slm' waited 0 s" in str(failed[0])
    assert "run_alone: false" in str(failed[0])
    assert turns.ahead(100) == 0  # the one that gave up is not in line any more


def test_a_failure_inside_the_turn_releases_it() -> None:
    turns = LocalTurns()
    with pytest.raises(RuntimeError), turns.turn(1, timeout_s=1, what="x"):
        raise RuntimeError("llama.cpp failed")
    with turns.turn(2, timeout_s=0.1, what="next"):
        pass
