"""File discovery: recursion, skipping rules, roots, ordering, errors."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from core.domain import SourceFile
from core.errors import IngestError
from ingest.discover import ACCESS_SIDECAR, SUPPORTED_SUFFIXES, discover, scan


def touch(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    for name in (
        "b.md",
        "a.PDF",
        "sub/c.docx",
        "sub/deeper/d.txt",
        "sub/deeper/e.HTM",
        ".hidden.md",
        ".git/config.md",
        "sub/.cache/f.md",
        "image.png",
        "notes.doc",
        "sub/old-deck.PPT",
        "sub/deeper/README",
        "sub/.cache/ignored.doc",
        ACCESS_SIDECAR,
        f"sub/{ACCESS_SIDECAR}",
    ):
        touch(root / name)
    return root


def names(files: list[SourceFile], root: Path) -> list[str]:
    return [f.path.relative_to(root).as_posix() for f in files]


def test_finds_supported_files_recursively_sorted(tree: Path) -> None:
    files = discover([tree])
    assert names(files, tree) == ["a.PDF", "b.md", "sub/c.docx", "sub/deeper/d.txt", "sub/deeper/e.HTM"]
    assert all(f.root == tree.resolve() for f in files)
    assert all(f.path.is_absolute() for f in files)


def test_source_is_the_absolute_posix_path(tree: Path) -> None:
    file = discover([tree / "sub" / "c.docx"])[0]
    assert file.source == (tree / "sub" / "c.docx").resolve().as_posix()
    assert file.suffix == ".docx"


def test_a_file_argument_is_rooted_at_its_folder(tree: Path) -> None:
    [file] = discover([tree / "sub" / "deeper" / "d.txt"])
    assert file.root == (tree / "sub" / "deeper").resolve()


def test_relative_paths_are_resolved(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)
    files = discover([Path("sub")])
    assert files[0].root == (tree / "sub").resolve()
    assert files[0].path == (tree / "sub" / "c.docx").resolve()


def test_overlapping_arguments_give_each_file_once(tree: Path) -> None:
    for order in ([tree, tree / "sub", tree / "b.md"], [tree / "sub", tree / "b.md", tree]):
        files = discover(order)
        assert len(files) == len({f.source for f in files}) == 5
        assert all(f.root == tree.resolve() for f in files), "the outermost root wins"


def test_skips_are_logged_at_debug(tree: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="ingest.discover"):
        discover([tree])
    logged = caplog.text
    assert "image.png" in logged and "notes.doc" in logged and ".git" in logged


def test_an_unsupported_file_argument_gives_nothing(tree: Path) -> None:
    assert discover([tree / "image.png"]) == []
    assert discover([tree / ACCESS_SIDECAR]) == []


def test_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no-such-folder: no such file or folder"):
        discover([tmp_path / "no-such-folder"])


def test_empty_folder_gives_nothing(tmp_path: Path) -> None:
    assert discover([tmp_path]) == []


def test_supported_suffixes() -> None:
    assert {".pdf", ".docx", ".pptx", ".html", ".htm", ".md", ".markdown", ".txt", ".eml", ".xlsx"} <= (
        SUPPORTED_SUFFIXES
    )
    assert {".rtf", ".odt"} <= SUPPORTED_SUFFIXES  # through pandoc (pypandoc-binary)
    assert ".doc" not in SUPPORTED_SUFFIXES and ".ppt" not in SUPPORTED_SUFFIXES  # legacy binary Office
    assert all(s == s.lower() and s.startswith(".") for s in SUPPORTED_SUFFIXES)


def test_files_of_unsupported_types_are_counted_by_suffix(tree: Path) -> None:
    found = scan([tree, tree / "sub"])  # overlapping arguments count each file once
    assert names(found.files, tree) == names(discover([tree]), tree)
    # hidden files and folders and access sidecars are not documents: not counted
    assert found.unsupported == {"": 1, ".doc": 1, ".png": 1, ".ppt": 1}
    assert scan([tree / "image.png"]).unsupported == {".png": 1}
    assert scan([tree / ACCESS_SIDECAR]).unsupported == {}


# --- nothing from outside the corpus --------------------------------------------------------------


def test_links_are_never_followed_and_are_reported(tmp_path: Path) -> None:
    secret = touch(tmp_path / "secrets" / "weaviate.key", "the key")
    docs = tmp_path / "docs"
    touch(docs / "public" / "press.md")
    (docs / "public" / "ops-notes.txt").symlink_to(secret)
    (docs / "public" / "alias.md").symlink_to(docs / "public" / "press.md")
    (docs / "linked-folder").symlink_to(secret.parent, target_is_directory=True)
    found = scan([docs])
    assert names(found.files, docs) == ["public/press.md"]
    reasons = {Path(s.source).name: s.reason for s in found.skipped}
    assert set(reasons) == {"ops-notes.txt", "alias.md", "linked-folder"}
    assert "outside the ingest root; not followed" in reasons["ops-notes.txt"]
    assert "outside the ingest root" in reasons["linked-folder"]
    assert "ingested under its own path" in reasons["alias.md"]


def test_fifos_and_devices_are_skipped_without_reading_them(tmp_path: Path) -> None:
    import os

    docs = tmp_path / "docs"
    touch(docs / "a.txt")
    os.mkfifo(docs / "pipe.txt")
    found = scan([docs, Path("/dev/zero")])  # a device given by name: never read, never hangs
    assert names(found.files, docs) == ["a.txt"]
    reasons = {s.source: s.reason for s in found.skipped}
    assert reasons[(docs / "pipe.txt").resolve().as_posix()].startswith("a FIFO (named pipe)")
    assert reasons["/dev/zero"].startswith("a character device, not a regular file")


def test_the_ignore_file_excludes_paths_like_gitignore(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    touch(corpus / ".docduetignore", "# describes the corpus\n/README.md\ndrafts/\n*.tmp.md\n!keep.tmp.md\n")
    names_ = ("README.md", "a/README.md", "drafts/x.md", "a/drafts/y.md", "b.tmp.md", "keep.tmp.md", "c.md")
    for name in names_:
        touch(corpus / name)
    found = scan([corpus])
    assert names(found.files, corpus) == ["a/README.md", "c.md", "keep.tmp.md"]
    assert found.ignored == 4  # README.md, drafts/, a/drafts/, b.tmp.md
    assert names(discover([corpus / "a"], corpus_root=corpus), corpus) == ["a/README.md"]
    assert discover([corpus / "drafts"], corpus_root=corpus) == []  # the corpus root's file applies
    assert discover([corpus / "README.md"]) == []  # a file given alone: its folder's ignore file


def test_ignore_files_above_the_ingest_root_are_read_only_from_a_corpus_root(tmp_path: Path) -> None:
    touch(tmp_path / ".docduetignore", "*.md\n")  # say, in a world-writable parent folder
    corpus = tmp_path / "corpus"
    touch(corpus / "a.md")
    touch(corpus / "drafts" / "b.md")
    touch(corpus / ".docduetignore", "drafts/\n")
    assert names(discover([corpus]), corpus) == ["a.md"]
    assert names(discover([corpus / "drafts"]), corpus) == ["drafts/b.md"]
    assert names(discover([corpus], corpus_root=corpus), corpus) == ["a.md"]
    assert discover([corpus], corpus_root=tmp_path) == []
