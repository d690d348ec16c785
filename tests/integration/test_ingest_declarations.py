"""Issue #21, items 5 and 6: every doubt about an access declaration narrows.

Through the real parser worker, embedder and weaviate-server: front matter docduet cannot read,
an unknown or repeated sidecar key, and sidecars in a folder above the ingest root.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from eval_data import eval_set_path
from index_parts import index_of, retriever_of

from backends.weaviate.client import open_client
from core.domain import ANONYMOUS, Access, Sensitivity, SourceFile, User
from core.errors import IngestError
from core.protocols import NullProgress
from core.settings import Settings
from docduet.compose import run_ingest
from ingest.access import resolve
from ingest.sources import SourceRefusedError, read_source
from ingest.summary import IngestSummary

pytestmark = pytest.mark.integration

CAROL = User("carol", ("employees",))
HANDBOOK = eval_set_path("handbook-18f") / "pages"
BODY = "# Offsite\n\nThe leadership offsite chose Project Kestrel, budgeted at 12 million.\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def ingest(settings: Settings, *paths: Path) -> IngestSummary:
    return run_ingest(settings, list(paths), progress=NullProgress())


def access_of(settings: Settings, source: Path) -> set[tuple[tuple[str, ...], str]]:
    """The (groups, sensitivity) of the chunks Weaviate holds for ``source``."""
    wanted = source.as_posix()
    with open_client(settings, autostart=False) as client:
        return {
            (tuple(o.properties["access_groups"]), str(o.properties["sensitivity"]))
            for o in client.collections.use(settings.weaviate.collection).iterator()
            if o.properties["source"] == wanted
        }


EMPLOYEES = {(("employees",), "internal")}

# Under a folder that allows overrides, each of these asked for [leadership] and got the folder's
# wider access, silently, before issue #21; now each fails the file with its line and the fix.
UNREAD_FRONT_MATTER = {
    "groups.md": (
        "---\ntitle: Offsite\ngroups: [leadership]\n---\n",
        "line 3: unknown key 'groups' in the front matter; did you mean 'access_groups'?",
    ),
    "typo.md": (
        "---\ntitle: Offsite\naccess_group: [leadership]\n---\n",
        "line 3: unknown key 'access_group' in the front matter; did you mean 'access_groups'?",
    ),
    "blank.md": (
        "\n---\ntitle: Offsite\naccess_groups: [leadership]\n---\n",
        "line 2: blank lines come before its '---', so it is not read as front matter; remove them",
    ),
    "comment.md": (
        "<!-- offsite, do not share -->\n---\naccess_groups: [leadership]\n---\n",
        "line 2: an HTML comment comes before its '---', so it is not read as front matter",
    ),
}


def test_front_matter_docduet_cannot_read_fails_closed(settings: Settings, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write(corpus / "_access.yaml", "groups: [employees]\nsensitivity: internal\nallow_override: true\n")
    for name in UNREAD_FRONT_MATTER:
        write(corpus / name, BODY)  # first without front matter: the folder's access
    declared = write(corpus / "declared.md", "---\naccess_groups: [leadership]\n---\n" + BODY)
    first = ingest(settings, corpus)
    assert first.failed == [] and len(first.added) == 5
    assert access_of(settings, corpus / "groups.md") == EMPLOYEES

    for name, (front, _) in UNREAD_FRONT_MATTER.items():
        write(corpus / name, front + BODY)
    groups = (corpus / "groups.md").as_posix()
    with (
        open_client(settings, autostart=False) as client,  # Download re-reads the declarations
        pytest.raises(SourceRefusedError, match="line 3: unknown key 'groups'"),
    ):
        read_source(index_of(client, settings), settings, groups, CAROL)
    summary = ingest(settings, corpus)

    failed = {Path(f.source).name: f for f in summary.failed}
    assert set(failed) == set(UNREAD_FRONT_MATTER)
    for name, (_, named) in UNREAD_FRONT_MATTER.items():
        assert failed[name].reason.startswith(named), failed[name].reason
        assert "the file is not indexed until this is fixed" in failed[name].reason
        assert "indexed chunks were removed until this is fixed" in failed[name].reason
        assert failed[name].kept_chunks == 0 and access_of(settings, corpus / name) == set()
    assert access_of(settings, declared) == {(("leadership",), "internal")}
    assert summary.exit_code == 1


def test_an_unknown_or_repeated_sidecar_key_fails_its_files_closed(
    settings: Settings, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    hr = write(corpus / "hr" / "_access.yaml", "groups: [hr]\nsensitivity: confidential\n")
    pay = write(corpus / "hr" / "pay.md", "# Pay\n\nBand 4 pays 80k.\n")
    board = write(corpus / "board" / "_access.yaml", "groups: [board]\nsensitivity: confidential\n")
    minutes = write(corpus / "board" / "minutes.md", "# Minutes\n\nThe board approved Kestrel.\n")
    ingest(settings, corpus)
    assert access_of(settings, pay) == {(("hr",), "confidential")}

    write(hr, "group: [hr]\nsensitivity: confidential\n")
    write(board, "sensitivity: confidential\ngroups: [board]\nsensitivity: public\n")  # YAML keeps the last
    summary = ingest(settings, corpus)

    failed = {Path(f.source).name: f.reason for f in summary.failed}
    assert failed["pay.md"].startswith(f"{hr}: line 1: unknown key 'group'; did you mean 'groups'?")
    assert failed["minutes.md"].startswith(
        f"{board}: line 3: key 'sensitivity' is written a second time (first on line 1)"
    )
    assert access_of(settings, pay) == set() and access_of(settings, minutes) == set()


def test_a_world_writable_parents_declarations_only_narrow(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    shared = tmp_path / "shared"  # any local user may write here (think /tmp, a shared drive)
    shared.mkdir()
    shared.chmod(0o1777)
    planted = write(shared / "_access.yaml", "groups: [public]\nsensitivity: public\n")
    write(shared / ".docduetignore", "draft-*.md\n")
    corpus = shared / "corpus"
    notes = write(
        corpus / "notes.md", "# Notes\n\nThe Leeds office moves in May; the new lease is 9 years.\n"
    )
    draft = write(corpus / "draft-plan.md", "# Plan\n\nA draft of the Leeds move plan.\n")
    settings = make_settings()

    summary = ingest(settings, corpus)  # no DOCDUET_CORPUS_ROOT

    assert sorted(summary.added) == [draft.as_posix(), notes.as_posix()]  # the parent's ignore file: unread
    assert access_of(settings, notes) == EMPLOYEES, "an undeclared file gets the default, not public"
    refused = {n.source: n.note for n in summary.widening_refused}
    assert refused[notes.as_posix()].startswith(
        f"{planted}: would widen access to [public] public; kept [employees] internal"
    )
    assert f"set DOCDUET_CORPUS_ROOT={shared} to apply it" in refused[notes.as_posix()]
    with open_client(settings, autostart=False) as client:
        index = index_of(client, settings)
        assert read_source(index, settings, notes.as_posix(), CAROL) == notes.read_bytes()
        with pytest.raises(SourceRefusedError):
            read_source(index, settings, notes.as_posix(), ANONYMOUS)

    named = make_settings(corpus_root=shared, collection=settings.weaviate.collection)
    again = ingest(named, corpus)  # DOCDUET_CORPUS_ROOT names the parent: it is read, as documented

    assert again.deleted == [draft.as_posix()] and again.updated == [notes.as_posix()]
    assert access_of(named, notes) == {(("public",), "public")}
    assert [n.source for n in again.widened] == [notes.as_posix()]


def test_a_parent_folder_with_other_groups_fails_the_file_until_the_corpus_root_says(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    write(tmp_path / "finance" / "_access.yaml", "groups: [finance]\nsensitivity: confidential\n")
    forecast = write(tmp_path / "finance" / "2025" / "forecast.md", "# Forecast\n\nHeron closes in Q3.\n")
    settings = make_settings()

    summary = ingest(settings, forecast.parent)  # finance/2025 alone, no DOCDUET_CORPUS_ROOT

    [failure] = summary.failed
    assert "cannot be told narrower or wider than [employees] internal" in failure.reason
    assert f"set DOCDUET_CORPUS_ROOT={tmp_path / 'finance'} to apply it" in failure.reason
    assert access_of(settings, forecast) == set()
    named = make_settings(corpus_root=tmp_path, collection=settings.weaviate.collection)
    assert ingest(named, forecast.parent).added == [forecast.as_posix()]
    assert access_of(named, forecast) == {(("finance",), "confidential")}


def test_groups_under_a_public_folder_keep_everyone_else_out(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """``access_groups: [leadership]`` under a public folder: leadership only, said in the summary."""
    corpus = tmp_path / "corpus"
    write(corpus / "_access.yaml", "groups: [public]\nsensitivity: public\n")
    press = write(corpus / "press.md", "# Press\n\nCorvala opens its Lisbon office in May.\n")
    offsite = write(corpus / "offsite.md", "---\naccess_groups: [leadership]\n---\n" + BODY)
    settings = make_settings(corpus_root=corpus, score_threshold=0.0)

    summary = ingest(settings, corpus)

    assert summary.failed == [] and len(summary.added) == 2
    assert access_of(settings, offsite) == {(("leadership",), "internal")}
    assert access_of(settings, press) == {(("public",), "public")}
    [notice] = summary.widening_refused
    assert notice.source == offsite.as_posix()
    assert "narrowed to internal; if everyone was meant, declare 'sensitivity: public'" in notice.note
    question = "What did the leadership offsite choose, and what is Project Kestrel's budget?"
    boss = User("dana", ("employees", "leadership"))
    with open_client(settings, autostart=False) as client:
        retriever = retriever_of(client, settings)
        seen = {h.chunk.source for h in retriever.retrieve(question, user=ANONYMOUS, top_k=8)}
        assert seen == {press.as_posix()}, "an anonymous user must not retrieve the leadership page"
        assert offsite.as_posix() in {h.chunk.source for h in retriever.retrieve(question, user=boss)}
        index = index_of(client, settings)
        assert read_source(index, settings, offsite.as_posix(), boss) == offsite.read_bytes()
        with pytest.raises(SourceRefusedError):
            read_source(index, settings, offsite.as_posix(), ANONYMOUS)


@pytest.mark.eval_data("handbook-18f")
def test_no_handbook_page_is_refused_by_the_doubt_rules() -> None:
    """The keys real Markdown sites carry (title, redirect_from, cSpell...) are no doubt."""
    pages = sorted(p for p in HANDBOOK.rglob("*") if p.is_file())
    assert len(pages) >= 250
    default = Access(("employees",), Sensitivity.INTERNAL)
    refused = []
    for page in pages:
        try:
            found = resolve(SourceFile(page, HANDBOOK), default=default, corpus_root=HANDBOOK)
        except IngestError as e:
            refused.append(str(e))
        else:
            assert found.access == default and found.refused == ()
    assert refused == []
