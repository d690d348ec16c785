"""The Streamlit app's unit-test parts: a ``FakeBackend`` (a :class:`ui.backend.ChatBackend` around
the real AnswerService with a scripted retriever and generators from tests/fakes.py), the demo users,
and helpers that start the app with ``AppTest``, ask and read what it shows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fakes import ScriptedGenerator, StubRetriever, corpus
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from chat.results import GeneratorInfo
from chat.rewrite import HeuristicRewriter
from chat.service import AnswerService, GeneratorSlot
from core.domain import User
from core.errors import DocduetError, GenerationError
from core.feedback import FeedbackStore
from core.identity import UserDirectory
from core.index import DocumentStats, IndexStats
from core.protocols import ProgressSink
from core.settings import Settings
from ingest.last_run import LastRun
from ingest.sources import SourceRefusedError
from ingest.summary import Failure, IngestSummary
from ui.backend import BACKEND_KEY
from ui.signin import SELECTOR_KEY

APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"
ANCHOR = "Which are the office anchor days?"
SALARY = "What is the salary band midpoint for a Senior Software Engineer?"

USERS = {
    "users": {
        "alice": {"email": "alice@corvala.example", "groups": ["employees", "hr"]},
        "carol": {"email": "carol@corvala.example", "groups": ["employees"]},
        "dana": {"email": "dana@corvala.example", "groups": ["employees", "admins"]},
    }
}


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
        self.feedback = FeedbackStore.in_data_dir(self.settings.paths.data_dir)

    def answerer(self) -> AnswerService:
        if self.outage is not None:
            raise self.outage
        llm = (
            GeneratorSlot("llm", self.llm)
            if self.llm
            else GeneratorSlot("llm", unavailable="no hosted LLM is configured; set OPENAI_API_KEY")
        )
        return AnswerService(self.retriever, [GeneratorSlot("slm", self.slm), llm], HeuristicRewriter())

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
        return IndexStats(self.settings.weaviate.collection, tuple(docs))

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
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "cache_dir": tmp_path / "cache",
        "collection": "Test_ui",
    } | settings
    return FakeBackend(
        settings=Settings(**values),  # type: ignore[arg-type]
        retriever=StubRetriever(corpus(tmp_path / "docs")),
        slm=ScriptedGenerator("slm"),
        llm=llm,
    )


@pytest.fixture(autouse=True)
def loopback_server() -> Iterator[None]:
    """The app believes it listens on 127.0.0.1 (``docduet ui``'s default), as the demo picker needs.
    A test module imports it (and names it in ``__all__``) to have it."""
    before = st_config.get_option("server.address")
    st_config.set_option("server.address", "127.0.0.1")
    yield
    st_config.set_option("server.address", before)


def demo_backend(tmp_path: Path, **settings: object) -> FakeBackend:
    """A backend whose settings turn the demo sign-in picker on."""
    return make_backend(tmp_path, **({"ui_demo_signin": True} | settings))  # type: ignore[arg-type]


def start(backend: FakeBackend, user: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.session_state[BACKEND_KEY] = backend
    at.run()
    assert not at.exception, at.exception
    if user is not None:
        at.selectbox(key=SELECTOR_KEY).set_value(user).run()
    return at


def ask(at: AppTest, text: str) -> AppTest:
    at.chat_input[0].set_value(text).run()
    assert not at.exception, at.exception
    return at


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def texts(elements: object) -> str:
    return "\n".join(str(e.value) for e in elements)  # type: ignore[attr-defined]


def md_count(at: AppTest, needle: str) -> int:
    return markdown(at).count(needle)


@pytest.fixture
def backend(tmp_path: Path) -> FakeBackend:
    """Both generators scripted; the hosted one is off-premises."""
    return demo_backend(tmp_path, llm=ScriptedGenerator("llm", off_premises=True, endpoint="http://llm"))
