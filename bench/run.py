"""``docduet bench``: every benchmark against its limit, in one run, as JSON, a Markdown table and plots.

Sections (each a ratio measured side by side in this run, because the machines are shared):

- **ingestion** (:mod:`bench.ingestion`): docduet end to end with its stage breakdown, against the
  raw encode rate of the same chunks and against a plain LangChain pipeline; the incremental
  re-run after 1% of the files changed;
- **retrieval** (:mod:`bench.retrieval_scale`): the permission-filtered hybrid query against the
  raw Weaviate query, by corpus size, with Weaviate's memory;
- **generation** (:mod:`bench.generation`): each local model through docduet against raw
  llama-cpp-python; the side-by-side wall time against the slower model alone;
- **answer_latency** (:mod:`bench.answer_latency`): the sample corpus's questions end to end per
  local model, cold (models loaded afresh), warm (after the warm start) and the raw model.

``--quick`` (about 10 minutes on 2 cores): 40 handbook files, 10k chunks, the small model, 2 rounds.

The handbook and the SQuAD paragraphs come from ``DOCDUET_EVAL_DATA`` (``make eval-data``). Without
the handbook, ingestion measures the repository's ``corpora/`` instead; without SQuAD, generation is
skipped. Either is said in the report's notes, with the command that fetches the set.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import answer_latency, cluster_scale, generation, ingestion, retrieval_scale
from bench.report import write_report
from core.eval_data import find_eval_set, missing_set_message
from core.settings import Settings


@dataclass(frozen=True)
class Plan:
    """How much of each section to run."""

    ingest_files: int | None
    sizes: tuple[int, ...]
    generators: tuple[str, ...]
    rounds: int
    queries: int
    cluster_chunks: int
    latency_questions: int = answer_latency.FULL_QUESTIONS


QUICK = Plan(
    ingest_files=40, sizes=(10_000,), generators=("slm",), rounds=2, queries=40, cluster_chunks=3_000,
    latency_questions=answer_latency.QUICK_QUESTIONS,
)  # fmt: skip
FULL = Plan(
    ingest_files=None, sizes=(10_000, 100_000), generators=("slm", "slm-large"), rounds=4, queries=80,
    cluster_chunks=20_000,
)  # fmt: skip
SECTIONS = ("ingestion", "retrieval", "cluster", "generation", "answer_latency")


def run(
    settings: Settings,
    out: Path,
    *,
    quick: bool,
    sections: tuple[str, ...] = SECTIONS,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run ``sections``; write ``bench.json``, ``bench.md`` and the plots into ``out``."""
    plan = QUICK if quick else FULL
    notes: list[str] = []
    results: dict[str, Any] = {"quick": quick, "notes": notes}
    steps: dict[str, Callable[[], Any]] = {
        "ingestion": lambda: ingestion.measure(
            settings, ingestion.default_corpus(settings, notes), limit=plan.ingest_files
        ),
        "retrieval": lambda: [retrieval_scale.measure_size(settings, n, plan.queries) for n in plan.sizes],
        "cluster": lambda: cluster_scale.measure(settings, plan.cluster_chunks, plan.queries),
        "generation": lambda: _generation(settings, plan, notes),
        "answer_latency": lambda: answer_latency.measure(
            settings,
            list(plan.generators),
            plan.latency_questions,
            [list(plan.generators)] if len(plan.generators) > 1 else None,
        ),
    }
    for name in sections:
        say(f"{name}…")
        started = time.perf_counter()
        results[name] = steps[name]()
        results[f"{name}_wall_s"] = round(time.perf_counter() - started, 1)
        say(f"{name}: done in {results[f'{name}_wall_s']:.0f} s")
    out.mkdir(parents=True, exist_ok=True)
    report = write_report(out / "bench.json", **results)
    (out / "bench.md").write_text(markdown(report), encoding="utf-8")
    plots(report, out)
    return report


