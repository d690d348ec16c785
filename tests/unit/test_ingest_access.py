"""Access declarations: sidecar nesting, file patterns, front matter, defaults (malformed and doubtful
declarations: test_ingest_access_doubtful.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from access_files import DEFAULT, access_of, resolved, write

from core.domain import PUBLIC_GROUP, Access, Sensitivity, SourceFile
from core.errors import IngestError
from ingest.access import Resolved, resolve, resolve_access
from ingest.discover import ACCESS_SIDECAR

REPO = Path(__file__).resolve().parents[2]


def test_no_declaration_gives_the_default(tmp_path: Path) -> None:
    assert access_of(tmp_path, "a/b/c.txt") == DEFAULT


def test_a_sidecar_applies_to_its_folder_and_below(tmp_path: Path) -> None:
    write(tmp_path / "hr" / ACCESS_SIDECAR, "groups: [hr]\nsensitivity: confidential\n")
    expected = Access(("hr",), Sensitivity.CONFIDENTIAL)
    assert access_of(tmp_path, "hr/a.txt") == expected
    assert access_of(tmp_path, "hr/2024/q1/b.txt") == expected
    assert access_of(tmp_path, "other/c.txt") == DEFAULT


def test_the_nearest_sidecar_wins_key_by_key(tmp_path: Path) -> None:
    write(tmp_path / ACCESS_SIDECAR, "groups: [employees]\nsensitivity: internal\nallow_override: true\n")
    write(tmp_path / "fin" / ACCESS_SIDECAR, "groups: [finance, board]\n")
    write(tmp_path / "fin" / "deals" / ACCESS_SIDECAR, "sensitivity: confidential\n")
    assert access_of(tmp_path, "fin/a.txt") == Access(("board", "finance"), Sensitivity.INTERNAL)
    assert access_of(tmp_path, "fin/deals/b.txt") == Access(("board", "finance"), Sensitivity.CONFIDENTIAL)


def test_file_patterns_override_the_folder(tmp_path: Path) -> None:
    write(
        tmp_path / ACCESS_SIDECAR,
        "groups: [employees]\n"
        "files:\n"
        '  "salaries-*.xlsx": {groups: [hr], sensitivity: confidential}\n'
        '  "*.md": {sensitivity: public}\n',
    )
    assert access_of(tmp_path, "salaries-2024.xlsx") == Access(("hr",), Sensitivity.CONFIDENTIAL)
    assert access_of(tmp_path, "sub/salaries-2025.xlsx") == Access(("hr",), Sensitivity.CONFIDENTIAL), (
        "a pattern without '/' matches the file name at any depth"
    )
    assert access_of(tmp_path, "faq.md") == Access(("employees", PUBLIC_GROUP), Sensitivity.PUBLIC)
    assert access_of(tmp_path, "bonus.xlsx") == DEFAULT


def test_patterns_with_a_slash_match_the_relative_path_and_later_ones_win(tmp_path: Path) -> None:
    write(
        tmp_path / ACCESS_SIDECAR,
        "files:\n"
        '  "legal/*": {groups: [legal], sensitivity: confidential}\n'
        '  "legal/press-*": {sensitivity: internal}\n',
    )
    assert access_of(tmp_path, "legal/contract.txt") == Access(("legal",), Sensitivity.CONFIDENTIAL)
    assert access_of(tmp_path, "legal/press-kit.txt") == Access(("legal",), Sensitivity.INTERNAL)
    assert access_of(tmp_path, "contract.txt") == DEFAULT


def test_a_child_folder_overrides_a_parent_pattern(tmp_path: Path) -> None:
    write(tmp_path / ACCESS_SIDECAR, 'allow_override: true\nfiles:\n  "*.pdf": {groups: [board]}\n')
    write(tmp_path / "open" / ACCESS_SIDECAR, "groups: [everyone]\n")
    assert access_of(tmp_path, "x.pdf").groups == ("board",)
    assert access_of(tmp_path, "open/x.pdf").groups == ("everyone",)


def test_front_matter_overrides_a_sidecar_that_allows_it(tmp_path: Path) -> None:
    write(tmp_path / ACCESS_SIDECAR, "groups: [employees]\nsensitivity: internal\nallow_override: true\n")
    text = "---\ntitle: Offsite\naccess_groups: [leadership]\nsensitivity: Confidential\n---\n# Hi\n"
    assert access_of(tmp_path, "notes.md", text) == Access(("leadership",), Sensitivity.CONFIDENTIAL)
    only_groups = "---\naccess_groups: [sales]\n---\nbody\n"
    assert access_of(tmp_path, "b.markdown", only_groups) == Access(("sales",), Sensitivity.INTERNAL)


def test_front_matter_is_only_read_from_markdown(tmp_path: Path) -> None:
    text = "---\naccess_groups: [leadership]\n---\nplain text\n"
    assert access_of(tmp_path, "notes.txt", text) == DEFAULT


def test_public_documents_get_the_public_group(tmp_path: Path) -> None:
    write(tmp_path / ACCESS_SIDECAR, "groups: [marketing]\nsensitivity: public\n")
    assert access_of(tmp_path, "a.txt") == Access(("marketing", PUBLIC_GROUP), Sensitivity.PUBLIC)
    narrowed = "---\nsensitivity: internal\n---\nbody\n"
    assert access_of(tmp_path, "b.md", narrowed) == Access(("marketing",), Sensitivity.INTERNAL)


def test_a_public_default_gets_the_public_group(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "x")
    access = resolve_access(SourceFile(path, tmp_path), default=Access(("web",), Sensitivity.PUBLIC))
    assert access == Access(("public", "web"), Sensitivity.PUBLIC)


def test_a_corpus_root_above_the_ingest_root_is_read_from(tmp_path: Path) -> None:
    write(tmp_path / "finance" / ACCESS_SIDECAR, "groups: [finance]\nsensitivity: confidential\n")
    root = tmp_path / "finance" / "2025"  # ingested alone
    path = write(root / "budget.txt", "x")
    found = resolve_access(SourceFile(path, root), default=DEFAULT, corpus_root=tmp_path)
    assert found == Access(("finance",), Sensitivity.CONFIDENTIAL)


def test_other_groups_above_the_ingest_root_fail_the_file(tmp_path: Path) -> None:
    write(tmp_path / "finance" / ACCESS_SIDECAR, "groups: [finance]\nsensitivity: confidential\n")
    root = tmp_path / "finance" / "2025"  # ingested alone, without DOCDUET_CORPUS_ROOT
    with pytest.raises(IngestError) as caught:
        access_of(root, "budget.txt")
    message = str(caught.value)
    assert "[finance] confidential from " in message and "cannot be told narrower or wider" in message
    assert f"set DOCDUET_CORPUS_ROOT={tmp_path / 'finance'} to apply it" in message


def test_a_sidecar_above_the_ingest_root_may_only_narrow(tmp_path: Path) -> None:
    parent = tmp_path / "shared"  # a world-writable folder above the ingest root
    sidecar = write(parent / ACCESS_SIDECAR, "sensitivity: public\n")
    root = parent / "corpus"
    found = resolved(root, "notes.txt")
    assert found.access == DEFAULT
    [note] = found.refused
    assert f"{sidecar}: would widen access to [employees, public] public; kept [employees] internal" in note
    assert f"set DOCDUET_CORPUS_ROOT={parent} to apply it" in note
    named = resolve_access(SourceFile(root / "notes.txt", root), default=DEFAULT, corpus_root=parent)
    assert named == Access(("employees", PUBLIC_GROUP), Sensitivity.PUBLIC)
    write(sidecar, "sensitivity: confidential\n")
    assert resolved(root, "notes.txt") == Resolved(Access(("employees",), Sensitivity.CONFIDENTIAL))


def test_lookup_stops_at_the_corpus_root(tmp_path: Path) -> None:
    write(tmp_path / ACCESS_SIDECAR, "groups: [outside]\n")
    corpus = tmp_path / "corpus"
    path = write(corpus / "a" / "x.txt", "x")
    found = resolve_access(SourceFile(path, corpus / "a"), default=DEFAULT, corpus_root=corpus)
    assert found == DEFAULT


def test_front_matter_cannot_make_a_confidential_document_public(tmp_path: Path) -> None:
    write(tmp_path / "hr" / ACCESS_SIDECAR, "groups: [hr]\nsensitivity: confidential\n")
    found = resolved(tmp_path, "hr/x.md", "---\nsensitivity: public\n---\nSalaries\n")
    assert found.access == Access(("hr",), Sensitivity.CONFIDENTIAL)
    [note] = found.refused
    assert "hr/x.md (front matter): sensitivity public would widen" in note
    assert "kept confidential" in note and "allow_override: true" in note


def test_a_nested_sidecar_may_narrow_but_not_widen(tmp_path: Path) -> None:
    write(tmp_path / ACCESS_SIDECAR, "groups: [hr, finance]\nsensitivity: internal\n")
    write(tmp_path / "a" / ACCESS_SIDECAR, "groups: [hr]\nsensitivity: confidential\n")
    write(tmp_path / "a" / "b" / ACCESS_SIDECAR, "groups: [hr, employees]\nsensitivity: public\n")
    assert resolved(tmp_path, "a/x.txt") == Resolved(Access(("hr",), Sensitivity.CONFIDENTIAL))
    found = resolved(tmp_path, "a/b/y.txt")
    assert found.access == Access(("hr",), Sensitivity.CONFIDENTIAL)
    assert [n.split(": ", 1)[1].split(" would")[0] for n in found.refused] == [
        "groups [hr, employees]",
        "sensitivity public",
    ]


def test_groups_outside_the_bound_fail_the_file(tmp_path: Path) -> None:
    write(tmp_path / ACCESS_SIDECAR, "groups: [finance]\n")
    with pytest.raises(IngestError, match=r"groups \[everyone\] share none of the groups \[finance\]"):
        resolved(tmp_path, "notes.md", "---\naccess_groups: [everyone]\n---\nbody\n")


def test_allow_override_lifts_only_its_own_bound(tmp_path: Path) -> None:
    write(tmp_path / ACCESS_SIDECAR, "groups: [staff]\nsensitivity: internal\n")
    write(tmp_path / "open" / ACCESS_SIDECAR, "sensitivity: confidential\nallow_override: true\n")
    found = resolved(tmp_path, "open/a.md", "---\nsensitivity: internal\n---\nbody\n")
    assert found == Resolved(Access(("staff",), Sensitivity.INTERNAL))  # back to the outer bound
    public = resolved(tmp_path, "open/b.md", "---\nsensitivity: public\n---\nbody\n")
    assert public.access == Access(("staff",), Sensitivity.CONFIDENTIAL)  # refused: nothing changes
    assert "kept confidential" in public.refused[0] and f"{tmp_path}/_access.yaml" in public.refused[0]


def test_a_sidecars_own_patterns_are_not_bounded_by_it(tmp_path: Path) -> None:
    write(
        tmp_path / ACCESS_SIDECAR,
        "groups: [hr]\nsensitivity: confidential\n"
        'files:\n  "faq.md": {groups: [employees], sensitivity: internal}\n',
    )
    assert resolved(tmp_path, "faq.md") == Resolved(Access(("employees",), Sensitivity.INTERNAL))


def test_a_linked_sidecar_is_refused(tmp_path: Path) -> None:
    outside = write(tmp_path / "elsewhere.yaml", "groups: [everyone]\nsensitivity: public\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / ACCESS_SIDECAR).symlink_to(outside)
    with pytest.raises(IngestError, match="symbolic link"):
        access_of(tmp_path / "docs", "a.txt")


def test_a_changed_sidecar_is_read_again(tmp_path: Path) -> None:
    sidecar = write(tmp_path / ACCESS_SIDECAR, "groups: [a]\n")
    assert access_of(tmp_path, "x.txt").groups == ("a",)
    write(sidecar, "groups: [bb, cc]\n")
    assert access_of(tmp_path, "x.txt").groups == ("bb", "cc")


def test_the_sample_corpus_declarations(tmp_path: Path) -> None:
    corpus = REPO / "corpora"
    of = lambda rel: resolve_access(SourceFile(corpus / rel, corpus), default=DEFAULT)  # noqa: E731
    assert of("hr/salary-bands-2025.xlsx") == Access(("hr",), Sensitivity.CONFIDENTIAL)
    assert of("it/admin/backup-and-restore-runbook.md") == Access(("admins",), Sensitivity.CONFIDENTIAL)
    assert of("meetings/2025-01-22-leadership-offsite-notes.md").groups == ("leadership",)
    assert of("public/careers.md") == Access((PUBLIC_GROUP,), Sensitivity.PUBLIC)


def test_asking_for_everyone_keeps_the_readers_as_they_are(tmp_path: Path) -> None:
    write(tmp_path / "hr" / ACCESS_SIDECAR, "groups: [hr]\nsensitivity: confidential\n")
    found = resolved(tmp_path, "hr/x.md", "---\naccess_groups: [public]\nsensitivity: public\n---\nPay\n")
    assert found.access == Access(("hr",), Sensitivity.CONFIDENTIAL) and len(found.refused) == 2


PUBLIC_FOLDER = "groups: [public]\nsensitivity: public\n"
LEADERSHIP_ONLY = Access(("leadership",), Sensitivity.INTERNAL)


def test_groups_without_public_under_an_inherited_public_sensitivity_are_the_readers(
    tmp_path: Path,
) -> None:
    write(tmp_path / ACCESS_SIDECAR, PUBLIC_FOLDER)
    found = resolved(tmp_path, "offsite.md", "---\naccess_groups: [leadership]\n---\nPlans\n")
    assert found.access == LEADERSHIP_ONLY
    [note] = found.refused
    assert "offsite.md (front matter): groups [leadership] leave out 'public'" in note
    assert f"inherited from {tmp_path}/_access.yaml is narrowed to internal" in note
    assert "declare 'sensitivity: public' beside the groups" in note
    both = "---\naccess_groups: [leadership]\nsensitivity: public\n---\nPress kit\n"
    assert resolved(tmp_path, "kit.md", both) == Resolved(
        Access(("leadership", PUBLIC_GROUP), Sensitivity.PUBLIC)
    )
    with_public = "---\naccess_groups: [leadership, public]\n---\nPress kit\n"
    assert resolved(tmp_path, "kit2.md", with_public).access.sensitivity is Sensitivity.PUBLIC


def test_a_nested_sidecars_groups_narrow_an_inherited_public_and_bound_what_is_below(
    tmp_path: Path,
) -> None:
    write(tmp_path / ACCESS_SIDECAR, PUBLIC_FOLDER)
    write(tmp_path / "board" / ACCESS_SIDECAR, "groups: [leadership]\n")
    found = resolved(tmp_path, "board/minutes.txt")
    assert found.access == LEADERSHIP_ONLY
    assert found.refused[0].startswith(f"{tmp_path}/board/_access.yaml: groups [leadership]")
    with pytest.raises(IngestError, match=r"share none of the groups \[leadership\]"):
        resolved(tmp_path, "board/a.md", "---\naccess_groups: [employees]\n---\nbody\n")
    widened = resolved(tmp_path, "board/b.md", "---\nsensitivity: public\n---\nbody\n")
    assert widened.access == LEADERSHIP_ONLY and "kept internal" in widened.refused[0]


def test_public_declared_below_or_beside_the_groups_stays_public(tmp_path: Path) -> None:
    write(tmp_path / ACCESS_SIDECAR, "groups: [staff]\nsensitivity: internal\nallow_override: true\n")
    write(tmp_path / "press" / ACCESS_SIDECAR, "sensitivity: public\n")
    assert resolved(tmp_path, "press/a.txt") == Resolved(Access((PUBLIC_GROUP, "staff"), Sensitivity.PUBLIC))
    write(tmp_path / "press" / "x" / ACCESS_SIDECAR, "groups: [leadership]\nsensitivity: public\n")
    assert resolved(tmp_path, "press/x/b.txt").access.sensitivity is Sensitivity.PUBLIC


def test_a_pattern_naming_groups_under_a_public_folder_key_narrows(tmp_path: Path) -> None:
    write(
        tmp_path / ACCESS_SIDECAR,
        "sensitivity: public\nfiles:\n"
        '  "board-*": {groups: [leadership]}\n'
        '  "press-*": {groups: [marketing], sensitivity: public}\n',
    )
    found = resolved(tmp_path, "board-notes.txt")
    assert found.access == LEADERSHIP_ONLY and len(found.refused) == 1
    assert resolved(tmp_path, "press-kit.txt").access.sensitivity is Sensitivity.PUBLIC


def test_groups_under_a_public_default_sensitivity_narrow(tmp_path: Path) -> None:
    write(tmp_path / ACCESS_SIDECAR, "groups: [leadership]\n")
    path = write(tmp_path / "a.txt", "x")
    found = resolve(SourceFile(path, tmp_path), default=Access(("web",), Sensitivity.PUBLIC))
    assert found.access == LEADERSHIP_ONLY
    assert "inherited from DOCDUET_DEFAULT_SENSITIVITY" in found.refused[0]
