"""llama.cpp's own log lines go through Python logging, not straight to the user's terminal."""

from __future__ import annotations

import atexit
import ctypes
import logging
import sys
import threading

log = logging.getLogger("llama_cpp")

_LEVELS = {1: logging.DEBUG, 2: logging.DEBUG, 3: logging.INFO, 4: logging.WARNING}
"""ggml's levels (1 debug, 2 info, 3 warn, 4 error; 5 continues the previous line). Its info lines
describe every tensor, and its warnings are notes (e.g. "using full-size SWA cache"): only errors
reach a user's terminal, as warnings."""
_CONTINUE = 5
_installed = False
_lock = threading.Lock()
_callback: object = None  # keeps the ctypes callback alive for the process's lifetime


def route_llama_logs() -> None:
    """Install (once) a llama.cpp log callback that hands each line to ``logging`` at DEBUG..ERROR."""
    global _installed, _callback
    with _lock:
        if _installed:
            return
        import llama_cpp

        last = [logging.DEBUG]

        @llama_cpp.llama_log_callback
        def _to_logging(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
            if level != _CONTINUE:
                last[0] = _LEVELS.get(level, logging.DEBUG)
            line = text.decode("utf-8", "replace").rstrip()
            if line:
                log.log(last[0], "%s", line)

        _callback = _to_logging
        llama_cpp.llama_log_set(_to_logging, ctypes.c_void_p(0))
        atexit.register(_close_devnull)
        _installed = True


def _close_devnull() -> None:
    """llama-cpp-python opens /dev/null twice at import and never closes it (a ResourceWarning
    at every exit); nothing generates any more at exit, so close them."""
    utils = sys.modules.get("llama_cpp._utils")
    for name in ("outnull_file", "errnull_file"):
        handle = getattr(utils, name, None)
        if handle is not None and not handle.closed:
            handle.close()
