"""The chat page: history, the question box, and a new turn streamed into one column per generator."""

from __future__ import annotations

import logging
import uuid

import streamlit as st

from chat.results import Question
from core.domain import User
from core.errors import BackendUnavailableError, DocduetError, RetrievalError
from ui.backend import ChatBackend, describe_outage
from ui.downloads import Downloads
from ui.feedback_form import feedback_form
from ui.limits import allow_question
from ui.markup import error_markdown, escape_md
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
    infos = {} if outage else {i.name: i for i in backend.columns()}
    labels = {n: i.label for n, i in infos.items()}
    for turn in past:
        render_turn(turn, infos, Downloads(backend, user))
        feedback_form(backend.feedback, turn, user, rated, labels)
    if question and question.strip() and allow_question(backend.settings, user):
        if outage:
            backend.reset()  # the database may be back: try again for this question
        turn = ask(backend, user, question.strip())
        feedback_form(backend.feedback, turn, user, rated, labels)


def ask(backend: ChatBackend, user: User, text: str) -> ChatTurn:
    """Stream every column's answer to ``text`` and add the turn to the history, whatever happens."""
    state = st.session_state
    past = turns(state)
    live, key = LiveTurn(()), uuid.uuid4().hex
    question = Question(text=text, user=user, history=history(past, verdicts(state)))
    render_question(text)
    turn: ChatTurn | None = None
    with st.chat_message("assistant", avatar=ASSISTANT_AVATAR):
        try:
            infos = backend.columns()
            live.names = tuple(i.name for i in infos)
            view = ColumnsView(live.names, key, {i.name: i for i in infos}, Downloads(backend, user))
            run_stream(backend.answerer(), question, live, view)
            turn = _turn(key, text, user, live, "done")
        except DocduetError as e:
            log.warning("question failed: %s", e)
            if isinstance(e, BackendUnavailableError | RetrievalError):
                backend.reset()
            turn = _turn(key, text, user, live, "failed", describe_outage(e, backend.settings))
            st.error(error_markdown(turn.error or ""), icon=":material/cloud_off:")
        except Exception as e:  # a bug must not cost the user the conversation
            log.exception("answering %r failed", text)
            turn = _turn(key, text, user, live, "failed", f"Something went wrong: {e}. See the server log.")
            st.error(error_markdown(turn.error or ""), icon=":material/error:")
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
        st.error(error_markdown(describe_outage(e, backend.settings)), icon=":material/cloud_off:")
        return True
    return False


def _welcome(user: User) -> None:
    st.markdown("### Ask your documents")
    st.caption(
        f"Signed in as {escape_md(describe(user))}. Every question is answered by several models from the "
        "same passages, side by side, with sources, speed and cost, so you can compare: local "
        "models keep your documents on this server; a hosted model receives only passages up to "
        "its sensitivity ceiling (each column says where it runs)."
    )
