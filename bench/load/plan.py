"""The plan of a load run: its phases, the demo users and the questions each may ask."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from core.domain import User
from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpora"
USERS_FILE = CORPUS / "users.yaml"
OUT = ROOT / "bench" / "results" / "load.json"
WEB_RETRIEVAL, SLACK_RETRIEVAL = "web retrieval", "slack retrieval"
WEB_ANSWERS, SLACK_ANSWERS = "web answers", "slack answers"


@dataclass(frozen=True)
class Phase:
    """One path at one N: ``users`` threads, each asking at most ``per_user`` questions."""

    path: str
    users: int
    per_user: int
    cap_s: float
    """No user starts a question after this many seconds."""


@dataclass(frozen=True)
class Plan:
    """Every phase of a run, and how long one request may take before it counts as failed."""

    phases: tuple[Phase, ...]
    request_timeout_s: float


def full_plan() -> Plan:
    retrieval = {1: 96, 4: 32, 16: 8, 64: 3}
    answers = {1: 3, 4: 2, 8: 1}
    return make_plan(retrieval, answers, retrieval_cap_s=60.0, answers_cap_s=240.0)


def quick_plan() -> Plan:
    return make_plan({1: 8, 4: 3, 16: 2, 64: 1}, {1: 1, 4: 1}, retrieval_cap_s=20.0, answers_cap_s=60.0)


def make_plan(
    retrieval: dict[int, int], answers: dict[int, int], *, retrieval_cap_s: float, answers_cap_s: float
) -> Plan:
    """Retrieval phases for each N in ``retrieval``, then answer phases likewise; web and Slack
    alternate at each N, so a machine getting busier or quieter during the run favours neither."""
    phases = [
        Phase(path, n, k, retrieval_cap_s)
        for n, k in retrieval.items()
        for path in (WEB_RETRIEVAL, SLACK_RETRIEVAL)
    ]
    phases += [
        Phase(path, n, k, answers_cap_s) for n, k in answers.items() for path in (WEB_ANSWERS, SLACK_ANSWERS)
    ]
    return Plan(tuple(phases), request_timeout_s=max(answers_cap_s, 120.0) + 180.0)


# --- the questions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    """A user of corpora/users.yaml, with the questions it may be asked about."""

    user: User
    email: str
    answerable: tuple[str, ...]
    """Sample questions whose answering document this user may read."""
    retrievable: tuple[str, ...]
    """The answerable questions plus first sentences of chunks this user may read."""


def demo_users(settings: Settings) -> list[DemoUser]:
    """Every demo user with the sample questions (whose source is indexed) and chunk sentences it
    may read."""
    from core.identity import UserDirectory
    from docduet.compose import open_index

    entries = yaml.safe_load(USERS_FILE.read_text(encoding="utf-8"))["users"]
    samples = yaml.safe_load((CORPUS / ".questions.yaml").read_text(encoding="utf-8"))["questions"]
    directory = UserDirectory.from_file(USERS_FILE)
    chunks: list[tuple[str, str, set[str]]] = []
    with open_index(settings, autostart=False) as connection:
        for obj in connection.client.collections.use(settings.weaviate.collection).iterator(
            return_properties=["text", "source", "access_groups"]
        ):
            p = obj.properties
            groups = p["access_groups"]
            assert isinstance(groups, list)
            chunks.append((str(p["text"]), str(p["source"]), {str(g) for g in groups}))
    indexed = {source for _, source, _ in chunks}
    out = []
    for name in sorted(entries):
        user = directory.resolve(name)
        answerable = tuple(
            q["question"]
            for q in samples
            if q["source"]
            and name in q["readable_by"]
            and any(s.endswith("/" + q["source"]) for s in indexed)
        )
        readable = set(user.readable_groups)
        sentences = [first_sentence(text) for text, _, groups in chunks if groups & readable]
        retrievable = tuple(dict.fromkeys([*answerable, *(s for s in sentences if len(s.split()) >= 6)]))
        out.append(DemoUser(user, entries[name]["email"], answerable, retrievable))
    return out


def first_sentence(text: str) -> str:
    """A chunk's first sentence without Markdown heading marks, at most 200 characters."""
    line = " ".join(re.sub(r"^[#>*\-\s]+", "", text.strip()).split())
    return re.split(r"(?<=[.!?])\s", line, maxsplit=1)[0][:200]


def questions_for(demo: DemoUser, phase: Phase, user_index: int) -> list[str]:
    """The questions of simulated user ``user_index`` in ``phase``, in an order of their own.

    Each phase has its own order, so a phase does not start with the prompt another one just ended
    with (llama.cpp would reuse its evaluation).
    """
    answers = phase.path in (WEB_ANSWERS, SLACK_ANSWERS)
    pool = list(demo.answerable if answers and demo.answerable else demo.retrievable)
    random.Random(f"{phase.path}:{phase.users}:{user_index}").shuffle(pool)
    count = phase.per_user
    return [pool[i % len(pool)] for i in range(count)]
