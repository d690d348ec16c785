"""YAML declarations read with the line of each key, so a doubt can be reported where it is."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

_KEY_DEPTH = 3
"""How deep key lines are recorded: ``files`` -> pattern -> key in a sidecar."""


@dataclass(frozen=True)
class Lined:
    """A loaded YAML document, the file line of each mapping key, and keys written twice."""

    data: Any
    lines: Mapping[tuple[str, ...], int]
    """``("key",)``, ``("files", "*.pdf")``, ``("files", "*.pdf", "groups")`` -> line in the file."""
    duplicates: tuple[tuple[tuple[str, ...], int, int], ...] = ()
    """(key path, its line, the line that first wrote it): YAML keeps the last one silently."""


def load_lined(text: str, *, first_line: int = 1) -> Lined:
    """Load ``text`` (which starts at ``first_line`` of its file); raises ``yaml.YAMLError``."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()
    lines: dict[tuple[str, ...], int] = {}
    duplicates: list[tuple[tuple[str, ...], int, int]] = []
    if node is not None:
        _record(node, (), first_line, lines, duplicates)
    return Lined(data, lines, tuple(duplicates))


def _record(
    node: yaml.Node,
    path: tuple[str, ...],
    first: int,
    lines: dict[tuple[str, ...], int],
    dup: list[tuple[tuple[str, ...], int, int]],
) -> None:
    if not isinstance(node, yaml.MappingNode) or len(path) >= _KEY_DEPTH:
        return
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            continue
        where = (*path, str(key_node.value))
        line = first + key_node.start_mark.line
        if where in lines:
            dup.append((where, line, lines[where]))
        else:
            lines[where] = line
        _record(value_node, where, first, lines, dup)


def error_where(error: yaml.YAMLError, *, first_line: int = 1) -> str:
    """``"line N: <problem>"`` for a YAML error (the file line), or its first line of text."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or _first_line(error)
    if mark is None:
        return str(problem)
    return f"line {first_line + mark.line}: {problem}"


def normal_key(key: str) -> str:
    """``accessGroups``, ``Access-Groups``, ``access groups`` -> ``access_groups``."""
    split = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key.strip())
    return re.sub(r"[^a-z0-9]+", "_", split.lower()).strip("_")


def closest(
    key: str, known: Iterable[str], aliases: Mapping[str, str], *, cutoff: float = 0.75
) -> str | None:
    """The known key that ``key`` most likely meant: an alias, a spelling variant, a near typo."""
    normal = normal_key(key)
    if normal in aliases:
        return aliases[normal]
    candidates = list(known)
    if normal in candidates:
        return normal
    match = difflib.get_close_matches(normal, candidates, n=1, cutoff=cutoff)
    return match[0] if match else None


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
