"""Ingestion through the real weaviate-server, the real parser and the real embedding model."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
import weaviate
from eval_data import eval_set_path
from tests_helpers import chunk_ids

from backends.weaviate import schema
from backends.weaviate.chunks import ChunkStore
from backends.weaviate.client import open_client
from core.errors import BackendUnavailableError
from core.protocols import NullProgress
from core.settings import Settings
from docduet.compose import run_ingest, run_reindex
from ingest.discover import discover

pytestmark = pytest.mark.integration

EDGE = eval_set_path("formats") / "edge"
BROKEN = ("password.pdf", "empty.txt", "password_protected.xlsx", "failure-after-repair.pdf")


def fetch_chunks(settings: Settings, source_suffix: str) -> list[dict[str, object]]:
    with open_client(settings, autostart=False) as client:
        return [
            dict(o.properties)
            for o in client.collections.use(settings.weaviate.collection).iterator()
            if str(o.properties["source"]).endswith(source_suffix)
        ]


def first_markdown_document(corpus: Path) -> Path:
    """The first Markdown file ingestion reads (corpora/README.md is left out by .docduetignore)."""
    return next(f.path for f in discover([corpus]) if f.suffix == ".md")


class StopAfter(NullProgress):
    """Interrupts the run after ``n`` files, the way Ctrl-C or a dying server would."""

    def __init__(self, n: int, action: object) -> None:
        self.n, self.seen, self.action = n, 0, action

    def advance(self, source: str, outcome: str) -> None:
        self.seen += 1
        if self.seen == self.n:
            self.action()  # type: ignore[operator]


def test_ingest_corpus_indexes_every_file_with_metadata(index_settings, corpus):
    summary = run_ingest(index_settings, [corpus], progress=NullProgress())
    files = discover([corpus])
    assert summary.failed == []
    assert sorted(summary.added) == sorted(f.source for f in files)
    ids = chunk_ids(index_settings)
    assert set(ids) == {f.source for f in files}
    assert summary.total_chunks == sum(len(v) for v in ids.values()) == summary.chunks
    hr = [c for f in files if "/hr/" in f.source for c in fetch_chunks(index_settings, f.source)]
    assert hr, "the corpus has HR documents"
    assert all(c["sensitivity"] == "confidential" and "hr" in c["access_groups"] for c in hr)
    assert all("employees" not in c["access_groups"] for c in hr)
    for chunk in fetch_chunks(index_settings, ".pdf"):
        assert isinstance(chunk["page"], int) and chunk["page"] >= 1
    assert all(c["title"] and c["text"] and c["content_hash"] for c in fetch_chunks(index_settings, ""))


def test_second_run_reports_zero_changes(index_settings, corpus):
    run_ingest(index_settings, [corpus], progress=NullProgress())
    before = chunk_ids(index_settings)
    again = run_ingest(index_settings, [corpus], progress=NullProgress())
    assert (again.changed, again.chunks, len(again.failed)) == (0, 0, 0)
    assert len(again.unchanged) == len(before)
    assert chunk_ids(index_settings) == before


def test_editing_one_file_replaces_only_its_chunks(index_settings, corpus):
    run_ingest(index_settings, [corpus], progress=NullProgress())
    before = chunk_ids(index_settings)
    target = first_markdown_document(corpus)
    target.write_text(target.read_text() + "\n\n## Late addition\n\nThe cafeteria opens at 7:45.\n")
    summary = run_ingest(index_settings, [corpus], progress=NullProgress())
    source = target.resolve().as_posix()
    assert summary.updated == [source] and summary.added == [] and summary.deleted == []
    after = chunk_ids(index_settings)
    assert after[source].isdisjoint(before[source])
    assert {s: v for s, v in after.items() if s != source} == {
        s: v for s, v in before.items() if s != source
    }
    assert any("7:45" in str(c["text"]) for c in fetch_chunks(index_settings, target.name))


def test_deleted_file_loses_its_chunks(index_settings, corpus):
    run_ingest(index_settings, [corpus], progress=NullProgress())
    victim = sorted(corpus.rglob("*.txt"))[0]
    victim.unlink()
    summary = run_ingest(index_settings, [corpus], progress=NullProgress())
    assert summary.deleted == [victim.resolve().as_posix()]
    assert victim.resolve().as_posix() not in chunk_ids(index_settings)


@pytest.mark.eval_data("formats")
def test_broken_files_are_reported_and_the_rest_is_ingested(index_settings, corpus):
    for name in BROKEN:
        shutil.copy(EDGE / name, corpus / name)
    summary = run_ingest(index_settings, [corpus], progress=NullProgress())
    failed = {Path(f.source).name: f.reason for f in summary.failed}
    assert set(failed) == set(BROKEN), failed
    assert all(reason for reason in failed.values())
    assert "encrypt" in failed["password.pdf"].lower() or "password" in failed["password.pdf"].lower()
    assert summary.exit_code == 1
    good = {f.source for f in discover([corpus])} - {(corpus / n).resolve().as_posix() for n in BROKEN}
    assert set(chunk_ids(index_settings)) == good


def test_ctrl_c_at_any_file_then_rerun_ends_with_exact_chunks(index_settings, corpus, reference_ids):
    def interrupt() -> None:
        raise KeyboardInterrupt

    for stop_at in (1, 4):
        with pytest.raises(KeyboardInterrupt):
            run_ingest(index_settings, [corpus], progress=StopAfter(stop_at, interrupt))
    run_ingest(index_settings, [corpus], progress=NullProgress())
    assert chunk_ids(index_settings) == reference_ids


def test_interrupt_between_write_and_prune_then_rerun_is_exact(
    index_settings, corpus, reference_ids, monkeypatch
):
    run_ingest(index_settings, [corpus], progress=NullProgress())
    target = first_markdown_document(corpus)
    original = target.read_text()
    target.write_text(original + "\n\nA temporary paragraph.\n")
    calls = {"n": 0}
    real_prune = ChunkStore.prune

    def dying_prune(self, *a, **kw):  # the new version is written, the old not yet pruned
        calls["n"] += 1
        raise BackendUnavailableError("simulated crash before prune")

    monkeypatch.setattr(ChunkStore, "prune", dying_prune)
    with pytest.raises(BackendUnavailableError):
        run_ingest(index_settings, [corpus], progress=NullProgress())
    monkeypatch.setattr(ChunkStore, "prune", real_prune)
    assert calls["n"] == 1
    target.write_text(original)  # back to the reference content
    run_ingest(index_settings, [corpus], progress=NullProgress())
    assert chunk_ids(index_settings) == reference_ids


def test_weaviate_killed_mid_ingest_then_restart_and_rerun(private_server, corpus, reference_ids):
    settings, server = private_server
    with pytest.raises(BackendUnavailableError):
        run_ingest(settings, [corpus], progress=StopAfter(3, server.kill))
    server.start()
    run_ingest(settings, [corpus], progress=NullProgress())
    assert chunk_ids(settings) == reference_ids


def test_full_reindex_swaps_alias_while_queries_keep_answering(index_settings, corpus):
    run_ingest(index_settings, [corpus], progress=NullProgress())
    total = chunk_ids(index_settings)
    with open_client(index_settings, autostart=False) as client:
        before = schema.resolve_alias(client, index_settings.weaviate.collection)
    counts: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def query_until_done() -> None:
        with open_client(index_settings, autostart=False) as client:
            chunks = client.collections.use(index_settings.weaviate.collection)
            for _ in range(10_000):  # bounded; stops when the rebuild is done
                try:
                    counts.append(len(chunks.query.bm25("office", limit=5).objects))
                    counts.append(len(chunks.query.fetch_objects(limit=5).objects))
                except weaviate.exceptions.WeaviateBaseError as e:
                    errors.append(e)
                if done.wait(0.05):
                    return

    reader = threading.Thread(target=query_until_done)
    reader.start()
    try:
        summary = run_reindex(index_settings, progress=NullProgress(), full=True)
    finally:
        done.set()
        reader.join(timeout=30)
    with open_client(index_settings, autostart=False) as client:
        after = schema.resolve_alias(client, index_settings.weaviate.collection)
        assert not client.collections.exists(before)
    assert after != before and summary.failed == []
    assert errors == [] and counts and min(counts) > 0
    assert chunk_ids(index_settings) == total


def test_broken_access_declaration_fails_closed(index_settings, corpus):
    run_ingest(index_settings, [corpus], progress=NullProgress())
    sidecar = corpus / "hr" / "_access.yaml"
    good = sidecar.read_text()
    sidecar.write_text(good.replace("confidential", "confidental"))  # an admin's typo
    summary = run_ingest(index_settings, [corpus], progress=NullProgress())
    hr_sources = {f.source for f in discover([corpus / "hr"])}
    assert {f.source for f in summary.failed} == hr_sources
    assert all(f.kept_chunks == 0 and "removed" in f.reason for f in summary.failed)
    assert hr_sources.isdisjoint(chunk_ids(index_settings))
    sidecar.write_text(good)
    fixed = run_ingest(index_settings, [corpus], progress=NullProgress())
    assert set(fixed.added) == hr_sources and fixed.failed == []


def test_file_that_turns_corrupt_keeps_its_earlier_chunks(index_settings, corpus):
    run_ingest(index_settings, [corpus], progress=NullProgress())
    victim = next(iter(sorted(corpus.rglob("*.docx"))))
    before = chunk_ids(index_settings)[victim.resolve().as_posix()]
    victim.write_bytes(b"PK\x03\x04 this is not a docx any more")
    summary = run_ingest(index_settings, [corpus], progress=NullProgress())
    (failure,) = summary.failed
    assert failure.source == victim.resolve().as_posix() and failure.kept_chunks == len(before)
    assert chunk_ids(index_settings)[failure.source] == before
