"""Where the weaviate-server binary comes from: configured, cached, or built with ``go install``."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from rich.console import Console
from rich.text import Text

from core.errors import BackendUnavailableError, ConfigError
from core.settings import Settings

log = logging.getLogger(__name__)

GO_PACKAGE = "github.com/weaviate/weaviate/cmd/weaviate-server"
BINARY_NAME = "weaviate-server"
_VERSION_RE = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?$")
_TAIL_LINES = 25

_NO_GO_HINT = (
    "Go is not installed (no `go` on PATH), so docduet cannot build weaviate-server {version}. "
    "Either install Go (https://go.dev/dl/, the version named in weaviate's go.mod) and run "
    "`docduet db build`, or set DOCDUET_WEAVIATE_BINARY=/path/to/weaviate-server, "
    "or set WEAVIATE_URL to use an external Weaviate."
)


def cached_binary_path(settings: Settings) -> Path:
    """The path a built binary is cached at: ``<cache_dir>/weaviate/<version>/weaviate-server``."""
    return settings.paths.cache_dir / "weaviate" / settings.weaviate.weaviate_version / BINARY_NAME


def configured_binary(settings: Settings) -> Path:
    """The binary docduet would run, without building it: the configured one or the cached one."""
    return settings.weaviate.weaviate_binary or cached_binary_path(settings)


def ensure_binary(settings: Settings, *, console: Console | None = None) -> Path:
    """Return a runnable weaviate-server: the configured one, the cached one, or a fresh build.

    Raises ConfigError when DOCDUET_WEAVIATE_BINARY points nowhere, BackendUnavailableError when
    a build is needed and fails (missing Go, compile error, timeout).
    """
    if settings.weaviate.weaviate_binary is not None:
        return _check_configured(settings.weaviate.weaviate_binary)
    target = cached_binary_path(settings)
    if _is_executable(target):
        return target
    _check_version(settings.weaviate.weaviate_version)
    console = console or Console(stderr=True)
    build_log = settings.paths.log_dir / "weaviate-build.log"
    deadline = time.monotonic() + settings.weaviate.weaviate_build_timeout_s
    with _build_lock(target, deadline, console):
        if _is_executable(target):  # another process built it while we waited
            return target
        _go_install(settings.weaviate.weaviate_version, target, deadline, console, build_log)
    return target


def _check_configured(path: Path) -> Path:
    if not path.exists():
        raise ConfigError(
            f"DOCDUET_WEAVIATE_BINARY={path} does not exist; point it at a weaviate-server "
            "binary, or unset it to let docduet build and cache one."
        )
    if not _is_executable(path):
        raise ConfigError(f"DOCDUET_WEAVIATE_BINARY={path} is not an executable file; chmod +x it.")
    return path


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _check_version(version: str) -> None:
    if not _VERSION_RE.match(version):
        raise ConfigError(
            f"DOCDUET_WEAVIATE_VERSION={version!r} is not a release number like 1.39.0; fix it."
        )


@contextlib.contextmanager
def _build_lock(target: Path, deadline: float, console: Console) -> Iterator[None]:
    """One build per cache entry at a time, across processes; waits (bounded) for another one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".build.lock", "w") as lock:
        with console.status("Waiting for another weaviate-server build to finish…"):
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise BackendUnavailableError(
                            f"Another process holds {lock.name} (a weaviate-server build) past "
                            "the build timeout; wait for it, or remove the lock if none runs."
                        ) from None
                    time.sleep(1.0)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _go_install(version: str, target: Path, deadline: float, console: Console, build_log: Path) -> None:
    go = shutil.which("go")
    if go is None:
        raise BackendUnavailableError(_NO_GO_HINT.format(version=version))
    gobin = Path(tempfile.mkdtemp(prefix=".gobin-", dir=target.parent))
    build_log.parent.mkdir(parents=True, exist_ok=True)
    command = [go, "install", "-v", f"{GO_PACKAGE}@v{version}"]
    log.info("building weaviate-server: %s (GOBIN=%s)", " ".join(command), gobin)
    try:
        with open(build_log, "w") as log_file:
            tail = _run_with_progress(
                command, {**os.environ, "GOBIN": str(gobin)}, deadline, console, log_file
            )
        built = gobin / BINARY_NAME
        if not _is_executable(built):
            raise BackendUnavailableError(
                f"`go install` finished but left no {BINARY_NAME} in {gobin}; see {build_log}.\n{tail}"
            )
        os.replace(built, target)  # atomic: same filesystem
        log.info("weaviate-server %s cached at %s", version, target)
    finally:
        shutil.rmtree(gobin, ignore_errors=True)


def _run_with_progress(
    command: list[str], env: dict[str, str], deadline: float, console: Console, sink: IO[str]
) -> str:
    """Run ``go install``; show elapsed time and its last output line; return the output tail."""
    lines: deque[str] = deque(maxlen=_TAIL_LINES)
    start = time.monotonic()
    proc = subprocess.Popen(
        command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True,
    )  # fmt: skip
    reader = threading.Thread(target=_pump, args=(proc.stdout, lines, sink), daemon=True)
    reader.start()
    with console.status("Building weaviate-server with go install…") as status:
        while proc.poll() is None:
            if time.monotonic() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)  # go and the compilers it started
                proc.wait()
                raise BackendUnavailableError(
                    f"Building weaviate-server timed out after {time.monotonic() - start:.0f} s; "
                    "raise DOCDUET_WEAVIATE_BUILD_TIMEOUT_S or set DOCDUET_WEAVIATE_BINARY.\n"
                    + "\n".join(lines)
                )
            last = lines[-1] if lines else "starting"
            status.update(Text(f"Building weaviate-server ({_elapsed(start)}): {last[-80:]}"))
            time.sleep(0.5)
    reader.join(timeout=5)
    tail = "\n".join(lines)
    if proc.returncode != 0:
        raise BackendUnavailableError(
            f"`{' '.join(command)}` failed with exit code {proc.returncode}; fix the cause below "
            f"(or set DOCDUET_WEAVIATE_BINARY / WEAVIATE_URL). Last output:\n{tail}"
        )
    console.print(Text(f"Built weaviate-server in {_elapsed(start)}."))
    return tail


def _pump(stream: IO[str] | None, lines: deque[str], sink: IO[str]) -> None:
    if stream is None:
        return
    for line in stream:
        sink.write(line)
        if line.strip():
            lines.append(line.rstrip())


def _elapsed(start: float) -> str:
    minutes, seconds = divmod(int(time.monotonic() - start), 60)
    return f"{minutes}m{seconds:02d}s"
