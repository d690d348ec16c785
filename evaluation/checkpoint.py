"""A resumable run: one JSON line per finished item, appended and flushed as soon as it is done.

The file name carries a fingerprint of everything that decides the results (dataset, settings,
generators), so a changed configuration starts afresh instead of mixing old and new results.
A line cut short by a crash is dropped when the file is reopened.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.errors import ConfigError

log = logging.getLogger(__name__)


def fingerprint(config: Mapping[str, Any]) -> str:
    """A short, stable hash of a JSON-serialisable configuration."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


class Checkpoint:
    """Finished records by id, persisted to ``<folder>/checkpoint-<stage>-<fingerprint>.jsonl``."""

    def __init__(self, folder: Path, stage: str, config: Mapping[str, Any]) -> None:
        self.path = folder / f"checkpoint-{stage}-{fingerprint(config)}.jsonl"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(f"cannot create the output folder {folder}: {e}; pass another --out") from e
        self._records: dict[str, dict[str, Any]] = self._load()
        self.resumed = len(self._records)

    def __contains__(self, record_id: str) -> bool:
        return record_id in self._records

    def get(self, record_id: str) -> dict[str, Any] | None:
        """The finished record with this id, if any."""
        return self._records.get(record_id)

    def append(self, record: dict[str, Any]) -> None:
        """Persist one finished record (it needs an ``id``); durable when this returns."""
        record_id = str(record["id"])
        line = json.dumps(record, default=str, ensure_ascii=False)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self._records[record_id] = record

    def _load(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists():
            return {}
        records: dict[str, dict[str, Any]] = {}
        good_bytes = 0
        with self.path.open("rb") as handle:
            for raw in handle:
                try:
                    record = json.loads(raw)
                except ValueError:
                    log.warning("dropping an unfinished line at the end of %s", self.path)
                    break
                if not raw.endswith(b"\n"):
                    break
                records[str(record["id"])] = record
                good_bytes += len(raw)
        if good_bytes != self.path.stat().st_size:
            with self.path.open("r+b") as handle:
                handle.truncate(good_bytes)
        log.info("resuming from %s: %d finished", self.path, len(records))
        return records
