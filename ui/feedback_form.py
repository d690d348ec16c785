"""Per-turn feedback: which answer helped most (or all good / all wrong), with an optional comment."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping

import streamlit as st

from core.domain import User
from core.errors import DocduetError
from core.feedback import BEST_PREFIX, FeedbackStore, best
from ui.turns import ChatTurn

log = logging.getLogger(__name__)

CHANNEL = "web"
VERDICT_LABELS: dict[str, str] = {"all_good": "All good", "all_wrong": "All wrong"}
VERDICT_ICONS: dict[str, str] = {
    "all_good": ":material/thumb_up:",
    "all_wrong": ":material/thumb_down:",
    "best": ":material/star:",
}
LEGACY_LABELS: dict[str, str] = {
    "left_better": "Left was better",
    "right_better": "Right was better",
    "both_good": "Both good",
    "both_wrong": "Both wrong",
    "helpful": "Helpful (Slack)",
    "not_helpful": "Not helpful (Slack)",
}


def verdict_options(turn: ChatTurn) -> list[str]:
    """``best:<id>`` per column, then all good / all wrong."""
    return [best(name) for name in turn.names] + list(VERDICT_LABELS)


def verdict_label(verdict: str, labels: Mapping[str, str] | None = None) -> str:
    """How a verdict reads: ``Best: Small local model``, ``All good``..."""
    if verdict.startswith(BEST_PREFIX):
        name = verdict[len(BEST_PREFIX) :]
        return f"Best: {(labels or {}).get(name, name)}"
    return VERDICT_LABELS.get(verdict) or LEGACY_LABELS.get(verdict, verdict)


def _icon(verdict: str) -> str:
    return VERDICT_ICONS["best" if verdict.startswith(BEST_PREFIX) else verdict]


def save_feedback(store: FeedbackStore, turn: ChatTurn, user: User, verdict: str, comment: str) -> None:
    """Store (or update: same turn key) the rating with the question, both answers and metrics."""
    store.record(
        channel=CHANNEL,
        user=user.name,
        question=turn.question,
        verdict=verdict,
        answers=turn.answers,
        comment=comment.strip(),
        turn_key=turn.key,
    )


def feedback_form(
    store: FeedbackStore,
    turn: ChatTurn,
    user: User,
    rated: dict[str, str],
    labels: Mapping[str, str] | None = None,
) -> None:
    """The rating row under a turn; a second submission updates the first."""
    if not turn.rateable:
        return
    with st.form(f"fb-{turn.key}", border=False, enter_to_submit=False):
        verdict = st.segmented_control(
            "Which answer helped most?",
            verdict_options(turn),
            format_func=lambda v: f"{_icon(v)} {verdict_label(v, labels)}",
            default=rated.get(turn.key),
            key=f"fbv-{turn.key}",
        )
        note, send = st.columns([6, 1], vertical_alignment="bottom")
        comment = note.text_input(
            "Comment (optional)",
            key=f"fbc-{turn.key}",
            placeholder="What was wrong or missing? (optional)",
            label_visibility="collapsed",
        )
        with send:
            submitted = st.form_submit_button("Send", icon=":material/send:", width="stretch")
    if submitted:
        _submit(store, turn, user, verdict, comment, rated, labels)
    elif turn.key in rated:
        st.caption(f":material/check: Feedback saved: {verdict_label(rated[turn.key], labels)}")


def _submit(
    store: FeedbackStore,
    turn: ChatTurn,
    user: User,
    verdict: str | None,
    comment: str,
    rated: dict[str, str],
    labels: Mapping[str, str] | None,
) -> None:
    if verdict is None:
        st.warning("Pick the answer that helped most (or all good / all wrong), then send.",
                   icon=":material/touch_app:")
        return
    try:
        save_feedback(store, turn, user, verdict, comment)
    except (DocduetError, sqlite3.Error, OSError) as e:
        log.warning("storing feedback failed: %s", e)
        st.error(f"Your feedback could not be saved ({e}); check that {store.path} is writable.")
        return
    rated[turn.key] = verdict
    st.caption(f":material/check: Thanks! Feedback saved: {verdict_label(verdict, labels)}")
