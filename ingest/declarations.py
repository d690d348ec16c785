"""Access declarations as written: ``_access.yaml`` sidecars and Markdown front matter, parsed strictly.

Every key is a known one, written once; anything else is an :class:`IngestError` naming the file,
the line and what to write instead (docs/access.md). How declarations combine is
:mod:`ingest.access`.
"""

from __future__ import annotations

import fnmatch
import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from core.domain import Sensitivity, SourceFile
from core.errors import IngestError
from ingest.decode import decode
from ingest.frontmatter import access_meta
from ingest.safefile import SIDECAR_MAX_BYTES, read_regular
from ingest.yamlmap import Lined, closest, error_where, load_lined

log = logging.getLogger(__name__)

_SENSITIVITIES = ", ".join(s.value for s in Sensitivity)


@dataclass(frozen=True)
class Declaration:
    """Some access keys; ``None`` means "not declared here, inherit"."""

    groups: tuple[str, ...] | None = None
    sensitivity: Sensitivity | None = None

    def over(self, base: Declaration) -> Declaration:
        """This declaration layered over ``base``: declared keys win."""
        return Declaration(
            groups=self.groups if self.groups is not None else base.groups,
            sensitivity=self.sensitivity if self.sensitivity is not None else base.sensitivity,
        )


@dataclass(frozen=True)
class Sidecar:
    """One parsed ``_access.yaml``: folder-wide keys and per-file patterns, in file order."""

    folder: Path
    declaration: Declaration
    patterns: tuple[tuple[str, Declaration], ...]
    allow_override: bool = False
    """True: declarations below may widen what this sidecar sets (else it is an upper bound)."""

    def for_file(self, path: Path) -> Declaration:
        """The folder-wide keys with every matching pattern layered on, later patterns winning."""
        return self.entries_for(path)[0]

    def entries_for(self, path: Path) -> tuple[Declaration, tuple[int, int]]:
        """:meth:`for_file`, and the entries that gave its groups and its sensitivity.

        An entry is 0 for the folder-wide keys, ``n`` for the ``n``-th ``files`` pattern.
        """
        relative = PurePosixPath(path.relative_to(self.folder).as_posix())
        result, groups_at, sensitivity_at = self.declaration, 0, 0
        for entry, (pattern, declaration) in enumerate(self.patterns, start=1):
            target = str(relative) if "/" in pattern else relative.name
            if fnmatch.fnmatchcase(target, pattern):
                result = declaration.over(result)
                groups_at = entry if declaration.groups is not None else groups_at
                sensitivity_at = entry if declaration.sensitivity is not None else sensitivity_at
        return result, (groups_at, sensitivity_at)


def load_sidecar(path: Path) -> Sidecar | None:
    try:
        stat = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise IngestError(f"{path}: cannot read access sidecar ({e}); fix its permissions") from e
    return _parse_sidecar(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _parse_sidecar(path: Path, mtime_ns: int, size: int) -> Sidecar:
    """Parse a sidecar; cached per (path, mtime, size) so each folder is read once per change."""
    del mtime_ns, size  # cache key only
    origin = str(path)
    try:
        text = read_regular(path, max_bytes=SIDECAR_MAX_BYTES).decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise IngestError(f"{origin}: not a readable YAML file ({e}); fix it or remove it") from e
    try:
        loaded = load_lined(text)
    except yaml.YAMLError as e:
        raise IngestError(
            f"{origin}: not a readable YAML file ({error_where(e)}); fix it or remove it"
        ) from e
    mapping = _mapping({} if loaded.data is None else loaded.data, origin=origin, key="(top level)")
    _check_sidecar_keys(loaded, origin=origin)
    override = mapping.get("allow_override", False)
    if not isinstance(override, bool):
        raise IngestError(f"{origin}: allow_override must be true or false; got {override!r}")
    files = _mapping(mapping.get("files") or {}, origin=origin, key="files")
    patterns = tuple(
        (
            str(pattern),
            _declaration(
                _mapping(value, origin=origin, key=f"files.{pattern}"),
                origin=origin,
                prefix=f"files.{pattern}.",
            ),
        )
        for pattern, value in files.items()
    )
    log.debug("access sidecar %s: %d file patterns", origin, len(patterns))
    return Sidecar(
        folder=path.parent,
        declaration=_declaration(mapping, origin=origin, prefix=""),
        patterns=patterns,
        allow_override=override,
    )


_SIDECAR_KEYS = ("groups", "sensitivity", "files", "allow_override")
_SIDECAR_ALIASES = {
    "access_groups": "groups",
    "group": "groups",
    "access": "groups",
    "override": "allow_override",
}


def _check_sidecar_keys(loaded: Lined, *, origin: str) -> None:
    """Every key is a known one, written once; else the line, and what it probably meant."""
    for path, line, first in loaded.duplicates:
        raise IngestError(
            f"{origin}: line {line}: key {'.'.join(path)!r} is written a second time (first on line "
            f"{first}) and YAML would keep only the last; keep one"
        )
    for path, line in loaded.lines.items():
        allowed = _SIDECAR_KEYS if len(path) == 1 else ("groups", "sensitivity")
        if (len(path) == 1 or (path[0] == "files" and len(path) == 3)) and path[-1] not in allowed:
            meant = closest(path[-1], allowed, _SIDECAR_ALIASES)
            hint = f"did you mean {meant!r}? " if meant else ""
            where = "" if len(path) == 1 else f" in files.{path[1]}"
            raise IngestError(
                f"{origin}: line {line}: unknown key {path[-1]!r}{where}; {hint}allowed: {', '.join(allowed)}"
            )


def front_matter_declaration(file: SourceFile, data: bytes) -> Declaration:
    meta = access_meta(decode(data, origin=file.source), origin=file.source)
    return Declaration(
        groups=_groups(meta["access_groups"], origin=file.source, key="access_groups")
        if "access_groups" in meta
        else None,
        sensitivity=_sensitivity(meta["sensitivity"], origin=file.source, key="sensitivity")
        if "sensitivity" in meta
        else None,
    )


def _declaration(mapping: Mapping[str, Any], *, origin: str, prefix: str) -> Declaration:
    if prefix:
        unknown = sorted(str(key) for key in set(mapping) - {"groups", "sensitivity"})
        if unknown:  # keys that are not strings (numbers, lists): their line is not recorded
            raise IngestError(f"{origin}: unknown key {prefix}{unknown[0]}; allowed: groups, sensitivity")
    return Declaration(
        groups=_groups(mapping["groups"], origin=origin, key=f"{prefix}groups")
        if "groups" in mapping
        else None,
        sensitivity=_sensitivity(mapping["sensitivity"], origin=origin, key=f"{prefix}sensitivity")
        if "sensitivity" in mapping
        else None,
    )


def _groups(value: object, *, origin: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise IngestError(
            f"{origin}: {key} must be a non-empty list of group names, e.g. [hr, finance]; got {value!r}"
        )
    names = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise IngestError(f"{origin}: {key} must hold group names (non-blank strings); got {item!r}")
        names.append(item.strip())
    return tuple(dict.fromkeys(names))


def _sensitivity(value: object, *, origin: str, key: str) -> Sensitivity:
    try:
        return Sensitivity(str(value).strip().lower())
    except ValueError as e:
        raise IngestError(
            f"{origin}: {key}: unknown sensitivity {value!r}; use one of {_SENSITIVITIES}"
        ) from e


def _mapping(value: object, *, origin: str, key: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise IngestError(f"{origin}: {key} must be a mapping (key: value lines); got {type(value).__name__}")
    return value
