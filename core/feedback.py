"""Durable feedback on answers (web chat and Slack), in one SQLite file in the data dir."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.domain import Answer
from core.errors import ConfigError
from core.private import private_file

VERDICTS = ("all_good", "all_wrong", "helpful", "not_helpful")
"""Besides ``best:<generator id>`` (the web chat's "this one helped most"): every answer good,
every answer wrong; Slack rates one reply helpful or not."""
LEGACY_VERDICTS = ("left_better", "right_better", "both_good", "both_wrong")
"""Ratings stored before any number of generators could be compared (left = first generator)."""
BEST_PREFIX = "best:"


def best(generator: str) -> str:
    """The verdict that says ``generator``'s answer helped most."""
    return f"{BEST_PREFIX}{generator}"


def is_verdict(verdict: str) -> bool:
    return verdict in VERDICTS or verdict in LEGACY_VERDICTS or (
        verdict.startswith(BEST_PREFIX) and len(verdict) > len(BEST_PREFIX)
    )


def winner(verdict: str, generators: Sequence[str]) -> str | None:
    """The generator a verdict declares best (legacy left/right resolved by position), or None."""
    if verdict.startswith(BEST_PREFIX):
        return verdict[len(BEST_PREFIX) :]
    position = {"left_better": 0, "right_better": 1}.get(verdict)
    if position is not None and position < len(generators):
        return generators[position]
    return None

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    channel TEXT NOT NULL,
    user TEXT,
    question TEXT NOT NULL,
    verdict TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    generators TEXT NOT NULL,
    answers TEXT NOT NULL,
    turn_key TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS feedback_turn ON feedback(channel, turn_key)
    WHERE turn_key IS NOT NULL;
"""


@dataclass(frozen=True)
class FeedbackRecord:
    """One stored rating."""

    id: int
    created: datetime
    channel: str
    user: str | None
    question: str
    verdict: str
    comment: str
    generators: tuple[str, ...]
    answers: tuple[dict[str, object], ...]


@dataclass(frozen=True)
class GeneratorStats:
    """Totals per generator over all rated turns."""

    generator: str
    answers: int
    wins: int
    good: int
    mean_total_s: float
    total_cost_usd: float


def _answer_record(answer: Answer) -> dict[str, object]:
    return {
        "generator": answer.generator,
        "text": answer.text,
        "error": answer.error,
        "abstained": answer.abstained,
        "citations": [{"number": c.number, "source": c.source, "title": c.title} for c in answer.citations],
        "first_token_s": answer.timings.first_token_s,
        "total_s": answer.timings.total_s,
        "prompt_tokens": answer.usage.prompt_tokens,
        "completion_tokens": answer.usage.completion_tokens,
        "cost_usd": answer.usage.cost_usd,
        "off_premises": answer.privacy.off_premises,
        "withheld": answer.privacy.withheld_count,
    }


class FeedbackStore:
    """Thread-safe SQLite store; one file shared by every front end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        private_file(path)  # 0600 in a 0700 folder: it stores full answers, confidential ones too
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> FeedbackStore:
        return cls(data_dir / "feedback.sqlite3")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = sqlite3.connect(self.path, timeout=10)
            try:
                with db:
                    yield db
            finally:
                db.close()

    def record(
        self,
        *,
        channel: str,
        user: str | None,
        question: str,
        verdict: str,
        answers: Sequence[Answer],
        comment: str = "",
        turn_key: str | None = None,
    ) -> int:
        """Store a rating; the same ``turn_key`` on the same channel updates the earlier one."""
        if not is_verdict(verdict):
            raise ConfigError(
                f"unknown verdict {verdict!r}; use best:<generator id> or one of {', '.join(VERDICTS)}"
            )
        row = (
            datetime.now(UTC).isoformat(),
            channel,
            user,
            question,
            verdict,
            comment,
            json.dumps([a.generator for a in answers]),
            json.dumps([_answer_record(a) for a in answers]),
            turn_key,
        )
        with self._connect() as db:
            cur = db.execute(
                "INSERT INTO feedback (created, channel, user, question, verdict, comment,"
                " generators, answers, turn_key) VALUES (?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT(channel, turn_key) WHERE turn_key IS NOT NULL DO UPDATE SET"
                " verdict=excluded.verdict, comment=excluded.comment, created=excluded.created",
                row,
            )
            return int(cur.lastrowid or 0)

    def all(self) -> list[FeedbackRecord]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, created, channel, user, question, verdict, comment, generators, answers"
                " FROM feedback ORDER BY id"
            ).fetchall()
        return [
            FeedbackRecord(
                id=r[0],
                created=datetime.fromisoformat(r[1]),
                channel=r[2],
                user=r[3],
                question=r[4],
                verdict=r[5],
                comment=r[6],
                generators=tuple(json.loads(r[7])),
                answers=tuple(json.loads(r[8])),
            )
            for r in rows
        ]

    def stats(self) -> list[GeneratorStats]:
        """Win rate and totals per generator (a win: rated best, or helpful when alone)."""
        acc: dict[str, dict[str, float]] = {}
        for rec in self.all():
            best_one = winner(rec.verdict, rec.generators)
            for ans in rec.answers:
                name = str(ans["generator"])
                a = acc.setdefault(name, {"n": 0, "wins": 0, "good": 0, "t": 0.0, "cost": 0.0})
                a["n"] += 1
                a["t"] += float(ans.get("total_s") or 0.0)  # type: ignore[arg-type]
                a["cost"] += float(ans.get("cost_usd") or 0.0)  # type: ignore[arg-type]
                won = best_one == name
                good = won or rec.verdict in ("all_good", "both_good", "helpful")
                a["wins"] += won or (rec.verdict == "helpful")
                a["good"] += good
        return [
            GeneratorStats(
                generator=name,
                answers=int(a["n"]),
                wins=int(a["wins"]),
                good=int(a["good"]),
                mean_total_s=a["t"] / a["n"] if a["n"] else 0.0,
                total_cost_usd=a["cost"],
            )
            for name, a in sorted(acc.items())
        ]
