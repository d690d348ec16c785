"""Go command-line tools the deployment tests run, built once with ``go install`` and cached.

Like the weaviate-server binary (``docduet db build``), each tool is built from the Go module
proxy into ``<cache_dir>/<name>/<version>/<name>`` (``DOCDUET_CACHE_DIR``, default
``~/.cache/docduet``) and reused by every later run; a fresh machine pays the build once.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GoTool:
    name: str
    package: str
    version: str

    def cached_path(self, cache_dir: Path) -> Path:
        return cache_dir / self.name / self.version / self.name


HELM = GoTool("helm", "helm.sh/helm/v4/cmd/helm", "v4.3.2")
# Kubernetes' own validation (OpenAPI schemas of 1.23-1.30 built in), offline: kubeconform would
# need JSON schemas that no registry reachable here serves.
KUBECTL_VALIDATE = GoTool("kubectl-validate", "sigs.k8s.io/kubectl-validate", "v0.0.4")


class ToolBuildError(RuntimeError):
    """``go install`` is missing, failed or took too long."""


def ensure_tool(tool: GoTool, cache_dir: Path, *, timeout_s: float = 3600.0) -> Path:
    """The cached binary of ``tool``; built first (under a lock, across processes) when absent."""
    target = tool.cached_path(cache_dir)
    if _is_executable(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    with open(target.parent / ".build.lock", "w") as lock:
        while True:  # bounded by the deadline
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ToolBuildError(f"another build of {tool.name} holds {lock.name}") from None
                time.sleep(1.0)
        if not _is_executable(target):  # nobody built it while we waited
            _go_install(tool, target, deadline)
    return target


def _go_install(tool: GoTool, target: Path, deadline: float) -> None:
    go = shutil.which("go")
    if go is None:
        raise ToolBuildError(
            f"Go is not installed, so {tool.name} cannot be built; install Go (scripts/setup.sh "
            f"needs it for weaviate-server too) or put a {tool.name} binary at {target}"
        )
    gobin = Path(tempfile.mkdtemp(prefix=".gobin-", dir=target.parent))
    command = [go, "install", f"{tool.package}@{tool.version}"]
    log.info("building %s: %s", tool.name, " ".join(command))
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            command, env={**os.environ, "GOBIN": str(gobin)}, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
        try:
            output, _ = proc.communicate(timeout=max(1.0, deadline - started))
        except subprocess.TimeoutExpired as e:
            os.killpg(proc.pid, signal.SIGKILL)  # go and the compilers it started
            proc.communicate()
            raise ToolBuildError(f"building {tool.name} took longer than the timeout") from e
        if proc.returncode != 0:
            raise ToolBuildError(f"`{' '.join(command)}` failed:\n{output[-4000:]}")
        os.replace(gobin / tool.name, target)
    finally:
        shutil.rmtree(gobin, ignore_errors=True)
    log.info("built %s in %.0f s: %s", tool.name, time.monotonic() - started, target)


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)
