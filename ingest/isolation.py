"""Parse in a worker process, so a file that hangs or crashes its parser costs that file, not the run.

Third-party parsers (pdfminer, python-docx, lxml...) can loop for hours on a hostile file or take
the interpreter down in C code. :class:`IsolatedParser` runs any :class:`~core.protocols.Parser` in
one long-lived worker process: a file that exceeds the time limit gets the worker killed and is
reported as failed; a worker that dies is reported the same way; the next file gets a new worker.
A parser with a ``warm_up()`` method has it called when its worker starts, outside any file's limit.
With ``max_memory_mb``, the warmed-up worker's address space is capped (:func:`ingest.limits.limit_memory`):
a file that needs more fails for lack of memory, and the next file gets a new worker.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from core.domain import SourceFile
from core.errors import IngestError
from core.protocols import Parsed, Parser
from ingest.limits import limit_memory, memory_failure, out_of_memory, peak_address_space, spent_allowance

log = logging.getLogger(__name__)

_STOP_GRACE_S = 5.0
WARM_UP_TIMEOUT_S = 600.0
"""Longest a new worker may take to start and load its parser (imports, models)."""
_PARENT_POLL_S = 1.0


class IsolatedParser:
    """A :class:`Parser` that runs ``inner`` in a worker process with a per-file time limit.

    ``max_memory_mb``: memory (address space) the worker may add to what it holds once started;
    None: no cap. Use it as a context manager (or call :meth:`close`) so the worker is stopped
    at the end.
    """

    def __init__(self, inner: Parser, *, timeout_s: float, max_memory_mb: int | None = None) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        if max_memory_mb is not None and max_memory_mb <= 0:
            raise ValueError("max_memory_mb must be > 0 (or None: no cap)")
        self.inner = inner
        self.timeout_s = timeout_s
        self.max_memory_mb = max_memory_mb
        self._worker: BaseProcess | None = None
        self._conn: Connection | None = None
        self._lock = threading.Lock()

    @property
    def suffixes(self) -> frozenset[str]:
        """The suffixes ``inner`` reads."""
        return self.inner.suffixes

    def parse(self, file: SourceFile, data: bytes) -> Parsed:
        """``inner.parse(file, data)`` in the worker; IngestError if it fails, times out or crashes.

        The worker gets the bytes themselves, never opens the corpus path.
        """
        with self._lock:
            conn = self._ensure_worker()
            try:
                conn.send((file, data))
                kind, payload = _receive(conn, self.timeout_s)
            except TimeoutError:
                self._kill()
                raise IngestError(
                    f"{file.source}: parsing took longer than {self.timeout_s:g} s and was stopped; "
                    "the file may be malformed or very large: re-save or split it, or raise "
                    "DOCDUET_PARSE_TIMEOUT_S, then re-run"
                ) from None
            except (EOFError, OSError) as e:
                raise self._crashed(file) from e
            if kind == "memory":  # a worker that ran out may hold on to fragments: start afresh
                self._kill()
                raise memory_failure(file.source, self.max_memory_mb or 0)
        if kind == "ok":
            parsed: Parsed = payload
            return parsed
        raise IngestError(payload)

    def close(self) -> None:
        """Stop the worker (asks it to exit, kills it if it does not)."""
        with self._lock:
            worker, conn = self._worker, self._conn
            self._worker = self._conn = None
        if worker is None or conn is None:
            return
        with contextlib.suppress(OSError, ValueError):
            conn.send(None)
        worker.join(_STOP_GRACE_S)
        if worker.is_alive():
            worker.kill()
            worker.join(_STOP_GRACE_S)
        conn.close()

    def __enter__(self) -> IsolatedParser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_worker(self) -> Connection:
        if self._worker is not None and self._conn is not None and self._worker.is_alive():
            return self._conn
        self._kill()
        # spawn: a fresh interpreter, never a fork of a process that runs embedding threads.
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        log_level = logging.getLogger().getEffectiveLevel()
        worker = context.Process(
            target=_serve,
            args=(theirs, self.inner, os.getpid(), log_level, self.max_memory_mb),
            name="docduet-parser",
            daemon=True,
        )
        worker.start()
        theirs.close()
        self._worker, self._conn = worker, ours
        try:
            kind, payload = _receive(ours, WARM_UP_TIMEOUT_S)
        except TimeoutError:
            self._kill()
            raise IngestError(f"the parser worker did not start within {WARM_UP_TIMEOUT_S:g} s") from None
        except (EOFError, OSError) as e:
            code = self._kill()
            raise IngestError(f"the parser worker died while starting ({_describe_exit(code)})") from e
        if kind != "ready":
            self._kill()
            raise IngestError(f"the parser worker could not start: {payload}")
        log.debug("parser worker started (pid %s)", worker.pid)
        return ours

    def _kill(self) -> int | None:
        """Kill the worker now; its exit code (None if there was none)."""
        worker, conn = self._worker, self._conn
        self._worker = self._conn = None
        if conn is not None:
            conn.close()
        if worker is None:
            return None
        if worker.is_alive():
            worker.kill()
        worker.join(_STOP_GRACE_S)
        return worker.exitcode

    def _crashed(self, file: SourceFile) -> IngestError:
        code = self._kill()
        how = _describe_exit(code)
        if self.max_memory_mb is not None:
            return IngestError(
                f"{file.source}: the parser process died ({how}) on this file; it may be corrupt, "
                f"or need more than the parser's {self.max_memory_mb:,} MB of memory "
                "(DOCDUET_PARSE_MAX_MEMORY_MB): open and re-save or split it, or raise the "
                "limit, then re-run"
            )
        return IngestError(
            f"{file.source}: the parser process died ({how}) on this file; it may be corrupt: "
            "open and re-save or export it, then re-run"
        )


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "no exit status"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit code {code}"


def _receive(conn: Connection, timeout_s: float) -> tuple[str, Any]:
    """The worker's next answer; its log records on the way are replayed here.

    Raises TimeoutError when none comes in time, EOFError/OSError when the worker is gone.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not conn.poll(remaining):
            raise TimeoutError
        kind, payload = conn.recv()
        if kind != "log":
            return kind, payload
        record: logging.LogRecord = payload
        forwarded = logging.getLogger(record.name)
        if forwarded.isEnabledFor(record.levelno):  # this process's levels decide, as in-process
            forwarded.handle(record)


