"""Who may read a document: ``_access.yaml`` sidecars and Markdown front matter (docs/access.md)."""

from __future__ import annotations

import fnmatch
import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from docduet.domain import PUBLIC_GROUP, Access, Sensitivity
from docduet.errors import IngestError
from ingest.decode import read_text
from ingest.discover import ACCESS_SIDECAR, SourceFile
from ingest.frontmatter import MARKDOWN_SUFFIXES, split_front_matter

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

    def for_file(self, path: Path) -> Declaration:
        """The folder-wide keys with every matching pattern layered on, later patterns winning."""
        relative = PurePosixPath(path.relative_to(self.folder).as_posix())
        result = self.declaration
        for pattern, declaration in self.patterns:
            target = str(relative) if "/" in pattern else relative.name
            if fnmatch.fnmatchcase(target, pattern):
                result = declaration.over(result)
        return result


def resolve_access(file: SourceFile, *, default: Access) -> Access:
    """The access of ``file``: default, then sidecars from its root down, then front matter.

    The nearest declaration of each key wins. A public document also gets the public group.
    A malformed declaration raises :class:`IngestError` naming the file and key; it never
    falls back to something wider.
    """
    result = Declaration(groups=default.groups, sensitivity=default.sensitivity)
    for folder in _folders_from_root(file):
        sidecar = _load_sidecar(folder / ACCESS_SIDECAR)
        if sidecar is not None:
            result = sidecar.for_file(file.path).over(result)
    if file.suffix in MARKDOWN_SUFFIXES:
        result = _front_matter_declaration(file).over(result)
    return _finish(result, origin=file.source)


def _folders_from_root(file: SourceFile) -> list[Path]:
    folder = file.path.parent
    if not folder.is_relative_to(file.root):
        return [folder]
    chain = [folder]
    while folder != file.root:
        folder = folder.parent
        chain.append(folder)
    return chain[::-1]


def _load_sidecar(path: Path) -> Sidecar | None:
    try:
        stat = path.stat()
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
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise IngestError(
            f"{origin}: not a readable YAML file ({_first_line(e)}); fix it or remove it"
        ) from e
    data = {} if data is None else data
    mapping = _mapping(data, origin=origin, key="(top level)")
    unknown = sorted(set(mapping) - {"groups", "sensitivity", "files"})
    if unknown:
        raise IngestError(f"{origin}: unknown key {unknown[0]!r}; allowed: groups, sensitivity, files")
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
    )


def _front_matter_declaration(file: SourceFile) -> Declaration:
    front = split_front_matter(read_text(file.path), origin=file.source)
    meta = front.meta
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
        unknown = sorted(set(mapping) - {"groups", "sensitivity"})
        if unknown:
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


def _finish(declaration: Declaration, *, origin: str) -> Access:
    groups = declaration.groups or ()
    sensitivity = declaration.sensitivity or Sensitivity.CONFIDENTIAL
    if sensitivity is Sensitivity.PUBLIC:
        groups = (*groups, PUBLIC_GROUP)
    elif PUBLIC_GROUP in groups:
        raise IngestError(
            f"{origin}: group {PUBLIC_GROUP!r} is declared but sensitivity is "
            f"{sensitivity.value!r}; declare 'sensitivity: public' or remove the group"
        )
    return Access(groups=tuple(sorted(set(groups))), sensitivity=sensitivity)


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
