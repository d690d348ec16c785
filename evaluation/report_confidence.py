"""The decision report's confidence and cascade sections (results.json's ``confidence``, ``cascade``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from evaluation import plots

NOTES = (
    "Each signal's AUROC: the chance a right answer's value is above a wrong one's (ties count half); "
    "0.5 is no better than a coin, below 0.5 the signal points the other way. 95% intervals: bootstrap "
    "percentiles (1,000 resamples, fixed seed) for AUROC and ECE, Wilson for shares.",
    "Combined: a logistic calibration over the signals, cross-fitted in 5 folds (each answer's probability "
    "comes from a fit that never saw it). ECE: 10 equal-width probability bins.",
    "Risk-coverage: answer only the most confident share of the questions; the share of those answered "
    "right. Gate: abstain also when the probability is below t, with t chosen for the highest abstention "
    "recall at precision ≥ 0.8.",
    "Cascades are simulated from the recorded answers (no generation): a step whose probability clears "
    "its threshold is served, else the next step answers. Compute: the on-premises steps' answer seconds; "
    "latency: every step's seconds added. The thresholds are chosen on the answers they are scored on: "
    "check a recommendation on questions it has not seen.",
)


def _pct(share: Mapping[str, Any] | None) -> str:
    if not share or share.get("value") is None:
        return "–"
    low, high = share["ci95"]
    return f"{100 * share['value']:.1f}% [{100 * low:.0f}–{100 * high:.0f}]"


def _auc(entry: Mapping[str, Any] | None, key: str = "auroc") -> str:
    if not entry or entry.get(key) is None:
        return "–"
    ci = entry.get("ci95")
    return f"{entry[key]:.3f}" + (f" [{ci[0]:.2f}–{ci[1]:.2f}]" if ci else "")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _img(data: str, alt: str) -> str:
    return f"<p><img alt='{escape(alt)}' src='data:image/png;base64,{data}'></p>"


def confidence_html(section: Mapping[str, Any]) -> list[str]:
    """Per generator: signals' AUROC, the combined AUROC and ECE, risk-coverage, selective answering."""
    generators: Mapping[str, Any] = section["generators"]
    names = list(generators)
    out = ["<h2>Confidence: does it tell right from wrong?</h2>"]
    rows = [
        [
            "answers (errors left out)",
            *(f"{generators[n]['answers']} ({generators[n]['errors_excluded']})" for n in names),
        ],
        ["share right", *(_pct(generators[n]["correct"]) for n in names)],
        ["combined AUROC (cross-fitted)", *(_auc(generators[n].get("combined")) for n in names)],
        ["expected calibration error", *(_auc(generators[n].get("ece"), "ece") for n in names)],
    ]
    signals = list(dict.fromkeys(s for n in names for s in generators[n]["signals"]))
    for signal in signals:
        cells = []
        for n in names:
            entry = generators[n]["signals"].get(signal)
            cells.append("–" if not entry else f"{_auc(entry)} ({entry['direction'] or '–'})")
        rows.append([f"signal {signal}", *cells])
    out.append(_table(["", *names], rows))
    curves = {n: g["risk_coverage"] for n, g in generators.items() if g.get("risk_coverage")}
    if curves:
        coverages = [p["coverage"] for p in next(iter(curves.values()))]
        table = [[f"{100 * c:.0f}%", *(_pct(curves[n][i]) for n in curves)] for i, c in enumerate(coverages)]
        out.append("<h3>Risk-coverage: share right when answering only the most confident</h3>")
        out.append(_table(["coverage", *curves], table))
        out.append(_img(plots.risk_coverage_figure(curves), "share right against coverage per generator"))
    selective = {n: g["selective"] for n, g in generators.items() if g.get("selective")}
    if selective:
        out.append("<h3>Selective answering on unanswerable questions</h3>")
        out.append(
            _table(
                ["generator", "gate", "abstention recall", "abstention precision"], _selective_rows(selective)
            )
        )
    return out


def _selective_rows(selective: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for name, s in selective.items():
        plain, gate = s["without_gate"], s["with_gate"]
        rows.append(
            [name, "none (the model's own abstentions)", _pct(plain["recall"]), _pct(plain["precision"])]
        )
        if gate:
            rows.append(
                [
                    name,
                    f"probability < {gate['threshold']:.2f}",
                    _pct(gate["recall"]),
                    _pct(gate["precision"]),
                ]
            )
        else:
            rows.append([name, "no threshold reaches precision 0.8", "–", "–"])
    return rows


def _point_row(p: Mapping[str, Any]) -> list[str]:
    thresholds = "/".join(f"{t:.2f}" for t in p["thresholds"]) or "–"
    reached = ", ".join(f"{s} {100 * v:.0f}%" for s, v in p["reached"].items())
    return [
        " → ".join(p["steps"]),
        thresholds,
        _pct(p["quality"]),
        f"{p['compute_s']:.2f} s",
        f"{p['latency_mean_s']:.2f} s / {p['latency_p95_s']:.2f} s",
        f"${p['cost_usd_per_1k']:.4f}",
        _pct(p["off_premises"]),
        reached,
    ]


POINT_HEADER = (
    "cascade",
    "thresholds",
    "share right",
    "compute / question",
    "latency mean / p95",
    "cost per 1k",
    "passages off premises",
    "questions reaching each step",
)


def _cascades(points: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [p for p in points if len(p["steps"]) > 1]


def cascade_html(section: Mapping[str, Any]) -> list[str]:
    """Each generator alone, the Pareto front, the recommendation as a snippet, the goal checks."""
    if not section["singles"] or not section["singles"][0]["questions"]:
        return ["<h2>Cascades (simulated)</h2><p>No question was answered by every generator.</p>"]
    out = [
        "<h2>Cascades (simulated from the recorded answers)</h2>",
        f"<p>{len(section['points'])} cascade configurations over {section['singles'][0]['questions']} "
        "questions every generator answered.</p>",
        "<h3>Each generator alone, and the Pareto front</h3>",
        _table(POINT_HEADER, [_point_row(p) for p in (*section["singles"], *_cascades(section["pareto"]))]),
        _img(plots.pareto_figure(dict(section)), "share right against compute per configuration"),
    ]
    rec = section.get("recommendation")
    if rec:
        out.append(f"<h3>Recommended: {escape(rec['target'])}</h3>")
        out.append(_table(POINT_HEADER, [_point_row(rec["choice"])]))
        out.append(f"<pre>{escape(rec['snippet'])}</pre>")
    for goal in section.get("goals", ()):
        verdict = "met" if goal["met"] else "not met"
        out.append(f"<p><b>Goal {verdict}</b>: {escape(goal['goal'])}.</p>")
        if goal["best"]:
            out.append(_table(POINT_HEADER, [_point_row(goal["best"])]))
    out.append("<ul>" + "".join(f"<li>{escape(n)}</li>" for n in NOTES) + "</ul>")
    return out
