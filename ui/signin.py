"""Who is using the web chat: a trusted proxy header in production, a selector for the demo users.

With ``DOCDUET_UI_USER_HEADER`` set (e.g. ``X-Forwarded-User``) the header decides and the
selector is hidden. The reverse proxy in front of docduet must authenticate the user, set the
header, and strip any copy a client sent; docduet trusts it blindly (docs/web-chat.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import streamlit as st

from docduet.domain import ANONYMOUS, User
from docduet.errors import ConfigError
from docduet.identity import UserDirectory
from docduet.settings import Settings

ANONYMOUS_LABEL = "anonymous"
SELECTOR_KEY = "docduet.signin"


@dataclass(frozen=True)
class SignIn:
    """The session's user and a note to show about how it was decided (empty: nothing to say)."""

    user: User
    note: str = ""


def from_header(headers: Mapping[str, str], header: str, directory: UserDirectory) -> SignIn:
    """The user the proxy named in ``header`` (a user name or e-mail of the users file).

    No header: anonymous (public documents only). A name the users file does not know keeps
    its name (for feedback) but gets no groups.
    """
    value = next((v for k, v in headers.items() if k.lower() == header.lower()), "").strip()
    if not value:
        return SignIn(ANONYMOUS, f"No {header} header arrived: public documents only.")
    try:
        return SignIn(directory.resolve(value))
    except ConfigError:
        return SignIn(User(name=value), f"{value} is not in the users file: public documents only.")


def is_admin(user: User, settings: Settings) -> bool:
    """Members of ``settings.admin_group`` see the admin page."""
    return settings.admin_group in user.groups


def describe(user: User) -> str:
    """``carol · employees`` or ``anonymous · public documents only``."""
    if user.name is None:
        return f"{ANONYMOUS_LABEL} · public documents only"
    return f"{user.name} · {', '.join(user.groups) or 'public documents only'}"


def sign_in_sidebar(settings: Settings, directory: UserDirectory) -> User:
    """Render the sidebar's identity block and return the signed-in user."""
    with st.sidebar:
        if settings.ui_user_header:
            signed = from_header(st.context.headers, settings.ui_user_header, directory)
            st.markdown(f"**Signed in as** {describe(signed.user)}")
            if signed.note:
                st.caption(signed.note)
            return signed.user
        options = [ANONYMOUS_LABEL, *directory.names()]
        choice = st.selectbox(
            "Signed in as (demo users)",
            options,
            key=SELECTOR_KEY,
            format_func=lambda n: describe(_resolve(directory, n)),
            help="Demo sign-in: each user's groups decide which documents the answers may use. "
            "In production, set DOCDUET_UI_USER_HEADER to take the user from your proxy.",
        )
        return _resolve(directory, choice)


def _resolve(directory: UserDirectory, name: str | None) -> User:
    return ANONYMOUS if name in (None, ANONYMOUS_LABEL) else directory.resolve(name)
