"""llama.cpp's threads and batch sizes, side by side in one process on one prompt (issue 24).

``python -m bench.llama_settings [--models qwen2.5-coder-0.5b-instruct,...] [--reps 2] [--only
VARIANTS] [--out FILE]`` writes bench/results/llama_settings.json. For each packaged model it loads
one instance per setting (threads 1 and every core; with every core, physical batch sizes
``n_ubatch`` 128, 256 and 512 under a logical batch ``n_batch`` of 512, 512/2048, and 512/512 with
llama.cpp's flash attention) and, round after round in an order that turns,
evaluates bench.model_formats's extractive prompt from nothing to its first token and then decodes
its answer from the cache. Rates are medians over the rounds, by wall clock and by the process's
CPU time; ratios are against llama-cpp-python's defaults with the generators file's default threads
(1). Only the ratios measured here, side by side, decide a default.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from backends.llama_cpp.cores import available_cores
from backends.llama_cpp.packaged import resolve_model
from bench.model_formats import MODELS, run_rounds
from core.settings import Settings

OUT = Path(__file__).resolve().parent / "results" / "llama_settings.json"
BASELINE = "threads1-b512-u512"


def settings_grid(cores: int) -> dict[str, dict[str, Any]]:
    """Variant name -> llama.cpp keyword arguments (threads, n_batch, n_ubatch; flash attention)."""
    grid: dict[str, dict[str, Any]] = {
        BASELINE: {"n_threads": 1, "n_threads_batch": 1, "n_batch": 512, "n_ubatch": 512}
    }
    for batch, ubatch in ((512, 512), (512, 256), (512, 128), (2048, 512)):
        grid[f"threads{cores}-b{batch}-u{ubatch}"] = {
            "n_threads": cores,
            "n_threads_batch": cores,
            "n_batch": batch,
            "n_ubatch": ubatch,
        }
    grid[f"threads{cores}-b512-u512-fa"] = {**grid[f"threads{cores}-b512-u512"], "flash_attn": True}
    return grid


def measure_model(name: str, reps: int, only: Sequence[str] = ()) -> dict[str, Any]:
    """``only``: these variants (and the baseline) of :func:`settings_grid`; empty: all."""
    from backends.llama_cpp.instance import CachedLlama

    grid = settings_grid(available_cores())
    unknown = sorted(set(only) - set(grid))
    if unknown:
        raise SystemExit(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(grid)}")
    if only:
        grid = {key: kwargs for key, kwargs in grid.items() if key == BASELINE or key in only}
    path = resolve_model(name, Settings().paths.cache_dir)
    variants = {
        key: CachedLlama(model_path=str(path), n_ctx=4096, verbose=False, **kwargs)
        for key, kwargs in grid.items()
    }
    rounds, rates = run_rounds(name, variants, reps)
    base = rates[BASELINE]
    ratios = {
        f"{key}_over_{BASELINE}": {
            metric: round(rates[key][metric] / base[metric], 2)
            for metric in ("prompt_tps_wall", "prompt_tps_cpu", "decode_tps_wall", "decode_tps_cpu")
        }
        for key in variants
        if key != BASELINE
    }
    return {"settings": grid, "rates": rates, "ratios": ratios, "rounds": rounds}


def main() -> None:
    from bench.report import write_report

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help="packaged model names, comma list")
    parser.add_argument("--reps", type=int, default=2, help="rounds (each setting once a round)")
    parser.add_argument("--only", default="", help="comma list of variants to measure besides the baseline")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    only = [v for v in args.only.split(",") if v]
    per_model: dict[str, Any] = {}
    for name in args.models.split(","):
        per_model[name] = measure_model(name, args.reps, only)
        write_report(args.out, cores=available_cores(), reps=args.reps, per_model=per_model)


if __name__ == "__main__":
    main()
