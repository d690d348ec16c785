"""Access declarations that are malformed or doubtful: each fails its file with the file, the line
and what to write instead, never a wider access."""

from __future__ import annotations

from pathlib import Path

import pytest
from access_files import access_of, write

from core.domain import PUBLIC_GROUP, Access, Sensitivity
from core.errors import IngestError
from ingest.discover import ACCESS_SIDECAR


@pytest.mark.parametrize(
    ("sidecar", "named"),
    [
        ("groups: [hr\n", "not a readable YAML file"),
        ("- hr\n- finance\n", "(top level) must be a mapping"),
        ("group: [hr]\n", "unknown key 'group'"),
        ("groups: hr\n", "groups must be a non-empty list"),
        ("groups: []\n", "groups must be a non-empty list"),
        ("groups: [hr, 3]\n", "groups must hold group names"),
        ("groups: [hr, '  ']\n", "groups must hold group names"),
        ("sensitivity: secret\n", "sensitivity: unknown sensitivity 'secret'"),
        ("sensitivity:\n", "unknown sensitivity None"),
        ("files: [a, b]\n", "files must be a mapping"),
        ('files:\n  "*.pdf": hr\n', "files.*.pdf must be a mapping"),
        ('files:\n  "*.pdf": {sensitivity: top-secret}\n', "files.*.pdf.sensitivity"),
        ('files:\n  "*.pdf": {owner: bob}\n', "unknown key 'owner' in files.*.pdf"),
        ("groups: [public]\nsensitivity: internal\n", "group 'public' is declared"),
        ("allow_override: yes please\n", "allow_override must be true or false"),
    ],
)
def test_malformed_sidecars_raise_and_name_the_file_and_key(tmp_path: Path, sidecar: str, named: str) -> None:
    path = write(tmp_path / ACCESS_SIDECAR, sidecar)
    with pytest.raises(IngestError) as caught:
        access_of(tmp_path, "x.pdf")
    message = str(caught.value)
    assert named in message
    if "public" not in named:
        assert str(path) in message


@pytest.mark.parametrize(
    ("sidecar", "named"),
    [
        ("sensitivity: internal\ngroup: [hr]\n", "line 2: unknown key 'group'; did you mean 'groups'?"),
        ("access_groups: [hr]\n", "line 1: unknown key 'access_groups'; did you mean 'groups'?"),
        ("Sensitivity: public\n", "line 1: unknown key 'Sensitivity'; did you mean 'sensitivity'?"),
        (
            'groups: [hr]\nfiles:\n  "*.pdf": {group: [hr, finance]}\n',
            "line 3: unknown key 'group' in files.*.pdf; did you mean 'groups'?",
        ),
        (
            "sensitivity: confidential\ngroups: [hr]\nsensitivity: public\n",
            "line 3: key 'sensitivity' is written a second time (first on line 1)",
        ),
    ],
)
def test_a_doubtful_sidecar_names_the_line_and_what_to_write(
    tmp_path: Path, sidecar: str, named: str
) -> None:
    path = write(tmp_path / ACCESS_SIDECAR, sidecar)
    with pytest.raises(IngestError) as caught:
        access_of(tmp_path, "x.pdf")
    assert str(caught.value).startswith(f"{path}: {named}")


OVERRIDE = "groups: [employees]\nsensitivity: public\nallow_override: true\n"
"""A folder wider than what the front matter below asks for, which may widen it."""


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (
            "---\ntitle: Offsite\ngroups: [leadership]\n---\n",
            "line 3: unknown key 'groups' in the front matter; did you mean 'access_groups'?",
        ),
        (
            "---\naccess_group: [leadership]\n---\n",
            "line 2: unknown key 'access_group' in the front matter; did you mean 'access_groups'?",
        ),
        (
            "---\naccess-groups: [leadership]\n---\n",
            "line 2: unknown key 'access-groups' in the front matter; did you mean 'access_groups'?",
        ),
        (
            "---\nSensitivity: confidential\n---\n",
            "line 2: unknown key 'Sensitivity' in the front matter; did you mean 'sensitivity'?",
        ),
        ("---\nsensitivty: confidential\n---\n", "did you mean 'sensitivity'?"),
        (
            "---\nprivate: true\n---\n",
            "line 2: unknown key 'private' in the front matter; did you mean 'sensitivity'?",
        ),
        (
            "\n---\naccess_groups: [leadership]\n---\n",
            "line 2: blank lines come before its '---', so it is not read",
        ),
        (
            "<!-- draft -->\n---\naccess_groups: [leadership]\n---\n",
            "line 2: an HTML comment comes before its '---'",
        ),
        (
            "<!--\n  draft\n-->\n\n---\nsensitivity: confidential\n---\n",
            "line 5: an HTML comment and blank lines",
        ),
        (
            "---\naccess_groups: [leadership]\n\n# Notes\n",
            "line 1: front matter that is never closed is not read; end it",
        ),
        ("+++\naccess_groups = ['leadership']\n+++\n", "line 1: TOML front matter ('+++') is not read"),
        (
            "---\nsensitivity: confidential\ntitle: x\nsensitivity: public\n---\n",
            "line 4: 'sensitivity' is declared a second time (first on line 2)",
        ),
        ("---\ntitle: [unclosed\n---\n", "front matter is not valid YAML (line 2: "),
    ],
)
def test_a_doubtful_front_matter_fails_the_file_with_its_line_and_fix(
    tmp_path: Path, text: str, named: str
) -> None:
    write(tmp_path / ACCESS_SIDECAR, OVERRIDE)
    with pytest.raises(IngestError) as caught:
        access_of(tmp_path, "notes.md", text + "# Notes\n\nThe offsite budget.\n")
    assert str(caught.value).startswith(f"{tmp_path / 'notes.md'}: ")
    assert named in str(caught.value)


def test_front_matter_without_access_keys_is_read_as_before(tmp_path: Path) -> None:
    """Not a doubt: the keys Markdown sites carry, and '---' rules that are not front matter."""
    write(tmp_path / ACCESS_SIDECAR, OVERRIDE)
    public = Access(("employees", PUBLIC_GROUP), Sensitivity.PUBLIC)
    site = "---\ntitle: X\ndate: 2025-01-01\ntags: [a]\nlayout: page\npermalink: /x/\n---\n"
    assert access_of(tmp_path, "site.md", site + "body\n") == public
    assert access_of(tmp_path, "rule.md", "\n---\nSome text\n---\nMore text\n") == public
    assert access_of(tmp_path, "plain.md", "<!-- toc -->\n# Access: who may enter\n") == public


@pytest.mark.parametrize(
    ("front", "named"),
    [
        ("access_groups: leadership", "access_groups must be a non-empty list"),
        ("sensitivity: restricted", "sensitivity: unknown sensitivity 'restricted'"),
        ("title: [unclosed", "front matter is not valid YAML"),
        ("- a list", "front matter must be a YAML mapping"),
    ],
)
def test_malformed_front_matter_raises(tmp_path: Path, front: str, named: str) -> None:
    with pytest.raises(IngestError, match=r"notes\.md") as caught:
        access_of(tmp_path, "notes.md", f"---\n{front}\n---\nbody\n")
    assert named in str(caught.value)
