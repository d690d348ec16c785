"""Local generation through docduet vs raw llama-cpp-python, side by side, and two models at once.

``python -m bench.generation [--rounds N] [--generators slm,slm-large]`` writes
bench/results/generation.json. For each local generator it alternates, on the same prompts
(SQuAD-mini paragraphs as passages, the chat messages docduet sends, temperature 0, the same
threads), a raw ``Llama.create_chat_completion`` stream and docduet's ``LlamaCppGenerator``
stream, and reports time to first token and decode tokens/s of each and their ratios. Then it runs
the generators at once (as the web chat does) and alone, and reports the side-by-side wall time
against the slower single one. Both sides see the same sequence of prompts, so llama.cpp's reuse
of the shared prompt prefix (instructions, worked examples) helps them equally.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backends.llama_cpp.generator import LlamaCppGenerator
from bench.report import write_report
from chat.generators import spec_by_id
from chat.prompt import build_prompt
from core.domain import Access, Chunk, Hit, Sensitivity
from core.eval_data import eval_set
from core.prompt import Prompt
from core.settings import Settings
from docduet.compose import build_generator

SQUAD_FILE = "dev-v2.0.mini3.json"
"""The SQuAD 2.0 articles of the ``squad2-mini`` set in ``DOCDUET_EVAL_DATA`` (``make eval-data``)."""
OUT = Path(__file__).resolve().parent / "results" / "generation.json"
MAX_TOKENS = 48


def prompts(squad: Path, count: int, passages: int) -> list[Prompt]:
    """``count`` questions of the ``squad`` set, each with its own paragraph and the next ones as passages."""
    data = json.loads((squad / SQUAD_FILE).read_text(encoding="utf-8"))
    paragraphs = [p for article in data["data"] for p in article["paragraphs"]]
    out = []
    for i in range(count):
        para = paragraphs[(i * 7) % len(paragraphs)]
        question = next(q["question"] for q in para["qas"] if not q["is_impossible"])
        texts = [paragraphs[(i * 7 + k) % len(paragraphs)]["context"] for k in range(passages)]
        out.append(build_prompt(question, [_hit(i * 10 + k, t) for k, t in enumerate(texts)]))
    return out


def _hit(n: int, text: str) -> Hit:
    chunk = Chunk(
        f"c{n}", f"/squad/{n}", "/squad", "SQuAD", text, 0, "json", "", None,
        datetime.now(UTC), "h", Access(("public",), Sensitivity.PUBLIC),
    )  # fmt: skip
    return Hit(chunk, 1.0)


def timed(pieces: Any) -> tuple[float, float, int]:
    """(time to first token, decode tokens/s after it, pieces) of a stream of text pieces."""
    start = time.perf_counter()
    first: float | None = None
    count = 0
    for piece in pieces:
        if not piece:
            continue
        if first is None:
            first = time.perf_counter() - start
        count += 1
    total = time.perf_counter() - start
    first = first if first is not None else total
    return first, (count - 1) / max(total - first, 1e-9), count


def raw_stream(llama: Any, generator: LlamaCppGenerator, prompt: Prompt) -> Any:
    messages = [{"role": m.role, "content": m.content} for m in prompt.messages(examples=generator.examples)]
    for chunk in llama.create_chat_completion(
        messages=messages, max_tokens=MAX_TOKENS, temperature=0.0, stream=True,
        repeat_penalty=generator.repeat_penalty,
    ):  # fmt: skip
        yield (chunk["choices"][0].get("delta") or {}).get("content") or ""


def versus_raw(generator: LlamaCppGenerator, warm: Prompt, rounds: list[Prompt]) -> dict[str, Any]:
    from llama_cpp import Llama

    raw = Llama(
        model_path=str(generator.model_path), n_ctx=generator.n_ctx, n_threads=generator.n_threads,
        n_threads_batch=generator.n_threads, flash_attn=generator.flash_attn, verbose=False,
    )  # fmt: skip
    for _ in raw_stream(raw, generator, warm):  # load and warm the shared prefix, as for docduet
        pass
    rows = []
    for prompt in rounds:
        a = timed(raw_stream(raw, generator, prompt))
        b = timed(generator.stream(prompt, max_tokens=MAX_TOKENS))
        rows.append({"raw": a, "docduet": b})
    raw_first = statistics.median(r["raw"][0] for r in rows)
    dd_first = statistics.median(r["docduet"][0] for r in rows)
    raw_tps = statistics.median(r["raw"][1] for r in rows)
    dd_tps = statistics.median(r["docduet"][1] for r in rows)
    return {
        "model": generator.label,
        "threads": generator.n_threads,
        "prompt_tokens_median": statistics.median(
            generator.count_tokens(generator._chat_text(p)) for p in rounds
        ),
        "first_token_s": {
            "raw": raw_first, "docduet": dd_first, "ratio_raw_over_docduet": raw_first / dd_first
        },
        "decode_tokens_per_s": {
            "raw": raw_tps, "docduet": dd_tps, "ratio_docduet_over_raw": dd_tps / raw_tps
        },
        "rounds": rows,
    }


def side_by_side(generators: list[LlamaCppGenerator], alone: Prompt, together: Prompt) -> dict[str, Any]:
    """Each generator alone on ``alone``, then all at once on ``together`` (as the web chat runs them).

    Two prompts no model has seen, of similar length: on a prompt it had just answered, llama.cpp
    would reuse the whole evaluated prompt and only the decoding would be timed.
    """
    alone_s = {}
    for g in generators:
        start = time.perf_counter()
        g.stream(alone, max_tokens=MAX_TOKENS).collect()
        alone_s[g.name] = time.perf_counter() - start
    done: dict[str, float] = {}
    start = time.perf_counter()

    def run(g: LlamaCppGenerator) -> None:
        g.stream(together, max_tokens=MAX_TOKENS).collect()
        done[g.name] = time.perf_counter() - start

    threads = [threading.Thread(target=run, args=(g,)) for g in generators]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    wall = time.perf_counter() - start
    slower = max(alone_s.values())
    first = generators[0]
    pair = (("alone", alone), ("together", together))
    tokens = {name: first.count_tokens(first._chat_text(p)) for name, p in pair}
    return {
        "prompt_tokens": tokens,
        "alone_s": alone_s,
        "together_s": done,
        "wall_s": wall,
        "wall_over_slower_alone": wall / slower,
        "wall_over_sum_alone": wall / sum(alone_s.values()),
    }


def measure(
    settings: Settings, names: list[str], rounds: int, *, squad: Path | None = None
) -> dict[str, Any]:
    """Per local generator, docduet vs raw llama-cpp-python; then all of them side by side.

    The prompts are paragraphs and questions of ``squad`` (default: the ``squad2-mini`` set of
    ``DOCDUET_EVAL_DATA``; a :class:`ConfigError` that names ``make eval-data`` when it is missing).
    """
    squad = squad or eval_set(settings.paths.eval_data, "squad2-mini")
    generators = []
    for name in names:
        built = build_generator(spec_by_id(settings, name.strip()), settings)
        assert isinstance(built, LlamaCppGenerator), f"{name} is not a local llama.cpp generator"
        generators.append(built)
    prepared = prompts(squad, rounds + 3, passages=3)
    fresh = prepared[-2:]  # for the side-by-side run: prompts no model has seen
    prepared = prepared[:-2]
    results = {}
    for g in generators:
        g.stream(prepared[0], max_tokens=4).collect()  # load the model and warm the shared prefix
        results[g.name] = versus_raw(g, prepared[0], prepared[1:])
    together = side_by_side(generators, *fresh) if len(generators) > 1 else None
    return {"max_tokens": MAX_TOKENS, "per_model": results, "side_by_side": together}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--generators", default="slm,slm-large")
    args = parser.parse_args()
    write_report(OUT, **measure(Settings(), args.generators.split(","), args.rounds))


if __name__ == "__main__":
    main()
