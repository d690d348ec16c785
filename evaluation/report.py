"""``results.json`` and ``report.html``: the report is rendered from the results alone."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path
from typing import Any

from evaluation import plots
from evaluation.confidence_metrics import wilson_interval
from evaluation.generate.items import describe_hand_edits
from evaluation.report_confidence import cascade_html, confidence_html
from evaluation.report_decision import NOTES as DECISION_NOTES
from evaluation.report_decision import decision_html, kappa_cell, pairs_html, with_interval

Fmt = Callable[[Any], str]
MAX_LISTED = 25
INTERVAL_FORMATS: dict[Fmt, tuple[float, str]] = {}
"""How a row's interval ends are written, by the row's formatter (filled in below)."""


def _pct(v: Any) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def _num(v: Any) -> str:
    return "–" if v is None else f"{v:,.0f}"


def _sec(v: Any) -> str:
    return "–" if v is None else f"{v:.2f} s"


def _usd(v: Any) -> str:
    return "–" if v is None else f"${v:,.4f}"


def _f3(v: Any) -> str:
    return "–" if v is None else f"{v:.3f}"


QA_ROWS: tuple[tuple[str, str, Fmt], ...] = (
    ("Questions", "questions", _num),
    ("Failed (errors)", "errors", _num),
    ("Exact match", "em", _pct),
    ("Token F1", "f1", _pct),
    ("Correct (see notes)", "correct", _pct),
    ("Answerable: exact match", "answerable_em", _pct),
    ("Answerable: token F1", "answerable_f1", _pct),
    ("Answerable: contains a gold answer", "answerable_contains", _pct),
    ("Abstention precision", "abstention_precision", _pct),
    ("Abstention recall", "abstention_recall", _pct),
    ("Citation precision (model's markers supported)", "citation_precision", _pct),
    ("Citation recall (answer's source cited)", "citation_recall", _pct),
    ("Citations attributed by docduet", "attributed_share", _pct),
    ("Answer time p50", "latency_p50_s", _sec),
    ("Answer time p95", "latency_p95_s", _sec),
    ("First token p50", "first_token_p50_s", _sec),
    ("First token p95", "first_token_p95_s", _sec),
    ("Prompt tokens per 1,000 questions", "prompt_tokens_per_1k", _num),
    ("Completion tokens per 1,000 questions", "completion_tokens_per_1k", _num),
    ("Cost per 1,000 questions (tokens)", "cost_usd_per_1k", _usd),
    ("Compute seconds per answer (local)", "compute_s_mean", _sec),
    ("Compute cost per 1,000 questions", "compute_usd_per_1k", _usd),
    ("Cost per 1,000 questions (tokens + compute)", "total_usd_per_1k", _usd),
    ("Cost per month", "total_usd_per_month", _usd),
)
INTERVAL_FORMATS.update(
    {
        _pct: (100.0, "{:.0f}"),
        _sec: (1.0, "{:.2f}"),
        _usd: (1.0, "{:,.4f}"),
        _num: (1.0, "{:,.0f}"),
        _f3: (1.0, "{:.3f}"),
    }
)

NOTES = (
    "Ranking metrics follow trec_eval/BEIR (graded relevance, linear gain); every method runs "
    "through docduet's own retriever (hybrid relativeScore fusion, de-duplication) with the "
    "similarity threshold disabled; MRR is cut at rank 10.",
    "Exact match and token F1 follow the official SQuAD 2.0 script (normalised text, best gold "
    "answer; an abstention is the empty answer, right exactly on unanswerable questions). "
    "Citation markers are removed before scoring.",
    "Correct: token F1 ≥ 0.5 or the answer contains a gold answer; on unanswerable questions, "
    "abstaining. Failed answers count as wrong.",
    "Citation precision: of the [n] markers a model wrote, the share whose passage supports the "
    "sentence (docduet's citation verifier); recall: of answered, answerable questions, the share "
    "citing the passage that holds the answer.",
    "Retrieval differences are called real when they exceed 1.96 standard errors of the paired "
    "per-query difference.",
    *DECISION_NOTES,
)

CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #ccc;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f3f3f3}td.n{text-align:right}.rec{background:#eef6ee;
padding:.6em 1em;border-left:4px solid #4c9a2a}img{max-width:100%}small,.dim{color:#666}
pre.snippet{background:#f6f6f6;padding:.6em;overflow-x:auto}
"""


