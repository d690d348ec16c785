"""Process helpers for supervising weaviate-server: pid files, liveness, signals."""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from collections.abc import Sequence
from pathlib import Path

from core.errors import BackendUnavailableError
from core.private import private_dir, private_file

#: Shells that launch a node: between their fork and the node's exec the pid shows the shell.
_LAUNCH_SHELLS = frozenset({"sh", "dash", "bash"})


def read_pid(path: Path) -> int | None:
    """The pid written in ``path``, or None (no file, or not a number)."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def alive(pid: int, binary: Path) -> bool:
    """Is ``pid`` a live (not zombie) process running ``binary``? Reaps it if it is our child."""
    return why_not_alive(pid, binary) is None


def why_not_alive(pid: int, binary: Path) -> str | None:
    """None while ``pid`` runs ``binary`` (or is about to), else why it does not."""
    exited = _reap(pid)
    if exited is not None:
        return exited
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return f"no process {pid}"
    except PermissionError:
        pass  # exists, owned by someone else
    proc = Path(f"/proc/{pid}")
    if not _proc_is_ours() or not proc.exists():  # not Linux, or /proc of another pid namespace
        return None
    try:
        if (proc / "stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z":
            return _reap(pid) or f"pid {pid} exited (a zombie)"  # ours exited since the first look
        argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
    except FileNotFoundError:
        return f"no process {pid}"
    except OSError:
        return None  # cannot look closer: kill(0) said it exists
    if runs_binary([arg for arg in argv if arg], binary):
        return None
    return f"pid {pid} runs {' '.join(argv[:2]).strip()!r}, not {binary.name}"


def _reap(pid: int) -> str | None:
    """If ``pid`` is our child and has exited, collect it and say how it ended."""
    with contextlib.suppress(ChildProcessError, OSError):
        waited, status = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return f"pid {pid} exited ({_describe_wait_status(status)})"
    return None


def runs_binary(argv: Sequence[str], binary: Path) -> bool:
    """Does a process with this command line belong to ``binary``?

    A reused pid belongs to another program and fails this. Passes: the binary itself (argv[0],
    or argv[1] when it is a ``#!`` script); the launching shell forked for it but not yet exec'd
    (its argv carries the binary's path); an empty argv, which is what a process shows in the
    middle of ``execve``.
    """
    if not argv:
        return True
    if binary.name in {Path(arg).name for arg in argv[:2]}:
        return True
    return Path(argv[0]).name in _LAUNCH_SHELLS and str(binary) in argv


def _proc_is_ours() -> bool:
    """Does /proc number processes as we do? Not when it belongs to another pid namespace."""
    try:
        return os.readlink("/proc/self") == str(os.getpid())
    except OSError:
        return False


def _describe_wait_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(number).name}"
        return f"killed by signal {number}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


def send_signal(pid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to ``pid``; a process already gone is not an error."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step (readers never see a partial file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def prepare_storage(data_dir: Path, log_file: Path, pid_file: Path) -> None:
    """Create a node's folders (0700: the index holds every document's text) and log (0600), and
    make sure the data dir takes a new file; BackendUnavailableError saying what to fix otherwise.

    Weaviate itself would fail later and less clearly (a read-only data dir stops it at start-up).
    """
    try:
        for folder in (data_dir, log_file.parent, pid_file.parent):
            private_dir(folder)
        private_file(log_file)
        fd, probe = tempfile.mkstemp(dir=data_dir, prefix=".docduet-write-check.")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise BackendUnavailableError(
            f"Weaviate's data dir {data_dir} (or its log {log_file}) cannot be written: "
            f"{e.strerror or e}. Make it writable (permissions, a read-only mount, free disk "
            "space), or point DOCDUET_DATA_DIR at another folder; then start again."
        ) from e
