"""The parser worker's memory cap: a file that needs too much fails alone, the next gets a new worker.

The parser here is a stand-in that allocates on demand (module-level, so the spawned worker can
import it); the worker process, its RLIMIT_AS, the failed allocation and the restart are real.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

import pytest
from fakes import written_source as source

from core.domain import SourceFile
from core.errors import IngestError
from ingest.isolation import IsolatedParser

CAP_MB = 256


class Hungry:
    """Behaves by file name: ``hog`` allocates up to 1 GB, ``abort`` dies as a C library out of
    memory does; anything else answers its text, its pid and its address-space limit."""

    def parse(self, file: SourceFile, data: bytes) -> tuple[str, int, tuple[int, int]]:
        name = file.path.name
        if name.startswith("hog"):
            held = [bytearray(64 * 1024 * 1024) for _ in range(16)]  # bounded, should the cap fail
            del held
        if name.startswith("abort"):
            os.abort()
        return data.decode(), os.getpid(), resource.getrlimit(resource.RLIMIT_AS)


@pytest.fixture
def parser() -> IsolatedParser:
    with IsolatedParser(Hungry(), timeout_s=60, max_memory_mb=CAP_MB) as isolated:  # type: ignore[arg-type]
        yield isolated


def test_the_worker_runs_under_an_address_space_cap(parser: IsolatedParser, tmp_path: Path) -> None:
    text, pid, (soft, hard) = parser.parse(*source(tmp_path, "a.txt", "alpha"))
    assert text == "alpha" and pid != os.getpid()
    assert soft == hard != resource.RLIM_INFINITY
    with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
        mapped = int(statm.read().split()[0]) * resource.getpagesize()
    assert mapped < soft <= mapped + CAP_MB * 1024 * 1024  # the started worker plus the cap


def test_a_file_that_needs_more_memory_fails_alone_and_the_next_gets_a_new_worker(
    parser: IsolatedParser, tmp_path: Path
) -> None:
    before = parser.parse(*source(tmp_path, "a.txt"))[1]
    hog, data = source(tmp_path, "hog.docx")
    with pytest.raises(IngestError) as err:
        parser.parse(hog, data)
    assert str(err.value).startswith(
        f"{hog.source}: parsing ran out of memory (the parser may use 256 MB for a file, "
        "DOCDUET_PARSE_MAX_MEMORY_MB) and was stopped"
    )
    assert "raise DOCDUET_PARSE_MAX_MEMORY_MB, then re-run" in str(err.value)
    with pytest.raises(ProcessLookupError):
        os.kill(before, 0)  # the worker that ran out was stopped, not reused
    text, after, _ = parser.parse(*source(tmp_path, "b.txt", "next"))
    assert text == "next" and after != before


def test_a_worker_killed_under_the_cap_names_the_memory_limit(parser: IsolatedParser, tmp_path: Path) -> None:
    with pytest.raises(
        IngestError, match=r"abort\.xlsx: the parser process died \(killed by SIGABRT\)"
    ) as err:
        parser.parse(*source(tmp_path, "abort.xlsx"))
    assert "need more than the parser's 256 MB of memory (DOCDUET_PARSE_MAX_MEMORY_MB)" in str(err.value)
    assert parser.parse(*source(tmp_path, "c.txt", "still here"))[0] == "still here"


def test_without_a_cap_the_worker_is_not_limited(tmp_path: Path) -> None:
    with IsolatedParser(Hungry(), timeout_s=60) as isolated:  # type: ignore[arg-type]
        _text, _pid, (soft, _hard) = isolated.parse(*source(tmp_path, "a.txt"))
    assert soft == resource.getrlimit(resource.RLIMIT_AS)[0]


def test_a_memory_cap_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_memory_mb"):
        IsolatedParser(Hungry(), timeout_s=5, max_memory_mb=0)  # type: ignore[arg-type]


def test_a_failure_after_spending_the_allowance_counts_as_out_of_memory() -> None:
    """libxml2 may report a capped allocation as XMLSyntaxError "unknown error": the peak tells."""
    from ingest.limits import peak_address_space, spent_allowance

    peak = peak_address_space()
    assert peak is not None
    mb = 1024 * 1024
    assert spent_allowance(peak + 10 * mb, peak - 1, 100)  # this file took the peak near the cap
    assert not spent_allowance(peak + 200 * mb, peak - 1, 100)  # far from the cap: a plain failure
    assert not spent_allowance(peak + 10 * mb, peak, 100)  # an earlier file's peak, not this one's
    assert not spent_allowance(None, peak - 1, 100)  # no cap, no guess
