"""A :class:`core.protocols.ProgressSink` that moves a Streamlit progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class Bar(Protocol):
    """What ``st.progress`` returns: a bar that can be moved, with a text."""

    def progress(self, value: float, text: str | None = None) -> object: ...


class BarProgress:
    """Reports each file on the bar: ``ingesting 3/20 · added: handbook.md``."""

    def __init__(self, bar: Bar) -> None:
        self._bar = bar
        self._total = 0
        self._done = 0
        self._description = ""
        self.outcomes: dict[str, int] = {}

    def start(self, total: int, description: str) -> None:
        self._total, self._done, self._description = total, 0, description
        self._bar.progress(0.0, text=f"{description}: 0/{total} files")

    def advance(self, source: str, outcome: str) -> None:
        self._done += 1
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        fraction = min(1.0, self._done / self._total) if self._total else 1.0
        text = f"{self._description}: {self._done}/{self._total} · {outcome}: {Path(source).name}"
        self._bar.progress(fraction, text=text)

    def finish(self) -> None:
        self._bar.progress(1.0, text=f"{self._description}: done, {self._done}/{self._total} files")
