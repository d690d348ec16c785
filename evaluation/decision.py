"""The decision an admin can apply: one sentence, one table, one generators-file snippet.

The choice is the cheapest generator (money plus priced compute per 1,000 questions, then median
latency) that no other generator is shown to beat (:mod:`evaluation.paired`: interval clear of 0
and McNemar p < 0.05). It is set against the reference: the most accurate other generator. The
sentence claims a difference only when the pair's verdict does; "within X points" only when they
are equivalent; otherwise it says the test had too little power and how many questions would decide.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from evaluation.cascade_sim import TARGET_POINTS

SNIPPET_KEYS = ("id", "label", "kind", "on_premises", "max_sensitivity", "max_passages", "max_tokens")
TABLE_HEADER = (
    "generator",
    "correct [95%]",
    "vs choice, points [95%]",
    "McNemar p",
    "wins / ties / losses vs choice",
    "median answer time [95%]",
    "compute per answer",
    "cost per 1,000 (tokens + compute) [95%]",
    "cost per month",
    "off-premises",
)


def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def points(value: float) -> str:
    return f"{100 * value + 0.0:+.1f}"  # + 0.0: no "-0.0"


def span(interval: Sequence[float] | None, scale: float = 100.0, fmt: str = "{:+.1f}") -> str:
    if not interval:
        return "[–]"
    return "[" + ", ".join(fmt.format(scale * v + 0.0) for v in interval) + "]"


def oriented(pairs: Sequence[Mapping[str, Any]], x: str, y: str) -> dict[str, Any] | None:
    """The pair of ``x`` and ``y`` seen from ``x``: ``difference`` is y - x, ``wins_a`` are x's."""
    for p in pairs:
        if (p["a"], p["b"]) == (x, y):
            return dict(p)
        if (p["a"], p["b"]) == (y, x):
            low_high = p["ci95"]
            flip = {"a better": "b better", "b better": "a better"}
            return {
                **p,
                "a": x,
                "b": y,
                "difference": -p["difference"],
                "ci95": None if low_high is None else [-low_high[1], -low_high[0]],
                "wins_a": p["wins_b"],
                "wins_b": p["wins_a"],
                "only_a": p["only_b"],
                "only_b": p["only_a"],
                "verdict": flip.get(p["verdict"], p["verdict"]),
            }
    return None


def total_cost(summary: Mapping[str, Any]) -> float:
    value = summary.get("total_usd_per_1k")
    return float(summary.get("cost_usd_per_1k") or 0.0) if value is None else float(value)


def off_premises_share(records: Sequence[Mapping[str, Any]], generator: str) -> float | None:
    """Share of the generator's answers that sent passages off the premises."""
    flags = [
        bool(((r["answers"][generator].get("answer") or {}).get("privacy") or {}).get("off_premises"))
        for r in records
        if generator in r["answers"]
    ]
    return sum(flags) / len(flags) if flags else None


def choose(qa: Mapping[str, Any], usable: Sequence[str]) -> tuple[str, str | None]:
    """The choice (cheapest not shown beaten) and its reference (the most accurate other one)."""
    summary, pairs = qa["summary"], qa.get("pairs") or []
    by_cost = sorted(usable, key=lambda g: (total_cost(summary[g]), summary[g].get("latency_p50_s") or 0.0))

    def beaten(g: str) -> bool:
        return any((oriented(pairs, g, h) or {}).get("verdict") == "b better" for h in usable if h != g)

    choice = next((g for g in by_cost if not beaten(g)), by_cost[0])
    others = [g for g in usable if g != choice]
    reference = max(others, key=lambda g: summary[g].get("correct") or 0.0) if others else None
    return choice, reference


def share_of(part: float | None, whole: float | None, what: str, unit: str = "$") -> str:
    """``25% of its cost``; ``the same cost``; where the other needs none: ``$0.42 of cost against $0``."""
    if part is None or whole is None:
        return f"an unknown share of its {what}"
    if whole <= 0:
        if part <= 0:
            return f"the same {what}"
        amount = f"${part:.2f}" if unit == "$" else f"{part:.1f} {unit}"
        return f"{amount} of {what} against {'$0' if unit == '$' else '0 ' + unit}"
    return f"{100 * part / whole:.0f}% of its {what}"


