"""Local generations take turns, with real models: the packaged Qwen 0.5B and SmolLM2 135M asked
at once never evaluate at the same time, the smaller model goes first, and with ``run_alone:
false`` they run at once, sharing the cores."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backends.llama_cpp.cores import LOCAL_GENERATIONS
from backends.llama_cpp.generator import LlamaCppGenerator
from backends.llama_cpp.packaged import resolve_model
from backends.llama_cpp.turns import LOCAL_TURNS
from chat.prompt import build_prompt
from core.domain import Access, Chunk, Hit, Sensitivity
from core.settings import Settings

pytestmark = pytest.mark.integration

TEXT = (
    "Employees may claim up to 40 EUR per day for meals while travelling on business. Hotel nights "
    "are booked through the travel desk; a night above 150 EUR needs a manager's approval first. "
) * 4


def hits() -> list[Hit]:
    chunk = Chunk(
        "c1", "/docs/travel.md", "/docs", "Travel policy", TEXT, 0, "md", "", None,
        datetime(2024, 1, 1, tzinfo=UTC), "h1", Access(("employees",), Sensitivity.INTERNAL),
    )  # fmt: skip
    return [Hit(chunk, 1.0)]


def pair(gguf_path: Path, *, run_alone: bool) -> tuple[LlamaCppGenerator, LlamaCppGenerator]:
    small = resolve_model("smollm2-135m-instruct", Settings().paths.cache_dir)
    common = {"n_ctx": 2048, "n_threads": 1, "max_tokens": 12, "self_check": False, "run_alone": run_alone}
    return (
        LlamaCppGenerator(gguf_path, name="qwen", **common),  # type: ignore[arg-type]
        LlamaCppGenerator(small, name="smollm", **common),  # type: ignore[arg-type]
    )


def ask_both(generators: tuple[LlamaCppGenerator, ...], hold: bool) -> tuple[list[str], int]:
    """Both asked from their own threads at once; the order they finished in and the most local
    generations seen running at one time. ``hold``: the test holds the turn until both wait."""
    prompt = build_prompt("How much may I claim for meals per day?", hits())
    finished: list[str] = []
    most = 0
    stop = threading.Event()

    def watch() -> None:
        nonlocal most
        while not stop.is_set():
            most = max(most, LOCAL_GENERATIONS.now())
            time.sleep(0.002)

    def ask(generator: LlamaCppGenerator) -> None:
        generator.stream(prompt).collect()
        finished.append(generator.name)

    for generator in generators:
        generator.warm()  # loaded and warmed outside the measured part
    watcher = threading.Thread(target=watch)
    watcher.start()
    threads = [threading.Thread(target=ask, args=(g,)) for g in generators]
    if hold:
        with LOCAL_TURNS.turn(0, timeout_s=60, what="the test"):
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 60
            while LOCAL_TURNS.ahead(1 << 62) < 1 + len(threads):  # both in line behind the test
                assert time.monotonic() < deadline
                time.sleep(0.01)
    else:
        for thread in threads:
            thread.start()
    for thread in threads:
        thread.join(120)
    stop.set()
    watcher.join(5)
    return finished, most


def test_asked_at_once_they_run_one_at_a_time_the_smaller_model_first(gguf_path: Path) -> None:
    finished, most = ask_both(pair(gguf_path, run_alone=True), hold=True)
    assert finished == ["smollm", "qwen"]
    assert most == 1


def test_with_run_alone_off_they_run_at_once(gguf_path: Path) -> None:
    _finished, most = ask_both(pair(gguf_path, run_alone=False), hold=False)
    assert most == 2
