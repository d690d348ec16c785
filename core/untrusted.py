"""Text from documents and models is untrusted: find its links, and keep addresses out of errors.

Used by every front end (web chat, Slack) before anything is shown to a user:

- :func:`urls` finds web addresses in a text (``https://…``, ``www.…``), and :func:`url_pieces`
  cuts a text into plain runs and addresses, so each front end shows an address inert (as code,
  never a link) and marks the flagged ones without scanning the text itself;
- :func:`bare_url` is an address as compared with passages and questions (no scheme, no
  ``www.``, no case): :mod:`chat.flags` flags an answer's links by where they come from;
- :func:`public_error` replaces internal URLs, host names and IP addresses in an error message
  with a neutral word, so a user never learns where the backends live (the log keeps the detail);
- :func:`fold` and :func:`sub_folded` see through look-alike characters (Cyrillic or Greek letters
  that look Latin, zero-width and bidi controls, accents), so a check for ``Document [1]`` also
  catches ``Dоcument [1]`` with a Cyrillic ``о`` (:mod:`core.lookalikes` holds the table).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from core.lookalikes import INVISIBLE, LOOKALIKES

URL_PATTERN = re.compile(r"(?:\b[a-z][a-z0-9+.-]*://|\bwww\.)[^\s<>|\"'`()\[\]{}]+", re.IGNORECASE)
"""A web address (``scheme://…`` or ``www.…``); strip :data:`URL_TRAILING` from a match."""
URL_TRAILING = ".,;:!?*_~"
_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b")
_IPV6 = re.compile(r"(?<![\w:.])\[?(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}\]?(?::\d{1,5})?", re.IGNORECASE)
_HOST_PORT = re.compile(r"\b(?:[a-z0-9-]+\.)*[a-z0-9-]+:\d{2,5}\b", re.IGNORECASE)
_DOTTED_HOST = re.compile(
    r"\b(?:[a-z0-9-]+\.)+(?:internal|local|lan|corp|intra|example|svc|cluster|com|net|org|io|cloud)\b",
    re.IGNORECASE,
)
_SCHEME = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:www\.)?", re.IGNORECASE)
HIDDEN = "[address hidden]"


def urls(text: str) -> list[str]:
    """The web addresses in ``text``, in order, without trailing punctuation."""
    return [m.group(0).rstrip(URL_TRAILING) for m in URL_PATTERN.finditer(text)]


def url_pieces(text: str) -> list[tuple[str, bool]]:
    """``text`` as consecutive pieces ``(piece, is_url)``: plain runs and web addresses, in order.

    An address stops before trailing punctuation (:data:`URL_TRAILING`), which stays plain text.
    """
    pieces: list[tuple[str, bool]] = []
    cursor = 0
    for match in URL_PATTERN.finditer(text):
        end = match.start() + len(match.group(0).rstrip(URL_TRAILING))
        pieces.extend(((text[cursor : match.start()], False), (text[match.start() : end], True)))
        cursor = end
    pieces.append((text[cursor:], False))
    return [(piece, is_url) for piece, is_url in pieces if piece]


def bare_url(url: str) -> str:
    """``url`` without scheme, ``www.`` and trailing slash, case-folded: for finding it in a text."""
    return _SCHEME.sub("", url).rstrip("/").casefold()


def public_error(message: str) -> str:
    """``message`` with URLs, host names, IP addresses and ``host:port`` pairs replaced."""
    text = URL_PATTERN.sub(HIDDEN, message)
    for pattern in (_IPV4, _IPV6, _HOST_PORT, _DOTTED_HOST):
        text = pattern.sub(HIDDEN, text)
    return text


def _fold_char(char: str) -> str:
    """``char`` as the ASCII it imitates, ``""`` when invisible, else itself (a 0- or 1-char string)."""
    if char.isascii():
        return char
    if char in LOOKALIKES:
        return LOOKALIKES[char]
    category = unicodedata.category(char)
    if category in ("Cf", "Mn", "Me") or char in INVISIBLE:
        return ""  # zero-width, bidi and tag controls, combining marks, invisible fillers
    base = unicodedata.normalize("NFD", char)[0]  # "ó" reads as "o", Cyrillic "ё" as "e"
    base = LOOKALIKES.get(base, base)
    return base if base.isascii() and base.isalpha() else char


def fold_map(text: str) -> tuple[str, list[int]]:
    """``text`` folded (see :func:`fold`), and for each folded character its index in ``text``."""
    folded: list[str] = []
    origin: list[int] = []
    for i, char in enumerate(text):
        plain = _fold_char(char)
        if plain:
            folded.append(plain)
            origin.append(i)
    return "".join(folded), origin


def fold(text: str) -> str:
    """``text`` as a reader (or a model) would take it: look-alikes as ASCII, invisibles dropped.

    Only for checks: show and send the original. Apply NFKC first (full-width and mathematical
    letters), as :func:`core.prompt.neutralise` does.
    """
    return fold_map(text)[0]


def sub_folded(pattern: re.Pattern[str], defuse: Callable[[str], str], text: str) -> str:
    """Replace each match of ``pattern`` in the folded ``text`` by ``defuse(folded match)``.

    The match is found in the folded text; what it covers in ``text`` (look-alikes and invisible
    characters included) is replaced, so ``Dоcument`` with a Cyrillic ``о`` comes out as the plain
    ``Document`` made harmless by ``defuse``. Text outside the matches is kept as it was.
    """
    folded, origin = fold_map(text)
    pieces: list[str] = []
    cursor = 0
    for match in pattern.finditer(folded):
        if match.start() == match.end():
            continue
        start, end = origin[match.start()], origin[match.end() - 1] + 1
        pieces.append(text[cursor:start])
        pieces.append(defuse(match.group(0)))
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)