def _costs_phrase(mine: Mapping[str, Any], theirs: Mapping[str, Any]) -> str:
    cost = share_of(total_cost(mine), total_cost(theirs), "cost")
    latency = share_of(mine.get("latency_p50_s"), theirs.get("latency_p50_s"), "latency", "s")
    return f"at {cost} and {latency}"


def headline(qa: Mapping[str, Any], choice: str, reference: str | None, off_share: float | None) -> str:
    """The one sentence that leads the recommendation."""
    n = qa["questions"]
    summary = qa["summary"]
    where = (
        ", sending nothing off the premises"
        if not off_share
        else (f", sending passages off the premises for {pct(off_share)} of the questions")
    )
    if reference is None:
        right = pct(summary[choice]["correct"])
        return f"Use `{choice}`: it is the only generator that answered ({right} correct on {n} questions)."
    pair = oriented(qa.get("pairs") or [], choice, reference)
    costs = _costs_phrase(summary[choice], summary[reference])
    if pair is None:
        return f"Use `{choice}`, the cheaper choice; `{reference}` was not compared on the same questions."
    diff, ci = (
        -pair["difference"],
        span(None if pair["ci95"] is None else [-pair["ci95"][1], -pair["ci95"][0]]),
    )
    if pair["verdict"] == "a better":
        return (
            f"Use `{choice}`: on these {pair['questions']} questions it answers {abs(100 * diff):.1f} "
            f"points more correctly than `{reference}` {ci} {costs}{where}."
        )
    if pair["verdict"] == "equivalent":
        return (
            f"Use `{choice}`: on these {pair['questions']} questions it is within {abs(100 * diff):.1f} "
            f"points of `{reference}` {ci} {costs}{where}."
        )
    needed = pair.get("questions_needed") or n
    return (
        f"No decision yet: on these {pair['questions']} questions `{choice}` and `{reference}` cannot be "
        f"told apart (`{choice}` {points(diff)} points {ci}, McNemar p = {pair['p_mcnemar']:.2f}); the test "
        f"had too little power, and about {needed} questions ({needed - pair['questions']} more) would "
        f"decide. Until then `{choice}` is the cheaper choice, {costs}{where}."
    )


def table(qa: Mapping[str, Any], usable: Sequence[str], choice: str, per_month: int) -> dict[str, Any]:
    """One row per generator, the choice first; every figure with its interval where it has one."""
    summary, pairs = qa["summary"], qa.get("pairs") or []
    rows = []
    for g in [choice, *[u for u in usable if u != choice]]:
        s, ci = summary[g], summary[g].get("ci95") or {}
        pair = oriented(pairs, choice, g) if g != choice else None
        label = qa.get("labels", {}).get(g, g)
        rows.append(
            [
                f"{g} ({label})" if label != g else g,
                f"{pct(s.get('correct'))} {span(ci.get('correct'), fmt='{:.0f}')}",
                "(choice)" if pair is None else f"{points(pair['difference'])} {span(pair['ci95'])}",
                "" if pair is None else f"{pair['p_mcnemar']:.3f}",
                "" if pair is None else f"{pair['wins_b']} / {pair['ties']} / {pair['wins_a']}",
                _seconds(s.get("latency_p50_s"), ci.get("latency_p50_s")),
                "–" if s.get("compute_s_mean") is None else f"{s['compute_s_mean']:.2f} s",
                _dollars(s.get("total_usd_per_1k"), ci.get("total_usd_per_1k")),
                _dollars(s.get("total_usd_per_month"), ci.get("total_usd_per_month")),
                pct(off_premises_share(qa["records"], g)),
            ]
        )
    header = [*TABLE_HEADER[:8], f"cost per month at {per_month:,} questions", TABLE_HEADER[9]]
    return {"header": header, "rows": rows}


