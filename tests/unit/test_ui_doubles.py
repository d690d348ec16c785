"""Test doubles for the web chat's unit tests (no tests of its own).

The chat page runs against the *real* :class:`chat.service.AnswerService`; only what sits behind
it is scripted: a retriever over a few in-memory passages (access-filtered like the real one) and
generators that answer from the first passage they are sent.
"""

from __future__ import annotations

import re
from collections.abc import Generator as PyGenerator
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from chat.results import GeneratorInfo
from chat.rewrite import HeuristicRewriter
from chat.service import AnswerService
from core.domain import Access, Chunk, Hit, Sensitivity, Usage, User
from core.errors import DocduetError, GenerationError
from core.feedback import FeedbackStore
from core.filters import SearchFilters
from core.identity import UserDirectory
from core.index import DocumentStats, IndexStats
from core.prompt import Prompt
from core.protocols import GenerationResult, ProgressSink, TextStream
from core.settings import Settings
from ingest.last_run import LastRun
from ingest.sources import SourceRefusedError
from ingest.summary import Failure, IngestSummary

USERS = {
    "users": {
        "alice": {"email": "alice@corvala.example", "groups": ["employees", "hr"]},
        "carol": {"email": "carol@corvala.example", "groups": ["employees"]},
        "dana": {"email": "dana@corvala.example", "groups": ["employees", "admins"]},
    }
}


def chunk(name: str, text: str, groups: tuple[str, ...], sensitivity: Sensitivity, root: Path) -> Chunk:
    return Chunk(
        chunk_id=f"id-{name}",
        source=str(root / f"{name}.md"),
        root=str(root),
        title=name.replace("-", " ").title(),
        text=text,
        index=0,
        doc_type="md",
        section="Overview",
        page=2,
        modified=datetime(2025, 1, 1, tzinfo=UTC),
        content_hash=f"h-{name}",
        access=Access(groups=groups, sensitivity=sensitivity),
    )


def corpus(root: Path) -> list[Chunk]:
    """Three passages: internal to employees, confidential to hr, public; files written to ``root``."""
    chunks = [
        chunk(
            "employee-handbook",
            "Office life. The office anchor days are Tuesday and Thursday. Desks are booked in Officely.",
            ("employees",),
            Sensitivity.INTERNAL,
            root,
        ),
        chunk(
            "salary-bands",
            "Pay. The salary band midpoint for a Senior Software Engineer is 78,000 pounds in Leeds.",
            ("hr",),
            Sensitivity.CONFIDENTIAL,
            root,
        ),
        chunk(
            "press-release",
            "News. Corvala raised 18 million pounds in its Series B led by Northgate Ventures.",
            ("public",),
            Sensitivity.PUBLIC,
            root,
        ),
    ]
    root.mkdir(parents=True, exist_ok=True)
    for c in chunks:
        Path(c.source).write_text(c.text, encoding="utf-8")
    return chunks


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 3}


@dataclass
class StubRetriever:
    """Passages sharing a word with the query, that the user's groups may read."""

    chunks: Sequence[Chunk]
    queries: list[str] = field(default_factory=list)

    def retrieve(
        self, query: str, *, user: User, filters: SearchFilters | None = None, top_k: int | None = None
    ) -> list[Hit]:
        self.queries.append(query)
        readable = set(user.readable_groups)
        return [
            Hit(c, score=1.0 - i / 10, similarity=0.9)
            for i, c in enumerate(self.chunks)
            if readable & set(c.access.groups) and _words(query) & _words(c.text)
        ]


