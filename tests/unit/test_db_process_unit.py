"""Is a pid still our weaviate-server? Command-line rules and real processes (no Weaviate)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from backends.weaviate_server.process import alive, runs_binary, why_not_alive

BINARY = Path("/opt/weaviate/weaviate-server")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([str(BINARY), "--host", "127.0.0.1"], True),
        (["weaviate-server", "--port", "8080"], True),  # started by name from PATH
        (["/bin/sh", str(BINARY), "--host"], True),  # the binary is a #! script
        (["/bin/sh", "-c", "launch script", "log", "0", str(BINARY), "--host"], True),  # not exec'd yet
        ([], True),  # in the middle of execve the command line reads empty
        (["/usr/bin/python3", "-m", "http.server"], False),  # a reused pid
        (["/bin/sh", "-c", "sleep 9", "/elsewhere/weaviate-server"], False),  # another install
        (["/usr/bin/vim", "notes.txt", str(BINARY)], False),  # mentions it, is not it
    ],
)
def test_a_pid_belongs_to_the_node_by_its_command_line(argv: list[str], expected: bool) -> None:
    assert runs_binary(argv, BINARY) is expected


def test_the_launching_shell_counts_as_the_node_until_it_execs(tmp_path: Path) -> None:
    binary = tmp_path / "weaviate-server"
    launcher = subprocess.Popen(["/bin/sh", "-c", "sleep 5; :", "launch", "log", "0", str(binary)])
    try:
        cmdline = Path(f"/proc/{launcher.pid}/cmdline")
        deadline = time.monotonic() + 5
        while not cmdline.read_bytes() and time.monotonic() < deadline:  # mid-execve it reads empty
            time.sleep(0.01)
        assert alive(launcher.pid, binary)
        assert why_not_alive(launcher.pid, tmp_path / "other-server") is not None
    finally:
        launcher.kill()
        launcher.wait()
    assert why_not_alive(launcher.pid, binary) == f"no process {launcher.pid}"


def test_a_dead_child_is_reported_with_its_exit_status(tmp_path: Path) -> None:
    child = subprocess.Popen(["/bin/sh", "-c", "exit 3"])
    deadline = time.monotonic() + 10
    while (reason := why_not_alive(child.pid, Path("/bin/sh"))) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert reason == f"pid {child.pid} exited (exit code 3)"