def _seconds(value: float | None, interval: Sequence[float] | None) -> str:
    return "–" if value is None else f"{value:.2f} s " + span(interval, 1.0, "{:.2f}")


def _dollars(value: float | None, interval: Sequence[float] | None) -> str:
    return "–" if value is None else f"${value:,.4f} " + span(interval, 1.0, "${:,.4f}")


def snippet(qa: Mapping[str, Any], choice: str, cascade: Mapping[str, Any] | None) -> str:
    """A generators-file excerpt: the chosen entry first, then the simulated cascade if one is worth it."""
    spec = (qa.get("specs") or {}).get(choice) or {"id": choice}
    entry = {k: spec[k] for k in (*SNIPPET_KEYS, *sorted(set(spec) - set(SNIPPET_KEYS))) if k in spec}
    entry = {k: _portable(v) for k, v in entry.items() if v is not None and k != "enabled"}
    lines = [
        f"# docduet eval chose `{choice}`. In your generators file (DOCDUET_GENERATORS_FILE, a copy of",
        "# chat/generators/default.yaml) list it first: `docduet ask` answers with the first enabled entry",
        f"# and the web chat shows it in the first column; for Slack set DOCDUET_SLACK_GENERATORS={choice}.",
        "generators:",
        yaml.safe_dump([entry], sort_keys=False, allow_unicode=True).rstrip(),
    ]
    rec = (cascade or {}).get("recommendation") or {}
    if len((rec.get("choice") or {}).get("steps", [])) > 1:
        lines += ["# or the cascade the simulation recommends (see its section):", rec["snippet"].rstrip()]
    return "\n".join(lines) + "\n"


def _portable(value: Any) -> Any:
    """A file path as its name under ``<path>/``: the report is shared, this machine's folders are not."""
    if isinstance(value, str) and value.startswith(("/", "~")):
        return "<path>/" + value.rstrip("/").rsplit("/", 1)[-1]
    return value


def cascade_sentence(cascade: Mapping[str, Any] | None) -> str | None:
    """The simulated cascade that reaches the strongest generator's quality for less, if any."""
    rec = (cascade or {}).get("recommendation") or {}
    point = rec.get("choice") or {}
    if len(point.get("steps", [])) < 2:
        return None
    singles = (cascade or {}).get("singles") or []
    strongest = next((s for s in singles if s["steps"] == [rec["strongest"]]), None)
    q = point["quality"]
    compute = share_of(point.get("compute_s"), (strongest or {}).get("compute_s"), "compute", "s")
    money = share_of(point.get("cost_usd_per_1k"), (strongest or {}).get("cost_usd_per_1k"), "money")
    thresholds = ", ".join(f"{t:.2f}" for t in point["thresholds"])
    return (
        f"The cascade {' → '.join(point['steps'])} (thresholds {thresholds}) reaches {pct(q['value'])} "
        f"correct {span(q['ci95'], fmt='{:.0f}')}, within {TARGET_POINTS:g} points of `{rec['strongest']}` "
        f"alone, at {compute} and {money} per 1,000 questions (simulated from these answers, "
        "thresholds chosen on them: check it on new questions)."
    )


def decide(qa: Mapping[str, Any], cascade: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """results.json's ``decision``: headline, table, snippet, cascade; None with no usable generator."""
    summary = qa["summary"]
    usable = [g for g in qa["generators"] if summary[g]["questions"] > summary[g]["errors"]]
    if not usable:
        return None
    choice, reference = choose(qa, usable)
    per_month = int((qa.get("pricing") or {}).get("per_month") or 10_000)
    return {
        "choice": choice,
        "reference": reference,
        "headline": headline(qa, choice, reference, off_premises_share(qa["records"], choice)),
        "table": table(qa, usable, choice, per_month),
        "snippet": snippet(qa, choice, cascade),
        "cascade": cascade_sentence(cascade),
    }
