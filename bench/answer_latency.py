"""Answer latency on the sample corpus's questions, end to end, per local generator: cold, warm, raw.

``python -m bench.answer_latency [--quick] [--generators slm,slm-large] [--questions N]`` writes
bench/results/answer_latency.json; ``docduet bench --only answer_latency`` runs it as a section. It
ingests corpora/ into the corpus-questions collection (incremental: a re-run reads nothing new),
then for each local generator asks the first N questions of corpora/.questions.yaml, each as a
demo user allowed to read its source, three times over, each time with a model loaded afresh:

- **cold**: a new set of loaded models (as a new process has): the first question pays the
  embedder's and the model's load and the fixed head of the prompt (instructions, examples);
- **warm**: a new set of models warmed first (``Root.warm``, as ``docduet ui`` and ``docduet
  slack`` do at start), then the same questions: the first should cost what the later ones do;
- **raw**: llama-cpp-python's own ``Llama``, loaded afresh with every core, streaming the
  same chat messages docduet sent (the same passages): the model's floor, without retrieval,
  citations or the self-check.

Then ``--together A+B`` (default: slm+slm-large when both are measured) asks the questions to
those generators at once through one answer service, warmed first, as the web chat's columns:
each column's first token and total, and when both were done (``all_done_p50_s``). Each group is
asked twice, in this order: as configured (local models with ``run_alone`` take turns, the
smallest first: key ``A+B``), then with ``run_alone`` off, evaluating at the same time on shared
cores (key ``A+B at once``). ``--only-together`` skips the per-model runs.

Times are end to end as a user sees them: from the question to the first token and to the
finished answer (docduet's include retrieval; the raw model's cold first token includes its load).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from backends.llama_cpp.cores import available_cores
from backends.llama_cpp.derived import plan_derived
from backends.llama_cpp.generator import LlamaCppGenerator, LlamaCppOptions
from backends.llama_cpp.packaged import resolve_model
from chat.generators import spec_by_id
from chat.prompt import build_prompt
from chat.results import Question, Retrieval
from chat.slots import GeneratorSlot, plan_for
from core.domain import Answer
from core.identity import UserDirectory
from core.protocols import NullProgress
from core.settings import Settings
from docduet.compose import Root
from docduet.models import Models
from evaluation.corpus_questions import COLLECTION, CORPUS, CorpusQuestion, asker, load_questions, score

OUT = Path(__file__).resolve().parent / "results" / "answer_latency.json"
AT_ONCE = " at once"
"""The key suffix of a group asked with run_alone off (the models evaluating at the same time)."""
QUICK_QUESTIONS = 3
FULL_QUESTIONS = 8


def measure(
    settings: Settings, names: list[str], questions: int, together: list[list[str]] | None = None
) -> dict[str, Any]:
    """Per generator: the cold, warm and raw runs over the first ``questions`` corpus questions;
    then each group of ``together`` side by side (warm, as the web chat asks them)."""
    settings = settings.replace(collection=COLLECTION)
    with Root(settings) as root:
        chunks = root.ingest([CORPUS], progress=NullProgress()).total_chunks
    asked = load_questions()[:questions]
    directory = UserDirectory.parse(yaml.safe_load((CORPUS / "users.yaml").read_text("utf-8")))
    per_model = {name: _measure_one(settings, name, asked, directory) for name in names if name}
    side_by_side = {
        "+".join(group) + (AT_ONCE if at_once else ""): _together(
            settings, group, asked, directory, at_once=at_once
        )
        for group in together or []
        for at_once in (False, True)
    }
    return {
        "corpus_chunks": chunks,
        "questions": [q.question for q in asked],
        "per_model": per_model,
        "side_by_side": side_by_side,
    }


def _together(
    settings: Settings,
    names: list[str],
    asked: list[CorpusQuestion],
    directory: UserDirectory,
    *,
    at_once: bool = False,
) -> dict[str, Any]:
    """The questions to ``names`` at once through one answer service (as the web chat's columns),
    models loaded and warmed first: each column's first token and total, and when all were done.
    ``at_once``: the local models' ``run_alone`` turned off, so they evaluate at the same time,
    sharing the cores, instead of one after the other."""
    gc.collect()
    rows: list[dict[str, Any]] = []
    with Root(settings, models=Models()) as root:
        root.warm(names).wait()
        generators, _unavailable = root.generators(names)
        for generator in generators.values():
            if isinstance(generator, LlamaCppGenerator) and at_once:
                generator.run_alone = False
        service = root.answer_service(names)
        for q in asked:
            started = time.perf_counter()
            comparison = service.compare(Question(text=q.question, user=asker(q, directory)), names)
            done = time.perf_counter() - started
            answers = {name: comparison.answer(name) for name in names}
            rows.append(
                {"all_done_s": done} | {name: _row(a, score(q, a)["correct"]) for name, a in answers.items()}
            )
    result = {
        "all_done_p50_s": statistics.median(r["all_done_s"] for r in rows),
        "per_generator": {
            name: {
                "first_token_p50_s": _median([r[name]["first_token_s"] for r in rows]),
                "total_p50_s": _median([r[name]["total_s"] for r in rows]),
                "correct": sum(bool(r[name]["correct"]) for r in rows),
            }
            for name in names
        },
        "rows": rows,
    }
    print(
        f"{'+'.join(names)} {'at once' if at_once else 'in turns'}: "
        f"{json.dumps({k: v for k, v in result.items() if k != 'rows'})}",
        file=sys.stderr,
        flush=True,
    )
    return result


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _measure_one(
    settings: Settings, name: str, asked: list[CorpusQuestion], directory: UserDirectory
) -> dict[str, Any]:
    cold, prompts = _docduet(settings, name, asked, directory, warm=False)
    _say(name, "cold", cold)
    gc.collect()  # each run loads the model afresh: free the last one first (llama.cpp objects cycle)
    warm, _ = _docduet(settings, name, asked, directory, warm=True)
    _say(name, "warm", warm)
    gc.collect()
    raw = _raw(settings, name, prompts)
    _say(name, "raw", raw)
    return {
        "cold": cold,
        "warm": warm,
        "raw": raw,
        "ratios": {
            "cold_first_over_warm_first": _ratio(
                cold["first"]["first_token_s"], warm["first"]["first_token_s"]
            ),
            "warm_first_over_warm_later": _ratio(
                warm["first"]["first_token_s"], warm["later_first_token_p50_s"]
            ),
            "docduet_over_raw_later_first_token": _ratio(
                warm["later_first_token_p50_s"], raw["later_first_token_p50_s"]
            ),
        },
    }


def _docduet(
    settings: Settings, name: str, asked: list[CorpusQuestion], directory: UserDirectory, *, warm: bool
) -> tuple[dict[str, Any], list[list[dict[str, str]]]]:
    """The questions through a new root with newly loaded models; warmed first when ``warm``."""
    rows, prompts = [], []
    with Root(settings, models=Models()) as root:
        service = root.answer_service([name])
        warm_s = None
        if warm:
            started = time.perf_counter()
            warming = root.warm([name])
            warming.wait()
            warm_s = time.perf_counter() - started
        generator = root.generators([name])[0][name]
        assert isinstance(generator, LlamaCppGenerator), f"{name} is not a local llama.cpp generator"
        spec = spec_by_id(settings, name)
        slot = GeneratorSlot(
            name, generator, max_passages=spec.max_passages, context_tokens=spec.context_tokens
        )
        for q in asked:
            comparison = service.compare(Question(text=q.question, user=asker(q, directory)), [name])
            answer = comparison.answer(name)
            rows.append(_row(answer, score(q, answer)["correct"]))
            prompts.append(_messages(generator, slot, comparison.retrieval, q.question))
    return {**_summary(rows), "warm_s": warm_s, "rows": rows}, prompts


def _row(answer: Answer, correct: bool) -> dict[str, Any]:
    return {
        "first_token_s": answer.timings.first_token_s,
        "total_s": answer.timings.total_s,
        "retrieval_s": answer.timings.retrieval_s,
        "prompt_tokens": answer.usage.prompt_tokens,
        "cached_prompt_tokens": answer.usage.cached_prompt_tokens,
        "completion_tokens": answer.usage.completion_tokens,
        "error": answer.error,
        "correct": correct,
    }


def _messages(
    generator: LlamaCppGenerator, slot: GeneratorSlot, retrieval: Retrieval, question: str
) -> list[dict[str, str]]:
    """The chat messages docduet sent for ``question`` (its passages, as the answer service chose them)."""
    hits = plan_for(slot, generator, retrieval).hits
    prompt = build_prompt(question, hits, context_tokens=slot.context_tokens)
    return [{"role": m.role, "content": m.content} for m in prompt.messages(examples=generator.examples)]


def _raw(settings: Settings, name: str, prompts: list[list[dict[str, str]]]) -> dict[str, Any]:
    """The same messages through a newly loaded plain ``llama_cpp.Llama`` with every core (and the
    generator's attention: flash or plain)."""
    from llama_cpp import Llama

    spec = spec_by_id(settings, name)
    options = LlamaCppOptions(**spec.options)
    path = resolve_model(options.model, settings.paths.cache_dir)
    if options.quantize != "none":  # the derived file docduet's generator answered with
        path = plan_derived(options.model, path, options.quantize, settings.paths.cache_dir).prepare()
    threads = available_cores()
    started = time.perf_counter()
    llama = Llama(
        model_path=str(path),
        n_ctx=options.n_ctx,
        n_threads=threads,
        n_threads_batch=threads,
        flash_attn=options.flash_attn,
        verbose=False,
    )
    load_s = time.perf_counter() - started
    rows = []
    for messages in prompts:
        started = time.perf_counter()
        first: float | None = None
        stream = llama.create_chat_completion(
            messages=messages,  # type: ignore[arg-type]  # plain dicts: what llama-cpp-python reads
            max_tokens=spec.max_tokens,
            temperature=0.0,
            stream=True,
            repeat_penalty=options.repeat_penalty,
        )
        for chunk in stream:
            if first is None and _text(chunk).strip():
                first = time.perf_counter() - started
        rows.append({"first_token_s": first, "total_s": time.perf_counter() - started})
    llama.close()
    summary = _summary(rows)
    summary["first"] = {
        **summary["first"],
        "first_token_s_with_load": load_s + (rows[0]["first_token_s"] or 0.0),
    }
    return {**summary, "load_s": load_s, "threads": threads, "rows": rows}


def _say(name: str, run: str, result: dict[str, Any]) -> None:
    """One line per run as it ends (a long run shows its progress; the JSON comes at the end)."""
    first, later = result["first"]["first_token_s"], result["later_first_token_p50_s"]
    line = f"{name} {run}: first question {first} s to the first token, later p50 {later} s"
    print(f"{line}; {json.dumps(result['rows'])}", file=sys.stderr, flush=True)


def _text(chunk: Any) -> str:
    return (chunk["choices"][0].get("delta") or {}).get("content") or ""


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The first question, and the median of the later ones (all of them when there is one)."""
    later = rows[1:] or rows
    firsts = [r["first_token_s"] for r in later if r["first_token_s"] is not None]
    return {
        "first": {"first_token_s": rows[0]["first_token_s"], "total_s": rows[0]["total_s"]},
        "later_first_token_p50_s": statistics.median(firsts) if firsts else None,
        "later_total_p50_s": statistics.median(r["total_s"] for r in later),
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def main() -> None:
    from bench.report import write_report

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small model, 3 questions")
    parser.add_argument("--generators", help="comma list (default: slm,slm-large; --quick: slm)")
    parser.add_argument("--questions", type=int, help="how many corpus questions (default 8; --quick: 3)")
    parser.add_argument(
        "--only-together", action="store_true", help="only the --together groups, no per-model runs"
    )
    parser.add_argument(
        "--together",
        action="append",
        metavar="A+B",
        help="also ask these generators at once, warm, as the web chat's columns (repeatable; "
        "default without --quick: slm+slm-large when both are measured)",
    )
    args = parser.parse_args()
    names = args.generators.split(",") if args.generators else ["slm"] if args.quick else ["slm", "slm-large"]
    questions = args.questions or (QUICK_QUESTIONS if args.quick else FULL_QUESTIONS)
    groups = [g.split("+") for g in args.together] if args.together else None
    if groups is None and not args.quick and {"slm", "slm-large"} <= set(names):
        groups = [["slm", "slm-large"]]
    if args.only_together and not groups:
        parser.error("--only-together needs --together A+B")
    write_report(OUT, **measure(Settings(), [] if args.only_together else names, questions, groups))


if __name__ == "__main__":
    main()
