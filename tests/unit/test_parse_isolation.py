"""IsolatedParser: a file that hangs or kills its parser fails alone; the run goes on.

The parsers here are small stand-ins (module-level, so the spawned worker can import them);
the worker process, its pipe, the time limit and the kill are real.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
import types
from pathlib import Path

import pytest
from fakes import written_source as source

from core.domain import SourceFile
from core.errors import IngestError
from ingest.isolation import IsolatedParser


class ScriptedParser:
    """Behaves by file name: hang, crash, bug, refuse; anything else parses to the bytes it is sent."""

    def parse(self, file: SourceFile, data: bytes) -> list[str]:
        name = file.path.name
        if name.startswith("hang"):
            time.sleep(600)
        if name.startswith("segv"):
            os.kill(os.getpid(), signal.SIGSEGV)
        if name.startswith("bug"):
            raise ZeroDivisionError("division by zero")
        if name.startswith("warn"):
            logging.getLogger("docduet.test.worker").warning("odd table in %s", name)
        if name.startswith("refuse"):
            raise IngestError(f"{file.source}: encrypted: save an unprotected copy")
        return [data.decode(), str(os.getpid())]


@pytest.fixture
def parser() -> IsolatedParser:
    with IsolatedParser(ScriptedParser(), timeout_s=3) as isolated:  # type: ignore[arg-type]
        yield isolated


def test_files_parse_in_one_worker_that_is_not_us(parser: IsolatedParser, tmp_path: Path) -> None:
    first = parser.parse(*source(tmp_path, "a.txt", "alpha"))
    second = parser.parse(*source(tmp_path, "b.txt", "beta"))
    assert [first[0], second[0]] == ["alpha", "beta"]
    assert first[1] == second[1] != str(os.getpid())


def test_a_hanging_file_is_stopped_at_the_limit_and_the_next_file_parses(
    parser: IsolatedParser, tmp_path: Path
) -> None:
    before = parser.parse(*source(tmp_path, "a.txt"))[1]
    started = time.monotonic()
    with pytest.raises(
        IngestError, match=r"hang\.pdf: parsing took longer than 3 s .*DOCDUET_PARSE_TIMEOUT_S"
    ):
        parser.parse(*source(tmp_path, "hang.pdf"))
    assert time.monotonic() - started < 30
    with pytest.raises(ProcessLookupError):
        os.kill(int(before), 0)  # the stuck worker was killed, not left behind
    after = parser.parse(*source(tmp_path, "b.txt", "next"))
    assert after[0] == "next" and after[1] != before


def test_a_crashing_parser_fails_that_file_only(parser: IsolatedParser, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"segv\.docx: the parser process died \(killed by SIGSEGV\)"):
        parser.parse(*source(tmp_path, "segv.docx"))
    assert parser.parse(*source(tmp_path, "c.txt", "still here"))[0] == "still here"


def test_parser_errors_come_back_with_their_message(parser: IsolatedParser, tmp_path: Path) -> None:
    refused, data = source(tmp_path, "refuse.pdf")
    with pytest.raises(IngestError) as err:
        parser.parse(refused, data)
    assert str(err.value) == f"{refused.source}: encrypted: save an unprotected copy"
    with pytest.raises(
        IngestError, match=r"bug\.txt: cannot be parsed \(ZeroDivisionError: division by zero\)"
    ):
        parser.parse(*source(tmp_path, "bug.txt"))
    worker = parser.parse(*source(tmp_path, "d.txt"))[1]
    assert parser.parse(*source(tmp_path, "e.txt"))[1] == worker  # errors do not cost the worker


def test_close_stops_the_worker(tmp_path: Path) -> None:
    isolated = IsolatedParser(ScriptedParser(), timeout_s=5)  # type: ignore[arg-type]
    pid = int(isolated.parse(*source(tmp_path, "a.txt"))[1])
    isolated.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    isolated.close()  # twice is fine


def test_a_time_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="timeout_s"):
        IsolatedParser(ScriptedParser(), timeout_s=0)  # type: ignore[arg-type]


class SlowStartParser(ScriptedParser):
    def warm_up(self) -> None:
        time.sleep(2)


class BrokenStartParser(ScriptedParser):
    def warm_up(self) -> None:
        raise RuntimeError("spaCy model missing")


def test_warm_up_is_not_counted_against_the_first_file(tmp_path: Path) -> None:
    with IsolatedParser(SlowStartParser(), timeout_s=1) as isolated:  # type: ignore[arg-type]
        assert isolated.parse(*source(tmp_path, "a.txt", "first"))[0] == "first"


def test_a_worker_that_cannot_start_says_why(tmp_path: Path) -> None:
    isolated = IsolatedParser(BrokenStartParser(), timeout_s=5)  # type: ignore[arg-type]
    with isolated, pytest.raises(IngestError, match="could not start: RuntimeError: spaCy model missing"):
        isolated.parse(*source(tmp_path, "a.txt"))


def test_worker_logs_reach_this_process_under_its_levels(
    parser: IsolatedParser, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        parser.parse(*source(tmp_path, "warn1.pdf"))
    (record,) = [r for r in caplog.records if r.name == "docduet.test.worker"]
    assert record.getMessage() == "odd table in warn1.pdf" and record.process != os.getpid()
    caplog.clear()
    logging.getLogger("docduet.test.worker").setLevel(logging.ERROR)
    try:
        parser.parse(*source(tmp_path, "warn2.pdf"))
    finally:
        logging.getLogger("docduet.test.worker").setLevel(logging.NOTSET)
    assert not [r for r in caplog.records if r.name == "docduet.test.worker"]


def test_a_worker_starts_while_the_web_chat_script_is_the_main_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host that runs ui/app.py in-process as ``__main__`` (Streamlit's AppTest) and reindexes.

    A spawned worker re-imports the main module's file; doing so must not start the web chat (it
    did: running tests/unit before the browser tests in one session failed every file there).
    """
    script = types.ModuleType("__main__")  # a script module installed as sys.modules["__main__"]
    script.__file__ = str(Path(__file__).resolve().parents[2] / "ui" / "app.py")
    monkeypatch.setitem(sys.modules, "__main__", script)
    with IsolatedParser(ScriptedParser(), timeout_s=60) as isolated:  # type: ignore[arg-type]
        assert isolated.parse(*source(tmp_path, "notes.txt", "gamma"))[0] == "gamma"
