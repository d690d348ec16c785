"""The ingest pipeline reads each file once (issue #21, items 1 and 7), against the in-memory index.

The same attacks run through the real parser worker and weaviate-server in
tests/integration/test_ingest_race.py; here they take milliseconds (tests/fakes.py's parser and
embedder). The attacker owns ``public/sub`` and swaps it for a link to ``../hr`` (tests/swaps.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fakes import HashingEmbedder, PlainTextParser
from swaps import Attacker, strike_before_call, swap_for_link

from backends.memory import MemoryChunkIndex
from core.domain import ANONYMOUS, SourceFile
from core.protocols import NullProgress, Parsed, ProgressSink
from core.settings import Settings
from ingest.pipeline import Ingestor
from ingest.sources import SourceRefusedError, read_source
from ingest.summary import IngestSummary

HR = "HR only: the salary band midpoint is 78,000 pounds."
DECOY = "Lunch menu: soup on Monday."


def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    for folder, access in (
        ("hr", "groups: [hr]\nsensitivity: confidential\n"),
        ("public", "groups: [public]\nsensitivity: public\n"),
    ):
        (root / folder).mkdir(parents=True)
        (root / folder / "_access.yaml").write_text(access)
    (root / "hr" / "salary.md").write_text(f"# Salary\n\n{HR}\n")
    (root / "public" / "sub").mkdir()
    (root / "public" / "sub" / "salary.md").write_text(f"# Salary\n\n{DECOY}\n")
    return root


def ingest(
    root: Path, index: MemoryChunkIndex, parser: Any = None, progress: ProgressSink | None = None
) -> IngestSummary:
    embedder = HashingEmbedder()
    index.ensure(embedding_model=embedder.name, dim=embedder.dim)
    settings = Settings(data_dir=root.parent / "data", corpus_root=root)
    return Ingestor(index, parser or PlainTextParser(), embedder, settings, progress).run([root])


def public_texts(index: MemoryChunkIndex) -> list[str]:
    return [c.text for c in index.chunks() if "public" in c.access.groups]


class SwapsBeforeParsing(PlainTextParser):
    """Parses what it is given; the attacker strikes as the decoy is handed over (after its read)."""

    def __init__(self, attacker: Attacker) -> None:
        super().__init__()
        self.attacker = attacker

    def parse(self, file: SourceFile, *data: bytes) -> Parsed:  # (file) on 7883fd7
        if "public" in file.path.parts:
            self.attacker.strike()
        return super().parse(file, *data)


class StrikesAfterTheScan(NullProgress):
    def __init__(self, attacker: Attacker) -> None:
        self.attacker = attacker

    def start(self, total: int, description: str) -> None:
        self.attacker.strike()


def test_a_swap_after_the_read_parses_the_bytes_read(tmp_path: Path) -> None:
    root, index = corpus(tmp_path), MemoryChunkIndex()
    attacker = Attacker(lambda: swap_for_link(root / "public" / "sub", root / "hr"))
    summary = ingest(root, index, SwapsBeforeParsing(attacker))
    assert attacker.struck and summary.failed == []
    assert any(DECOY in t for t in public_texts(index)) and not any(HR in t for t in public_texts(index))


def test_a_swap_between_the_scan_and_the_read_fails_that_file(tmp_path: Path) -> None:
    root, index = corpus(tmp_path), MemoryChunkIndex()
    attacker = Attacker(lambda: swap_for_link(root / "public" / "sub", root / "hr"))
    summary = ingest(root, index, progress=StrikesAfterTheScan(attacker))
    [failure] = summary.failed
    assert failure.source.endswith("public/sub/salary.md") and "is a symbolic link" in failure.reason
    assert not any(HR in t for t in public_texts(index))
    attacker.result()  # the decoy is back: read afresh, not "unchanged"
    again = ingest(root, index)
    assert again.added == [failure.source] and again.unchanged == [(root / "hr" / "salary.md").as_posix()]


def test_a_hard_link_fails_under_each_name_and_loses_its_chunks(tmp_path: Path) -> None:
    root, index = corpus(tmp_path), MemoryChunkIndex()
    salary = root / "hr" / "salary.md"
    ingest(root, index)
    assert salary.as_posix() in index.snapshot()
    os.link(salary, root / "public" / "pay.md")
    summary = ingest(root, index)
    failures = {Path(f.source).name: f for f in summary.failed}
    assert set(failures) == {"salary.md", "pay.md"}
    assert all(
        "has 2 hard links; docduet cannot tell which folder's access applies" in f.reason
        for f in failures.values()
    )
    assert failures["salary.md"].kept_chunks == 0 and "removed" in failures["salary.md"].reason
    assert salary.as_posix() not in index.snapshot() and not any(HR in t for t in public_texts(index))


def test_a_download_never_serves_the_target_of_a_folder_flipped_mid_request(tmp_path: Path) -> None:
    root, index = corpus(tmp_path), MemoryChunkIndex()
    ingest(root, index)
    decoy = (root / "public" / "sub" / "salary.md").as_posix()
    settings = Settings(data_dir=tmp_path / "data", corpus_root=root)
    with strike_before_call(None, 0) as seen:
        assert DECOY.encode() in read_source(index, settings, decoy, ANONYMOUS)
    outcomes: set[str] = set()
    for nth in range(len(seen) + 1):  # a flip before each file-system call of the request
        attacker = Attacker(lambda: swap_for_link(root / "public" / "sub", root / "hr"))
        try:
            with strike_before_call(attacker, nth):
                served = read_source(index, settings, decoy, ANONYMOUS)
            outcomes.add("served")
        except SourceRefusedError as e:
            served = b""
            outcomes.add(f"refused: {e}")
        finally:
            if attacker.struck:
                attacker.result()  # flipped back for the next try
        assert HR.encode() not in served, f"the HR file was served with a flip before call {nth}"
    assert "served" in outcomes and any(o.startswith("refused") for o in outcomes), outcomes
