"""Answering one Slack message: dedup, audience, the shared answer service, a threaded reply."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chat.history import carried_answer
from chat.results import Comparison, Question
from core.errors import RetrievalError
from core.ratelimit import RateLimiter
from slackbot.blocks import FeedbackRef, SlackMessage, notice_message, render_reply
from slackbot.dedup import DeliveryDeduper
from slackbot.feedback import Turn, TurnCache
from slackbot.identity import Audience, SlackIdentity
from slackbot.links import link_finder
from slackbot.text import question_text
from slackbot.threads import ThreadMemory

log = logging.getLogger(__name__)

HELP_TEXT = (
    "Ask me about the company's documents, e.g. _how many holiday days can I carry over?_ "
    "In channels I answer from public documents only; send me a direct message to use every "
    "document you may read."
)
CHANNEL_NOTICE = (
    ":busts_in_silhouette: Answered from *public documents only*: everyone here can read this "
    "thread. Send me a direct message to search every document you may read."
)
UNMAPPED_NOTICE = (
    ":grey_question: I could not match your Slack account to a docduet user, so I used *public "
    "documents only*. Ask your docduet admin to add your e-mail or Slack member ID to the users file."
)
APOLOGY_TEXT = (
    "Sorry, I couldn't answer that just now. Please try again in a minute; if it keeps happening, "
    "tell your docduet admin (reference `{ref}`)."
)
_QUESTION_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
"""Message subtypes that still carry a person's question; edits, joins, bot posts do not."""


class Answerer(Protocol):
    """The answer service as the bot uses it (``chat.service.AnswerService``)."""

    def compare(self, question: Question, names: Sequence[str] | None = None) -> Comparison:
        """Every named generator's answer from one retrieval."""
        ...


