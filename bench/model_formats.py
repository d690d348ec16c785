"""Model formats and drafting, side by side in one process on one prompt: what each llama_cpp lever buys.

``python -m bench.model_formats [--models qwen2.5-coder-0.5b-instruct,...] [--quantize q4_0,iq4_nl]
[--reps 3] [--threads 1] [--draft-tokens 10]`` writes bench/results/model_formats.json. For each
packaged model it derives the quantizations (once, into the cache: backends/llama_cpp/derived.py)
and loads the packaged file, each derived file and the packaged file with prompt-lookup drafting,
then, round after round, in an order that turns each round:

- **prompt**: the prompt evaluated from nothing to its first token (prompt tokens/s);
- **decode**: the answer generated again with the prompt in llama.cpp's cache (tokens/s after the
  first token), packaged with and without prompt lookup, and each derived file.

The prompt is the handbook's first passages and a question whose answer copies one of them
(an extractive answer, where drafting from the prompt can pay). Each time is given twice: wall
clock, and the process's CPU time, which a machine shared with other work disturbs far less;
ratios are of medians over the rounds.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backends.llama_cpp.derived import plan_derived
from backends.llama_cpp.packaged import resolve_model
from chat.prompt import build_prompt
from core.domain import Access, Chunk, Hit, Sensitivity
from core.settings import Settings

OUT = Path(__file__).resolve().parent / "results" / "model_formats.json"
HANDBOOK = Path(__file__).resolve().parents[1] / "corpora" / "handbook" / "employee-handbook.md"
QUESTION = "How many unused holiday days can I carry over into next year, and until when can I use them?"
MODELS = ("qwen2.5-coder-0.5b-instruct", "qwen2.5-coder-1.5b-instruct")
MAX_TOKENS = 64


def messages() -> list[dict[str, str]]:
    """The chat messages: three handbook passages of about 1,000 characters, one worked example."""
    paragraphs = [p for p in HANDBOOK.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    passages, current = [], ""
    for paragraph in paragraphs:
        current += paragraph + "\n\n"
        if len(current) > 1000:
            passages.append(current)
            current = ""
    when = datetime(2024, 1, 1, tzinfo=UTC)
    access = Access(("employees",), Sensitivity.INTERNAL)
    hits = [
        Hit(Chunk(f"c{n}", HANDBOOK.name, "corpora", "Handbook", t, n, "md", "", None, when, "", access), 1)
        for n, t in enumerate(passages[:3])
    ]  # fmt: skip
    prompt = build_prompt(QUESTION, hits)
    return [{"role": m.role, "content": m.content} for m in prompt.messages(examples=1)]


def _timed(llama: Any, chat: list[dict[str, str]], max_tokens: int) -> dict[str, Any]:
    """One streamed answer: wall and CPU seconds to the first token and in all, and its text."""
    wall, cpu = time.perf_counter(), time.process_time()
    first: tuple[float, float] | None = None
    pieces = []
    stream = llama.create_chat_completion(
        messages=chat, max_tokens=max_tokens, temperature=0.0, stream=True, repeat_penalty=1.1
    )
    for chunk in stream:
        piece = (chunk["choices"][0].get("delta") or {}).get("content")
        if piece:
            first = first or (time.perf_counter() - wall, time.process_time() - cpu)
            pieces.append(piece)
    text = "".join(pieces)
    total = (time.perf_counter() - wall, time.process_time() - cpu)
    first = first or total
    return {
        "first_wall_s": first[0],
        "first_cpu_s": first[1],
        "total_wall_s": total[0],
        "total_cpu_s": total[1],
        "prompt_tokens": llama.prompt_tokens,
        "reused_tokens": llama.reused_tokens,
        "completion_tokens": len(llama.tokenize(text.encode("utf-8"), add_bos=False)),
        "steps": llama.steps,
        "text": text,
    }


def _round(variants: dict[str, Any], chat: list[dict[str, str]], order: list[str]) -> dict[str, Any]:
    """Each variant: the prompt from nothing (to its first token), then the answer from the cache."""
    rows: dict[str, Any] = {}
    for name in order:
        llama = variants[name]
        llama.reset()
        prompt = _timed(llama, chat, 1)
        decode = _timed(llama, chat, MAX_TOKENS)  # the prompt's last token again, then the answer
        rows[name] = {"prompt": prompt, "decode": decode}
    return rows


def _rates(rounds: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """Medians over the rounds: prompt tokens/s and answer tokens/s, by wall clock and by CPU."""

    def median(values: list[float]) -> float:
        return round(statistics.median(values), 2)

    out: dict[str, Any] = {}
    for clock in ("wall", "cpu"):
        prompt = [r[name]["prompt"] for r in rounds]
        decode = [r[name]["decode"] for r in rounds]
        out[f"prompt_tps_{clock}"] = median([p["prompt_tokens"] / p[f"first_{clock}_s"] for p in prompt])
        out[f"first_token_{clock}_s"] = median([p[f"first_{clock}_s"] for p in prompt])
        out[f"decode_tps_{clock}"] = median(
            [
                d["completion_tokens"] / max(1e-9, d[f"total_{clock}_s"] - d[f"first_{clock}_s"])
                for d in decode
            ]
        )
    last = rounds[-1][name]["decode"]
    out.update(prompt_tokens=rounds[-1][name]["prompt"]["prompt_tokens"], steps=last["steps"])
    out.update(completion_tokens=last["completion_tokens"], answer=last["text"])
    return out


def run_rounds(name: str, variants: dict[str, Any], reps: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``reps`` rounds over ``variants`` (loaded llama.cpp instances) in an order that turns each
    round, each printed as it ends; then the instances closed. The rounds and each variant's rates."""
    chat = messages()
    rounds = []
    for rep in range(reps):
        order = list(variants) if rep % 2 == 0 else list(reversed(variants))
        rounds.append(_round(variants, chat, order))
        print(f"{name}: round {rep + 1} of {reps}: {json.dumps(_brief(rounds[-1]))}", flush=True)
    for llama in variants.values():
        llama.close()
    gc.collect()
    return rounds, {key: _rates(rounds, key) for key in variants}