def write_outputs(out: Path, results: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``results.json`` and ``report.html`` into ``out``; returns both paths."""
    out.mkdir(parents=True, exist_ok=True)
    results_path, report_path = out / "results.json", out / "report.html"
    results_path.write_text(json.dumps(results, indent=1, default=str, ensure_ascii=False), encoding="utf-8")
    report_path.write_text(render_report(results), encoding="utf-8")
    return results_path, report_path


def render_report(results: dict[str, Any]) -> str:
    """The decision report as one self-contained HTML page."""
    ds = results["dataset"]
    file_name = Path(str(ds["path"])).name  # the report names no absolute path: it is shared
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>docduet eval: {escape(ds['name'])}"
        f"</title><style>{CSS}</style></head><body>",
        f"<h1>docduet evaluation: {escape(ds['name'])}</h1>",
        f"<p class='dim'>{escape(ds['kind'])} dataset <code>{escape(file_name)}</code> · run "
        f"{escape(results['started'])} · wall time {results['wall_s']:.1f} s · "
        f"{results.get('resumed', 0)} items resumed from a checkpoint</p>",
        *([f"<p>{escape(describe_hand_edits(ds['hand_edits']))}</p>"] if "hand_edits" in ds else []),
        *decision_html(results.get("decision"), results["recommendation"]),
    ]
    if "retrieval" in results:
        parts += _retrieval(results["retrieval"], results.get("index"))
    if "qa" in results:
        parts += _qa(results["qa"])
    if "confidence" in results:
        parts += confidence_html(results["confidence"])
    if "cascade" in results:
        parts += cascade_html(results["cascade"])
    if "judge" in results:
        parts += _judge(results["judge"])
    if results.get("feedback"):
        parts += _feedback(results["feedback"])
    parts += _about(results)
    parts.append("</body></html>")
    return "\n".join(parts)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _img(data: str, alt: str) -> str:
    return f"<p><img alt='{escape(alt)}' src='data:image/png;base64,{data}'></p>"


def _retrieval(retrieval: dict[str, Any], index: dict[str, Any] | None) -> list[str]:
    rows = [
        [
            m["name"],
            f"{m['alpha']:g}",
            *(_cell(m, key, _f3) for key in ("ndcg@10", "recall@10", "recall@100", "mrr@10")),
            _cell(m, "latency_p50_s", _sec),
            _cell(m, "latency_p95_s", _sec),
        ]
        for m in retrieval["methods"]
    ]
    header = ["method", "alpha", "nDCG@10", "recall@10", "recall@100", "MRR@10", "latency p50", "p95"]
    out = ["<h2>Retrieval</h2>", f"<p>{retrieval['queries']} queries, {retrieval['depth']} results each.</p>"]
    if index:
        out.append(
            f"<p class='dim'>Collection {escape(index['collection'])}: {index['documents']} documents, "
            f"{index['written']} written by this run ({'reused' if index['reused'] else 'built'} in "
            f"{index['seconds']:.1f} s).</p>"
        )
    out.append(_table(header, rows))
    if any(m["ndcg@10"] is not None for m in retrieval["methods"]):
        out.append(_img(plots.retrieval_figure(retrieval), "retrieval metrics per method and alpha sweep"))
    return out


def _qa(qa: dict[str, Any]) -> list[str]:
    names = qa["generators"]
    summary = qa["summary"]
    rows = [[title, *(_cell(summary[n], key, fmt) for n in names)] for title, key, fmt in QA_ROWS]
    out = [
        "<h2>Answers</h2>",
        f"<p>{qa['questions']} questions ({qa['unanswerable']} unanswerable). The passage holding the "
        f"answer was retrieved for {_pct(qa.get('retrieval_recall'))} of the answerable ones.</p>",
        _table(["metric", *names], rows),
    ]
    if any(summary[n]["latency_p50_s"] is not None for n in names):
        out.append(_img(plots.tradeoff_figure(summary), "quality, latency and cost per generator"))
    if "outcomes" in qa:
        a, b = names[0], names[1]
        out.append("<h3>Where the generators disagree</h3>")
        out.append(
            _img(plots.disagreement_figure(qa["records"], a, b, qa["outcomes"]), "per-question agreement")
        )
        by_id = {r["id"]: r for r in qa["records"]}
        for key, title in (
            (f"only_{b}", f"{a} failed, {b} did not"),
            (f"only_{a}", f"{b} failed, {a} did not"),
        ):
            ids = qa["outcomes"][key]
            out.append(f"<h4>{escape(title)}: {len(ids)}</h4>")
            out.append(_question_table([by_id[i] for i in ids[:MAX_LISTED]], names))
    out += pairs_html(qa)
    out.append(f"<details><summary>All {qa['questions']} questions</summary>")
    out.append(_question_table(qa["records"], names))
    out.append("</details>")
    return out


def _cell(summary: dict[str, Any], key: str, fmt: Fmt) -> str:
    """A summary figure with its 95% interval, where it has one."""
    scale, end = INTERVAL_FORMATS.get(fmt, (1.0, "{:.3f}"))
    return with_interval(fmt(summary.get(key)), (summary.get("ci95") or {}).get(key), scale, end)


def _question_table(records: Sequence[dict[str, Any]], names: Sequence[str]) -> str:
    rows = []
    for r in records:
        gold = " | ".join(dict.fromkeys(r["gold"])) if r["gold"] else "(unanswerable)"
        cells = [r["question"], gold]
        for n in names:
            entry = r["answers"].get(n)
            if entry is None:
                cells.append("")
                continue
            s = entry["scores"]
            text = f"error: {s['error']}" if s["error"] else entry["answer"]["text"]
            mark = "✓" if s["correct"] else "✗"
            cells.append(f"{mark} {text[:300]} (F1 {s['f1']:.2f}, {s['total_s']:.1f} s)")
        rows.append(cells)
    return _table(["question", "gold", *names], rows)


def _judge(judge: dict[str, Any]) -> list[str]:
    if judge.get("error"):
        return ["<h2>LLM-as-judge</h2>", f"<p>Not run: {escape(judge['error'])}</p>"]
    rows = [
        [
            name,
            _num(s["judged"]),
            _pct(s["mean_score"]),
            _num(s["skipped"]),
            _num(s["unparsed"]),
            _num(s["failed"]),
            kappa_cell(s.get("kappa")),
        ]
        for name, s in judge["summary"].items()
    ]
    return [
        "<h2>LLM-as-judge (separate from the metrics above)</h2>",
        f"<p class='dim'>Graded by {escape(judge['endpoint'])} on a 0-2 scale, shown as a share of the "
        "maximum; questions whose passages were confidential are skipped.</p>",
        _table(
            [
                "generator",
                "judged",
                "mean grade",
                "skipped",
                "unparsed",
                "judge failed",
                "agreement with gold",
            ],
            rows,
        ),
        f"<p class='dim'>Agreement with gold: Cohen's kappa of the judge's grade 2 against the "
        f"deterministic 'correct' on graded items with gold answers (or marked unanswerable), 95% "
        f"bootstrap interval; over all generators {escape(kappa_cell(judge.get('agreement')))}. "
        "Below about 0.6, read the judge's grades with care.</p>",
    ]


def _feedback(feedback: Sequence[dict[str, Any]]) -> list[str]:
    rows = [
        [
            f["generator"],
            _num(f["answers"]),
            _num(f["wins"]),
            with_interval(
                _pct(f["good"] / f["answers"] if f["answers"] else None),
                wilson_interval(f["good"], f["answers"]),
                100.0,
                "{:.0f}",
            ),
            _sec(f["mean_total_s"]),
            _usd(f["total_cost_usd"]),
        ]
        for f in feedback
    ]
    return [
        "<h2>Feedback from people using the chat</h2>",
        _table(["generator", "rated answers", "wins", "rated good", "mean answer time", "total cost"], rows),
    ]


def _about(results: dict[str, Any]) -> list[str]:
    settings_rows = [[k, "(default)" if v is None else str(v)] for k, v in results["settings"].items()]
    return [
        "<h2>Data sources and licences</h2><ul>",
        *(f"<li>{escape(s)}</li>" for s in results["dataset"]["sources"]),
        "</ul><h2>Method notes</h2><ul>",
        *(f"<li>{escape(n)}</li>" for n in NOTES),
        "</ul><h2>Settings</h2>",
        _table(["setting", "value"], settings_rows),
    ]
