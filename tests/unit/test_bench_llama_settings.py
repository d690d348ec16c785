"""bench.llama_settings: the grid of threads, batch sizes and flash attention it compares."""

from __future__ import annotations

import pytest

from bench.llama_settings import BASELINE, measure_model, settings_grid


def test_the_grid_sets_every_core_against_one_thread_and_physical_batches_within_the_logical_one() -> None:
    grid = settings_grid(4)
    assert grid[BASELINE]["n_threads"] == 1
    others = [kwargs for name, kwargs in grid.items() if name != BASELINE]
    assert len(others) == 5 and all(k["n_threads"] == k["n_threads_batch"] == 4 for k in others)
    assert all(k["n_ubatch"] <= k["n_batch"] for k in grid.values())
    assert {k["n_ubatch"] for k in others} == {128, 256, 512}


def test_flash_attention_is_the_default_batches_with_only_flash_attention_turned_on() -> None:
    grid = settings_grid(2)
    assert grid["threads2-b512-u512-fa"] == {**grid["threads2-b512-u512"], "flash_attn": True}
    assert not any(k.get("flash_attn") for name, k in grid.items() if not name.endswith("-fa"))


def test_an_unknown_variant_is_refused_before_any_model_loads() -> None:
    with pytest.raises(SystemExit, match=r"unknown variant.*threads9"):
        measure_model("qwen2.5-coder-0.5b-instruct", 1, ["threads9-b1-u1"])
