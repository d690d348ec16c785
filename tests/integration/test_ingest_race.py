"""Issue #21, items 1, 2 and 7: swaps between two looks, and hard links, through the real stack.

The attacker owns ``public/sub``: a decoy named like the HR salary file sits there, and a second
thread (tests/swaps.py) swaps ``sub`` for a link to ``../hr`` at the moment a hook chooses. The
real parser worker, embedder and weaviate-server index what docduet read; an anonymous user then
searches. Nothing of the HR file may be indexed as public or retrieved, at any moment of the swap.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from index_parts import index_of, retriever_of
from swaps import Attacker, strike_before_call, swap_for_link
from test_ingest_security import chunks_of, small_corpus

from backends.weaviate.client import open_client
from core.domain import ANONYMOUS, SourceFile
from core.protocols import NullProgress, ProgressSink
from core.settings import Settings
from docduet.compose import build_embedder, build_parser, open_index, run_ingest
from ingest.pipeline import Ingestor
from ingest.sources import SourceRefusedError, read_source

pytestmark = pytest.mark.integration

HR_TEXT = "Engineering Director"  # a row of corpora/hr/salary-bands-2025.xlsx
DECOY_TEXT = "Canteen lunch menu"
NAME = "salary-bands-2025.xlsx"
QUERY = "salary band midpoint Engineering Director Principal Engineer"
REFUSALS = (
    "symbolic link",  # the walk met the link
    "no longer inside the folder",  # the path check met it
    "no longer let you read it",  # the sidecars were read through it: hr's, narrower
)


def attack_corpus(tmp_path: Path) -> Path:
    """hr/ and public/ of corpora/, and the attacker's decoy at public/sub/<the HR file's name>."""
    from openpyxl import Workbook

    corpus = small_corpus(tmp_path, "hr", "public")
    (corpus / "public" / "sub").mkdir()
    book = Workbook()
    sheet = book.active
    sheet.append([DECOY_TEXT, "Day"])
    sheet.append(["Soup and bread", "Monday"])
    book.save(corpus / "public" / "sub" / NAME)
    return corpus


def ingest(settings: Settings, corpus: Path, progress: ProgressSink | None = None) -> Any:
    return run_ingest(settings, [corpus], progress=progress or NullProgress())


def attacker_for(corpus: Path) -> Attacker:
    return Attacker(lambda: swap_for_link(corpus / "public" / "sub", corpus / "hr"))


def public_texts(settings: Settings) -> list[str]:
    """The text of every chunk an anonymous visitor's group may read, straight from Weaviate."""
    with open_client(settings, autostart=False) as client:
        return [
            str(o.properties["text"])
            for o in client.collections.use(settings.weaviate.collection).iterator()
            if "public" in (o.properties["access_groups"] or [])  # type: ignore[operator]
        ]


def anonymous_hits(settings: Settings) -> list[str]:
    with open_client(settings, autostart=False) as client:
        everything = settings.replace(score_threshold=-1.0)  # every hit, however weak
        hits = retriever_of(client, everything).retrieve(QUERY, user=ANONYMOUS, top_k=10)
    return [h.chunk.text for h in hits]


def assert_no_leak(settings: Settings) -> None:
    assert not any(HR_TEXT in text for text in public_texts(settings)), "HR rows indexed as public"
    hits = anonymous_hits(settings)
    assert hits and not any(HR_TEXT in text for text in hits), "HR rows retrieved anonymously"


class SwapsBeforeParsing:
    """The real parser; the attacker strikes as the decoy is handed to it, after it was read."""

    def __init__(self, inner: Any, attacker: Attacker) -> None:
        self.inner, self.attacker = inner, attacker
        self.suffixes = inner.suffixes

    def parse(self, file: SourceFile, *data: bytes) -> Any:  # (file) on 7883fd7, (file, data) now
        if file.path.name == NAME and "public" in file.path.parts:
            self.attacker.strike()
        return self.inner.parse(file, *data)


class StrikesAfterTheScan(NullProgress):
    """Progress that lets the attacker strike when the run starts: the scan is done, nothing parsed."""

    def __init__(self, attacker: Attacker) -> None:
        self.attacker = attacker

    def start(self, total: int, description: str) -> None:
        self.attacker.strike()


