"""An attacker who swaps a folder for a link, at a moment a test chooses (issue #21, items 1 and 2).

The swap runs in a second thread, started by :class:`Attacker`; the test decides when it strikes,
either from a hook of the code under test or just before the N-th file-system call the current
thread makes (:func:`strike_before_call`, through ``sys.setprofile``). Every wait is bounded;
nothing depends on timing luck.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

STRIKE_TIMEOUT_S = 30.0
FS_CALLS = frozenset({os.open, os.stat, os.lstat, os.scandir, os.readlink, os.fstat})
"""The file-system calls between which a swap may land (each one a moment to strike)."""


def swap_for_link(folder: Path, target: Path) -> Callable[[], None]:
    """What the attacker does: move ``folder`` aside and put a link to ``target`` in its place.

    Returns the undo (the link removed, the folder moved back).
    """
    aside = folder.with_name(folder.name + ".decoy")
    folder.rename(aside)
    folder.symlink_to(os.path.relpath(target, folder.parent), target_is_directory=True)

    def undo() -> None:
        folder.unlink()
        aside.rename(folder)

    return undo


class Attacker:
    """Runs ``swap`` once, in a thread of its own, when :meth:`strike` is called; waits for it."""

    def __init__(self, swap: Callable[[], Any]) -> None:
        self._swap = swap
        self._error: BaseException | None = None
        self.result: Any = None
        self.struck = False

    def strike(self) -> None:
        """Let the attacker swap now and wait (bounded) until the swap is done."""
        if self.struck:
            return
        self.struck = True
        thread = threading.Thread(target=self._run, name="attacker", daemon=True)
        thread.start()
        thread.join(STRIKE_TIMEOUT_S)
        if thread.is_alive():
            raise TimeoutError("the attacker thread did not finish its swap")
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        try:
            self.result = self._swap()
        except BaseException as e:  # handed to the thread that asked for the strike
            self._error = e


@contextmanager
def strike_before_call(attacker: Attacker | None, nth: int) -> Iterator[list[str]]:
    """Make ``attacker`` strike just before this thread's ``nth`` (0-based) call in :data:`FS_CALLS`.

    Yields the names of the calls seen (``attacker`` None: only count them), so a sweep knows
    how many moments there are.
    """
    seen: list[str] = []

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event != "c_call" or arg not in FS_CALLS:
            return
        if attacker is not None and len(seen) == nth:
            attacker.strike()
        seen.append(arg.__name__)

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield seen
    finally:
        sys.setprofile(previous)