class _PipeLogHandler(logging.Handler):
    """In the worker: send log records to the parent, which formats and shows them.

    It owns the worker's end of the pipe: answers go through :meth:`send` too, one at a time.
    """

    def __init__(self, conn: Connection) -> None:
        super().__init__()
        self._conn = conn
        self._send_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            record.msg, record.args = record.getMessage(), None  # args may not pickle
            if record.exc_info:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
                record.exc_info = None
            self.send(("log", record))
        except Exception:
            self.handleError(record)

    def send(self, message: tuple[str, Any]) -> None:
        with self._send_lock:
            self._conn.send(message)


def _serve(
    conn: Connection, parser: Parser, parent_pid: int, log_level: int, max_memory_mb: int | None
) -> None:
    """The worker: parse each file sent until told to stop (None) or the parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    handler = _PipeLogHandler(conn)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(log_level)
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    warm_up = getattr(parser, "warm_up", None)
    try:
        if warm_up is not None:
            warm_up()
        cap = None if max_memory_mb is None else limit_memory(max_memory_mb)
        if max_memory_mb is not None and cap is None:
            log.warning("cannot read the parser's address space here: its memory is not capped")
    except Exception as e:
        handler.send(("error", f"{type(e).__name__}: {e}"))
        return
    handler.send(("ready", None))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        file, data = request
        try:
            handler.send(_parse(parser, file, data, _Cap(cap, max_memory_mb)))
        except MemoryError:  # the answer itself did not fit
            handler.send(("memory", None))


@dataclass(frozen=True)
class _Cap:
    """The worker's address-space cap in bytes (None: uncapped) and the MB a file may add."""

    bytes: int | None
    extra_mb: int | None


def _parse(parser: Parser, file: SourceFile, data: bytes, cap: _Cap) -> tuple[str, Any]:
    peak_before = peak_address_space() if cap.bytes is not None else None
    try:
        return "ok", parser.parse(file, data)
    except Exception as e:
        # the parser hit the worker's cap (perhaps under another error, e.g. lxml's "unknown error")
        if out_of_memory(e) or spent_allowance(cap.bytes, peak_before, cap.extra_mb):
            return "memory", None
        if isinstance(e, IngestError):
            return "error", str(e)
        log.debug("parser failed on %s", file.source, exc_info=True)  # a bug: report it, keep serving
        return "error", f"{file.source}: cannot be parsed ({type(e).__name__}: {e})"


def _exit_with_parent(parent_pid: int) -> None:
    """A parent killed with SIGKILL leaves no one to stop a worker stuck in a parser."""
    while os.getppid() == parent_pid:
        time.sleep(_PARENT_POLL_S)
    os._exit(0)
