"""Per-turn feedback: which of the two answers was better, with an optional comment."""

from __future__ import annotations

import logging
import sqlite3

import streamlit as st

from docduet.domain import User
from docduet.errors import DocduetError
from docduet.feedback import FeedbackStore
from ui.turns import ChatTurn

log = logging.getLogger(__name__)

CHANNEL = "web"
VERDICT_LABELS: dict[str, str] = {
    "left_better": "Left is better",
    "right_better": "Right is better",
    "both_good": "Both good",
    "both_wrong": "Both wrong",
}
VERDICT_ICONS: dict[str, str] = {
    "left_better": ":material/arrow_back:",
    "right_better": ":material/arrow_forward:",
    "both_good": ":material/thumb_up:",
    "both_wrong": ":material/thumb_down:",
}


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


def feedback_form(store: FeedbackStore, turn: ChatTurn, user: User, rated: dict[str, str]) -> None:
    """The rating row under a turn; a second submission updates the first."""
    if not turn.rateable:
        return
    with st.form(f"fb-{turn.key}", border=False, enter_to_submit=False):
        verdict = st.segmented_control(
            "Which answer helped more?",
            list(VERDICT_LABELS),
            format_func=lambda v: f"{VERDICT_ICONS[v]} {VERDICT_LABELS[v]}",
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
        _submit(store, turn, user, verdict, comment, rated)
    elif turn.key in rated:
        st.caption(f":material/check: Feedback saved: {VERDICT_LABELS[rated[turn.key]]}")


def _submit(
    store: FeedbackStore,
    turn: ChatTurn,
    user: User,
    verdict: str | None,
    comment: str,
    rated: dict[str, str],
) -> None:
    if verdict is None:
        st.warning("Pick one of the four choices, then send.", icon=":material/touch_app:")
        return
    try:
        save_feedback(store, turn, user, verdict, comment)
    except (DocduetError, sqlite3.Error, OSError) as e:
        log.warning("storing feedback failed: %s", e)
        st.error(f"Your feedback could not be saved ({e}); check that {store.path} is writable.")
        return
    rated[turn.key] = verdict
    st.caption(f":material/check: Thanks! Feedback saved: {VERDICT_LABELS[verdict]}")
