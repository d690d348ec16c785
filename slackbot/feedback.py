"""Helpful / not helpful buttons, recorded in the feedback store the web chat uses."""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from core.domain import Answer
from core.feedback import FeedbackStore
from slackbot.blocks import FEEDBACK_ACTIONS
from slackbot.identity import SlackIdentity

log = logging.getLogger(__name__)

CHANNEL = "slack"


@dataclass(frozen=True)
class Turn:
    """One answered question, kept so a button click can store the full answers."""

    question: str
    answers: Mapping[str, Answer]


class TurnCache:
    """The last ``max_turns`` answered turns, by turn id (a bot restart forgets them)."""

    def __init__(self, max_turns: int = 2000) -> None:
        self.max_turns = max_turns
        self._turns: OrderedDict[str, Turn] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, turn_id: str, turn: Turn) -> None:
        with self._lock:
            self._turns[turn_id] = turn
            self._turns.move_to_end(turn_id)
            while len(self._turns) > self.max_turns:
                self._turns.popitem(last=False)

    def get(self, turn_id: str) -> Turn | None:
        with self._lock:
            return self._turns.get(turn_id)


class FeedbackRecorder:
    """Turns a ``block_actions`` payload into one stored rating per rater, answer and turn."""

    def __init__(self, store: FeedbackStore, turns: TurnCache, identity: SlackIdentity) -> None:
        self.store = store
        self.turns = turns
        self.identity = identity

    def handle(self, body: Mapping[str, Any], action: Mapping[str, Any], client: WebClient) -> int:
        """Record the click; thank the rater with an ephemeral message. Returns the row id."""
        verdict = FEEDBACK_ACTIONS[str(action["action_id"])]
        ref = json.loads(str(action.get("value") or "{}"))
        turn_id, generator = str(ref.get("t", "")), str(ref.get("g", ""))
        rater = str((body.get("user") or {}).get("id") or "")
        team_id = (body.get("team") or {}).get("id")
        user = self.identity.user(client, rater, team_id=team_id) if rater else None
        turn = self.turns.get(turn_id)
        if turn is None:
            log.info("feedback for turn %s the bot no longer remembers; storing without answers", turn_id)
        answers = [turn.answers[generator]] if turn and generator in turn.answers else []
        row = self.store.record(
            channel=CHANNEL,
            user=user.name if user and user.name else f"slack:{rater}",
            question=turn.question if turn else str(ref.get("q", "")),
            verdict=verdict,
            answers=answers,
            turn_key=f"{turn_id}:{generator}:{rater}",
        )
        log.info("feedback %s on %s's answer to turn %s from %s", verdict, generator, turn_id, rater)
        self._thank(body, client, rater, verdict, generator)
        return row

    def _thank(
        self, body: Mapping[str, Any], client: WebClient, rater: str, verdict: str, generator: str
    ) -> None:
        channel = str((body.get("channel") or {}).get("id") or "")
        message = body.get("message") or {}
        text = f"Thanks, your rating ({verdict.replace('_', ' ')}) of the `{generator}` answer is saved."
        try:
            client.chat_postEphemeral(
                channel=channel,
                user=rater,
                text=text,
                thread_ts=message.get("thread_ts") or message.get("ts"),
            )
        except SlackApiError as e:  # the rating is stored; a missing thank-you is not worth failing
            log.warning("could not thank %s in %s: %s", rater, channel, e.response.get("error"))
