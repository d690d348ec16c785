"""YAML front matter of Markdown files: the block between ``---`` lines at the very top."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import yaml

from core.errors import IngestError
from ingest.yamlmap import Lined, closest, error_where, load_lined, normal_key

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})

_FRONT_MATTER = re.compile(
    r"\A\ufeff?---[ \t]*\r?\n(?P<yaml>.*?)(?:\r?\n)?^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)",
    re.DOTALL | re.MULTILINE,
)


@dataclass(frozen=True)
class FrontMatter:
    """A Markdown document split into its front matter (possibly empty) and its body."""

    meta: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    body: str = ""

    @property
    def title(self) -> str | None:
        """The ``title`` key when it is a non-blank string."""
        value = self.meta.get("title")
        return value.strip() if isinstance(value, str) and value.strip() else None


def split_front_matter(text: str, *, origin: str) -> FrontMatter:
    """Split ``text`` into front matter and body; text without front matter is all body.

    ``origin`` names the file in errors. Front matter that is not a YAML mapping raises
    :class:`IngestError`, because it may carry access declarations that must not be ignored.
    """
    match = _FRONT_MATTER.match(text)
    if match is None:
        return FrontMatter(body=text)
    meta = _load(match.group("yaml"), origin=origin).data
    return FrontMatter(meta=MappingProxyType(meta), body=text[match.end() :])


def _load(block: str, *, origin: str) -> Lined:
    """The YAML of a front matter block (it starts on line 2), which must be a mapping."""
    try:
        loaded = load_lined(block, first_line=2)
    except yaml.YAMLError as e:
        raise IngestError(
            f"{origin}: front matter is not valid YAML ({error_where(e, first_line=2)}); "
            "fix the block between the '---' lines"
        ) from e
    if loaded.data is None:
        return Lined({}, loaded.lines)
    if not isinstance(loaded.data, dict):
        raise IngestError(
            f"{origin}: front matter must be a YAML mapping (key: value lines), "
            f"got {type(loaded.data).__name__}; fix the block between the '---' lines"
        )
    return loaded


ACCESS_KEYS = ("access_groups", "sensitivity")
"""The keys that declare access in front matter (docs/access.md)."""

_ALIASES = {
    "groups": "access_groups",
    "group": "access_groups",
    "access": "access_groups",
}
_GROUP_WORDS = ("access", "group", "permission", "audience", "reader", "allow_override")
_GROUP_TOKENS = frozenset({"acl", "acls", "role", "roles"})
_SENSITIVITY_WORDS = (
    *("sensitiv", "confiden", "classif", "secret", "private", "public", "internal"),
    *("restrict", "visib", "clearance"),
)
_FENCES = ("---", "+++")
_CLOSERS = ("---", "...", "+++")
_SCAN_LINES = 200
"""Lines looked at before and inside a block that is not read as front matter (a bounded look)."""
_KEY_LINE = re.compile(r"""^(["']?)(?P<key>[A-Za-z_][\w .-]{0,60}?)\1[ \t]*[:=]""")


def access_meta(text: str, *, origin: str) -> Mapping[str, Any]:
    """The front matter of ``text`` for access decisions; any doubt raises :class:`IngestError`.

    Doubts, each reported with its line and what to write instead: front matter that is not a
    YAML mapping; a key that looks like an access key but is not one (``groups``,
    ``access_group``, ``Sensitivity``, ``private``...); an access key written twice; and a block
    carrying access keys that is *not* read as front matter: after blank lines or an HTML
    comment, never closed, or written as TOML (``+++``).
    """
    match = _FRONT_MATTER.match(text)
    if match is None:
        _refuse_unread_block(text, origin=origin)
        return MappingProxyType({})
    loaded = _load(match.group("yaml"), origin=origin)
    for path, line in loaded.lines.items():
        key = path[0]
        if len(path) > 1 or key in ACCESS_KEYS:
            continue
        meant = access_key_meant(key)
        if normal_key(key) == "allow_override":
            raise IngestError(
                f"{origin}: line {line}: 'allow_override' belongs in an _access.yaml, not in front "
                "matter; move it to the folder's sidecar (the file is not indexed until this is fixed)"
            )
        if meant is not None:
            raise IngestError(
                f"{origin}: line {line}: unknown key {key!r} in the front matter; did you mean "
                f"{meant!r}? (front matter declares access with {' and '.join(ACCESS_KEYS)} only; "
                "the file is not indexed until this is fixed)"
            )
    for path, line, first in loaded.duplicates:
        if path[0] in ACCESS_KEYS and len(path) == 1:
            raise IngestError(
                f"{origin}: line {line}: {path[0]!r} is declared a second time (first on line {first}); "
                "keep one declaration"
            )
    return MappingProxyType(loaded.data)


def access_key_meant(key: str) -> str | None:
    """The access key that ``key`` seems to mean, or None when it does not look like one."""
    normal = normal_key(key)
    meant = closest(key, ACCESS_KEYS, _ALIASES)
    if meant is not None:
        return meant
    if any(word in normal for word in _SENSITIVITY_WORDS):
        return "sensitivity"
    if any(word in normal for word in _GROUP_WORDS) or _GROUP_TOKENS & set(normal.split("_")):
        return "access_groups"
    return None


def _refuse_unread_block(text: str, *, origin: str) -> None:
    """Raise when ``text`` opens with a block that is not front matter but declares access."""
    lines = text.removeprefix("\ufeff").splitlines()[: 2 * _SCAN_LINES]
    opening, why = _opening(lines)
    if opening is None:
        return
    fence = lines[opening].strip()
    block, closed = _block(lines, opening, fence)
    declared = [(n, m.group("key")) for n, m in block if access_key_meant(m.group("key")) is not None]
    if not declared:
        return
    line, key = declared[0]
    if fence == "+++":
        fix = "TOML front matter ('+++') is not read; write it as YAML between '---' lines"
    elif why:
        fix = f"{why} before its '---', so it is not read as front matter; remove them"
    elif not closed:
        fix = "front matter that is never closed is not read; end it with a '---' line"
    else:  # a closed block on line 1 that the strict form does not match: '--- ' with text
        fix = "this block is not read as front matter; start the file with a line '---' alone"
    raise IngestError(
        f"{origin}: line {opening + 1}: {fix} (it declares {key!r} on line {line}; "
        "the file is not indexed until this is fixed)"
    )


def _opening(lines: list[str]) -> tuple[int | None, str]:
    """The index of the line that opens a block (``---``/``+++``), and what came before it."""
    comment = blank = in_comment = False
    for index, line in enumerate(lines[:_SCAN_LINES]):
        stripped = line.strip()
        if in_comment or stripped.startswith("<!--"):
            comment = True
            in_comment = "-->" not in (stripped if in_comment else stripped[4:])
        elif not stripped:
            blank = True
        elif stripped in _FENCES or stripped.startswith("---"):
            return index, _BEFORE[comment, blank]
        else:
            return None, ""
    return None, ""


_BEFORE = {
    (False, False): "",
    (True, False): "an HTML comment comes",
    (False, True): "blank lines come",
    (True, True): "an HTML comment and blank lines come",
}


def _block(lines: list[str], opening: int, fence: str) -> tuple[list[tuple[int, re.Match[str]]], bool]:
    """The key lines of the block opened at ``opening`` (1-based line numbers), and if it closes.

    A block never closed counts up to its first blank line only (the rest is the document).
    """
    found: list[tuple[int, re.Match[str]]] = []
    first = lines[opening].strip()[3:].strip()  # '--- title: x' on the fence line itself
    if first and (match := _KEY_LINE.match(first)):
        found.append((opening + 1, match))
    blank_at = None
    for index in range(opening + 1, min(len(lines), opening + 1 + _SCAN_LINES)):
        stripped = lines[index].strip()
        if stripped in _CLOSERS and (fence != "+++" or stripped == "+++"):
            return found, True
        if not stripped and blank_at is None:
            blank_at = index + 1
        if match := _KEY_LINE.match(lines[index]):
            found.append((index + 1, match))
    return [(n, m) for n, m in found if blank_at is None or n < blank_at], False
