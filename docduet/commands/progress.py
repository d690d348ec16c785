"""The CLI's progress bar (a :class:`core.protocols.ProgressSink`), shared by ingest, reindex and eval."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class RichProgress:
    """A progress bar on stderr with counts, elapsed time and ETA."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[current]}", style="dim"),
            console=console,
            transient=False,
        )
        self._task: Any = None

    def start(self, total: int, description: str) -> None:
        self._progress.start()
        self._task = self._progress.add_task(description, total=total, current="")

    def advance(self, source: str, outcome: str) -> None:
        self._progress.update(self._task, advance=1, current=f"{outcome}: {Path(source).name}")

    def finish(self) -> None:
        self._progress.update(self._task, current="")
        self._progress.stop()
