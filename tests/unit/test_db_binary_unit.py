"""backends.weaviate_server.binary: configured, cached and built weaviate-server binaries.

A fake ``go`` (a shell script on PATH) stands in for the Go toolchain; the build driver under test
(locking, progress, temp GOBIN, atomic install, errors) runs for real.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from db_helpers import make_settings, script

from backends.weaviate_server import binary as binmod
from core.errors import BackendUnavailableError, ConfigError

GO_OK = """echo "compiling $3"
printf '#!/bin/sh\\n' > "$GOBIN/weaviate-server"
chmod +x "$GOBIN/weaviate-server"
"""


def test_configured_binary_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"DOCDUET_WEAVIATE_BINARY=.*does not exist"):
        binmod.ensure_binary(make_settings(tmp_path, weaviate_binary=tmp_path / "nope"))
    fake = script(tmp_path / "weaviate-server", "exit 0\n")
    assert binmod.ensure_binary(make_settings(tmp_path, weaviate_binary=fake)) == fake


def test_cached_binary_is_used_without_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(tmp_path)
    cached = binmod.cached_binary_path(settings)
    cached.parent.mkdir(parents=True)
    script(cached, "exit 0\n")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert binmod.ensure_binary(settings) == cached


def test_missing_go_says_how_to_get_a_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(BackendUnavailableError) as err:
        binmod.ensure_binary(make_settings(tmp_path))
    message = str(err.value)
    assert "Go is not installed" in message and "https://go.dev/dl/" in message
    assert "DOCDUET_WEAVIATE_BINARY" in message and "WEAVIATE_URL" in message


def fake_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    bindir = tmp_path / "gobin"
    bindir.mkdir()
    script(bindir / "go", body)
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")


def test_build_installs_into_the_cache_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_go(tmp_path, monkeypatch, GO_OK)
    settings = make_settings(tmp_path, weaviate_version="1.2.3")
    built = binmod.ensure_binary(settings)
    assert built == tmp_path / "cache" / "weaviate" / "1.2.3" / "weaviate-server"
    assert os.access(built, os.X_OK)
    assert not list(built.parent.glob(".gobin-*"))  # the temporary GOBIN is gone
    build_log = (settings.paths.log_dir / "weaviate-build.log").read_text()
    assert "compiling github.com/weaviate/weaviate/cmd/weaviate-server@v1.2.3" in build_log


def test_failed_build_reports_the_output_tail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_go(
        tmp_path,
        monkeypatch,
        'for i in $(seq 1 40); do echo "line $i"; done\necho "go: module not found" >&2\nexit 1\n',
    )
    with pytest.raises(BackendUnavailableError) as err:
        binmod.ensure_binary(make_settings(tmp_path))
    message = str(err.value)
    assert "exit code 1" in message and "go: module not found" in message and "line 40" in message
    assert "line 1\n" not in message  # only the tail
    assert not (tmp_path / "cache" / "weaviate" / "1.39.0" / "weaviate-server").exists()


def test_build_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_go(tmp_path, monkeypatch, "echo started\nsleep 30\n")
    start = time.monotonic()
    with pytest.raises(BackendUnavailableError, match=r"timed out.*DOCDUET_WEAVIATE_BUILD_TIMEOUT_S"):
        binmod.ensure_binary(make_settings(tmp_path, weaviate_build_timeout_s=1.0))
    assert time.monotonic() - start < 10


def test_bad_version_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="release number"):
        binmod.ensure_binary(make_settings(tmp_path, weaviate_version="latest; rm -rf /"))
