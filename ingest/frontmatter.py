"""YAML front matter of Markdown files: the block between ``---`` lines at the very top."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import yaml

from core.errors import IngestError

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
    try:
        meta = yaml.safe_load(match.group("yaml"))
    except yaml.YAMLError as e:
        raise IngestError(
            f"{origin}: front matter is not valid YAML ({_first_line(e)}); "
            "fix the block between the '---' lines"
        ) from e
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise IngestError(
            f"{origin}: front matter must be a YAML mapping (key: value lines), "
            f"got {type(meta).__name__}; fix the block between the '---' lines"
        )
    return FrontMatter(meta=MappingProxyType(meta), body=text[match.end() :])


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
