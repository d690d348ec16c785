"""Text from documents and models is untrusted: find its links, and keep addresses out of errors.

Used by every front end (web chat, Slack) before anything is shown to a user:

- :func:`urls` finds web addresses in a text (``https://…``, ``www.…``);
- :func:`unsupported_urls` lists the addresses of an answer that appear in none of the passages
  it was given (a model that invents or was steered into a link: the front end flags them);
- :func:`public_error` replaces internal URLs, host names and IP addresses in an error message
  with a neutral word, so a user never learns where the backends live (the log keeps the detail).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

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


def unsupported_urls(answer: str, passages: Iterable[str]) -> list[str]:
    """Addresses in ``answer`` that none of ``passages`` contains (compared without case)."""
    haystack = "\n".join(passages).casefold()
    found: list[str] = []
    for url in urls(answer):
        bare = _SCHEME.sub("", url).rstrip("/").casefold()
        if bare not in haystack and url not in found:
            found.append(url)
    return found


def public_error(message: str) -> str:
    """``message`` with URLs, host names, IP addresses and ``host:port`` pairs replaced."""
    text = URL_PATTERN.sub(HIDDEN, message)
    for pattern in (_IPV4, _IPV6, _HOST_PORT, _DOTTED_HOST):
        text = pattern.sub(HIDDEN, text)
    return text
