"""The sample corpus (corpora/) and the adversarial fixtures are consistent and up to date.

Access is computed with the real resolver (ingest.access) so these tests also catch sidecars that
ingestion would read differently from what corpora/README.md and .questions.yaml claim.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from core.domain import ANONYMOUS, PUBLIC_GROUP, Access, Sensitivity, SourceFile, User
from core.identity import UserDirectory
from ingest.access import resolve_access
from ingest.discover import ACCESS_SIDECAR, discover, is_supported

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpora"
ADVERSARIAL = ROOT / "tests" / "fixtures" / "adversarial"
SCRIPT = ROOT / "scripts" / "make_corpora.py"
NOT_DOCUMENTS = {ACCESS_SIDECAR, "users.yaml"}
SIDECAR_KEYS = {"groups", "sensitivity", "files", "allow_override"}
ANONYMOUS_NAME = "anonymous"
# Two different defaults: a document whose access changes between them relies on the default.
DEFAULTS = (
    Access(groups=("employees",), sensitivity=Sensitivity.INTERNAL),
    Access(groups=("nobody",), sensitivity=Sensitivity.CONFIDENTIAL),
)


def _visible_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            yield path


def _access(file: SourceFile) -> Access:
    first, second = (resolve_access(file, default=default) for default in DEFAULTS)
    assert first == second, f"{file.source}: access depends on the default; declare it"
    return first


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_corpora", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def documents() -> dict[str, Access]:
    """Every document ingestion would pick up, by path relative to corpora/, with its access."""
    return {f.path.relative_to(CORPUS.resolve()).as_posix(): _access(f) for f in discover([CORPUS])}


@pytest.fixture(scope="module")
def users() -> dict[str, User]:
    """The demo users, read by the real users-file parser."""
    directory = UserDirectory.from_file(CORPUS / "users.yaml")
    return {name: directory.resolve(name) for name in directory.names()}


def _readers(access: Access, users: dict[str, User]) -> list[str]:
    everyone = {ANONYMOUS_NAME: ANONYMOUS, **users}
    return [n for n, user in everyone.items() if set(access.groups) & set(user.readable_groups)]


# --- generated documents -------------------------------------------------------------------------


def test_generated_documents_match_their_sources() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr


def test_check_reports_an_edited_and_an_orphaned_document(tmp_path: Path) -> None:
    make_corpora = _load_script()
    corpus = tmp_path / "corpora"
    shutil.copytree(CORPUS, corpus)
    (corpus / "policies" / "travel-and-expense-policy.pdf").write_bytes(b"%PDF-1.4 edited")
    shutil.copy(corpus / "hr" / "salary-bands-2025.xlsx", corpus / "hr" / "orphan.xlsx")
    problems = make_corpora.differences(corpus)
    assert problems == [
        "differs: policies/travel-and-expense-policy.pdf",
        f"no source in {make_corpora.SOURCES}/: hr/orphan.xlsx",
    ]


def test_zips_compressed_differently_count_as_the_same_document() -> None:
    make_corpora = _load_script()
    import io
    import zipfile

    original = (CORPUS / "reference" / "expense-limits.xlsx").read_bytes()

    def rewrite(edit: bytes) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(original)) as src, zipfile.ZipFile(out, "w") as dst:
            for info in src.infolist():
                data = src.read(info) + (edit if info.filename == "docProps/core.xml" else b"")
                dst.writestr(info, data, compress_type=zipfile.ZIP_STORED)
        return out.getvalue()

    assert rewrite(b"") != original
    assert make_corpora.same_document(rewrite(b""), original)
    assert not make_corpora.same_document(rewrite(b" "), original)
    assert not make_corpora.same_document(b"not a zip", original)


# --- files and access ----------------------------------------------------------------------------


def test_every_file_is_a_supported_document_or_a_known_metadata_file() -> None:
    unsupported = [
        p.relative_to(CORPUS).as_posix()
        for p in _visible_files(CORPUS)
        if p.name not in NOT_DOCUMENTS and not is_supported(p)
    ]
    assert unsupported == []


def test_corpus_size_and_formats(documents: dict[str, Access]) -> None:
    suffixes = {Path(name).suffix for name in documents}
    assert 15 <= len(documents) <= 25
    assert {".md", ".txt", ".html", ".docx", ".pdf", ".pptx", ".xlsx", ".eml"} <= suffixes
    total = sum(p.stat().st_size for p in _visible_files(CORPUS))
    assert total < 500_000, f"corpus is {total} bytes; keep it to a few hundred KB"


def _sidecar_folders(root: Path) -> set[Path]:
    return {p.parent for p in _visible_files(root) if p.name not in NOT_DOCUMENTS}


@pytest.mark.parametrize("root", [CORPUS, ADVERSARIAL], ids=["corpora", "adversarial"])
def test_every_document_folder_has_a_valid_sidecar(root: Path) -> None:
    for folder in sorted(_sidecar_folders(root)):
        path = folder / ACCESS_SIDECAR
        assert path.is_file(), f"{folder}: add an {ACCESS_SIDECAR}"
        data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert set(data) <= SIDECAR_KEYS, path
        declarations = [data, *(data.get("files") or {}).values()]
        for declaration in declarations:  # here both keys are always declared, never inherited
            Sensitivity(declaration["sensitivity"])  # raises on an unknown value
            groups = declaration["groups"]
            assert groups and all(isinstance(g, str) for g in groups), path
        names = [p.name for p in folder.iterdir()]
        relative = [p.relative_to(folder).as_posix() for p in folder.rglob("*")]
        for pattern in data.get("files") or {}:
            candidates = relative if "/" in pattern else names
            assert any(fnmatch.fnmatchcase(n, pattern) for n in candidates), (
                f"{path}: {pattern} matches nothing"
            )


def test_restricted_confidential_and_public_documents_exist(documents: dict[str, Access]) -> None:
    confidential = {
        name
        for name, access in documents.items()
        if access.sensitivity is Sensitivity.CONFIDENTIAL and "employees" not in access.groups
    }
    public = {n for n, a in documents.items() if a.sensitivity is Sensitivity.PUBLIC}
    assert {Path(n).parts[0] for n in confidential} >= {"hr", "finance"}
    assert "meetings/2025-01-22-leadership-offsite-notes.md" in confidential  # file pattern
    assert "it/admin/backup-and-restore-runbook.md" in confidential  # nested folder
    assert "public/careers.md" in public and "public/press-release-2025-02-series-b.html" in public
    assert all(PUBLIC_GROUP in documents[n].groups for n in public)


def test_the_corpus_description_is_not_a_document(documents: dict[str, Access]) -> None:
    """corpora/README.md names the confidential files; .docduetignore keeps it out of the index."""
    assert (CORPUS / "README.md").is_file() and "README.md" not in documents
    assert discover([CORPUS / "README.md"]) == []  # even when given by name


def test_every_document_is_readable_by_some_user(
    documents: dict[str, Access], users: dict[str, User]
) -> None:
    for name, access in documents.items():
        assert _readers(access, users), f"no demo user can read {name}"


# --- sample questions ----------------------------------------------------------------------------


def test_questions_name_existing_sources_and_their_readers(
    documents: dict[str, Access], users: dict[str, User]
) -> None:
    questions = yaml.safe_load((CORPUS / ".questions.yaml").read_text(encoding="utf-8"))
    questions = questions["questions"]
    assert len(questions) >= 20
    for q in questions:
        if q["answer"] is None:
            assert q["source"] is None and q["readable_by"] == [], q["question"]
            continue
        assert q["source"] in documents, f"{q['question']}: no document {q['source']}"
        expected = _readers(documents[q["source"]], users)
        assert sorted(q["readable_by"]) == sorted(expected), q["question"]
    readers = [tuple(q["readable_by"]) for q in questions]
    assert any(ANONYMOUS_NAME in r for r in readers)  # public
    assert any(ANONYMOUS_NAME not in r and len(r) == len(users) for r in readers)  # internal
    assert any(0 < len(r) < len(users) and ANONYMOUS_NAME not in r for r in readers)  # restricted
    assert sum(1 for r in readers if not r) >= 3  # unanswerable


# --- adversarial fixtures ------------------------------------------------------------------------


def test_adversarial_fixtures_are_ingestible_and_described() -> None:
    files = {f.path.name: _access(f) for f in discover([ADVERSARIAL])}
    spec = yaml.safe_load((ADVERSARIAL / ".expectations.yaml").read_text(encoding="utf-8"))
    cases = spec["cases"] + spec.get("injection_cases", [])
    assert {case["file"] for case in cases} == set(files)
    text = {name: (ADVERSARIAL / name).read_text(errors="replace") for name in files}  # .docx: binary
    canary_file = next(name for name in files if spec["canary"] in text[name])
    assert files[canary_file] == Access(groups=("hr",), sensitivity=Sensitivity.CONFIDENTIAL)
    others = [ADVERSARIAL / name for name in files if name != canary_file]
    assert all(spec["canary"] not in path.read_text(errors="replace") for path in others)
    injected = "\n".join(path.read_text(errors="replace") for path in others)
    for marker in ("Ignore all previous instructions", "SYSTEM", "<!--", "[1] Source:"):
        assert marker in injected
