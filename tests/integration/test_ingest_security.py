"""Issue #10, ingest side: the attacks, through the real parser worker, embedder and weaviate-server.

Nothing from outside the corpus is indexed or served; access declarations can only narrow; an
admin action never loses the index.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from index_parts import index_of
from tests_helpers import chunk_ids

from backends.weaviate import schema
from backends.weaviate.client import open_client
from core.domain import User
from core.errors import IngestError
from core.protocols import NullProgress
from core.settings import Settings
from docduet.compose import run_ingest, run_reindex
from ingest.sources import SourceRefusedError, read_source

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CAROL = User("carol", ("employees",))
HANNAH = User("hannah", ("employees", "hr"))


def small_corpus(tmp_path: Path, *folders: str) -> Path:
    """A copy of a few folders of corpora/ (with the top sidecar and ignore file)."""
    corpus = tmp_path / "corpus"
    for folder in folders:
        shutil.copytree(REPO / "corpora" / folder, corpus / folder)
    for name in ("_access.yaml", ".docduetignore", "README.md"):
        shutil.copy(REPO / "corpora" / name, corpus / name)
    return corpus


def chunks_of(settings: Settings, source: Path | str) -> list[dict[str, object]]:
    wanted = Path(source).as_posix()
    with open_client(settings, autostart=False) as client:
        return [
            dict(o.properties)
            for o in client.collections.use(settings.weaviate.collection).iterator()
            if o.properties["source"] == wanted
        ]


def ingest(settings: Settings, *paths: Path, **options: object) -> object:
    return run_ingest(settings, list(paths), progress=NullProgress(), **options)  # type: ignore[arg-type]


# --- 2. nothing from outside the corpus ---------------------------------------------------------


def test_links_fifos_and_devices_are_not_read_and_are_reported(settings: Settings, tmp_path: Path) -> None:
    corpus = small_corpus(tmp_path, "public")
    key = tmp_path / "secrets" / "weaviate.key"
    key.parent.mkdir()
    key.write_text("WEAVIATE-KEY-CANARY-7f3a\n")
    (corpus / "public" / "ops-notes.txt").symlink_to(key)
    (corpus / "public" / "environ.txt").symlink_to("/proc/self/environ")
    os.mkfifo(corpus / "public" / "queue.txt")  # a plain open() would block the run for ever

    summary = ingest(settings, corpus, Path("/dev/zero"))  # a device given by name never ends

    skipped = {Path(n.source).name: n.note for n in summary.skipped}  # type: ignore[attr-defined]
    assert set(skipped) == {"ops-notes.txt", "environ.txt", "queue.txt", "zero"}
    assert "outside the ingest root; not followed" in skipped["ops-notes.txt"]
    assert skipped["queue.txt"].startswith("a FIFO") and skipped["zero"].startswith("a character device")
    assert summary.failed == []  # type: ignore[attr-defined]
    indexed = chunk_ids(settings)
    assert {Path(s).name for s in indexed} == {"careers.md", "press-release-2025-02-series-b.html"}
    with open_client(settings, autostart=False) as client:
        texts = [
            str(o.properties["text"]) for o in client.collections.use(settings.weaviate.collection).iterator()
        ]
    assert not any("CANARY" in t or "OPENAI" in t for t in texts)


def test_a_file_over_the_size_limit_fails_with_its_reason(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(max_file_bytes=4000)
    corpus = small_corpus(tmp_path, "public")
    big = corpus / "public" / "annual-report.md"
    big.write_text("# Annual report\n\n" + "Revenue grew in every region. " * 200)
    summary = ingest(settings, corpus)
    [failure] = summary.failed  # type: ignore[attr-defined]
    assert failure.source == big.as_posix()
    assert "too large (6,017 bytes; the limit is 4,000 bytes, DOCDUET_MAX_FILE_BYTES)" in failure.reason
    assert len(summary.added) == 2  # type: ignore[attr-defined]


def test_the_corpus_description_is_not_indexed(settings: Settings, tmp_path: Path) -> None:
    corpus = small_corpus(tmp_path, "public")
    summary = ingest(settings, corpus)
    assert (corpus / "README.md").as_posix() not in chunk_ids(settings)
    assert summary.ignored == 1  # type: ignore[attr-defined]


# --- 3. access can only narrow ------------------------------------------------------------------


def test_front_matter_cannot_make_an_hr_document_public(settings: Settings, tmp_path: Path) -> None:
    corpus = small_corpus(tmp_path, "hr")
    leak = corpus / "hr" / "x.md"
    leak.write_text("---\nsensitivity: public\naccess_groups: [public]\n---\n# Pay\n\nBand 4 pays 80k.\n")
    summary = ingest(settings, corpus)
    chunks = chunks_of(settings, leak)
    assert chunks and all(c["sensitivity"] == "confidential" and c["access_groups"] == ["hr"] for c in chunks)
    refused = [n for n in summary.widening_refused if n.source == leak.as_posix()]  # type: ignore[attr-defined]
    assert {n.note.split(": ", 1)[1].split(" would")[0] for n in refused} == {
        "groups [public]",
        "sensitivity public",
    }


def test_a_subfolder_ingested_alone_keeps_its_parents_sidecar(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    corpus = small_corpus(tmp_path, "finance")
    settings = make_settings(corpus_root=corpus)  # sidecars above the ingest root are read from here
    forecast = corpus / "finance" / "2025" / "forecast.md"
    forecast.parent.mkdir()
    forecast.write_text("# Forecast\n\nProject Heron closes in Q3 at 41 million.\n")
    ingest(settings, corpus)
    before = chunk_ids(settings)[forecast.as_posix()]

    summary = ingest(settings, forecast.parent)  # finance/2025/ alone, below finance/_access.yaml

    assert summary.unchanged == [forecast.as_posix()] and summary.widened == []  # type: ignore[attr-defined]
    assert chunk_ids(settings)[forecast.as_posix()] == before
    assert all(c["access_groups"] == ["finance"] for c in chunks_of(settings, forecast))


def test_widening_an_indexed_document_is_reported(settings: Settings, tmp_path: Path) -> None:
    corpus = small_corpus(tmp_path, "finance")
    ingest(settings, corpus)
    sidecar = corpus / "finance" / "_access.yaml"
    sidecar.write_text("groups: [finance, board]\nsensitivity: confidential\n")
    summary = ingest(settings, corpus)
    assert len(summary.widened) == 2  # type: ignore[attr-defined]
    assert "access widened from [finance] confidential to [board, finance] confidential" in (
        summary.widened[0].note  # type: ignore[attr-defined]
    )


def test_a_narrowed_declaration_with_a_broken_file_removes_the_old_chunks(
    settings: Settings, tmp_path: Path
) -> None:
    corpus = small_corpus(tmp_path, "meetings")
    ingest(settings, corpus)
    review = corpus / "meetings" / "2025-04-02-operations-review.docx"
    assert chunks_of(settings, review), "indexed for employees first"
    sidecar = corpus / "meetings" / "_access.yaml"
    sidecar.write_text(
        sidecar.read_text()
        + '  "*-operations-review.docx": {groups: [leadership], sensitivity: confidential}\n'
    )
    review.write_bytes(b"PK\x03\x04 no longer a docx")

    summary = ingest(settings, corpus)

    [failure] = summary.failed  # type: ignore[attr-defined]
    assert failure.source == review.as_posix() and failure.kept_chunks == 0
    assert "now narrow" in failure.reason and "removed" in failure.reason
    assert chunks_of(settings, review) == []


# --- 5. the index is never lost by an admin action ----------------------------------------------


def test_full_reindex_with_a_missing_folder_is_refused(settings: Settings, tmp_path: Path) -> None:
    corpus = small_corpus(tmp_path, "public", "handbook")
    ingest(settings, corpus / "public", corpus / "handbook")
    before = chunk_ids(settings)
    with open_client(settings, autostart=False) as client:
        alias = schema.resolve_alias(client, settings.weaviate.collection)
    (corpus / "handbook").rename(tmp_path / "unmounted")

    with pytest.raises(IngestError, match=r"reindex --full refused: 1 \(.*/handbook\) no longer exist"):
        run_reindex(settings, progress=NullProgress(), full=True)

    with open_client(settings, autostart=False) as client:
        assert schema.resolve_alias(client, settings.weaviate.collection) == alias
        assert schema.orphans(client, settings.weaviate.collection) == []
    assert chunk_ids(settings) == before


def test_full_reindex_that_would_lose_a_good_version_is_not_swapped(
    settings: Settings, tmp_path: Path
) -> None:
    corpus = small_corpus(tmp_path, "meetings")
    ingest(settings, corpus)
    before = chunk_ids(settings)
    with open_client(settings, autostart=False) as client:
        alias = schema.resolve_alias(client, settings.weaviate.collection)
    (corpus / "meetings" / "2025-04-02-operations-review.docx").write_bytes(b"PK\x03\x04 broken")

    with pytest.raises(IngestError, match=r"refused: 1 \(.*operations-review\.docx\) failed"):
        run_reindex(settings, progress=NullProgress(), full=True)

    with open_client(settings, autostart=False) as client:
        assert schema.resolve_alias(client, settings.weaviate.collection) == alias
        assert schema.orphans(client, settings.weaviate.collection) == []
    assert chunk_ids(settings) == before


class HoldAtFirstFile(NullProgress):
    """Keeps a rebuild busy after its first file until the test lets it go."""

    def __init__(self) -> None:
        self.busy, self.release = threading.Event(), threading.Event()

    def advance(self, source: str, outcome: str) -> None:
        self.busy.set()
        self.release.wait(120)


def test_a_second_full_reindex_is_refused_by_the_lock(settings: Settings, tmp_path: Path) -> None:
    corpus = small_corpus(tmp_path, "public")
    ingest(settings, corpus)
    first = HoldAtFirstFile()
    outcome: list[object] = []
    worker = threading.Thread(
        target=lambda: outcome.append(run_reindex(settings, progress=first, full=True)), daemon=True
    )
    worker.start()
    try:
        assert first.busy.wait(300), "the first rebuild did not start"
        with pytest.raises(IngestError, match=r"another ingest or reindex of \w+ is running"):
            run_reindex(settings, progress=NullProgress(), full=True)
        with pytest.raises(IngestError, match="docduet reindex --full, since"):
            ingest(settings, corpus)
    finally:
        first.release.set()
        worker.join(300)
    assert len(outcome) == 1 and outcome[0].failed == []  # type: ignore[attr-defined]
    public = {f.as_posix() for f in (corpus / "public").glob("*.*") if f.name[0] != "_"}
    assert set(chunk_ids(settings)) == public


def test_an_empty_mount_point_is_refused_without_allow_empty(settings: Settings, tmp_path: Path) -> None:
    corpus = small_corpus(tmp_path, "public")
    share = corpus / "public"
    ingest(settings, share)
    before = chunk_ids(settings)
    for path in share.iterdir():  # what an unmounted share looks like: the folder, empty
        path.unlink()

    with pytest.raises(IngestError, match="nothing to ingest there now, but the index holds 2 documents"):
        ingest(settings, share)
    with pytest.raises(IngestError, match="--allow-empty"):
        run_reindex(settings, progress=NullProgress())
    assert chunk_ids(settings) == before

    summary = ingest(settings, share, allow_empty=True)
    assert len(summary.deleted) == 2 and chunk_ids(settings) == {}  # type: ignore[attr-defined]


# --- 2. "Download source" ------------------------------------------------------------------------


def test_download_serves_only_the_indexed_file_to_its_readers(settings: Settings, tmp_path: Path) -> None:
    corpus = small_corpus(tmp_path, "hr", "handbook")
    ingest(settings, corpus)
    salaries = (corpus / "hr" / "salary-bands-2025.xlsx").as_posix()
    handbook = (corpus / "handbook" / "employee-handbook.md").as_posix()
    with open_client(settings, autostart=False) as client:
        index = index_of(client, settings)
        assert read_source(index, settings, salaries, HANNAH) == Path(salaries).read_bytes()
        assert read_source(index, settings, handbook, CAROL) == Path(handbook).read_bytes()
        with pytest.raises(SourceRefusedError, match="not among the indexed documents you may read"):
            read_source(index, settings, salaries, CAROL)
        with pytest.raises(SourceRefusedError, match="not among the indexed documents"):
            read_source(index, settings, "/proc/self/environ", HANNAH)

        (corpus / "hr" / "_access.yaml").write_text("groups: [payroll]\nsensitivity: confidential\n")
        with pytest.raises(SourceRefusedError, match="declarations no longer let you read it"):
            read_source(index, settings, salaries, HANNAH)  # narrowed, not re-ingested yet

        Path(handbook).unlink()
        Path(handbook).symlink_to("/proc/self/environ")
        with pytest.raises(SourceRefusedError, match="replaced by a link"):
            read_source(index, settings, handbook, CAROL)
