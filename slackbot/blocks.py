"""Block Kit messages for answers: confidence, text, numbered sources, metrics and feedback buttons.

Everything a model or a document wrote is escaped, so an answer cannot ping ``<!channel>`` or
forge a link; web addresses from documents and answers are shown as code (Slack would turn them
into links), and an answer's flags (:mod:`chat.flags`: a link from a document or from no passage,
a request for credentials) are marked and explained. Errors show no internal
addresses (:func:`core.untrusted.public_error`). Slack limits are respected: a section holds
at most 3000 characters, a message at most 50 blocks; longer replies become several messages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from chat.badges import Badge, Tone, cascade_line, confidence_badge, not_sure_line
from chat.flags import CAUTION, DOCUMENT_LINK_LABEL, UNSUPPORTED_LINK_LABEL, cautions, flagged_links
from chat.results import shown_queue_wait
from core.domain import Answer, Citation, FlagKind
from core.untrusted import public_error, url_pieces
from slackbot.links import LinkFor
from slackbot.text import escape, link_label, split_text, truncate

SECTION_LIMIT = 3000
"""Characters in one section block's text."""
CONTEXT_LIMIT = 2000
"""Characters we put in one context element (Slack's limit is higher)."""
MAX_BLOCKS = 50
"""Blocks in one message."""
FALLBACK_LIMIT = 3000
"""Characters of the notification text sent next to the blocks."""
BUTTON_VALUE_LIMIT = 2000
FEEDBACK_ACTIONS = {"docduet_feedback_helpful": "helpful", "docduet_feedback_not_helpful": "not_helpful"}
"""Button action_id -> FeedbackStore verdict."""

UNVERIFIED_MARK = f":warning: _{UNSUPPORTED_LINK_LABEL}_"
DOCUMENT_MARK = f":warning: _{DOCUMENT_LINK_LABEL}_"
MARKS = {FlagKind.UNSUPPORTED_LINK: UNVERIFIED_MARK, FlagKind.DOCUMENT_LINK: DOCUMENT_MARK}
"""The mark after a flagged link, by flag kind."""

CONFIDENCE_EMOJI: dict[Tone, str] = {
    "good": ":large_green_circle:",
    "neutral": ":large_blue_circle:",
    "warning": ":warning:",
    "muted": ":grey_question:",
}
"""The emoji before a confidence badge, by its tone (the words come from :mod:`chat.badges`)."""

Block = dict[str, Any]
_BOLD_RE = re.compile(r"\*\*(\S(?:.*?\S)?)\*\*")
_QUESTION_IN_VALUE = 900
_SNIPPET_CHARS = 200
_ERROR_CHARS = 500


@dataclass(frozen=True)
class SlackMessage:
    """One chat.postMessage: notification text and blocks."""

    text: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class FeedbackRef:
    """What a feedback button must carry to find its turn again."""

    turn_id: str
    question: str


def render_reply(
    answers: Sequence[Answer],
    *,
    link: LinkFor,
    feedback: FeedbackRef | None = None,
    notice: str | None = None,
) -> list[SlackMessage]:
    """The reply to one question: an optional notice, then one block group per answer."""
    blocks: list[Block] = [context(notice)] if notice else []
    for i, answer in enumerate(answers):
        if i:
            blocks.append({"type": "divider"})
        blocks.extend(
            answer_blocks(answer, link=link, feedback=feedback, heading=len(answers) > 1)
        )
    return pack(blocks, fallback_text(answers))


