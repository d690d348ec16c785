"""Report figures as base64 PNGs (matplotlib's object API: no pyplot, no global backend state)."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

QA_BARS = (("em", "EM"), ("f1", "F1"), ("correct", "correct"), ("abstention_recall", "abstain recall"))


def _figure(width: float = 9.0, height: float = 3.6) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def to_base64(figure: Figure) -> str:
    """The figure as a base64-encoded PNG."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def retrieval_figure(retrieval: dict[str, Any]) -> str:
    """Left: every metric per method. Right: nDCG@10 against alpha (0 = BM25, 1 = vector)."""
    methods = [m for m in retrieval["methods"] if m["ndcg@10"] is not None]
    figure = _figure()
    bars, line = figure.subplots(1, 2, width_ratios=(3, 2))
    metrics = ("ndcg@10", "recall@10", "recall@100", "mrr@10")
    width = 0.8 / len(metrics)
    for i, metric in enumerate(metrics):
        positions = [j + (i - (len(metrics) - 1) / 2) * width for j in range(len(methods))]
        bars.bar(positions, [m[metric] for m in methods], width, label=metric)
    bars.set_xticks(range(len(methods)), [m["name"] for m in methods], rotation=20)
    bars.set_ylim(0, 1.15)
    bars.legend(fontsize="small", ncols=4, loc="upper center")
    bars.set_title("Retrieval quality per method")
    ordered = sorted(methods, key=lambda m: m["alpha"])
    line.plot([m["alpha"] for m in ordered], [m["ndcg@10"] for m in ordered], marker="o")
    line.axvline(retrieval["default_alpha"], color="grey", linestyle="--", label="current default")
    line.set_xlabel("alpha (0 = BM25 only, 1 = vector only)")
    line.set_ylabel("nDCG@10")
    line.legend(fontsize="small")
    line.set_title("Alpha sweep")
    return to_base64(figure)


def tradeoff_figure(summary: dict[str, dict[str, Any]]) -> str:
    """Share correct (with its 95% interval) against median latency and against cost per 1,000
    questions (tokens plus priced local compute); right: the main quality scores per generator."""
    names = [n for n, s in summary.items() if s["latency_p50_s"] is not None]
    figure = _figure(12.0, 3.8)
    latency, cost, bars = figure.subplots(1, 3)
    for axes, key, xlabel in (
        (latency, "latency_p50_s", "median answer time (s)"),
        (cost, "total_usd_per_1k", "$ per 1,000 questions (tokens + compute)"),
    ):
        xs = [_x(summary[n], key) for n in names]
        for name, x in zip(names, xs, strict=True):
            s = summary[name]
            low, high = (s.get("ci95") or {}).get("correct") or (s["correct"], s["correct"])
            y = s["correct"] or 0.0
            axes.errorbar([x], [y], yerr=[[y - low], [high - y]], fmt="o", capsize=4, markersize=8)
            axes.annotate(name, (x, y), textcoords="offset points", xytext=(8, 4), fontsize="small")
        axes.set_xlabel(xlabel)
        axes.set_ylabel("share correct (95% interval)")
        axes.set_ylim(0, 1.05)
        axes.set_xlim(left=0, right=max([*xs, 0.001]) * 1.4)
    latency.set_title("Quality vs latency")
    cost.set_title("Quality vs cost")
    width = 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        values = [summary[name][key] or 0.0 for key, _ in QA_BARS]
        bars.bar(
            [j + (i - (len(names) - 1) / 2) * width for j in range(len(QA_BARS))], values, width, label=name
        )
    bars.set_xticks(range(len(QA_BARS)), [title for _, title in QA_BARS])
    bars.set_ylim(0, 1)
    bars.legend(fontsize="small")
    bars.set_title("Answer quality")
    return to_base64(figure)


def _x(s: dict[str, Any], key: str) -> float:
    """A figure's x value; the tokens' cost alone for results written before compute was priced."""
    value = s.get(key)
    return float(
        s.get("cost_usd_per_1k") or 0.0 if value is None and key == "total_usd_per_1k" else value or 0.0
    )


def disagreement_figure(
    records: Sequence[dict[str, Any]], a: str, b: str, groups: dict[str, list[str]]
) -> str:
    """Left: per-question F1 of ``a`` against ``b``. Right: who got each question right."""
    pairs = [r["answers"] for r in records if a in r["answers"] and b in r["answers"]]
    figure = _figure()
    scatter, bars = figure.subplots(1, 2)
    xs = [p[a]["scores"]["f1"] for p in pairs]
    ys = [p[b]["scores"]["f1"] for p in pairs]
    jitter = [((i * 37) % 11 - 5) / 250 for i in range(len(pairs))]  # deterministic spread of ties
    scatter.scatter(
        [x + j for x, j in zip(xs, jitter, strict=True)],
        [y - j for y, j in zip(ys, jitter, strict=True)],
        s=14,
        alpha=0.6,
    )
    scatter.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    scatter.set_xlabel(f"{a} token F1")
    scatter.set_ylabel(f"{b} token F1")
    scatter.set_title("Per-question F1 (above the line: {b} better)".replace("{b}", b))
    keys = list(groups)
    bars.bar(
        keys, [len(groups[k]) for k in keys], color=["#4c9a2a", "#3b75af", "#d98c1f", "#b23a3a"][: len(keys)]
    )
    bars.set_ylabel("questions")
    bars.set_title("Who answered correctly")
    return to_base64(figure)


def risk_coverage_figure(curves: dict[str, list[dict[str, Any]]]) -> str:
    """Share right against coverage (answering only the most confident), one line per generator."""
    figure = _figure(6.0, 3.6)
    axes = figure.subplots()
    for name, points in curves.items():
        kept = [p for p in points if p["value"] is not None]
        axes.plot([p["coverage"] for p in kept], [p["value"] for p in kept], marker="o", label=name)
    axes.set_xlabel("coverage (share of questions answered, most confident first)")
    axes.set_ylabel("share right")
    axes.set_xlim(1.02, 0.0)
    axes.set_ylim(0, 1.05)
    axes.legend(fontsize="small")
    axes.set_title("Risk-coverage")
    return to_base64(figure)


def pareto_figure(section: dict[str, Any]) -> str:
    """Every simulated configuration's share right against its compute seconds; the Pareto front
    joined by a line, each generator alone marked and named."""
    figure = _figure(7.0, 4.0)
    axes = figure.subplots()
    points = section["points"]
    axes.scatter(
        [p["compute_s"] for p in points],
        [p["quality"]["value"] for p in points],
        s=10,
        alpha=0.35,
        label="cascades",
    )
    front = sorted(section["pareto"], key=lambda p: p["compute_s"])
    axes.plot(
        [p["compute_s"] for p in front],
        [p["quality"]["value"] for p in front],
        color="#b23a3a",
        marker="o",
        label="Pareto front",
    )
    for single in section["singles"]:
        x, y = single["compute_s"], single["quality"]["value"]
        axes.scatter([x], [y], marker="s", s=60, color="black")
        axes.annotate(single["steps"][0], (x, y), textcoords="offset points", xytext=(6, 4), fontsize="small")
    axes.set_xlabel("compute seconds per question (on-premises steps)")
    axes.set_ylabel("share right")
    axes.legend(fontsize="small")
    axes.set_title("Cascades: quality against compute")
    return to_base64(figure)
