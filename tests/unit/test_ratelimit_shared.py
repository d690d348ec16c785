"""The rate limit counted in ``<data dir>/ratelimit.sqlite3``: one count per user for every docduet
process on the data dir (web chat, Slack bot, ``docduet serve``), questions and downloads apart."""

from __future__ import annotations

import logging
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from fakes import ManualClock

from core.ratelimit import RateLimiter
from core.ratelimit_store import FILE_NAME, MemoryWindows, SqliteWindows
from core.settings import RateLimitSettings

ROOT = Path(__file__).resolve().parents[2]
LIMITS = RateLimitSettings(rate_limit_questions=3, rate_limit_window_s=600.0, rate_limit_downloads=2)


def _rows(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / FILE_NAME) as db:
        return int(db.execute("SELECT COUNT(*) FROM counted").fetchone()[0])


def test_two_limiters_on_one_data_dir_share_the_count(tmp_path: Path) -> None:
    web = RateLimiter.from_settings(LIMITS, tmp_path)
    slack = RateLimiter.from_settings(LIMITS, tmp_path)  # another process's view of the same file
    assert web.check("user:alice") is None and slack.check("user:alice") is None
    assert web.check("user:alice") is None
    refused = slack.check("user:alice")
    assert refused is not None and 599.0 < refused.retry_after_s <= 600.0
    assert web.check("user:bob") is None  # each user still has a window of their own
    assert isinstance(web.store, SqliteWindows) and web.store.shared


def test_a_second_process_counts_against_the_same_file(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from core.ratelimit import RateLimiter;"
        "from core.settings import RateLimitSettings;"
        "lim = RateLimiter.from_settings(RateLimitSettings(rate_limit_questions=3), Path(sys.argv[1]));"
        "print(sum(lim.check('user:alice') is None for _ in range(2)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip() == "2"
    here = RateLimiter.from_settings(LIMITS, tmp_path)
    assert [here.check("user:alice") is None for _ in range(2)] == [True, False]


def test_concurrent_limiters_never_over_count(tmp_path: Path) -> None:
    allowed: list[bool] = []
    start = threading.Barrier(12)

    def ask() -> None:
        limiter = RateLimiter.from_settings(LIMITS, tmp_path)  # a connection of its own, like a process
        start.wait(timeout=30)
        allowed.append(limiter.check("user:carol") is None)

    threads = [threading.Thread(target=ask) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(allowed) == 12 and allowed.count(True) == 3


def test_window_slides_on_the_wall_clock_and_old_rows_are_deleted(tmp_path: Path) -> None:
    wall = ManualClock(1_800_000_000.0)
    limiter = RateLimiter.from_settings(LIMITS, tmp_path, wall)
    for user in ("a", "b", "c"):
        assert limiter.check(user) is None
    assert [limiter.check("a") is None for _ in range(3)] == [True, True, False]
    wall.now += 300
    refused = limiter.check("a")
    assert refused is not None and refused.retry_after_s == 300.0
    wall.now += 300.5  # everything left the window
    assert limiter.check("a") is None
    assert _rows(tmp_path) == 1  # the expired rows of every user are gone, not only a's


def test_questions_and_downloads_are_counted_apart(tmp_path: Path) -> None:
    questions = RateLimiter.from_settings(LIMITS, tmp_path)
    downloads = RateLimiter.for_downloads(2, 600.0, data_dir=tmp_path)
    assert all(questions.check("user:alice") is None for _ in range(3))
    assert questions.check("user:alice") is not None
    assert [downloads.check("user:alice") is None for _ in range(3)] == [True, True, False]
    other = RateLimiter.for_downloads(2, 600.0, data_dir=tmp_path)
    refused = other.check("user:alice")
    assert refused is not None and "downloaded 2 source files" in refused.message


def test_the_file_is_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    RateLimiter.from_settings(LIMITS, data_dir).check("user:alice")
    assert stat.S_IMODE((data_dir / FILE_NAME).stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700


def test_no_limit_and_no_data_dir_make_no_file(tmp_path: Path) -> None:
    unlimited = RateLimitSettings(rate_limit_questions=0)
    assert RateLimiter.from_settings(unlimited, tmp_path).check("x") is None
    assert isinstance(RateLimiter.from_settings(LIMITS).store, MemoryWindows)
    assert not (tmp_path / FILE_NAME).exists()


def test_an_unusable_file_warns_and_still_limits_this_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / FILE_NAME).mkdir()  # cannot be opened as a database, even by root
    with caplog.at_level(logging.WARNING, logger="core.ratelimit_store"):
        limiter = RateLimiter.from_settings(LIMITS, tmp_path)
    assert "counts questions in memory only" in caplog.text
    assert isinstance(limiter.store, SqliteWindows) and not limiter.store.shared
    assert [limiter.check("user:alice") is None for _ in range(4)] == [True, True, True, False]


def test_a_file_damaged_while_running_falls_back_to_counting_here(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = RateLimiter.from_settings(LIMITS, tmp_path)
    assert limiter.check("user:alice") is None
    for suffix in ("", "-wal", "-shm"):
        path = tmp_path / (FILE_NAME + suffix)
        if path.exists():
            path.write_bytes(b"not a database" * 512)
    with caplog.at_level(logging.WARNING, logger="core.ratelimit_store"):
        outcome = [limiter.check("user:alice") is None for _ in range(4)]
    assert outcome == [True, True, True, False]  # never unlimited; the count restarts in memory
    assert "cannot be used" in caplog.text
