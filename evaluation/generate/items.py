"""A generated test item as QA JSONL (what ``docduet eval`` reads), with provenance and a hash.

Each line holds what ``evaluation.datasets.load_qa_jsonl`` reads (``id``, ``question``,
``answers``: empty for an unanswerable question, ``source``), who asks it (``asker``: a user
allowed to read the source), and ``generated``: where it came from (passage id, source, section,
the generator that wrote it, the filters it passed, the date) and ``hash``, the SHA-256 of the
item as written. A person may edit or delete lines before the run; :func:`hand_edits` lists them
by comparing each line with its hash and the ids that ``generation.json`` recorded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.domain import Chunk, User
from core.errors import ConfigError

QUESTIONS_FILE = "questions.jsonl"
MANIFEST_FILE = "generation.json"
HASHED = ("id", "question", "answers", "source", "asker")
"""The fields a hand edit may change; the hash covers exactly these."""


@dataclass(frozen=True)
class GeneratedItem:
    """One kept question, ready to be written."""

    item_id: str
    question: str
    answer: str | None
    """The gold answer, copied from the passage; None for an unanswerable question."""
    chunk: Chunk
    asker: User
    generator: str
    filters: tuple[str, ...]
    created: str

    def record(self) -> dict[str, Any]:
        """The JSONL object, its ``hash`` included."""
        core = {
            "id": self.item_id,
            "question": self.question,
            "answers": [self.answer] if self.answer is not None else [],
            "source": self.chunk.source,
            "asker": {"name": self.asker.name, "groups": list(self.asker.groups)},
        }
        provenance = {
            "kind": "answerable" if self.answer is not None else "unanswerable",
            "passage_id": self.chunk.chunk_id,
            "source": self.chunk.source,
            "section": self.chunk.section,
            "page": self.chunk.page,
            "readable_by": list(self.chunk.access.groups),
            "sensitivity": self.chunk.access.sensitivity.value,
            "generator": self.generator,
            "filters_passed": list(self.filters),
            "created": self.created,
            "hash": item_hash(core),
        }
        return {**core, "generated": provenance}


def item_hash(record: dict[str, Any]) -> str:
    """SHA-256 of the hashed fields of ``record``, as canonical JSON."""
    canonical = json.dumps({k: record.get(k) for k in HASHED}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def write_items(path: Path, items: Iterable[GeneratedItem]) -> int:
    """Write ``items`` as JSONL (replacing the file); how many were written."""
    lines = [json.dumps(item.record(), ensure_ascii=False) for item in items]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot write the generated questions to {path}: {e}; pick another --out") from e
    return len(lines)


def append_item(path: Path, item: GeneratedItem) -> None:
    """Add one item to the file as soon as it is kept (a stopped run keeps what it wrote)."""
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(item.record(), ensure_ascii=False) + "\n")
    except OSError as e:
        raise ConfigError(f"cannot write the generated questions to {path}: {e}; pick another --out") from e


@dataclass(frozen=True)
class HandEdits:
    """What a person changed in a generated set since it was written."""

    edited: tuple[str, ...]
    deleted: tuple[str, ...]
    added: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.edited or self.deleted or self.added)

    def as_dict(self) -> dict[str, list[str]]:
        return {"edited": list(self.edited), "deleted": list(self.deleted), "added": list(self.added)}


def hand_edits(records: Sequence[dict[str, Any]], written_ids: Sequence[str] | None) -> HandEdits:
    """Items whose hash no longer matches (edited), generated ids now missing (deleted), and
    lines without a generation hash (added by hand); ``written_ids`` from ``generation.json``."""
    edited = [
        str(r.get("id"))
        for r in records
        if isinstance(r.get("generated"), dict) and r["generated"].get("hash") != item_hash(r)
    ]
    added = [str(r.get("id")) for r in records if not isinstance(r.get("generated"), dict)]
    present = {str(r.get("id")) for r in records}
    deleted = [i for i in written_ids or () if i not in present]
    return HandEdits(tuple(edited), tuple(deleted), tuple(added))


def describe_hand_edits(edits: dict[str, list[str]]) -> str:
    """One sentence for the report: what a person changed in the generated set before the run."""
    parts = [
        f"{len(ids)} {what} ({', '.join(ids[:10])}{', …' if len(ids) > 10 else ''})"
        for what, ids in (
            ("edited", edits["edited"]),
            ("deleted", edits["deleted"]),
            ("added", edits["added"]),
        )
        if ids
    ]
    if not parts:
        return "Generated set: no item was changed by hand since it was generated."
    return "Generated set, changed by hand since it was generated: " + "; ".join(parts) + "."


def read_hand_edits(questions: Path) -> HandEdits | None:
    """:func:`hand_edits` of a generated set's file; None when ``questions`` was not generated."""
    try:
        records = [json.loads(line) for line in questions.read_text("utf-8").splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(f"cannot read {questions}: {e}") from e
    if not any(isinstance(r.get("generated"), dict) for r in records):
        return None
    manifest = questions.parent / MANIFEST_FILE
    written: list[str] | None = None
    if manifest.is_file():
        try:
            written = [str(i) for i in json.loads(manifest.read_text("utf-8")).get("item_ids", [])]
        except (OSError, json.JSONDecodeError) as e:
            raise ConfigError(f"cannot read {manifest}: {e}; delete it or generate the set again") from e
    return hand_edits(records, written)
