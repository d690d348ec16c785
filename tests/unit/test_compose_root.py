"""The composition root (:class:`docduet.compose.Root`): one object, one connection for all its parts.

Issue 22: the web chat opened a new Weaviate connection for each "Download source" click and
each admin-page refresh (``compose.serve_source``, ``compose.index_stats``), and compose cached
models in module-level dicts. Here the root's connection is an in-memory index handed in through
``connector`` and its models are tests/fakes.py's, so every path runs in milliseconds; the real
connection is exercised by tests/integration/test_ui_browser.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from fakes import HashingEmbedder, PlainTextParser

from backends.memory import MemoryChunkIndex
from core.domain import User
from core.errors import BackendUnavailableError
from core.index import IndexStats
from core.protocols import Embedder, NullProgress, Parser
from core.settings import Settings
from docduet.compose import Root
from docduet.models import Models, process_models
from ui.backend import LiveBackend

HR = User(name="alice", groups=("hr",))


class FakeModels(Models):
    """The fakes' embedder and parser instead of the real model and worker."""

    def __init__(self) -> None:
        super().__init__()
        self._embedder, self._parser = HashingEmbedder(), PlainTextParser()

    def embedder(self, settings: Settings) -> Embedder:
        return self._embedder

    def parser(self, settings: Settings) -> Parser:
        return self._parser


@dataclass
class StubConnection:
    index: MemoryChunkIndex
    closed: int = 0

    def close(self) -> None:
        self.closed += 1


class Connector:
    """Opens in-memory "connections" to one shared index and counts them."""

    def __init__(self, down: int = 0) -> None:
        self.index = MemoryChunkIndex("Docs")
        self.opened: list[StubConnection] = []
        self.autostart: list[bool] = []
        self.down = down  # the next ``down`` index calls fail as if Weaviate were gone

    def __call__(self, settings: Settings, *, autostart: bool) -> StubConnection:
        self.autostart.append(autostart)
        self.opened.append(StubConnection(self.index))
        return self.opened[-1]


class FlakyIndex(MemoryChunkIndex):
    def __init__(self, connector: Connector) -> None:
        super().__init__("Docs")
        self.connector = connector

    def stats(self) -> IndexStats:
        if self.connector.down > 0:
            self.connector.down -= 1
            raise BackendUnavailableError("cannot reach Weaviate at http://127.0.0.1:9")
        return super().stats()


def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    (root / "hr").mkdir(parents=True)
    (root / "hr" / "_access.yaml").write_text("groups: [hr]\nsensitivity: confidential\n")
    (root / "hr" / "salary.md").write_text("# Salary\n\nThe band midpoint is 78,000 pounds.\n")
    return root


def root_of(tmp_path: Path, connector: Connector, *, autostart: bool = True) -> Root:
    settings = Settings(data_dir=tmp_path / "data", corpus_root=tmp_path / "corpus")
    return Root(settings, autostart=autostart, models=FakeModels(), connector=connector)


def test_ingest_stats_and_downloads_share_the_roots_one_connection(tmp_path: Path) -> None:
    connector = Connector()
    root = root_of(tmp_path, connector)
    salary = corpus(tmp_path) / "hr" / "salary.md"
    assert root.ingest([salary.parent.parent], progress=NullProgress()).failed == []
    assert root.stats().chunks >= 1
    assert root.source(salary.as_posix(), HR) == salary.read_bytes()
    assert root.source(salary.as_posix(), HR) == salary.read_bytes()
    assert len(connector.opened) == 1 and connector.opened[0].closed == 0
    root.close()
    assert connector.opened[0].closed == 1
    root.stats()  # a closed root reconnects on its next use
    assert len(connector.opened) == 2


def test_the_web_chat_serves_downloads_from_its_root_and_never_starts_a_database(tmp_path: Path) -> None:
    connector = Connector()
    salary = corpus(tmp_path) / "hr" / "salary.md"
    root_of(tmp_path, connector).ingest([tmp_path / "corpus"], progress=NullProgress())
    connector.opened.clear()
    connector.autostart.clear()
    web = root_of(tmp_path, connector, autostart=False)
    backend = LiveBackend(web.settings, web)
    for _ in range(3):
        assert backend.source_bytes(salary.as_posix(), HR) == salary.read_bytes()
        backend.index_stats()
    assert len(connector.opened) == 1 and connector.autostart == [False]
    assert LiveBackend(web.settings).root.autostart is False  # the root it builds itself


def test_a_lost_store_makes_the_web_chats_next_call_reconnect(tmp_path: Path) -> None:
    connector = Connector(down=1)
    connector.index = FlakyIndex(connector)
    web = root_of(tmp_path, connector, autostart=False)
    backend = LiveBackend(web.settings, web)
    with pytest.raises(BackendUnavailableError):
        backend.index_stats()
    backend.index_stats()
    assert [c.closed for c in connector.opened] == [1, 0]


def test_roots_share_the_processes_models_and_a_derived_root_shares_its_parents(tmp_path: Path) -> None:
    settings, variant = Settings(data_dir=tmp_path), Settings(data_dir=tmp_path, top_k=3)
    assert Root(settings).models is process_models() is Root(variant).models
    mine = Models()
    assert Root(settings, models=mine).derive(variant).models is mine
