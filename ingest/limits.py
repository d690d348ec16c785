"""Bounds on what one file may become: characters for its size, unpacked bytes, parser memory.

A small hostile file can expand enormously when parsed (a DOCX whose few kilobytes of
compressed XML hold millions of repeated paragraphs, an XLSX whose cells all point at one long
shared string). Unbounded, such a file takes the parser minutes and gigabytes, then floods
chunking and embedding with thousands of chunks. The bounds here fail that file alone, with its
reason and the setting to raise if it is a real document:

- :class:`ExpansionLimit`: the characters a file's elements may hold, relative to its size
  (``ratio`` per byte, at least ``floor_chars``) and never above ``ceiling_chars``; checked in
  the parser's process right after partitioning, before anything is sent on. Zip-based formats
  (DOCX, XLSX, PPTX, ODT) are also checked *before* partitioning: their members may not unpack
  to more than ``ARCHIVE_RATIO_FACTOR × ratio`` times the file's size.
- :func:`limit_memory`: an address-space cap (``RLIMIT_AS``) on the parser's worker process, so
  a file that needs more fails with ``MemoryError`` (or kills only the worker) instead of
  exhausting the host, even before the characters could be counted.
"""

from __future__ import annotations

import io
import resource
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from core.errors import IngestError

DEFAULT_MAX_EXPANSION_RATIO = 20.0
"""Characters one byte of a file may become (the default of DOCDUET_MAX_EXPANSION_RATIO)."""
DEFAULT_MAX_EXTRACTED_CHARS = 10_000_000
"""Most characters any one file may become (the default of DOCDUET_MAX_EXTRACTED_CHARS)."""
FLOOR_CHARS = 100_000
"""Characters any file may become whatever its size (tiny files are never refused for ratio)."""
ARCHIVE_RATIO_FACTOR = 5
"""A zip's members may unpack to this many times the character ratio (XML is mostly markup)."""
ARCHIVE_FLOOR_BYTES = 10_000_000
"""Bytes any zip-based file may unpack to whatever its size."""
DEFAULT_PARSE_MAX_MEMORY_MB = 2048
"""Address space the parser's worker may add to its started state (DOCDUET_PARSE_MAX_MEMORY_MB)."""

_RAISE_RATIO = "DOCDUET_MAX_EXPANSION_RATIO"
_RAISE_CEILING = "DOCDUET_MAX_EXTRACTED_CHARS"


