"""Who is using the web chat: the sidebar's sign-in block for the mode :mod:`ui.auth` chose.

OpenID Connect goes through Streamlit's own ``st.login`` / ``st.user`` / ``st.logout`` (the
``[auth]`` secrets come from ``docduet ui``, see :mod:`ui.auth_config`), its claims judged by
:mod:`ui.claims`; a proxy header is read from the WebSocket handshake together with the
connection's TCP peer address (unknown for a session without a connection of its own: never
trusted); the demo picker lists the users file.
"""

from __future__ import annotations

import logging

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.domain import ANONYMOUS, User
from core.identity import UserDirectory
from core.settings import Settings
from ui.auth import Connection, Mode, SignIn, describe, sign_in_mode, user_from_proxy
from ui.claims import user_from_claims
from ui.markup import escape_md

log = logging.getLogger(__name__)

ANONYMOUS_LABEL = "anonymous"
SELECTOR_KEY = "docduet.signin"
LOGIN_KEY = "docduet.login"
LOGOUT_KEY = "docduet.logout"

__all__ = ["SELECTOR_KEY", "describe", "is_admin", "sign_in_sidebar"]


def is_admin(user: User, settings: Settings) -> bool:
    """Members of ``settings.identity.admin_group`` see the admin page."""
    return settings.identity.admin_group in user.groups


def sign_in_sidebar(settings: Settings, directory: UserDirectory) -> User:
    """Render the sidebar's identity block and return the signed-in user.

    With OpenID Connect and nobody signed in (or a lapsed session) the page shows only a sign-in
    button and stops here. ConfigError when the settings allow no safe way to sign in.
    """
    mode = sign_in_mode(settings, st.get_option("server.address"))
    if mode is Mode.OIDC:
        return _oidc(settings, directory)
    with st.sidebar:
        if mode is Mode.HEADER:
            return _show(_from_proxy(settings, directory))
        if mode is Mode.DEMO:
            return _picker(directory)
        return _show(SignIn(ANONYMOUS, "No sign-in is configured: public documents only."))


def _show(signed: SignIn) -> User:
    st.markdown(f"**Signed in as** {escape_md(describe(signed.user))}")
    if signed.note:
        st.caption(escape_md(signed.note))
    return signed.user


def _from_proxy(settings: Settings, directory: UserDirectory) -> SignIn:
    return user_from_proxy(_connection(), settings, directory)


def _connection() -> Connection | None:
    """This session's connection as the server holds it: the handshake's headers and TCP peer.

    Not ``st.context.ip_address``, which reports loopback peers and unknown ones alike as None.
    An agent API session's connection has no address; outside a server there is none at all.
    """
    ctx = get_script_run_ctx()
    if ctx is None or not runtime.exists():
        return None
    client = runtime.get_instance().get_client(ctx.session_id)
    context: Connection | None = getattr(client, "client_context", None)
    return context


def _oidc(settings: Settings, directory: UserDirectory) -> User:
    claims = st.user.to_dict()
    if not claims.get("is_logged_in"):
        _sign_in_page("Sign in to ask your documents.")
    signed = user_from_claims(claims, settings, directory)
    if signed.expired:
        log.info("a web session expired (subject %s)", claims.get("sub"))
        _sign_in_page(signed.note)
    with st.sidebar:
        user = _show(signed)
        if st.button("Sign out", icon=":material/logout:", key=LOGOUT_KEY):
            st.logout()
    return user


def _sign_in_page(message: str) -> None:
    """Only a sign-in button; nothing else of the app runs for this visitor."""
    st.markdown("### :material/forum: docduet")
    st.info(message, icon=":material/login:")
    if st.button("Sign in", icon=":material/login:", type="primary", key=LOGIN_KEY):
        st.login()
    st.stop()


def _picker(directory: UserDirectory) -> User:
    options = [ANONYMOUS_LABEL, *directory.names()]
    choice = st.selectbox(
        "Signed in as (demo users)",
        options,
        key=SELECTOR_KEY,
        format_func=lambda n: describe(_resolve(directory, n)),
        help="Demo sign-in on this machine only: each user's groups decide which documents the "
        "answers may use. For real sign-in see docs/web-chat.md.",
    )
    return _resolve(directory, choice)


def _resolve(directory: UserDirectory, name: str | None) -> User:
    return ANONYMOUS if name in (None, ANONYMOUS_LABEL) else directory.resolve(name)