class Responder:
    """Answers ``app_mention`` and ``message.im`` events in the message's thread."""

    def __init__(
        self,
        answerer: Answerer,
        identity: SlackIdentity,
        *,
        generators: Sequence[str],
        dedup: DeliveryDeduper,
        turns: TurnCache,
        threads: ThreadMemory | None = None,
        source_url_base: str | None = None,
        working_reaction: str | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.answerer = answerer
        self.identity = identity
        self.generators = tuple(generators)
        self.dedup = dedup
        self.turns = turns
        self.threads = threads if threads is not None else ThreadMemory()
        self.source_url_base = source_url_base
        self.working_reaction = working_reaction
        self.limiter = limiter if limiter is not None else RateLimiter(0, 1.0)

    def on_event(
        self, event: Mapping[str, Any], body: Mapping[str, Any], client: WebClient, bot_user_id: str | None
    ) -> None:
        """Answer a question event once; any failure becomes a short apology and a log entry."""
        if not is_question(event):
            return
        channel, ts = str(event["channel"]), str(event["ts"])
        if not self.dedup.first_delivery((str(body.get("event_id") or ""), f"{channel}:{ts}")):
            log.info("ignored a repeated delivery of %s:%s (%s)", channel, ts, body.get("event_id"))
            return
        thread_ts = str(event.get("thread_ts") or ts)
        try:
            with self._working(client, channel, ts):
                self._answer(event, body, client, bot_user_id, thread_ts)
        except Exception:
            ref = secrets.token_hex(4)
            log.exception("could not answer message %s in %s (reference %s)", ts, channel, ref)
            try:
                post(client, channel, thread_ts, notice_message(APOLOGY_TEXT.format(ref=ref)))
            except Exception:
                log.exception("could not post the apology (reference %s) either", ref)

    @contextmanager
    def _working(self, client: WebClient, channel: str, ts: str) -> Iterator[None]:
        """Mark the question with the working emoji while it is answered (best effort)."""
        name = self.working_reaction
        if name is None:
            yield
            return
        marked = _react(client.reactions_add, channel, ts, name)
        try:
            yield
        finally:
            if marked:
                _react(client.reactions_remove, channel, ts, name)

    def _limit_key(self, client: WebClient, event: Mapping[str, Any], team_id: str | None) -> str:
        """The web chat's key (``user:<name>``) for a Slack account mapped to a docduet user, so the
        two share one count; the Slack account otherwise."""
        slack_user = str(event["user"])
        asker = self.identity.user(client, slack_user, team_id=team_id)
        if asker is not None and asker.name:
            return f"user:{asker.name.casefold()}"
        return f"slack:{team_id or '-'}:{slack_user}"

    def _answer(
        self,
        event: Mapping[str, Any],
        body: Mapping[str, Any],
        client: WebClient,
        bot_user_id: str | None,
        thread_ts: str,
    ) -> None:
        channel, ts = str(event["channel"]), str(event["ts"])
        text = question_text(str(event.get("text") or ""), bot_user_id)
        if not text:
            post(client, channel, thread_ts, notice_message(HELP_TEXT))
            return
        team_id = str(body.get("team_id") or event.get("team") or "") or None
        refusal = self.limiter.check(self._limit_key(client, event, team_id))
        if refusal is not None:
            log.info("rate limit: refused %s in %s for %.0f s", ts, channel, refusal.retry_after_s)
            post(client, channel, thread_ts, notice_message(f":hourglass: {refusal.message}"))
            return
        audience = self.identity.audience(client, event, team_id=team_id)
        # A reply in a thread follows up on what the bot answered there (same channel, so the
        # same audience); a new top-level message starts a new conversation.
        thread = f"{team_id or '-'}:{channel}:{thread_ts}"
        history = self.threads.history(thread) if event.get("thread_ts") else ()
        question = Question(text=text, user=audience.reader, history=history)
        comparison = self.answerer.compare(question, self.generators)
        check_audience(comparison, audience)
        self.threads.add(thread, text, carried_answer(comparison.answers))
        turn_id = f"{team_id or '-'}:{channel}:{ts}"
        self.turns.put(turn_id, Turn(text, {a.generator: a for a in comparison.answers}))
        messages = render_reply(
            comparison.answers,
            link=link_finder(self.source_url_base, comparison.retrieval.hits),
            feedback=FeedbackRef(turn_id, text),
            notice=notice_for(audience),
        )
        for message in messages:
            post(client, channel, thread_ts, message)
        log.info(
            "answered %s in %s (%s, asker %s%s): %d passages, %s, %.1f s",
            ts,
            channel,
            audience.kind,
            audience.asker.name if audience.asker else "unmapped",
            f", follow-up to {sum(t.role == 'user' for t in history)} turn(s)" if history else "",
            len(comparison.retrieval.hits),
            ", ".join(
                f"{a.generator}={'error' if a.error else len(a.citations)}" for a in comparison.answers
            ),
            comparison.wall_s,
        )


def _react(call: Callable[..., Any], channel: str, ts: str, name: str) -> bool:
    """Add or remove a reaction; a failure (missing scope, message gone) never stops an answer."""
    try:
        call(channel=channel, timestamp=ts, name=name)
    except SlackApiError as e:
        log.warning(
            "could not change the %r reaction on %s in %s: %s", name, ts, channel, e.response.get("error")
        )
        return False
    return True


def is_question(event: Mapping[str, Any]) -> bool:
    """A person's new message (not an edit, a join, a bot's post, or a non-DM message event)."""
    if event.get("bot_id") or not event.get("user") or not event.get("channel") or not event.get("ts"):
        return False
    if event.get("type") == "message":
        return event.get("channel_type") == "im" and event.get("subtype") in _QUESTION_SUBTYPES
    return event.get("type") == "app_mention"


def check_audience(comparison: Comparison, audience: Audience) -> None:
    """Refuse to answer when retrieval returned a passage this conversation may not see."""
    leaked = [h.chunk.source for h in comparison.retrieval.hits if not audience.permits(h)]
    if leaked:
        raise RetrievalError(
            f"retrieval returned {len(leaked)} passage(s) the {audience.kind} audience may not "
            f"read ({', '.join(sorted(set(leaked)))}); refusing to answer. Check the index's "
            "access_groups and the retriever's filter"
        )


def notice_for(audience: Audience) -> str | None:
    """Why the answer may be narrower than the asker expects."""
    if audience.kind == "channel":
        return CHANNEL_NOTICE
    return UNMAPPED_NOTICE if audience.asker is None else None


def post(client: WebClient, channel: str, thread_ts: str, message: SlackMessage) -> None:
    """Post ``message`` in the thread (no link previews: sources are internal)."""
    client.chat_postMessage(
        channel=channel,
        thread_ts=thread_ts,
        text=message.text,
        blocks=list(message.blocks),
        unfurl_links=False,
        unfurl_media=False,
    )
