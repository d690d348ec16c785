"""How a long run reports progress; the CLI shows a rich bar, the web admin its own widget."""

from __future__ import annotations

from typing import Protocol


class ProgressSink(Protocol):
    """Receives one call per file; implementations must be cheap."""

    def start(self, total: int, description: str) -> None: ...

    def advance(self, source: str, outcome: str) -> None: ...

    def finish(self) -> None: ...


class NullProgress:
    """Reports nothing (tests, library use)."""

    def start(self, total: int, description: str) -> None:
        pass

    def advance(self, source: str, outcome: str) -> None:
        pass

    def finish(self) -> None:
        pass
