"""The unit tier: nothing here may run, build or reach a real weaviate-server.

Unit tests of the process supervisor run fake server scripts they write into their tmp dir, and
those of the build a fake ``go`` there; only those may be launched. Settings' default data dir
(``XDG_DATA_HOME``) is under pytest's tmp dir, so a test never writes to the user's.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from backends.weaviate_server import binary
from backends.weaviate_server.server import WeaviateServer

UNREACHABLE = "http://127.0.0.1:9"
"""The discard port: nothing answers there, so a unit test that tries to connect fails at once."""
WHERE = "move the test to tests/integration"


@pytest.fixture(autouse=True)
def no_real_weaviate(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Launching anything but a test's own fake server, or building with a real ``go``, fails the test."""
    base = tmp_path_factory.getbasetemp().resolve()
    launch = WeaviateServer.launch

    def guarded_launch(self: WeaviateServer) -> bool:
        if not Path(self.config.binary).resolve().is_relative_to(base):
            raise AssertionError(f"a unit test tried to run {self.config.binary}; {WHERE}")
        return launch(self)

    monkeypatch.setattr(WeaviateServer, "launch", guarded_launch)

    go_install = binary._go_install

    def guarded_go_install(*args: Any, **kwargs: Any) -> None:
        go = shutil.which("go")
        if go is not None and not Path(go).resolve().is_relative_to(base):
            raise AssertionError(f"a unit test tried to build weaviate-server with {go}; {WHERE}")
        go_install(*args, **kwargs)

    monkeypatch.setattr(binary, "_go_install", guarded_go_install)


@pytest.fixture(autouse=True)
def tmp_data_home(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """``Settings()``'s default data dir (feedback, logs, ingest state) is under pytest's tmp dir."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.getbasetemp() / "xdg-data"))


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Any]:
    """Settings with this test's own data and cache dirs and an external Weaviate nobody runs."""
    from core.settings import Settings

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "weaviate_url": UNREACHABLE,
            "data_dir": tmp_path / "data",
            "cache_dir": tmp_path / "cache",
            "collection": "Test_unit",
        }
        return Settings(**(values | overrides))

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Any]) -> Any:
    """``make_settings()``."""
    return make_settings()
