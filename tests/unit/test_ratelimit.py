"""The per-user question limit (core/ratelimit.py)."""

from __future__ import annotations

import threading

from fakes import ManualClock

from core.ratelimit import RateLimiter
from core.ratelimit_store import MemoryWindows
from core.settings import RateLimitSettings, Settings


def test_each_key_gets_its_own_sliding_window() -> None:
    clock = ManualClock()
    limiter = RateLimiter(2, 60.0, clock)
    assert limiter.check("carol") is None and limiter.check("carol") is None
    refused = limiter.check("carol")
    assert refused is not None and refused.retry_after_s == 60.0
    assert refused.message == (
        "You have asked 2 questions in the last 60 seconds, the most allowed. "
        "Please wait 60 seconds before asking again."
    )
    assert limiter.check("alice") is None  # another user is not affected
    clock.now += 30
    assert limiter.check("carol") is not None  # a refusal is not counted, the window slides
    clock.now += 30.5  # both earlier questions left the window
    assert [limiter.check("carol") is None for _ in range(3)] == [True, True, False]


def test_no_limit_and_long_windows() -> None:
    unlimited = RateLimiter(0, 60.0)
    assert all(unlimited.check("x") is None for _ in range(1000))
    clock = ManualClock()
    hourly = RateLimiter(1, 3600.0, clock)
    assert hourly.check("x") is None
    clock.now += 60
    refused = hourly.check("x")
    assert refused is not None and "wait 59 minutes" in refused.message
    assert "last 60 minutes" in refused.message


def test_settings_and_concurrent_askers() -> None:
    limiter = RateLimiter.from_settings(RateLimitSettings(rate_limit_questions=5, rate_limit_window_s=10))
    assert (limiter.limit, limiter.window_s) == (5, 10.0)
    allowed: list[bool] = []

    def ask() -> None:
        allowed.append(limiter.check("same-user") is None)

    threads = [threading.Thread(target=ask) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert allowed.count(True) == 5 and len(allowed) == 20


def test_forgotten_keys_do_not_pile_up() -> None:
    clock = ManualClock()
    limiter = RateLimiter(3, 5.0, clock)
    for i in range(100):
        limiter.check(f"user-{i}")
    clock.now += 6
    limiter.check("last")
    assert isinstance(limiter.store, MemoryWindows) and list(limiter.store._asked) == ["last"]


def test_downloads_have_their_own_limit_and_words() -> None:
    clock = ManualClock()
    downloads = RateLimiter.for_downloads(Settings().ratelimit.rate_limit_downloads, 600.0, clock)
    assert all(downloads.check("address:10.0.0.7") is None for _ in range(60))
    refused = downloads.check("address:10.0.0.7")
    assert refused is not None and refused.message == (
        "You have downloaded 60 source files in the last 10 minutes, the most allowed. "
        "Please wait 10 minutes before downloading another."
    )
