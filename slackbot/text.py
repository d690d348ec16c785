"""Slack text in and out: clean a question of Slack markup, escape and split answer text."""

from __future__ import annotations

import html
import re

_MENTION_RE = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL_RE = re.compile(r"<#[CG][A-Z0-9]+\|([^>]*)>")
_SPECIAL_RE = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_LINK_RE = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_SPACES_RE = re.compile(r"\s+")
_BREAKS = ("\n\n", "\n", ". ", " ")


def question_text(raw: str, bot_user_id: str | None = None) -> str:
    """The question a Slack message asks: bot mention removed, Slack markup turned into text."""

    def mention(match: re.Match[str]) -> str:
        return "" if match.group(1) == bot_user_id else f"@{match.group(1)}"

    text = _MENTION_RE.sub(mention, raw or "")
    text = _CHANNEL_RE.sub(lambda m: f"#{m.group(1)}", text)
    text = _SPECIAL_RE.sub(lambda m: f"@{m.group(1)}", text)
    text = _LINK_RE.sub(lambda m: m.group(2) or m.group(1).removeprefix("mailto:"), text)
    return _SPACES_RE.sub(" ", html.unescape(text)).strip()


def escape(text: str) -> str:
    """Escape the three characters Slack reads as markup (``<!channel>``, links, mentions)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link_label(text: str) -> str:
    """Text safe inside ``<url|label>``: escaped, without the ``|`` that would end the URL."""
    return escape(text).replace("|", "¦")


def truncate(text: str, limit: int, ellipsis: str = "…") -> str:
    """``text`` cut to at most ``limit`` characters, marked with ``ellipsis`` when cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(ellipsis))].rstrip() + ellipsis


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at paragraph, line, sentence or word breaks."""
    if limit < 1:
        raise ValueError("limit must be positive")
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _cut_point(rest, limit)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def _cut_point(text: str, limit: int) -> int:
    for sep in _BREAKS:
        at = text.rfind(sep, 0, limit)
        if at > limit // 2:
            return at + len(sep.rstrip()) if sep.strip() else at
    return limit
