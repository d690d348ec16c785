"""The per-user question and download limits in the web chat (core/ratelimit.py), counted in the data
dir with the Slack bot and ``docduet serve`` on the same data dir."""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from core.domain import User
from core.ratelimit import RateLimiter
from core.settings import RateLimitSettings, Settings

log = logging.getLogger(__name__)


@st.cache_resource(show_spinner=False)
def _limiter(limit: int, window_s: float, scope: str) -> RateLimiter:
    """Shared by every session of this server (``scope``: the data directory, whose file every
    docduet process on it counts in)."""
    limits = RateLimitSettings(rate_limit_questions=limit, rate_limit_window_s=window_s)
    return RateLimiter.from_settings(limits, Path(scope))


@st.cache_resource(show_spinner=False)
def _download_limiter(limit: int, window_s: float, scope: str) -> RateLimiter:
    """The "Download source" limit, shared by every session and process on the data directory."""
    return RateLimiter.for_downloads(limit, window_s, data_dir=Path(scope))


def limit_key(user: User) -> str:
    """The signed-in user's name; for anonymous visitors, their address."""
    if user.name is not None:
        return f"user:{user.name.casefold()}"
    return f"address:{st.context.ip_address or 'loopback'}"


def allow_question(settings: Settings, user: User) -> bool:
    """Count a question; when over the limit, say so in the page and return False."""
    limiter = _limiter(
        settings.ratelimit.rate_limit_questions,
        settings.ratelimit.rate_limit_window_s,
        str(settings.paths.data_dir),
    )
    key = limit_key(user)
    refusal = limiter.check(key)
    if refusal is None:
        return True
    log.info("rate limit: refused a question from %s for %.0f s", key, refusal.retry_after_s)
    st.warning(refusal.message, icon=":material/hourglass_top:")
    return False


def download_refusal(settings: Settings, user: User) -> str | None:
    """Count a "Download source" click; when over the limit, what to tell the user (not counted)."""
    limiter = _download_limiter(
        settings.ratelimit.rate_limit_downloads,
        settings.ratelimit.rate_limit_window_s,
        str(settings.paths.data_dir),
    )
    key = limit_key(user)
    refusal = limiter.check(key)
    if refusal is None:
        return None
    log.info("rate limit: refused a download by %s for %.0f s", key, refusal.retry_after_s)
    return refusal.message