def test_a_folder_swapped_after_the_decoy_was_read_leaks_nothing(settings: Settings, tmp_path: Path) -> None:
    corpus = attack_corpus(tmp_path)
    attacker = attacker_for(corpus)
    embedder = build_embedder(settings)
    with open_index(settings) as connection:
        connection.index.ensure(embedding_model=embedder.name, dim=embedder.dim)
        parser = SwapsBeforeParsing(build_parser(settings), attacker)
        Ingestor(connection.index, parser, embedder, settings).run([corpus])
    assert attacker.struck
    decoy = corpus / "public" / "sub" / NAME
    texts = [str(c["text"]) for c in chunks_of(settings, decoy)]
    assert texts and all(HR_TEXT not in t for t in texts) and any(DECOY_TEXT in t for t in texts)
    assert_no_leak(settings)

    attacker.result()  # the attacker puts the decoy back: the index must not keep anything of HR
    again = ingest(settings, corpus)
    assert decoy.as_posix() in again.unchanged  # the decoy, as it was indexed
    assert_no_leak(settings)


def test_a_folder_swapped_between_the_scan_and_the_read_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    corpus = attack_corpus(tmp_path)
    attacker = attacker_for(corpus)
    summary = ingest(settings, corpus, StrikesAfterTheScan(attacker))
    assert attacker.struck
    decoy = (corpus / "public" / "sub" / NAME).as_posix()
    [failure] = summary.failed
    assert failure.source == decoy and "public/sub on its path is a symbolic link" in failure.reason
    assert "re-run" in failure.reason and chunks_of(settings, decoy) == []
    assert_no_leak(settings)

    attacker.result()  # the decoy is back: a re-run reads it afresh, it is not "unchanged"
    again = ingest(settings, corpus)
    assert decoy in again.added and decoy not in again.unchanged
    assert_no_leak(settings)


def test_a_hard_link_to_an_hr_file_is_refused_and_its_chunks_removed(
    settings: Settings, tmp_path: Path
) -> None:
    corpus = small_corpus(tmp_path, "hr", "public")
    ingest(settings, corpus)
    salaries = corpus / "hr" / NAME
    assert chunks_of(settings, salaries), "indexed for hr first"
    link = corpus / "public" / "pay.xlsx"
    os.link(salaries, link)  # the attacker can read the HR file and write to public/

    summary = ingest(settings, corpus)

    failures = {f.source: f for f in summary.failed}
    assert set(failures) == {salaries.as_posix(), link.as_posix()}
    for failure in failures.values():
        assert "has 2 hard links; docduet cannot tell which folder's access applies; copy it instead" in (
            failure.reason
        )
    assert (
        failures[salaries.as_posix()].kept_chunks == 0 and "removed" in failures[salaries.as_posix()].reason
    )
    assert chunks_of(settings, link) == [] and chunks_of(settings, salaries) == []
    assert_no_leak(settings)


def test_a_download_never_serves_the_target_of_a_folder_flipped_mid_request(
    settings: Settings, tmp_path: Path
) -> None:
    corpus = attack_corpus(tmp_path)
    ingest(settings, corpus)
    decoy = corpus / "public" / "sub" / NAME
    decoy_bytes, hr_bytes = decoy.read_bytes(), (corpus / "hr" / NAME).read_bytes()
    with open_client(settings, autostart=False) as client:
        index = index_of(client, settings)

        def serve() -> bytes:
            return read_source(index, settings, decoy.as_posix(), ANONYMOUS)

        with strike_before_call(None, 0) as seen:
            assert serve() == decoy_bytes
        refused = 0
        for nth in range(len(seen) + 1):  # a flip before each file-system call of the request
            attacker = attacker_for(corpus)
            try:
                with strike_before_call(attacker, nth):
                    served = serve()
            except SourceRefusedError as e:
                assert any(why in str(e) for why in REFUSALS), e
                served, refused = b"", refused + 1
            finally:
                if attacker.struck:
                    attacker.result()  # flipped back for the next try
            assert served != hr_bytes, f"the HR file was served with a flip before call {nth}"
            assert served in (decoy_bytes, b"")
    assert refused >= 1
