"""Process helpers for supervising weaviate-server: pid files, liveness, signals."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path


def read_pid(path: Path) -> int | None:
    """The pid written in ``path``, or None (no file, or not a number)."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def alive(pid: int, binary: Path) -> bool:
    """Is ``pid`` a live (not zombie) process running ``binary``? Reaps it if it is our child."""
    with contextlib.suppress(ChildProcessError, OSError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    proc = Path(f"/proc/{pid}")
    if not proc.exists():  # not Linux: trust kill(0)
        return True
    try:
        if (proc / "stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z":
            return False
        argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return False
    # A reused pid belongs to another program. argv[1]: the binary may be a script (#!).
    return binary.name in {Path(arg).name for arg in argv[:2]}


def send_signal(pid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to ``pid``; a process already gone is not an error."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step (readers never see a partial file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
