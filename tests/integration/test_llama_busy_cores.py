"""The other work on this process's cores, read from the real /proc counters (Linux)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from backends.llama_cpp.busy import OtherWork, read_ticks

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]

SPIN = "import time\nend = time.monotonic() + 20\nwhile time.monotonic() < end:\n    pass\n"


def test_a_process_spinning_on_one_of_our_cores_is_seen_as_other_work() -> None:
    cpus = sorted(os.sched_getaffinity(0))
    busy, own = read_ticks(cpus)
    assert busy > 0 and own >= 0
    spinner = subprocess.Popen([sys.executable, "-c", SPIN])  # stops by itself after 20 s at most
    try:
        other = OtherWork(cpus, window_s=0.5)
        assert (other.cores() or 0.0) >= 0.5  # the spinner keeps about one core busy
    finally:
        spinner.kill()
        spinner.wait(timeout=10)
