"""Seeded random corpora and users for the randomized permission suite (issue #11 §4).

:func:`build_corpus` writes a folder tree of small documents with random ``_access.yaml`` sidecars
(nested, with ``files`` patterns and ``allow_override``) and Markdown front matter, and returns,
for every document, the access docs/access.md says it must get. That expectation comes from
:func:`expected_access`, a small model of the rules written from docs/access.md alone (it does not
call ``ingest.access``), so the suite compares two independent readings of the same document.

Each document's text carries a unique marker (``pmk`` + number + ``x``): wherever text travels
(a hit, a prompt sent over the wire, a Slack message), the markers in it name the documents it
came from. The generator stays inside the rules the document states plainly; corners it leaves
out are listed in :data:`NOT_GENERATED`.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

SENSITIVITIES = ("public", "internal", "confidential")
GROUPS = ("employees", "hr", "finance", "eng", "legal", "sales", "leadership", "admins")
DEFAULT_GROUPS = ("employees",)
DEFAULT_SENSITIVITY = "internal"
MARKER_RE = re.compile(r"pmk(\d+)x")
TOPICS = (
    "budget", "hiring", "roadmap", "incident", "contract", "salary", "offsite", "security",
    "release", "audit", "vendor", "travel", "laptop", "pension", "merger", "onboarding",
)  # fmt: skip
NOT_GENERATED = (
    "the group `public` declared explicitly (refused or an error by the rules)",
    "a root sidecar without both keys (the bound of an undeclared key is not spelled out)",
    "patterns with `/`, symbolic links, ignore files, oversized files",
    "a `files` pattern written twice in one sidecar (it fails: 'written a second time'); "
    "a pattern drawn twice is dropped",
)


def rank(sensitivity: str) -> int:
    return SENSITIVITIES.index(sensitivity)


@dataclass(frozen=True)
class Expected:
    """What a document must get: its readers and sensitivity, or None when it must fail."""

    groups: frozenset[str] | None
    sensitivity: str | None

    @property
    def fails(self) -> bool:
        return self.groups is None

    def readable_by(self, groups: frozenset[str]) -> bool:
        """Whether a caller in ``groups`` (plus ``public``, as everyone) may read the document."""
        return self.groups is not None and bool(self.groups & (groups | {"public"}))


@dataclass
class Declaration:
    """Keys a sidecar (folder keys or one pattern) or a front matter declares; None: not declared."""

    groups: tuple[str, ...] | None = None
    sensitivity: str | None = None

    def as_yaml(self, groups_key: str = "groups") -> dict[str, object]:
        out: dict[str, object] = {}
        if self.groups is not None:
            out[groups_key] = list(self.groups)
        if self.sensitivity is not None:
            out["sensitivity"] = self.sensitivity
        return out


@dataclass
class Sidecar:
    folder: tuple[str, ...]
    keys: Declaration
    patterns: list[tuple[str, Declaration]] = field(default_factory=list)
    allow_override: bool = False

    def as_yaml(self) -> dict[str, object]:
        out = self.keys.as_yaml()
        if self.patterns:
            out["files"] = {p: d.as_yaml() for p, d in self.patterns}
        if self.allow_override:
            out["allow_override"] = True
        return out


@dataclass
class Document:
    number: int
    folder: tuple[str, ...]
    name: str
    topics: tuple[str, ...]
    front: Declaration | None = None
    bad_front: bool = False
    """Front matter with an unknown sensitivity: the file must fail closed."""
    expected: Expected = Expected(None, None)

    @property
    def marker(self) -> str:
        return f"pmk{self.number}x"

    @property
    def relpath(self) -> Path:
        return Path(*self.folder, self.name)


@dataclass
class Corpus:
    root: Path
    documents: list[Document]
    sidecars: dict[tuple[str, ...], Sidecar]

    def by_marker(self, marker_number: int) -> Document:
        return self.documents[marker_number]

    def by_source(self) -> dict[str, Document]:
        return {str(self.root / d.relpath): d for d in self.documents}


def expected_access(doc: Document, sidecars: dict[tuple[str, ...], Sidecar]) -> Expected:
    """docs/access.md, applied top-down: nearest declaration wins within the upper bound."""
    state = _State(set(DEFAULT_GROUPS), DEFAULT_SENSITIVITY)
    bound: tuple[set[str], str] | None = None
    for depth in range(len(doc.folder) + 1):
        sidecar = sidecars.get(doc.folder[:depth])
        if sidecar is None:
            continue
        declared = Declaration(sidecar.keys.groups, sidecar.keys.sensitivity)
        entries = [0, 0]  # which entry gave each key: 0 the folder keys, n the n-th pattern
        below = doc.folder[depth:]
        for entry, (pattern, decl) in enumerate(sidecar.patterns, start=1):  # later ones win
            if _matches(pattern, doc.name, below):
                declared.groups = decl.groups if decl.groups is not None else declared.groups
                declared.sensitivity = decl.sensitivity or declared.sensitivity
                entries = [
                    entry if decl.groups is not None else entries[0],
                    entry if decl.sensitivity else entries[1],
                ]
        if not state.apply(declared, bound, at=(depth + 1, entries)):
            return Expected(None, None)
        if not sidecar.allow_override:  # a public bound lets everyone read: any groups are narrower
            groups, sens = state.effective()
            bound = (groups | ({"public"} if sens == "public" else set()), sens)
    if doc.bad_front:
        return Expected(None, None)
    if doc.front is not None and not state.apply(doc.front, bound, at=(len(doc.folder) + 2, [0, 0])):
        return Expected(None, None)
    groups, sens = state.effective()
    if sens == "public":
        groups = groups | {"public"}
    return Expected(frozenset(groups), sens)


@dataclass
class _State:
    """The groups and sensitivity in force, and where each was declared: (level, entry), (0, 0)
    for the defaults, levels counting sidecars from the top and then the front matter."""

    groups: set[str]
    sens: str
    groups_at: tuple[int, int] = (0, 0)
    sens_at: tuple[int, int] = (0, 0)

    def apply(
        self, declared: Declaration, bound: tuple[set[str], str] | None, *, at: tuple[int, list[int]]
    ) -> bool:
        applied = _apply(declared, self.groups, self.sens, bound)
        if applied is None:
            return False
        if declared.groups is not None:
            self.groups_at = (at[0], at[1][0])
        if applied[2]:
            self.sens_at = (at[0], at[1][1])
        self.groups, self.sens, _ = applied
        return True

    def effective(self) -> tuple[set[str], str]:
        """Groups declared below (or in another entry than) an inherited ``public`` are the readers:
        the sensitivity is ``internal`` then (the generator never declares the group ``public``)."""
        if self.sens == "public" and self.groups_at > self.sens_at:
            return self.groups, "internal"
        return self.groups, self.sens


def _matches(pattern: str, name: str, below: tuple[str, ...]) -> bool:
    """Patterns here are exact file names or ``*suffix`` (no ``/``): they match the name at any depth."""
    if pattern.startswith("*"):
        return name.endswith(pattern[1:])
    return name == pattern


def _apply(
    declared: Declaration, groups: set[str], sens: str, bound: tuple[set[str], str] | None
) -> tuple[set[str], str, bool] | None:
    """Nearest wins; within ``bound`` groups narrow (disjoint fails) and sensitivity only rises.

    Returns the groups, the sensitivity, and whether the declared sensitivity was taken."""
    if declared.groups is not None:
        wanted = set(declared.groups)
        if bound is not None and "public" not in bound[0]:
            wanted &= bound[0]
            if not wanted:
                return None
        groups = wanted
    # A wider sensitivity than the bound is refused: the value in force (never wider than the
    # bound) stays. Groups partly outside the bound are cut to it instead.
    wider = bound is not None and rank(declared.sensitivity or "public") < rank(bound[1])
    taken = declared.sensitivity is not None and not wider
    return groups, declared.sensitivity if taken and declared.sensitivity else sens, taken


def _random_groups(rng: random.Random, low: int = 1, high: int = 3) -> tuple[str, ...]:
    return tuple(sorted(rng.sample(GROUPS, rng.randint(low, high))))


def _random_declaration(rng: random.Random, *, both: bool = False) -> Declaration:
    which = "both" if both else rng.choice(("both", "groups", "sensitivity"))
    return Declaration(
        groups=_random_groups(rng) if which in ("both", "groups") else None,
        sensitivity=rng.choice(SENSITIVITIES) if which in ("both", "sensitivity") else None,
    )


def _folders(rng: random.Random, count: int) -> list[tuple[str, ...]]:
    folders: list[tuple[str, ...]] = [()]
    while len(folders) < count:
        parent = rng.choice([f for f in folders if len(f) < 3])
        folders.append((*parent, f"d{len(folders)}"))
    return folders


def build_corpus(root: Path, seed: int, n_docs: int, n_folders: int = 24) -> Corpus:
    """Write a random corpus under ``root`` (the corpus root) and return it with expectations."""
    rng = random.Random(seed)
    folders = _folders(rng, n_folders)
    docs = []
    for number in range(n_docs):
        folder = rng.choice(folders)
        suffix = rng.choice(("-s", "", "", ""))
        ext = rng.choice((".md", ".md", ".md", ".txt"))
        doc = Document(number, folder, f"f{number}{suffix}{ext}", tuple(rng.sample(TOPICS, 3)))
        if ext == ".md" and rng.random() < 0.4:
            doc.front = _random_declaration(rng)
            if doc.front.groups is None and doc.front.sensitivity is None:
                doc.front = None
        doc.bad_front = ext == ".md" and rng.random() < 0.02
        docs.append(doc)
    sidecars: dict[tuple[str, ...], Sidecar] = {}
    for folder in folders:
        if folder and rng.random() < 0.4:
            continue
        keys = _random_declaration(rng, both=not folder)
        # Like corpora/_access.yaml, the root mostly lets the folders below set their own bounds.
        override = rng.random() < (0.7 if not folder else 0.25)
        sidecar = Sidecar(folder, keys, allow_override=override)
        under = [d for d in docs if d.folder[: len(folder)] == folder]
        for _ in range(rng.choice((0, 0, 1, 2))):
            pattern = "*-s.md" if rng.random() < 0.3 or not under else rng.choice(under).name
            declaration = _random_declaration(rng)
            # A mapping holds each pattern once (the file would keep only the last): draw, skip.
            if all(pattern != p for p, _ in sidecar.patterns):
                sidecar.patterns.append((pattern, declaration))
        sidecars[folder] = sidecar
    for doc in docs:
        doc.expected = expected_access(doc, sidecars)
    _write(root, docs, sidecars)
    return Corpus(root, docs, sidecars)


def _write(root: Path, docs: list[Document], sidecars: dict[tuple[str, ...], Sidecar]) -> None:
    for folder, sidecar in sidecars.items():
        path = root.joinpath(*folder, "_access.yaml")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(sidecar.as_yaml(), sort_keys=False), encoding="utf-8")
    for doc in docs:
        path = root / doc.relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        body = (
            f"Notes {doc.number} about {' and '.join(doc.topics)}.\n\n"
            f"The reference code of this note is {doc.marker}. It covers the {doc.topics[0]} plan, "
            f"the {doc.topics[1]} review and the {doc.topics[2]} schedule for this quarter.\n"
        )
        head = ""
        if doc.bad_front:
            head = "---\nsensitivity: secret\n---\n"
        elif doc.front is not None:
            front = {"title": f"Note {doc.number}", **doc.front.as_yaml("access_groups")}
            head = "---\n" + yaml.safe_dump(front, sort_keys=False) + "---\n"
        path.write_text(head + body, encoding="utf-8")


def random_users(seed: int, count: int) -> list[tuple[str, frozenset[str]]]:
    """``count`` users ``u0``, ``u1``, ... with random group sets (some with none at all)."""
    rng = random.Random(seed + 1)
    users = []
    for i in range(count):
        groups = frozenset(rng.sample(GROUPS, rng.choice((0, 1, 1, 2, 2, 3, 4))))
        users.append((f"u{i}", groups))
    return users


def random_query(rng: random.Random) -> str:
    a, b = rng.sample(TOPICS, 2)
    return f"What do the notes say about the {a} and the {b}?"


def markers_in(text: str) -> set[int]:
    """Numbers of the documents whose markers appear in ``text``."""
    return {int(m) for m in MARKER_RE.findall(text)}