def _generation(settings: Settings, plan: Plan, notes: list[str]) -> dict[str, Any]:
    """The generation section, or why it was skipped (its prompts are SQuAD paragraphs)."""
    squad = find_eval_set(settings.paths.eval_data, "squad2-mini")
    if squad is None:
        notes.append(f"generation: skipped: {missing_set_message('squad2-mini', settings.paths.eval_data)}")
        return {"skipped": notes[-1]}
    return generation.measure(settings, list(plan.generators), plan.rounds, squad=squad)


def markdown(report: dict[str, Any]) -> str:
    """The table of every ratio against its goal, then each section's detail."""
    rows = ["| measure | docduet | limit | ratio | goal |", "|---|---|---|---|---|"]
    ing = report.get("ingestion")
    if ing:
        d, r, lc, inc = ing["docduet"], ing["raw_encode"], ing["langchain"], ing["incremental"]
        rows += [
            f"| ingestion, chunks/s ({ing['files']} files) | {d['chunks_per_second']} | raw encode "
            f"{r['chunks_per_second']} | {ing['ratios']['docduet_vs_raw_encode']} | >= 0.85 |",
            f"| ingestion, files/s | {d['files_per_second']} | LangChain pipeline {lc['files_per_second']} "
            f"| {ing['ratios']['docduet_vs_langchain_files_per_s']} | >= 2 |",
            f"| incremental re-run, 1% changed, s | {inc['seconds']} | full ingest {d['seconds']} "
            f"| {inc['share_of_full']} | <= 0.05 |",
        ]
    for size in report.get("retrieval") or []:
        rows.append(
            f"| retrieval p50 ms, {size['chunks']:,} chunks | {size['docduet_p50_ms']} | raw query + "
            f"encode {size['raw_p50_ms']} | {size['docduet_vs_raw_p50']} | <= 1.3 |"
        )
    if report.get("cluster"):
        rows += _cluster_rows(report["cluster"])
    gen = report.get("generation")
    for name, model in ((gen or {}).get("per_model") or {}).items():
        first, decode = model["first_token_s"], model["decode_tokens_per_s"]
        rows += [
            f"| {name} first token s | {first['docduet']:.2f} | raw {first['raw']:.2f} "
            f"| {first['ratio_raw_over_docduet']:.2f} | >= 0.95 |",
            f"| {name} decode tokens/s | {decode['docduet']:.1f} | raw {decode['raw']:.1f} "
            f"| {decode['ratio_docduet_over_raw']:.2f} | >= 0.95 |",
        ]
    if gen and gen.get("side_by_side"):
        s = gen["side_by_side"]
        ratio = s["wall_over_slower_alone"]
        rows.append(f"| side by side wall s | {s['wall_s']:.1f} | the slower model alone | {ratio:.2f} | - |")
    rows += _latency_rows(report.get("answer_latency"))
    detail = json.dumps({k: v for k, v in report.items() if k in SECTIONS}, indent=2)
    about = [f"Ingestion corpus: `{ing['corpus']}`"] if ing and ing.get("corpus") else []
    about += [f"Note: {note}" for note in report.get("notes") or []]
    return (
        f"# docduet bench ({'quick' if report.get('quick') else 'full'}, {report['when']}, "
        f"{report['machine']['cpus']} CPUs)\n\n"
        + "".join(f"{line}\n\n" for line in about)
        + "\n".join(rows)
        + "\n\n```json\n"
        + detail
        + "\n```\n"
    )