def answer_blocks(
    answer: Answer,
    *,
    link: LinkFor,
    feedback: FeedbackRef | None = None,
    heading: bool = False,
) -> list[Block]:
    """One generator's answer: heading, confidence, text, sources, metrics, feedback buttons."""
    label = answer.title
    blocks: list[Block] = []
    if heading:
        blocks.append(section(f"*{escape(label)}* · `{escape(answer.generator)}`"))
    blocks.extend(context(text) for text in confidence_lines(answer))
    if answer.error:
        error = escape(truncate(public_error(answer.error), _ERROR_CHARS))
        blocks.append(section(f":warning: {escape(label)} could not answer: {error}"))
        return blocks
    marks = {url: MARKS[kind] for url, kind in flagged_links(answer.flags).items()}
    blocks.extend(section(piece) for piece in answer_sections(answer.text, marks))
    blocks.extend(section(text) for text in sources_sections(answer.citations, link))
    blocks.extend(context(text) for text in caution_lines(answer))
    blocks.append(context(metrics_line(answer)))
    if feedback is not None:
        blocks.append(feedback_actions(answer.generator, feedback))
    return blocks


def answer_sections(text: str, marks: Mapping[str, str] | None = None) -> list[str]:
    """Escaped answer text in pieces that fit a section (Markdown ``**bold**`` as Slack ``*bold*``).

    Web addresses are shown as code; those in ``marks`` are followed by their mark.
    """
    text = _BOLD_RE.sub(r"*\1*", text.strip()) or "(no answer)"
    pieces: list[str] = []
    for raw in split_text(text, SECTION_LIMIT):
        escaped = inert(raw, marks)
        if len(escaped) <= SECTION_LIMIT:
            pieces.append(escaped)
        else:  # entities and marks made it longer: cut finer
            pieces.extend(inert(p, marks) for p in split_text(raw, SECTION_LIMIT // 8))
    return pieces


def confidence_lines(answer: Answer) -> list[str]:
    """Context lines: the confidence badge with its main reasons, the cascade's steps, "not sure"."""
    lines = []
    if (badge := confidence_badge(answer)) is not None:
        lines.append(badge_line(badge))
    if (steps := cascade_line(answer)) is not None:
        lines.append(f":twisted_rightwards_arrows: {escape(steps)}")
    if (not_sure := not_sure_line(answer)) is not None:
        lines.append(f":grey_question: *{escape(not_sure)}*")
    return lines


def badge_line(badge: Badge) -> str:
    """``:large_green_circle: *High confidence · 0.86* · why: the top passage states it``."""
    why = f" · why: {escape(badge.detail)}" if badge.detail else ""
    return f"{CONFIDENCE_EMOJI[badge.tone]} *{escape(badge.text)}*{why}"


def caution_lines(answer: Answer) -> list[str]:
    """One warning line per kind of flag; a credential request is quoted (escaped)."""
    lines = []
    for caution in cautions(answer.flags):
        line = f":warning: {escape(caution)}"
        if caution == CAUTION:
            asked = (f.text for f in answer.flags if f.kind is FlagKind.CREDENTIAL_REQUEST)
            line += "".join(f"\n>{inert(truncate(' '.join(a.split()), _SNIPPET_CHARS))}" for a in asked)
        lines.append(line)
    return lines


def sources_sections(citations: Sequence[Citation], link: LinkFor) -> list[str]:
    """``*Sources*`` then one numbered line per citation, grouped into sections."""
    if not citations:
        return []
    sections: list[str] = []
    current = "*Sources*"
    for citation in citations:
        line = truncate(source_line(citation, link), SECTION_LIMIT - 20)
        if len(current) + 1 + len(line) > SECTION_LIMIT:
            sections.append(current)
            current = line
        else:
            current = f"{current}\n{line}"
    sections.append(current)
    return sections


def source_line(citation: Citation, link: LinkFor) -> str:
    """``[n] Title (linked) — section · p. 3`` and a quoted snippet."""
    title = citation.title.strip() or PurePath(citation.source).name
    url = link(citation.source)
    shown = f"<{url}|{link_label(title)}>" if url else f"*{inert(title)}*"
    section = citation.section.strip()
    where = " · ".join(x for x in (section if section != title else "", _page(citation.page)) if x)
    line = f"[{citation.number}] {shown}" + (f" — {inert(where)}" if where else "")
    snippet = " ".join(citation.snippet.split())
    if snippet and snippet not in (title, section):
        line += f"\n>_{inert(truncate(snippet, _SNIPPET_CHARS))}_"
    return line


def metrics_line(answer: Answer) -> str:
    """Timings, tokens, cost and where the passages went."""
    t, u, p = answer.timings, answer.usage, answer.privacy
    parts = [f"`{escape(answer.generator)}`", f"{t.total_s:.1f} s"]
    if (waited := shown_queue_wait(answer)) is not None:
        parts.append(f"waited {waited:.0f} s for its turn")
    if t.first_token_s is not None:
        parts.append(f"first token {t.first_token_s:.1f} s")
    parts.append(f"retrieval {t.retrieval_s * 1000:.0f} ms")
    if u.prompt_tokens or u.completion_tokens:
        parts.append(f"{u.prompt_tokens}+{u.completion_tokens} tokens")
    if u.cost_usd:
        parts.append(f"${u.cost_usd:.4f}")
    parts.append(":cloud: sent off-premises" if p.off_premises else ":house: stayed on-premises")
    if p.withheld_count:
        parts.append(f"{p.withheld_count} confidential source(s) withheld from this hosted model")
    return " · ".join(parts)


def feedback_actions(generator: str, ref: FeedbackRef) -> Block:
    """Helpful / not helpful buttons whose value finds the turn again."""
    value = json.dumps(
        {"t": ref.turn_id, "g": generator, "q": truncate(ref.question, _QUESTION_IN_VALUE)},
        ensure_ascii=False,
    )
    if len(value) > BUTTON_VALUE_LIMIT:  # a question of quotes and backslashes: keep the id only
        value = json.dumps({"t": ref.turn_id, "g": generator, "q": ""}, ensure_ascii=False)
    labels = {"helpful": ":+1: Helpful", "not_helpful": ":-1: Not helpful"}
    return {
        "type": "actions",
        "block_id": truncate(f"feedback:{generator}", 255, ""),
        "elements": [
            {
                "type": "button",
                "action_id": action_id,
                "text": {"type": "plain_text", "text": labels[verdict], "emoji": True},
                "value": value,
            }
            for action_id, verdict in FEEDBACK_ACTIONS.items()
        ],
    }


def inert(text: str, marks: Mapping[str, str] | None = None) -> str:
    """``text`` escaped, each web address as code (no link), those in ``marks`` followed by their mark."""
    pieces: list[str] = []
    for piece, is_url in url_pieces(text):
        if not is_url:
            pieces.append(escape(piece))
            continue
        pieces.append("`" + escape(piece).replace("`", "'") + "`")
        if marks and piece in marks:
            pieces.append(f" {marks[piece]}")
    return "".join(pieces)


def section(text: str) -> Block:
    """A mrkdwn section; the caller keeps ``text`` within :data:`SECTION_LIMIT`."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> Block:
    """A small grey mrkdwn line."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, CONTEXT_LIMIT)}]}


def notice_message(text: str) -> SlackMessage:
    """A one-section message (help, apology); ``text`` is mrkdwn the caller wrote."""
    return SlackMessage(text=truncate(text, FALLBACK_LIMIT), blocks=(section(text),))


def pack(blocks: Sequence[Block], fallback: str) -> list[SlackMessage]:
    """Blocks in messages of at most :data:`MAX_BLOCKS`; the first carries ``fallback``."""
    messages: list[SlackMessage] = []
    for start in range(0, len(blocks), MAX_BLOCKS):
        text = fallback if not messages else "(continued)"
        messages.append(SlackMessage(text=text, blocks=tuple(blocks[start : start + MAX_BLOCKS])))
    return messages or [SlackMessage(text=fallback, blocks=())]


def fallback_text(answers: Sequence[Answer]) -> str:
    """Plain notification text: the first answer that has text, else a short status."""
    for answer in answers:
        if answer.text and not answer.error:
            return escape(truncate(answer.text.strip(), FALLBACK_LIMIT))
    return "docduet could not answer this question."


def _page(page: int | None) -> str:
    return f"p. {page}" if page else ""
