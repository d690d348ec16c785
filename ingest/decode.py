"""Decode text files whatever their encoding: BOMs, UTF-8, BOM-less UTF-16/32, Windows-1252."""

from __future__ import annotations

import codecs
import logging
import re
from pathlib import Path

from core.errors import IngestError

log = logging.getLogger(__name__)

_BOMS = (  # UTF-32 first: its little-endian BOM starts with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_FALLBACK = "cp1252"
"""Legacy encoding assumed when a file is neither Unicode nor clearly anything else."""


def read_text(path: Path) -> str:
    """The text of ``path``, decoded as described in :func:`decode`."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise IngestError(f"{path}: cannot read ({e}); check it exists and is readable") from e
    return decode(data, origin=str(path))


def decode(data: bytes, *, origin: str) -> str:
    """Decode ``data``: a BOM decides; else UTF-8; else BOM-less UTF-16/32; else cp1252.

    Raises :class:`IngestError` when nothing decodes it (binary data with a text suffix).
    """
    encoding = detect_encoding(data)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise IngestError(
            f"{origin}: not readable as text ({encoding} failed: {e.reason}); "
            "save it as UTF-8 or check the file is not binary"
        ) from e


def detect_encoding(data: bytes) -> str:
    """The codec name :func:`decode` uses for ``data``."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    if b"\0" not in data:  # NULs are valid UTF-8 but mark BOM-less UTF-16/32
        try:
            data.decode("utf-8")
            return "utf-8"
        except UnicodeDecodeError:
            pass
    guess = _charset_normalizer_guess(data)
    if guess and guess.replace("-", "_").startswith(("utf_16", "utf_32")):
        return guess
    for encoding in ("utf-8", _FALLBACK):
        try:
            data.decode(encoding)
            return encoding
        except UnicodeDecodeError:
            pass
    return guess or _FALLBACK


def _charset_normalizer_guess(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    log.debug("charset-normalizer guess: %s", best.encoding if best else None)
    return best.encoding if best else None


_WHATWG_CP1252 = frozenset({"ascii", "latin-1", "iso8859-1"})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)


def html_declared_encoding(data: bytes) -> str | None:
    """The charset an HTML file declares in a ``<meta>`` tag, when no BOM overrides it and the
    bytes decode with it; else ``None``."""
    if any(data.startswith(bom) for bom, _ in _BOMS):
        return None
    match = _META_CHARSET.search(data[:4096])
    if match is None:
        return None
    name = match.group(1).decode("ascii")
    try:
        encoding = codecs.lookup(name).name
        if encoding in _WHATWG_CP1252:  # browsers read these labels as windows-1252
            encoding = _FALLBACK
        data.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        log.debug("ignoring declared HTML charset %r", name)
        return None
    return encoding
