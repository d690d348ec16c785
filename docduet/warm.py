"""Warm start: the front ends make the local models ready in the background as they start.

The web chat, the Slack bot (and so ``make run``'s web chat) call :meth:`docduet.compose.Root.warm`
when they start; it hands :func:`warm_models` the embedder and the generators, and returns at
once. A background thread then loads the embedder and, one at a time, every generator that can
get ready ahead of its first question (:class:`core.protocols.Warmable`: a local model loads and
evaluates the fixed head of every prompt). A question asked meanwhile waits for its model, as it
would have waited for its load. Progress goes to the log, which the front ends show by default.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from core.errors import DocduetError
from core.protocols import Embedder, Generator, Warmable

log = logging.getLogger(__name__)

EMBEDDER = "embedder"
"""The name the embedding model goes by in :class:`Warming`."""


class Warming:
    """What a background warm-up is doing: which parts are ready (seconds each took), which failed."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self.ready: dict[str, float] = {}
        self.failed: dict[str, str] = {}
        self._done = threading.Event()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every part was tried (at most ``timeout`` seconds); True when it has been."""
        return self._done.wait(timeout)

    def finish(self) -> None:
        self._done.set()


def warm_models(embedder: Callable[[], Embedder], generators: Mapping[str, Generator]) -> Warming:
    """Start making the embedder and each :class:`Warmable` generator ready in a daemon thread.

    Generators of other kinds (a hosted model) have nothing to prepare and are left out.
    """
    warmable = {name: g for name, g in generators.items() if isinstance(g, Warmable)}
    steps: dict[str, Callable[[], object]] = {EMBEDDER: lambda: embedder().embed_query("warm up")}
    steps.update({name: g.warm for name, g in warmable.items()})
    warming = Warming(tuple(steps))
    threading.Thread(target=_run, args=(warming, steps), name="docduet-warm", daemon=True).start()
    return warming


def _run(warming: Warming, steps: Mapping[str, Callable[[], object]]) -> None:
    """Each step in turn (loads contend for the same cores); a failure is logged, never raised:
    the first question that needs the part meets the same error, with what to do about it."""
    log.warning("docduet: loading the local models (%s); questions asked meanwhile wait", ", ".join(steps))
    try:
        for n, (name, step) in enumerate(steps.items(), start=1):
            started = time.perf_counter()
            try:
                step()
            except DocduetError as e:
                warming.failed[name] = str(e)
                log.warning("docduet: %s could not be loaded: %s", name, e)
                continue
            except Exception as e:  # a daemon thread has nobody to raise to: keep the trace
                warming.failed[name] = f"{type(e).__name__}: {e}"
                log.exception("docduet: loading %s crashed", name)
                continue
            warming.ready[name] = time.perf_counter() - started
            log.warning("docduet: %s ready in %.1f s (%d/%d)", name, warming.ready[name], n, len(steps))
    finally:
        warming.finish()