@dataclass
class ScriptedGenerator:
    """Answers with the passage sentence that shares most words with the question, marked [1]."""

    name: str
    off_premises: bool = False
    endpoint: str = "local"
    fail_with: DocduetError | None = None
    prompts: list[Prompt] = field(default_factory=list)
    max_sensitivity: Sensitivity = Sensitivity.CONFIDENTIAL

    def __post_init__(self) -> None:
        if self.off_premises:
            self.max_sensitivity = Sensitivity.INTERNAL
        self.label = "Hosted model · scripted" if self.off_premises else "Small local model · scripted"

    def stream(self, prompt: Prompt, *, max_tokens: int | None = None) -> TextStream:
        self.prompts.append(prompt)
        return TextStream(self._pieces(prompt))

    def _pieces(self, prompt: Prompt) -> PyGenerator[str, None, GenerationResult]:
        if self.fail_with is not None:
            raise self.fail_with
        first = prompt.blocks[0].text
        sentences = [s.strip() for s in first.split(". ") if s.strip()]
        best = max(sentences, key=lambda s: len(_words(s) & _words(prompt.question)))
        text = f"{best.rstrip('.')} [1]."
        for word in text.split(" "):
            yield word + " "
        return GenerationResult(text=text, usage=Usage(len(first) // 4, len(text) // 4, 0.0))


def unreachable_llm() -> ScriptedGenerator:
    return ScriptedGenerator(
        "llm",
        off_premises=True,
        endpoint="http://127.0.0.1:9/v1",
        fail_with=GenerationError("cannot reach http://127.0.0.1:9/v1; check DOCDUET_LLM_BASE_URL"),
    )


@dataclass
class FakeBackend:
    """A :class:`ui.backend.ChatBackend` around a real AnswerService with scripted parts."""

    settings: Settings
    retriever: StubRetriever
    slm: ScriptedGenerator
    llm: ScriptedGenerator | None
    directory: UserDirectory = field(default_factory=lambda: UserDirectory.parse(USERS))
    outage: DocduetError | None = None
    resets: int = 0
    reindexed: list[bool] = field(default_factory=list)
    run: LastRun | None = None

    def __post_init__(self) -> None:
        self.feedback = FeedbackStore.in_data_dir(self.settings.data_dir)

    def answerer(self) -> AnswerService:
        if self.outage is not None:
            raise self.outage
        generators = {"slm": self.slm, **({"llm": self.llm} if self.llm else {})}
        unavailable = {} if self.llm else {"llm": "no hosted LLM is configured; set OPENAI_API_KEY"}
        return AnswerService(self.retriever, generators, HeuristicRewriter(), unavailable=unavailable)

    def columns(self) -> tuple[GeneratorInfo, ...]:
        service = self.answerer()
        return tuple(service.describe(n) for n in service.generator_names)

    def reset(self) -> None:
        self.resets += 1

    def index_stats(self) -> IndexStats:
        if self.outage is not None:
            raise self.outage
        docs = [
            DocumentStats(c.source, c.doc_type, c.access.groups, c.access.sensitivity.value, 3)
            for c in self.retriever.chunks
        ]
        return IndexStats(self.settings.collection, tuple(docs))

    def last_run(self) -> LastRun | None:
        return self.run

    def source_bytes(self, source: str, user: User) -> bytes:
        """The file when ``user`` may read a chunk of it (the live backend re-checks far more)."""
        groups = set(user.readable_groups)
        readable = any(c.source == source and set(c.access.groups) & groups for c in self.retriever.chunks)
        if not readable:
            raise SourceRefusedError("this file is not among the indexed documents you may read")
        return Path(source).read_bytes()

    def reindex(self, progress: ProgressSink, *, full: bool = False) -> IngestSummary:
        self.reindexed.append(full)
        sources = [c.source for c in self.retriever.chunks]
        progress.start(len(sources), "ingesting")
        for source in sources:
            progress.advance(source, "unchanged")
        progress.finish()
        failed = [Failure(source="/docs/broken.pdf", reason="encrypted PDF; remove the password")]
        summary = IngestSummary(unchanged=sources, failed=failed, total_chunks=9, collection="c")
        self.run = LastRun(datetime.now(UTC), summary.to_json())
        return summary


def make_backend(tmp_path: Path, *, llm: ScriptedGenerator | None = None, **settings: object) -> FakeBackend:
    values: dict[str, object] = {"data_dir": tmp_path / "data", "collection": "Test_ui"} | settings
    return FakeBackend(
        settings=Settings(**values),  # type: ignore[arg-type]
        retriever=StubRetriever(corpus(tmp_path / "docs")),
        slm=ScriptedGenerator("slm"),
        llm=llm,
    )
