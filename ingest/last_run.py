"""The last ``docduet ingest``/``reindex`` run: recorded by the composition root, shown by the admin page."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.private import private_dir, write_private
from ingest.summary import IngestSummary

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LastRun:
    """The latest ``docduet ingest``/``reindex`` summary (``record_last_run``) and when it ended."""

    finished: datetime
    summary: dict[str, Any]

    @property
    def failed(self) -> list[dict[str, Any]]:
        return list(self.summary.get("failed") or [])


def last_run_path(data_dir: Path) -> Path:
    return data_dir / "ingest" / "last-run.json"


def read_last_run(data_dir: Path) -> LastRun | None:
    """The last recorded run, or None when there is none (or it cannot be read)."""
    path = last_run_path(data_dir)
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
        finished = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        log.warning("cannot read %s: %s", path, e)
        return None
    return LastRun(finished, summary if isinstance(summary, dict) else {})


def record_last_run(summary: IngestSummary, data_dir: Path) -> None:
    """Keep the latest summary for the admin page (failed files, last ingest time); not for a dry run."""
    if summary.dry_run:
        return
    private_dir(data_dir)
    write_private(last_run_path(data_dir), json.dumps(summary.to_json(), indent=2))
