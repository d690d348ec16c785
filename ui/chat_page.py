"""The chat page: history, the question box, and a new turn streamed into two columns."""

from __future__ import annotations

import logging
import uuid

import streamlit as st

from chat.results import Question
from docduet.domain import User
from docduet.errors import BackendUnavailableError, DocduetError, RetrievalError
from ui.backend import COLUMNS, ChatBackend, describe_outage
from ui.feedback_form import feedback_form
from ui.render import (
    ASSISTANT_AVATAR,
    RETRY_KEY,
    ColumnsView,
    render_question,
    render_turn,
    retry_button,
)
from ui.signin import describe
from ui.streaming import LiveTurn, run_stream
from ui.turns import ChatTurn, history, turns, verdicts

log = logging.getLogger(__name__)

PLACEHOLDER = "Ask a question about your company's documents"


def chat_page(backend: ChatBackend, user: User) -> None:
    """Render the conversation and answer a new question when one was asked."""
    state = st.session_state
    outage = _check_index(backend)
    question = st.chat_input(PLACEHOLDER) or state.pop(RETRY_KEY, None)
    past = turns(state)
    if not past and not question:
        _welcome(user)
    rated = verdicts(state)
    for turn in past:
        render_turn(turn, backend.settings.llm_model)
        feedback_form(backend.feedback, turn, user, rated)
    if question and question.strip():
        if outage:
            backend.reset()  # the database may be back: try again for this question
        turn = ask(backend, user, question.strip())
        feedback_form(backend.feedback, turn, user, rated)


def ask(backend: ChatBackend, user: User, text: str) -> ChatTurn:
    """Stream both answers to ``text`` and add the turn to the history, whatever happens."""
    state = st.session_state
    past = turns(state)
    live, key = LiveTurn(COLUMNS), uuid.uuid4().hex
    question = Question(text=text, user=user, history=history(past, verdicts(state)))
    render_question(text)
    turn: ChatTurn | None = None
    with st.chat_message("assistant", avatar=ASSISTANT_AVATAR):
        try:
            view = ColumnsView(COLUMNS, key, backend.settings.llm_model)
            run_stream(backend.answerer(), question, live, view)
            turn = _turn(key, text, user, live, "done")
        except DocduetError as e:
            log.warning("question failed: %s", e)
            if isinstance(e, BackendUnavailableError | RetrievalError):
                backend.reset()
            turn = _turn(key, text, user, live, "failed", describe_outage(e, backend.settings))
            st.error(turn.error, icon=":material/cloud_off:")
        except Exception as e:  # a bug must not cost the user the conversation
            log.exception("answering %r failed", text)
            turn = _turn(key, text, user, live, "failed", f"Something went wrong: {e}. See the server log.")
            st.error(turn.error, icon=":material/error:")
        finally:  # a rerun or a closed tab interrupts the script: keep what arrived
            past.append(turn or _turn(key, text, user, live, "interrupted"))
        if turn.status != "done":
            retry_button(turn)
    return past[-1]


def _turn(key: str, text: str, user: User, live: LiveTurn, status: str, error: str | None = None) -> ChatTurn:
    return ChatTurn(
        key=key,
        question=text,
        user=user.name,
        names=live.names,
        retrieval=live.retrieval,
        answers=live.ordered_answers(),
        status=status,  # type: ignore[arg-type]
        error=error,
    )


def _check_index(backend: ChatBackend) -> bool:
    """Connect (once per process); show a banner saying what to do when that fails."""
    try:
        with st.spinner("Connecting to the document index…"):
            backend.answerer()
    except DocduetError as e:
        st.error(describe_outage(e, backend.settings), icon=":material/cloud_off:")
        return True
    return False


def _welcome(user: User) -> None:
    st.markdown("### Ask your documents")
    st.caption(
        f"Signed in as {describe(user)}. Every question is answered twice from the same passages: "
        "by a local model that keeps your documents on this server (left) and by a hosted model "
        "(right), with sources, speed and cost, so you can compare."
    )