@dataclass(frozen=True)
class ExpansionLimit:
    """At most ``max(ratio × file bytes, floor_chars)`` characters, never above ``ceiling_chars``."""

    ratio: float = DEFAULT_MAX_EXPANSION_RATIO
    ceiling_chars: int = DEFAULT_MAX_EXTRACTED_CHARS
    floor_chars: int = FLOOR_CHARS

    def __post_init__(self) -> None:
        if self.ratio <= 0 or self.ceiling_chars <= 0 or self.floor_chars < 0:
            raise ValueError("ratio and ceiling_chars must be > 0, floor_chars >= 0")

    def allowed(self, size: int) -> int:
        """Most characters a file of ``size`` bytes may become."""
        return min(self.ceiling_chars, max(self.floor_chars, int(self.ratio * size)))

    def check_elements(self, origin: str, size: int, elements: Iterable[Any]) -> None:
        """IngestError if the text of ``elements`` (parsed from ``size`` bytes) is over the limit."""
        self.check_chars(origin, size, sum(len(getattr(e, "text", None) or "") for e in elements))

    def check_chars(self, origin: str, size: int, chars: int, *, at_least: bool = False) -> None:
        """IngestError if ``chars`` characters from a file of ``size`` bytes is over the limit.

        ``at_least``: ``chars`` is where a count stopped, past the limit, not the whole text.
        """
        allowed = self.allowed(size)
        if chars <= allowed:
            return
        setting = _RAISE_CEILING if allowed == self.ceiling_chars else _RAISE_RATIO
        count = f"at least {chars:,}" if at_least else f"{chars:,}"
        raise IngestError(
            f"{origin}: expands to {count} characters from {size:,} bytes, more than the limit "
            f"of {allowed:,} ({self._terms()}); it may be a decompression bomb. If this is a real "
            f"document, raise {setting} and re-run"
        )

    def check_archive(self, origin: str, data: bytes) -> None:
        """IngestError if the zip in ``data`` declares members that unpack past the limit.

        The sizes are the ones the zip's directory declares; Python's zipfile never yields more
        than that (a member that would is a CRC error), so the parsers cannot read more either.
        Not a zip: nothing to check (the parser reports what it is).
        """
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                unpacked = sum(member.file_size for member in archive.infolist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return
        allowed = max(ARCHIVE_FLOOR_BYTES, int(ARCHIVE_RATIO_FACTOR * self.ratio * len(data)))
        if unpacked > allowed:
            raise IngestError(
                f"{origin}: its zip members unpack to {unpacked:,} bytes from {len(data):,} bytes, "
                f"more than the limit of {allowed:,} ({ARCHIVE_RATIO_FACTOR * self.ratio:g} times its "
                f"size, {ARCHIVE_RATIO_FACTOR} × {_RAISE_RATIO}, but at least {ARCHIVE_FLOOR_BYTES:,});"
                f" it may be a zip bomb. If this is a real document, raise {_RAISE_RATIO} and re-run"
            )

    def _terms(self) -> str:
        return (
            f"{self.ratio:g} characters a byte, {_RAISE_RATIO}, but at least {self.floor_chars:,}; "
            f"at most {self.ceiling_chars:,}, {_RAISE_CEILING}"
        )


def limit_memory(extra_mb: int) -> int | None:
    """Cap this process's address space (RLIMIT_AS) at what it maps now plus ``extra_mb`` MB.

    Call it in a process of its own (the parser's worker) once its libraries are loaded: what
    they map (about 4.3 GB here, mostly torch's shared libraries, 0.9 GB of it resident) is not
    what a file costs. Allocations past the cap fail (``MemoryError`` in Python) instead of
    exhausting the host; the hard limit is lowered too, so nothing in the process, or a program
    it runs (pandoc), can lift it. Returns the cap in bytes; None where the address space cannot
    be read (no ``/proc``), and then nothing is capped.
    """
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            mapped = int(statm.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return None
    cap = mapped + extra_mb * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    return cap


def out_of_memory(error: BaseException) -> bool:
    """Whether ``error``, or one it was raised from, is a failed allocation.

    ``MemoryError`` from Python code, and libxml2's "Memory allocation failed" that lxml (under
    python-docx, openpyxl, unstructured's HTML) raises as a syntax error.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, MemoryError) or "Memory allocation failed" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def peak_address_space() -> int | None:
    """The most address space this process has mapped so far (``VmPeak``), in bytes; None unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def spent_allowance(cap: int | None, peak_before: int | None, extra_mb: int | None) -> bool:
    """Whether the file just parsed took the process past half its allowance under ``cap``.

    A capped allocation does not always surface as ``MemoryError``: libxml2 may report it as
    an ``XMLSyntaxError`` "unknown error". A parse that fails after raising the process's peak
    (past its peak before this file) beyond half of the ``extra_mb`` it may add, up toward
    ``cap``, is taken to have run out of memory.
    """
    if cap is None or peak_before is None or not extra_mb:
        return False
    peak = peak_address_space()
    if peak is None or peak <= peak_before:
        return False
    return peak >= cap - extra_mb * 1024 * 1024 // 2


def memory_failure(origin: str, max_mb: int) -> IngestError:
    """The error for a file whose parsing needed more than the worker's ``max_mb``."""
    return IngestError(
        f"{origin}: parsing ran out of memory (the parser may use {max_mb:,} MB for a file, "
        "DOCDUET_PARSE_MAX_MEMORY_MB) and was stopped; it may be a decompression bomb. If this "
        "is a real document, split it or raise DOCDUET_PARSE_MAX_MEMORY_MB, then re-run"
    )
