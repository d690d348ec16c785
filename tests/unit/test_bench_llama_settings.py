"""bench.llama_settings: the grid of threads and batch sizes it compares."""

from __future__ import annotations

from bench.llama_settings import BASELINE, settings_grid


def test_the_grid_sets_every_core_against_one_thread_and_physical_batches_within_the_logical_one() -> None:
    grid = settings_grid(4)
    assert grid[BASELINE]["n_threads"] == 1
    others = [kwargs for name, kwargs in grid.items() if name != BASELINE]
    assert len(others) == 4 and all(k["n_threads"] == k["n_threads_batch"] == 4 for k in others)
    assert all(k["n_ubatch"] <= k["n_batch"] for k in grid.values())
    assert {k["n_ubatch"] for k in others} == {128, 256, 512}
