"""Text for the web chat, as Streamlit Markdown: escaped, with citation chips and metric badges.

Answer and passage text is untrusted (a model's output, a document's content): it is escaped so
that it cannot render images, links, HTML, LaTeX or Streamlit directives. Only the markup this
module adds (citation chips, highlights, badges) is interpreted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from chat.badges import Badge, Tone
from chat.flags import DOCUMENT_LINK_LABEL, UNSUPPORTED_LINK_LABEL, flagged_links
from chat.results import GeneratorInfo, shown_queue_wait
from core.domain import Answer, Citation, Flag, FlagKind
from core.untrusted import public_error, url_pieces

_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:&])")
_MARKER = re.compile(r"\[(\d{1,4})\]")
_BLANKS = re.compile(r"\s+")
UNVERIFIED_LINK = f":red-badge[:material/warning: {UNSUPPORTED_LINK_LABEL}]"
DOCUMENT_LINK = f":orange-badge[:material/warning: {DOCUMENT_LINK_LABEL}]"
CHIPS = {FlagKind.UNSUPPORTED_LINK: UNVERIFIED_LINK, FlagKind.DOCUMENT_LINK: DOCUMENT_LINK}


def escape_md(text: str, marks: Mapping[str, str] | None = None) -> str:
    """Backslash-escape every Markdown, HTML, LaTeX and directive character in ``text``.

    Web addresses become inline code: the page's Markdown turns any bare ``https://…`` or
    ``www.…`` into a link after escapes are resolved (GFM autolinks), but never inside code.
    An address in ``marks`` is followed by its mark (a chip).
    """
    parts: list[str] = []
    for piece, is_url in url_pieces(text):
        if not is_url:
            parts.append(_SPECIAL.sub(r"\\\1", piece))
        elif marks and piece in marks:
            parts.append(f"`{piece}` {marks[piece]}")
        else:
            parts.append(f"`{piece}`")
    return "".join(parts)


def answer_markdown(text: str, flags: Sequence[Flag] = ()) -> str:
    """An answer's text, escaped, with its ``[n]`` markers shown as numbered chips.

    Each flagged address is followed by a chip: red when it appears in no passage, orange when
    it comes from a document (not verified).
    """
    chips = {url: CHIPS[kind] for url, kind in flagged_links(flags).items()}
    parts: list[str] = []
    cursor = 0
    for match in _MARKER.finditer(text):
        parts.append(escape_md(text[cursor : match.start()], chips))
        parts.append(f":blue-badge[{match.group(1)}]")
        cursor = match.end()
    parts.append(escape_md(text[cursor:], chips))
    return "".join(parts).replace("\n", "  \n")


def error_markdown(message: str) -> str:
    """An error for the page: internal addresses hidden (:func:`public_error`), then escaped."""
    return escape_md(public_error(message))


def highlight(passage: str, snippet: str, *, context: int | None = None) -> str:
    """The passage, escaped, with the supporting snippet marked; the snippet alone when absent.

    With ``context``, only that many characters around the snippet are kept (cut at a space,
    marked with an ellipsis).
    """
    start, end = _find(passage, snippet)
    if start < 0:
        return f":orange-background[{escape_md(snippet.strip())}]"
    before, after = passage[:start], passage[end:]
    if context is not None:
        before = _clip(before, context, keep_end=True)
        after = _clip(after, context, keep_end=False)
    return escape_md(before) + f":orange-background[{escape_md(passage[start:end])}]" + escape_md(after)


def _clip(text: str, limit: int, *, keep_end: bool) -> str:
    if len(text) <= limit:
        return text
    if keep_end:
        cut = text[-limit:]
        return "… " + cut[cut.find(" ") + 1 :] if " " in cut else "… " + cut
    cut = text[:limit]
    return (cut[: cut.rfind(" ")] if " " in cut else cut) + " …"


def _find(passage: str, snippet: str) -> tuple[int, int]:
    """Span of ``snippet`` in ``passage``, exact or with any run of whitespace matching any other."""
    snippet = snippet.strip()
    if not snippet:
        return -1, -1
    at = passage.find(snippet)
    if at >= 0:
        return at, at + len(snippet)
    words = [re.escape(w) for w in snippet.split()]
    match = re.search(r"\s+".join(words), passage)
    return (match.start(), match.end()) if match else (-1, -1)


def citation_label(citation: Citation) -> str:
    """``[2] Employee handbook · Holidays · p. 3``, escaped: expander labels render Markdown."""
    parts = [citation.title or citation.source.rsplit("/", 1)[-1]]
    if citation.section and citation.section != citation.title:
        parts.append(citation.section)
    if citation.page is not None:
        parts.append(f"p. {citation.page}")
    label = " · ".join(_BLANKS.sub(" ", p).strip() for p in parts)
    return f"\\[{citation.number}\\] {escape_md(label)}"


def seconds(value: float | None) -> str:
    """``0.84 s``, ``12 s``; an en dash when unknown."""
    if value is None:
        return "–"
    return f"{value:.2f} s" if value < 10 else f"{value:.0f} s"


def cost(usd: float) -> str:
    """``$0`` for free, otherwise enough digits to see a fraction of a cent."""
    if usd == 0:
        return "$0"
    return f"${usd:.4f}" if usd < 1 else f"${usd:.2f}"


def metric_badges(answer: Answer) -> str:
    """Badges: time to first token, total time, tokens, cost and what left the building."""
    t, u = answer.timings, answer.usage
    badges = [
        f":gray-badge[first token {seconds(t.first_token_s)}]",
        f":gray-badge[total {seconds(t.total_s)}]",
        f":gray-badge[{u.prompt_tokens} + {u.completion_tokens} tokens]",
        f":gray-badge[{escape_md(cost(u.cost_usd))}]",
    ]
    if (waited := shown_queue_wait(answer)) is not None:
        badges.insert(0, f":orange-badge[waited {seconds(waited)} for its turn]")
    return " ".join([*badges, privacy_badge(answer)])


BADGE_STYLES: dict[Tone, tuple[str, str]] = {
    "good": ("green", ":material/verified:"),
    "neutral": ("blue", ":material/info:"),
    "warning": ("orange", ":material/warning:"),
    "muted": ("gray", ":material/help:"),
}
"""Colour and icon of a confidence badge, by its tone (the words come from :mod:`chat.badges`)."""


def confidence_markdown(badge: Badge) -> str:
    """``:green-badge[:material/verified: High confidence · 0.86]``: warning-coloured when low.

    Only the label is on the chip (a chip does not wrap in a narrow column); advice such as
    `` — check the sources`` follows as text.
    """
    color, icon = BADGE_STYLES[badge.tone]
    rest = badge.text[len(badge.label) :] if badge.text.startswith(badge.label) else ""
    return f":{color}-badge[{icon} {escape_md(badge.label)}]{escape_md(rest)}"


def confidence_help(badge: Badge) -> str:
    """The badge's hover text (its reasons and calibration), escaped, one line each."""
    return "  \n".join(escape_md(line) for line in badge.tooltip.splitlines())


def privacy_badge(answer: Answer) -> str:
    """``sent off-premises: yes (2 sources withheld)``: orange when the prompt left, else green."""
    p = answer.privacy
    n = p.withheld_count
    withheld = f" \\({n} source{'s' if n != 1 else ''} withheld\\)" if n else ""
    color = "orange" if p.off_premises else "green"
    return f":{color}-badge[sent off\\-premises: {'yes' if p.off_premises else 'no'}{withheld}]"


def info_for(name: str, infos: Mapping[str, GeneratorInfo]) -> GeneratorInfo:
    """The column's generator info; a bare one for a generator no longer configured."""
    return infos.get(name) or GeneratorInfo(name, name, False, None, "")


def generator_title(info: GeneratorInfo) -> tuple[str, str]:
    """Column heading and caption: the model, where it runs, what it may read."""
    ceiling = info.max_sensitivity.value if info.max_sensitivity else "?"
    if info.off_premises:
        where = f"hosted outside the company; receives passages up to {ceiling}, the rest are withheld"
    elif info.endpoint.startswith(("http://", "https://")):
        where = f"the company's own server; receives passages up to {ceiling}"
    else:
        where = f"runs on this server, free; documents never leave it (up to {ceiling})"
    return info.label, where