def _latency_rows(latency: dict[str, Any] | None) -> list[str]:
    """Per model: the first question cold and warm, the later ones, against the raw model."""
    rows = []
    for name, m in ((latency or {}).get("per_model") or {}).items():
        cold, warm, raw, r = m["cold"], m["warm"], m["raw"], m["ratios"]
        cold_first, warm_first = _s(cold["first"]["first_token_s"]), _s(warm["first"]["first_token_s"])
        later, raw_later = _s(warm["later_first_token_p50_s"]), _s(raw["later_first_token_p50_s"])
        rows += [
            f"| {name} answer, 1st question cold: first token s | {cold_first} | warm {warm_first} "
            f"| {r['cold_first_over_warm_first']} | - |",
            f"| {name} answer, 1st question warm: first token s | {warm_first} | later questions p50 "
            f"{later} | {r['warm_first_over_warm_later']} | <= 1.1 |",
            f"| {name} answer, later p50: first token s (end to end) | {later} | raw model {raw_later} "
            f"| {r['docduet_over_raw_later_first_token']} | - |",
            f"| {name} answer, later p50: total s | {_s(warm['later_total_p50_s'])} "
            f"| raw model {_s(raw['later_total_p50_s'])} | - | - |",
        ]
    for group, t in ((latency or {}).get("side_by_side") or {}).items():
        for name, g in t["per_generator"].items():
            alone = (((latency or {}).get("per_model") or {}).get(name) or {}).get("warm") or {}
            rows.append(
                f"| {name} answer beside {group}, p50: first token s | {_s(g['first_token_p50_s'])} "
                f"| alone {_s(alone.get('later_first_token_p50_s'))} | - | - |"
            )
        rows.append(
            f"| {group} side by side, p50: all columns done s | {_s(t['all_done_p50_s'])} | - | - | - |"
        )
    return rows


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.2f}"


def _cluster_rows(cluster: dict[str, Any]) -> list[str]:
    """What three nodes change against one, per layout (no goal: the figures inform the choice)."""
    single, r = cluster["single"], cluster["ratios"]
    rows = []
    for name, label in (("replicated", "factor 3, QUORUM"), ("sharded", "factor 1, 3 shards")):
        layout = cluster[name]
        search = "fails (Weaviate)" if layout["query_error"] else layout["docduet_p50_ms"]
        rows += [
            f"| 3 nodes {name} ({label}), {cluster['chunks']:,} chunks: import chunks/s "
            f"| {layout['import_chunks_per_s']} | one node {single['import_chunks_per_s']} "
            f"| {r[f'{name}_import_over_single']} | - |",
            f"| {name}: search p50 ms | {search} | one node {single['docduet_p50_ms']} "
            f"| {r[f'{name}_p50_over_single']} | - |",
            f"| {name}: memory MB, all nodes | {layout['rss_mb_total']} | one node {single['rss_mb_total']} "
            f"| {r[f'{name}_rss_over_single']} | - |",
        ]
    return rows


def plots(report: dict[str, Any], out: Path) -> list[Path]:
    """Ingestion time by stage (docduet and LangChain) and retrieval latency by corpus size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    ing = report.get("ingestion")
    if ing:
        fig, ax = plt.subplots(figsize=(7, 3.2))
        for row, part in enumerate((ing["docduet"], ing["langchain"])):
            label = "docduet" if row == 0 else "LangChain"
            left = 0.0
            for stage, seconds in part["stage_seconds"].items():
                ax.barh(row, seconds, left=left, label=f"{label}: {stage}")
                left += seconds
            # docduet parses while it embeds: its stages add up to more than its wall time
            ax.plot([part["seconds"]] * 2, [row - 0.45, row + 0.45], "k-", linewidth=2)
        ax.set_yticks([0, 1], ["docduet", "LangChain"])
        ax.set_xlabel("seconds")
        ax.set_title(f"Ingestion of {ing['files']} files by stage (black: wall time)")
        ax.legend(fontsize=6, ncol=3, loc="lower right")
        fig.tight_layout()
        written.append(out / "ingestion_stages.png")
        fig.savefig(written[-1], dpi=120)
        plt.close(fig)
    sizes = report.get("retrieval") or []
    if sizes:
        fig, ax = plt.subplots(figsize=(5, 3.2))
        n = [s["chunks"] for s in sizes]
        ax.plot(n, [s["docduet_p50_ms"] for s in sizes], "o-", label="docduet p50")
        ax.plot(n, [s["raw_p50_ms"] for s in sizes], "s--", label="raw query + encode p50")
        ax.plot(n, [s["docduet_p95_ms"] for s in sizes], "o:", label="docduet p95")
        ax.set_xscale("log")
        ax.set_xlabel("chunks")
        ax.set_ylabel("ms")
        ax.set_title("Retrieval latency by corpus size")
        ax.legend(fontsize=7)
        fig.tight_layout()
        written.append(out / "retrieval_latency.png")
        fig.savefig(written[-1], dpi=120)
        plt.close(fig)
    return written
