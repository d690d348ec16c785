"""The decision report's recommendation block and paired comparisons (results.json's ``decision``
and ``qa.pairs``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from evaluation.decision import pct, points, span

MAX_LISTED = 25
NOTES = (
    "Every figure comes with a 95% interval: shares of counted questions (correct, exact match, "
    "abstention precision and recall) the Wilson score interval; every other figure a bootstrap over "
    "the questions or queries (1,000 resamples, fixed seed) that recomputes the whole summary.",
    "Pairs are compared on the same questions: a paired bootstrap interval of the difference in share "
    "correct and McNemar's exact test on the questions one got right and the other wrong. A difference "
    "is claimed only when both agree (interval clear of 0, p < 0.05); two generators are called "
    "equivalent only when the interval lies within ±5 points on at least 60 questions. Otherwise the "
    "test had too little power, and the questions needed are estimated from the observed share of "
    "discordant questions (80% power at the observed difference, or an interval within ±5 points).",
    "Cost per 1,000 questions: hosted tokens at their prices plus local compute (the CPU core-seconds "
    "a local model measured while answering, at the price per CPU core-hour; or its answer seconds "
    "at the price per GPU-hour for generators listed as on a GPU); see the costs section of "
    "docs/configuration.md.",
)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def decision_html(decision: Mapping[str, Any] | None, paragraphs: Sequence[str]) -> list[str]:
    """The recommendation: its sentence, the table, the other paragraphs, the snippet."""
    out = ["<h2>Recommendation</h2><div class='rec'>"]
    rest = list(paragraphs)
    if decision:
        out.append(f"<p class='headline'><strong>{escape(decision['headline'])}</strong></p>")
        out.append(_table(decision["table"]["header"], decision["table"]["rows"]))
        rest = [p for p in rest if p != decision["headline"]]
    out += [f"<p>{escape(p)}</p>" for p in rest]
    if decision:
        out.append("<p>Generators-file snippet:</p>")
        out.append(f"<pre class='snippet'>{escape(decision['snippet'])}</pre>")
    out.append("</div>")
    return out


def pairs_html(qa: Mapping[str, Any]) -> list[str]:
    """Every pair on the same questions; the questions one got right and the other wrong."""
    pairs = qa.get("pairs") or []
    if not pairs:
        return []
    rows = [
        [
            f"{p['a']} vs {p['b']}",
            str(p["questions"]),
            pct(p["correct_a"]),
            pct(p["correct_b"]),
            f"{points(p['difference'])} {span(p['ci95'])}",
            f"{p['p_mcnemar']:.3f}",
            f"{p['wins_a']} / {p['ties']} / {p['wins_b']}",
            p["verdict"].replace("a better", f"{p['a']} better").replace("b better", f"{p['b']} better"),
            str(p.get("questions_needed", "")),
        ]
        for p in pairs
    ]
    header = [
        "pair (a vs b)",
        "questions",
        "a correct",
        "b correct",
        "b − a, points [95%]",
        "McNemar p",
        "a wins / ties / b wins",
        "verdict",
        "questions needed to decide",
    ]
    out = ["<h3>Paired comparisons</h3>", _table(header, rows)]
    by_id = {r["id"]: r for r in qa["records"]}
    for p in pairs[1:]:  # the first pair's questions are listed under "Where the generators disagree"
        for key, right, wrong in (("only_a", p["a"], p["b"]), ("only_b", p["b"], p["a"])):
            ids = p[key]
            out.append(f"<h4>{escape(right)} right, {escape(wrong)} wrong: {len(ids)}</h4>")
            listed = [by_id[i] for i in ids[:MAX_LISTED] if i in by_id]
            out.append(_table(["id", "question"], [[str(r["id"]), r["question"]] for r in listed]))
    return out


def with_interval(value: str, interval: Sequence[float] | None, scale: float, fmt: str) -> str:
    """``45.0% [25–65]``: a formatted figure and its interval (``fmt`` applied to each end)."""
    if value == "–" or not interval:
        return value
    return f"{value} [{fmt.format(scale * interval[0])}–{fmt.format(scale * interval[1])}]"


def kappa_cell(kappa: Mapping[str, Any] | None) -> str:
    """The judge's agreement with gold: ``κ 0.62 [0.35–0.85] (agree 84%, n 40)``."""
    if not kappa or kappa.get("n", 0) == 0:
        return "– (no graded item has gold)"
    ci = kappa.get("ci95")
    value = "undefined (one class only)" if kappa["kappa"] is None else f"{kappa['kappa']:.2f}"
    interval = f" [{ci[0]:.2f}–{ci[1]:.2f}]" if ci and kappa["kappa"] is not None else ""
    return f"κ {value}{interval} (agree {pct(kappa['agreement'])}, n {kappa['n']})"