def _brief(rows: dict[str, Any]) -> dict[str, Any]:
    """A round in one line: prompt and decode tokens per CPU second of each variant."""
    return {
        name: {
            "prompt_tps_cpu": round(row["prompt"]["prompt_tokens"] / row["prompt"]["first_cpu_s"], 1),
            "decode_tps_cpu": round(
                row["decode"]["completion_tokens"]
                / max(1e-9, row["decode"]["total_cpu_s"] - row["decode"]["first_cpu_s"]),
                1,
            ),
            "first_wall_s": round(row["prompt"]["first_wall_s"], 1),
        }
        for name, row in rows.items()
    }


def measure_model(
    name: str, quantize: list[str], reps: int, threads: int, draft_tokens: int
) -> dict[str, Any]:
    from backends.llama_cpp.instance import CachedLlama

    settings = Settings()
    source = resolve_model(name, settings.paths.cache_dir)
    files = {"packaged": source}
    for quant in quantize:
        started = time.perf_counter()
        files[quant] = plan_derived(name, source, quant, settings.paths.cache_dir, threads=threads).prepare()
        print(f"{name}: {quant} ready in {time.perf_counter() - started:.1f} s", flush=True)
    common: dict[str, Any] = {
        "n_ctx": 4096,
        "n_threads": threads,
        "n_threads_batch": threads,
        "verbose": False,
    }
    variants = {key: CachedLlama(model_path=str(path), **common) for key, path in files.items()}
    variants["packaged+lookup"] = CachedLlama(model_path=str(source), prompt_lookup=draft_tokens, **common)
    rounds, rates = run_rounds(name, variants, reps)
    base = rates["packaged"]
    ratios: dict[str, Any] = {
        f"{q}_over_packaged": {
            metric: round(rates[q][metric] / base[metric], 2)
            for metric in ("prompt_tps_wall", "prompt_tps_cpu", "decode_tps_wall", "decode_tps_cpu")
        }
        for q in quantize
    }
    ratios["lookup_over_plain_decode"] = {
        clock: round(rates["packaged+lookup"][f"decode_tps_{clock}"] / base[f"decode_tps_{clock}"], 2)
        for clock in ("wall", "cpu")
    }
    sizes = {key: path.stat().st_size for key, path in files.items()}
    return {
        "files": {k: str(v) for k, v in files.items()},
        "sizes": sizes,
        "rates": rates,
        "ratios": ratios,
        "rounds": rounds,
    }


def main() -> None:
    from bench.report import write_report

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help="packaged model names, comma list")
    parser.add_argument("--quantize", default="q4_0", help="derived formats, comma list (q4_0, iq4_nl)")
    parser.add_argument("--reps", type=int, default=3, help="rounds (each variant once a round)")
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads of every variant")
    parser.add_argument("--draft-tokens", type=int, default=10, help="prompt lookup's tokens per draft")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    quantize = [q for q in args.quantize.split(",") if q]
    per_model: dict[str, Any] = {}
    for name in args.models.split(","):  # written after each model: a long run keeps what it measured
        per_model[name] = measure_model(name, quantize, args.reps, args.threads, args.draft_tokens)
        write_report(args.out, question=QUESTION, threads=args.threads, reps=args.reps, per_model=per_model)


if __name__ == "__main__":
    main()
