"""The pure decisions behind issue #10's guards: empty roots, fail-closed removal, widenings, swaps."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.weaviate.chunks import IndexedDoc
from core.domain import Access, Sensitivity, SourceFile
from core.errors import IngestError
from ingest.discover import Scan
from ingest.pipeline import Plan, _must_not_keep, _note_access, _refuse_emptied
from ingest.reindex import _refuse_losses
from ingest.summary import Failure, IngestSummary

STAFF = Access(("employees",), Sensitivity.INTERNAL)
HR = Access(("hr",), Sensitivity.CONFIDENTIAL)


def indexed(source: str, *accesses: Access) -> IndexedDoc:
    doc = IndexedDoc(source=source, root="/share")
    doc.present["h"] = {0, 1}
    doc.expected["h"] = 2
    doc.accesses.update(accesses)
    return doc


def plan(action: str, access: Access | None, **kw: object) -> Plan:
    return Plan(SourceFile(Path("/share/a.docx"), Path("/share")), action, access, **kw)  # type: ignore[arg-type]


def test_an_emptied_root_with_indexed_documents_is_refused() -> None:
    before = {"/share/a.docx": indexed("/share/a.docx", STAFF), "/other/b.md": indexed("/other/b.md")}
    with pytest.raises(IngestError, match=r"/share: .* the index holds 1 documents from it"):
        _refuse_emptied([Path("/share")], Scan([], {}), before)
    _refuse_emptied([Path("/share")], Scan([SourceFile(Path("/share/c.md"), Path("/share"))], {}), before)
    _refuse_emptied([Path("/new")], Scan([], {}), before)  # nothing indexed there: nothing to lose
    _refuse_emptied([Path("/sha")], Scan([], {}), before)  # a prefix of a name is not a folder above it


def test_a_failed_file_keeps_its_chunks_only_when_access_did_not_narrow() -> None:
    doc = indexed("/share/a.docx", STAFF)
    assert not _must_not_keep(plan("failed", STAFF), doc)
    assert not _must_not_keep(plan("failed", Access(("employees", "board"), Sensitivity.INTERNAL)), doc)
    assert _must_not_keep(plan("failed", HR), doc)  # narrowed: the old, wider chunks must go
    assert _must_not_keep(plan("failed", None, access_unknown=True), doc)
    assert _must_not_keep(
        plan("failed", STAFF), indexed("/share/a.docx", STAFF, Access(("x",), Sensitivity.PUBLIC))
    )


def test_widened_access_and_refusals_are_noted() -> None:
    summary = IngestSummary()
    _note_access(
        plan("updated", Access(("employees", "hr"), Sensitivity.INTERNAL)), indexed("s", HR), summary
    )
    [widened] = summary.widened
    assert widened.note.startswith("access widened from [hr] confidential to [employees, hr] internal")
    _note_access(
        plan(
            "updated",
            Access(("employees",), Sensitivity.CONFIDENTIAL),
            refused=("x: sensitivity public would widen",),
        ),
        indexed("s", STAFF),
        summary,
    )
    assert len(summary.widened) == 1 and [n.note for n in summary.widening_refused] == [
        "x: sensitivity public would widen"
    ]


def test_a_rebuild_that_would_lose_a_good_version_is_refused() -> None:
    previous = {"/share/a.docx": indexed("/share/a.docx", STAFF)}
    kept = IngestSummary(failed=[Failure("/share/a.docx", "corrupt .docx", kept_chunks=2)])
    with pytest.raises(IngestError, match=r"refused: 1 \(/share/a\.docx\) failed.*corrupt \.docx"):
        _refuse_losses(kept, previous)
    _refuse_losses(IngestSummary(failed=[Failure("/share/a.docx", "removed", kept_chunks=0)]), previous)
    _refuse_losses(IngestSummary(failed=[Failure("/share/new.docx", "corrupt", kept_chunks=0)]), previous)
