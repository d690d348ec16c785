"""Who may read a document: ``_access.yaml`` sidecars and Markdown front matter (docs/access.md)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from core.domain import PUBLIC_GROUP, Access, Sensitivity, SourceFile
from core.errors import IngestError
from ingest.declarations import Declaration, Sidecar, front_matter_declaration, load_sidecar
from ingest.discover import ACCESS_SIDECAR
from ingest.fdwalk import read_document
from ingest.frontmatter import MARKDOWN_SUFFIXES
from ingest.ignore import folders_between, top_folder
from ingest.safefile import DEFAULT_MAX_FILE_BYTES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resolved:
    """A document's access, and the widenings its declarations asked for and did not get."""

    access: Access
    refused: tuple[str, ...] = ()


def resolve_access(file: SourceFile, *, default: Access, corpus_root: Path | None = None) -> Access:
    """The access of ``file``; see :func:`resolve`."""
    return resolve(file, default=default, corpus_root=corpus_root).access


def resolve(
    file: SourceFile,
    content: bytes | None = None,
    *,
    default: Access,
    corpus_root: Path | None = None,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> Resolved:
    """The access of ``file``: sidecars from the top folder down, then front matter, then defaults.

    Front matter is read from ``content``: the bytes the caller read once, and will index or
    serve (``None``: read them now, by descriptor, with :func:`ingest.fdwalk.read_document`).
    Sidecars are read from the top folder down to the file's folder: ``corpus_root`` when it is
    the file's ingest root (``file.root``) or a parent of it, else the ingest root. Sidecars in
    folders above the ingest root that ``corpus_root`` does not name (say a world-writable
    parent) may only narrow: see :func:`_only_narrowing`. The nearest declaration of each key
    wins, but a sidecar is an upper bound for everything below it (nested sidecars, front
    matter): they may only narrow groups and raise sensitivity, unless it says
    ``allow_override: true``. A refused widening keeps the narrower value and is listed in
    ``refused``; groups with nothing in common with the bound raise :class:`IngestError`. A
    public document also gets the public group, unless its groups leave out ``public`` and were
    declared below the ``public`` sensitivity they inherit: then it is internal, and ``refused``
    says so (:meth:`_Bounds.effective`). A malformed or doubtful declaration (an unknown
    key, a front matter block that is not read) raises :class:`IngestError` naming the file, the
    line and what to write; nothing falls back to wider.
    """
    top = top_folder(file.root, corpus_root)
    own = _sidecars(folders_between(top, file.path.parent))
    front = None
    if file.suffix in MARKDOWN_SUFFIXES:
        if content is None:  # read now, by descriptor; callers that index or serve pass their one read
            content = read_document(file, max_bytes=max_bytes)
        front = front_matter_declaration(file, content)
    trusted = _layered(file, own, front, default)
    if corpus_root is not None and top == corpus_root.expanduser().resolve():
        return trusted  # the corpus root holds the ingest root: nothing above it is read
    try:
        above = _sidecars(list(reversed(top.parents)))
    except IngestError as e:
        raise IngestError(
            f"{e} (it lies above the ingest root {top}; DOCDUET_CORPUS_ROOT={top} stops reading it)"
        ) from e
    return _only_narrowing(file, above, own, front, default, trusted) if above else trusted


def _sidecars(folders: list[Path]) -> list[Sidecar]:
    return [s for s in (load_sidecar(folder / ACCESS_SIDECAR) for folder in folders) if s is not None]


def _layered(
    file: SourceFile, sidecars: list[Sidecar], front: Declaration | None, default: Access
) -> Resolved:
    """``sidecars`` (outermost first), then the front matter, over the defaults."""
    bounds = _Bounds()
    for sidecar in sidecars:
        origin = str(sidecar.folder / ACCESS_SIDECAR)
        declaration, entries = sidecar.entries_for(file.path)
        bounds.apply(declaration, origin=origin, bound=not sidecar.allow_override, entries=entries)
    if front is not None:
        bounds.apply(front, origin=f"{file.source} (front matter)", bound=False)
    defaults = Declaration(groups=default.groups, sensitivity=default.sensitivity)
    result, note = bounds.effective(defaults)
    if note:
        log.warning("%s: %s", file.source, note)
    notes = (*bounds.refused, note) if note else tuple(bounds.refused)
    return Resolved(_finish(result, origin=file.source), notes)


def _only_narrowing(
    file: SourceFile,
    above: list[Sidecar],
    own: list[Sidecar],
    front: Declaration | None,
    default: Access,
    trusted: Resolved,
) -> Resolved:
    """Apply sidecars above the ingest root only where they narrow ``trusted`` (a doubt narrows).

    Narrower: applied (ingesting ``finance/2025`` alone keeps ``finance/_access.yaml``). Wider:
    refused and reported; the file keeps ``trusted``. Neither (other groups): the file fails,
    since docduet cannot tell which it is; ``DOCDUET_CORPUS_ROOT`` settles it either way.
    """
    names = ", ".join(str(s.folder / ACCESS_SIDECAR) for s in above)
    folder = above[0].folder
    hint = (
        f"{names} lies above the ingest root {file.root}, which DOCDUET_CORPUS_ROOT does not name; "
        f"set DOCDUET_CORPUS_ROOT={folder} to apply it, or DOCDUET_CORPUS_ROOT={file.root} to ignore it"
    )
    try:
        full = _layered(file, above + own, front, default)
    except IngestError as e:
        raise IngestError(f"{e} ({hint})") from e
    if access_within(full.access, trusted.access):
        return full
    if access_within(trusted.access, full.access):
        note = (
            f"{names}: would widen access to {_described(full.access)}; kept "
            f"{_described(trusted.access)}, since {hint}"
        )
        log.warning("%s: %s", file.source, note)
        return Resolved(trusted.access, (*trusted.refused, note))
    raise IngestError(
        f"{file.source}: access {_described(full.access)} from {names} cannot be told narrower "
        f"or wider than {_described(trusted.access)} declared from the ingest root down; {hint}"
    )


def _described(access: Access) -> str:
    return f"[{', '.join(access.groups)}] {access.sensitivity.value}"


class _Bounds:
    """Declarations layered top-down, each limited by the sidecars above it that set a bound."""

    def __init__(self) -> None:
        self.declared = Declaration()
        self.bound = Declaration()  # None: that key is not bounded (yet)
        self.bound_origin: dict[str, str] = {}
        self.refused: list[str] = []
        self.level = 0
        # Which entry set each key in force: (level, entry), (0, 0) for the defaults, and its origin.
        self.at: dict[str, tuple[int, int]] = {"groups": (0, 0), "sensitivity": (0, 0)}
        self.origin = {"groups": "DOCDUET_DEFAULT_GROUPS", "sensitivity": "DOCDUET_DEFAULT_SENSITIVITY"}

    def apply(
        self, declaration: Declaration, *, origin: str, bound: bool, entries: tuple[int, int] = (0, 0)
    ) -> None:
        groups, sensitivity = declaration.groups, declaration.sensitivity
        if groups is not None and not _groups_within(groups, self.bound):
            groups = self._narrowed_groups(groups, origin)
        if sensitivity is not None and not _sensitivity_within(sensitivity, self.bound):
            kept = self.effective(Declaration())[0].sensitivity or self.bound.sensitivity
            assert kept is not None
            self._refuse(origin, "sensitivity", sensitivity.value, kept.value)
            sensitivity = None  # keep the stricter value from above
        self.level += 1
        for key, value, entry in (("groups", groups, entries[0]), ("sensitivity", sensitivity, entries[1])):
            if value is not None:
                self.at[key], self.origin[key] = (self.level, entry), origin
        self.declared = Declaration(groups=groups, sensitivity=sensitivity).over(self.declared)
        if bound:
            self.bound = self.effective(Declaration())[0]
            for key in ("groups", "sensitivity"):
                if getattr(self.declared, key) is not None:
                    self.bound_origin[key] = origin

    def effective(self, defaults: Declaration) -> tuple[Declaration, str | None]:
        """The declarations over ``defaults``, and a note when an inherited ``public`` is narrowed.

        Groups declared without ``public`` below (or beside, in another entry of the same
        sidecar) the ``sensitivity: public`` they inherit say who may read: the sensitivity
        becomes ``internal`` rather than adding the group ``public`` (docs/access.md).
        """
        result = self.declared.over(defaults)
        groups = self.declared.groups
        if (
            result.sensitivity is not Sensitivity.PUBLIC
            or groups is None
            or PUBLIC_GROUP in groups
            or self.at["groups"] <= self.at["sensitivity"]
        ):
            return result, None
        where = self.origin["groups"]
        note = (
            f"{where}: groups [{', '.join(groups)}] leave out {PUBLIC_GROUP!r}, so only they may "
            f"read it: the 'sensitivity: public' inherited from {self.origin['sensitivity']} is "
            f"narrowed to internal; if everyone was meant, declare 'sensitivity: public' beside "
            f"the groups in {where}"
        )
        return Declaration(groups=groups, sensitivity=Sensitivity.INTERNAL), note

    def _narrowed_groups(self, groups: tuple[str, ...], origin: str) -> tuple[str, ...]:
        allowed = self.bound.groups or ()
        kept = tuple(g for g in groups if g in allowed)
        where = self.bound_origin.get("groups", "a sidecar above")
        if not kept and PUBLIC_GROUP in groups:  # "everyone" refused: the readers stay as they are
            kept = self.declared.groups or allowed
        if not kept:
            raise IngestError(
                f"{origin}: groups [{', '.join(groups)}] share none of the groups "
                f"[{', '.join(allowed)}] that {where} allows here; declare some of those, or add "
                f"'allow_override: true' to {where} to let declarations below it widen access"
            )
        self._refuse(origin, "groups", f"[{', '.join(groups)}]", f"[{', '.join(kept)}]")
        return kept

    def _refuse(self, origin: str, key: str, asked: str, kept: str) -> None:
        where = self.bound_origin.get(key, "a sidecar above")
        note = (
            f"{origin}: {key} {asked} would widen the access that {where} allows; kept {kept} "
            f"(add 'allow_override: true' to {where} to allow it)"
        )
        log.warning("%s", note)
        self.refused.append(note)


def access_within(narrow: Access, wide: Access) -> bool:
    """True when everyone who may read ``narrow`` may read ``wide``, and it is no less sensitive."""
    everyone = PUBLIC_GROUP in wide.groups
    return (everyone or set(narrow.groups) <= set(wide.groups)) and (
        _RANK[narrow.sensitivity] >= _RANK[wide.sensitivity]
    )


def _groups_within(groups: tuple[str, ...], bound: Declaration) -> bool:
    if bound.groups is None or PUBLIC_GROUP in bound.groups or bound.sensitivity is Sensitivity.PUBLIC:
        return True  # unbounded, or readable by everyone already
    return set(groups) <= set(bound.groups)


def _sensitivity_within(sensitivity: Sensitivity, bound: Declaration) -> bool:
    return bound.sensitivity is None or _RANK[sensitivity] >= _RANK[bound.sensitivity]


_RANK = {Sensitivity.PUBLIC: 0, Sensitivity.INTERNAL: 1, Sensitivity.CONFIDENTIAL: 2}


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
