"""Do two question sets rank the generators the same way? Both side by side, with their uncertainty.

``python -m evaluation.ranking GENERATED HAND_WRITTEN [--out FILE]`` reads two finished runs (a
``docduet eval`` results.json, or the sample corpus's own questions as ``python -m
docduet.suites.corpus_questions`` writes them) and, for the generators both answered:

- each set's share right per generator with its 95% Wilson interval, and the order it gives;
- each pair compared on each set's own questions (:func:`evaluation.paired.compare`: paired
  bootstrap interval, McNemar's exact test, a verdict that claims a difference only when both
  agree);
- whether the sets agree: per pair, the same direction (the sign of the difference); "decided in
  both" when each set's verdict names the same winner; "contradicted" when the verdicts name
  opposite winners, the only outcome that shows the generated set misleads; and Kendall's tau
  between the two sets' shares.

Why it matters: a generated set is written by one of the compared models and filtered by what that
model can answer from the passage, so it may favour it; the hand-written questions are the check.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scipy.stats import kendalltau

from core.errors import ConfigError
from evaluation.confidence_metrics import wilson_interval
from evaluation.paired import compare

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnsweredSet:
    """One finished run: its name, the generators it asked, and its records in the shape
    :func:`evaluation.paired.compare` reads (``id``, ``answers[g]["scores"]["correct"]``)."""

    name: str
    generators: tuple[str, ...]
    records: tuple[dict[str, Any], ...]


def load_answered(path: Path) -> AnsweredSet:
    """A ``docduet eval`` results.json or a corpus-questions JSON; ConfigError for anything else."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read {path}: {e}; give a results.json written by docduet eval") from e
    if isinstance(data, dict) and isinstance(data.get("qa"), dict):
        qa = data["qa"]
        name = str((data.get("dataset") or {}).get("name") or path.parent.name)
        return AnsweredSet(name, tuple(qa["generators"]), tuple(qa["records"]))
    if isinstance(data, dict) and "records" in data and "generators" in data:
        records = tuple(
            {
                "id": r["question"],
                "answers": {g: {"scores": {"correct": bool(a["correct"])}} for g, a in r["answers"].items()},
            }
            for r in data["records"]
        )
        return AnsweredSet(path.stem, tuple(data["generators"]), records)
    raise ConfigError(
        f"{path} holds no answered questions: give a docduet eval results.json "
        "or the JSON of python -m docduet.suites.corpus_questions"
    )


def standings(answered: AnsweredSet, generators: Sequence[str]) -> list[dict[str, Any]]:
    """Each generator's share right with its interval, best first (ties keep the given order)."""
    rows = []
    for g in generators:
        right = [bool(r["answers"][g]["scores"]["correct"]) for r in answered.records if g in r["answers"]]
        interval = wilson_interval(sum(right), len(right))
        rows.append(
            {
                "generator": g,
                "questions": len(right),
                "right": sum(right),
                "share": sum(right) / len(right) if right else None,
                "ci95": None if interval is None else list(interval),
            }
        )
    return sorted(rows, key=lambda row: -(row["share"] or 0.0))


def agreement(first: AnsweredSet, second: AnsweredSet) -> dict[str, Any]:
    """Both sets' standings and pairwise comparisons, and whether they order the generators alike."""
    shared = [g for g in first.generators if g in second.generators]
    if len(shared) < 2:
        raise ConfigError(
            f"the two runs share {len(shared)} generator(s) ({', '.join(shared) or 'none'}): "
            "a ranking needs at least two asked in both"
        )
    pairs = []
    for a, b in itertools.combinations(shared, 2):
        one, two = compare(first.records, a, b), compare(second.records, a, b)
        same = _sign(one["difference"]) == _sign(two["difference"])
        pairs.append(
            {
                "a": a,
                "b": b,
                first.name: _brief(one),
                second.name: _brief(two),
                "same_direction": same,
                "decided_in_both": one["verdict"] == two["verdict"] and one["verdict"].endswith("better"),
                "contradicted": {one["verdict"], two["verdict"]} == {"a better", "b better"},
            }
        )
    shares = [standings(s, shared) for s in (first, second)]
    by_generator = [{row["generator"]: row["share"] for row in rows} for rows in shares]
    tau = kendalltau([by_generator[0][g] for g in shared], [by_generator[1][g] for g in shared])
    return {
        "sets": [first.name, second.name],
        "generators": shared,
        "standings": {first.name: shares[0], second.name: shares[1]},
        "pairs": pairs,
        "kendall_tau": None if tau.statistic != tau.statistic else round(float(tau.statistic), 3),
        "same_order": all(p["same_direction"] for p in pairs),
        "contradicted": any(p["contradicted"] for p in pairs),
    }


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def _brief(pair: dict[str, Any]) -> dict[str, Any]:
    keep = ("questions", "difference", "ci95", "p_mcnemar", "wins_a", "wins_b", "ties", "verdict")
    return {k: pair[k] for k in keep} | (
        {"questions_needed": pair["questions_needed"]} if "questions_needed" in pair else {}
    )


def render(result: dict[str, Any]) -> str:
    """The comparison as Markdown: standings side by side, then each pair on both sets."""
    first, second = result["sets"]
    lines = [f"| generator | {first} | {second} |", "|---|---|---|"]
    rows = {name: {r["generator"]: r for r in result["standings"][name]} for name in (first, second)}
    for g in result["generators"]:
        lines.append(f"| `{g}` | {_share(rows[first][g])} | {_share(rows[second][g])} |")
    lines += ["", f"| pair (b - a) | {first} | {second} | same direction |", "|---|---|---|---|"]
    for p in result["pairs"]:
        lines.append(
            f"| `{p['b']}` - `{p['a']}` | {_pair(p[first])} | {_pair(p[second])} | "
            f"{'yes' if p['same_direction'] else 'no'}{' (contradicted)' if p['contradicted'] else ''} |"
        )
    tau = result["kendall_tau"]
    split = (
        "a pair decided in opposite ways" if result["contradicted"] else "no pair decided in opposite ways"
    )
    lines += [
        "",
        f"Same order: {'yes' if result['same_order'] else 'no'}; Kendall's tau "
        f"{'undefined (a tie)' if tau is None else tau}; {split}.",
    ]
    return "\n".join(lines) + "\n"


def _share(row: dict[str, Any]) -> str:
    if row["share"] is None:
        return "no questions"
    low, high = row["ci95"]
    return (
        f"{100 * row['share']:.0f}% [{100 * low:.0f}, {100 * high:.0f}] ({row['right']}/{row['questions']})"
    )


def _pair(pair: dict[str, Any]) -> str:
    low, high = pair["ci95"] or (float("nan"), float("nan"))
    needed = f", ~{pair['questions_needed']} questions would decide" if "questions_needed" in pair else ""
    return (
        f"{100 * pair['difference']:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}] points, "
        f"McNemar p = {pair['p_mcnemar']:.2g}, {pair['wins_b']}/{pair['ties']}/{pair['wins_a']}: "
        f"{pair['verdict']}{needed}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evaluation.ranking",
        description="Whether two answered question sets (e.g. a generated one and hand-written "
        "questions) rank the generators the same way, side by side with intervals.",
    )
    parser.add_argument("first", type=Path, help="a docduet eval results.json (e.g. the generated set's)")
    parser.add_argument("second", type=Path, help="another one, or the corpus questions' JSON")
    parser.add_argument("--out", type=Path, help="also write the comparison as JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = agreement(load_answered(args.first), load_answered(args.second))
        if args.out is not None:
            args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    except (ConfigError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(render(result), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
