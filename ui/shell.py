"""The app around the pages: page setup, the backend, sign-in and navigation."""

from __future__ import annotations

import logging

import streamlit as st

from core.domain import ANONYMOUS, User
from core.errors import ConfigError, DocduetError
from core.settings import Settings
from ui.backend import BACKEND_KEY, ChatBackend, LiveBackend
from ui.markup import escape_md
from ui.signin import is_admin, sign_in_sidebar
from ui.turns import USER_KEY, clear, sign_in

log = logging.getLogger(__name__)


@st.cache_resource(show_spinner="Loading docduet…")
def live_backend() -> LiveBackend:
    """One backend per server process, shared by every browser session; its local models start
    loading now, in the background (the first page view starts the app's process work)."""
    backend = LiveBackend(Settings())
    backend.warm()
    return backend


def current_backend() -> ChatBackend:
    """The backend a test put in the session state, else the live one."""
    injected: ChatBackend | None = st.session_state.get(BACKEND_KEY)
    return injected if injected is not None else live_backend()


def main() -> None:
    """Run one pass of the app script."""
    st.set_page_config(page_title="docduet", page_icon=":material/forum:", layout="wide")
    try:
        backend = current_backend()
    except DocduetError as e:  # a broken users file, bad settings: nothing can work
        st.error(f"docduet cannot start: {escape_md(str(e))}", icon=":material/error:")
        st.stop()
    _sidebar()
    try:
        user = sign_in_sidebar(backend.settings, backend.directory)
    except ConfigError as e:  # no safe way to sign in: say how to configure one
        st.error(f"docduet cannot sign anyone in: {escape_md(str(e))}", icon=":material/lock:")
        st.stop()
    if sign_in(st.session_state, user):
        st.toast("Signed in as someone else: the conversation was cleared.", icon=":material/person:")
    pages = [st.Page("page_chat.py", title="Chat", icon=":material/forum:", url_path="chat", default=True)]
    if is_admin(user, backend.settings):
        pages.append(
            st.Page("page_admin.py", title="Admin", icon=":material/admin_panel_settings:", url_path="admin")
        )
    st.navigation(pages, position="sidebar").run()


def current_user() -> User:
    """The user signed in for this session (set by :func:`main` before any page runs)."""
    user: User = st.session_state.get(USER_KEY, ANONYMOUS)
    return user


def _sidebar() -> None:
    with st.sidebar:
        st.markdown("### :material/forum: docduet")
        st.caption(
            "Answers from your company's documents by several models from the same passages "
            "(local ones, and a hosted one once configured), with sources, speed and cost side by side."
        )
        if st.button("New conversation", icon=":material/add_comment:", width="stretch"):
            clear(st.session_state)
