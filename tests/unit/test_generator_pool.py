"""The local model's line: a bounded pool of instances, who waits, how many ahead, time limits."""

from __future__ import annotations

import threading
import time

import pytest

from chat.generators.pool import InstancePool
from core.errors import GenerationError


def test_instances_are_made_on_demand_and_reused() -> None:
    made: list[int] = []
    pool = InstancePool(lambda: made.append(1) or len(made), size=2, timeout_s=1, what="m")
    with pool.lease() as a:
        assert pool.ahead() == 0  # a second instance may still be made
        with pool.lease() as b:
            assert {a, b} == {1, 2} and pool.ahead() == 1
    with pool.lease() as c:
        assert c in (1, 2)
    assert len(made) == 2


def test_a_newcomer_sees_how_many_are_ahead_and_waits_its_turn() -> None:
    pool = InstancePool(object, size=1, timeout_s=5, what="m")
    release = threading.Event()
    order: list[str] = []

    def hold() -> None:
        with pool.lease():
            order.append("first")
            release.wait(timeout=5)

    def queue() -> None:
        with pool.lease():
            order.append("second")

    first = threading.Thread(target=hold)
    first.start()
    while pool.ahead() == 0:
        time.sleep(0.01)
    assert pool.ahead() == 1
    second = threading.Thread(target=queue)
    second.start()
    deadline = time.monotonic() + 5
    while pool.ahead() < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pool.ahead() == 2  # one answering, one waiting
    release.set()
    first.join(timeout=5)
    second.join(timeout=5)
    assert order == ["first", "second"] and pool.ahead() == 0


def test_no_turn_within_the_time_limit_says_what_to_do() -> None:
    pool = InstancePool(object, size=1, timeout_s=0.2, what="The local model 'slm'")
    with pool.lease():
        started = time.monotonic()
        busy = r"'slm' is busy answering 1 other.*Try again"
        with pytest.raises(GenerationError, match=busy), pool.lease():
            pass
        assert time.monotonic() - started < 3
    with pool.lease():  # the line is usable again
        pass


def test_a_failed_load_frees_its_place() -> None:
    calls = {"n": 0}

    def flaky() -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("out of memory")
        return object()

    pool = InstancePool(flaky, size=1, timeout_s=1, what="m")
    with pytest.raises(RuntimeError), pool.lease():
        pass
    with pool.lease():
        pass
    assert pool.ahead() == 0


def test_a_turn_reports_how_long_it_waited_in_line_not_the_model_load() -> None:
    def slow_load() -> object:
        time.sleep(0.3)
        return object()

    pool = InstancePool(slow_load, size=1, timeout_s=5, what="m")
    with pool.turn() as (_, waited):
        assert waited < 0.2  # the first turn makes the instance: loading is not waiting
    waits: list[float] = []
    release = threading.Event()

    def hold() -> None:
        with pool.turn():
            release.wait(timeout=5)

    holder = threading.Thread(target=hold)
    holder.start()
    while pool.ahead() == 0:
        time.sleep(0.01)
    timer = threading.Timer(0.4, release.set)
    timer.start()
    with pool.turn() as (_, waited):
        waits.append(waited)
    holder.join(timeout=5)
    assert 0.3 <= waits[0] < 5
