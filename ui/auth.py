"""How people sign in to the web chat, decided without Streamlit (so it is easy to test).

Three ways, chosen by the settings (docs/web-chat.md):

- ``oidc``: OpenID Connect through Streamlit's ``st.login``; the ID token's claims name the user
  and their groups (:mod:`ui.claims`). Sessions end when the ID token expires.
- ``header``: a reverse proxy names the user in ``ui_user_header``; believed only on connections
  whose TCP peer is one of ``ui_trusted_proxies`` (a connection without a known address never is)
  and only when the header appears exactly once (:func:`user_from_proxy`).
- ``demo``: a picker of every users-file user, explicitly enabled and only on loopback.

With none of them the chat is anonymous (public documents only), and only on loopback:
:func:`sign_in_mode` refuses anything else with a message saying how to configure sign-in.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from core.domain import ANONYMOUS, User
from core.errors import ConfigError
from core.identity import UserDirectory
from core.settings import Settings

log = logging.getLogger(__name__)

HOW_TO = (
    "configure sign-in: OpenID Connect (DOCDUET_OIDC_SERVER_METADATA_URL, DOCDUET_OIDC_CLIENT_ID, "
    "DOCDUET_OIDC_CLIENT_SECRET), or an authenticating proxy (DOCDUET_UI_USER_HEADER with "
    "DOCDUET_UI_TRUSTED_PROXIES); see docs/web-chat.md"
)


class Mode(StrEnum):
    """The way this server signs people in."""

    OIDC = "oidc"
    HEADER = "header"
    DEMO = "demo"
    ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class SignIn:
    """The session's user and a note to show about how it was decided (empty: nothing to say)."""

    user: User
    note: str = ""
    expired: bool = False


def is_loopback(host: str | None) -> bool:
    """``127.0.0.1``, ``::1``, ``localhost``; None (all interfaces) and anything else are not."""
    if host is None:
        return False
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def sign_in_mode(settings: Settings, host: str | None) -> Mode:
    """The sign-in mode for a server listening on ``host``; ConfigError when it would be unsafe."""
    oidc = _oidc_configured(settings)
    header = settings.web.ui_user_header is not None
    if oidc and header:
        raise ConfigError(
            "both OpenID Connect and DOCDUET_UI_USER_HEADER are set; choose one way to sign in "
            "(unset the other)"
        )
    if settings.web.ui_demo_signin and (oidc or header):
        raise ConfigError("DOCDUET_UI_DEMO_SIGNIN cannot be combined with real sign-in; unset it")
    if oidc:
        if not settings.oidc.oidc_redirect_uri and not is_loopback(host):
            raise ConfigError(
                "set DOCDUET_OIDC_REDIRECT_URI to the chat's public address + /oauth2callback "
                "(e.g. https://chat.example/oauth2callback) and register it with your provider"
            )
        return Mode.OIDC
    if header:
        if not settings.web.ui_trusted_proxies:
            raise ConfigError(
                f"DOCDUET_UI_USER_HEADER={settings.web.ui_user_header} needs DOCDUET_UI_TRUSTED_PROXIES: "
                "the address(es) of the proxy that sets it (e.g. 10.0.0.5 or 10.0.0.0/24); a header "
                "from any other address is ignored"
            )
        trusted_networks(settings.web.ui_trusted_proxies)  # validates them
        return Mode.HEADER
    where = "all interfaces" if host is None else host
    if settings.web.ui_demo_signin:
        if not is_loopback(host):
            raise ConfigError(
                f"the demo sign-in picker lets anyone choose any user, so it only runs on loopback; "
                f"this server would listen on {where}. Use --host 127.0.0.1, or {HOW_TO}"
            )
        return Mode.DEMO
    if not is_loopback(host):
        raise ConfigError(f"refusing to serve the web chat on {where} without sign-in; {HOW_TO}")
    return Mode.ANONYMOUS


def _oidc_configured(settings: Settings) -> bool:
    required = {
        "DOCDUET_OIDC_SERVER_METADATA_URL": settings.oidc.oidc_server_metadata_url,
        "DOCDUET_OIDC_CLIENT_ID": settings.oidc.oidc_client_id,
        "DOCDUET_OIDC_CLIENT_SECRET": settings.oidc.oidc_client_secret,
    }
    missing = [name for name, value in required.items() if not value]
    if len(missing) == len(required):
        return False
    if missing:
        raise ConfigError(f"OpenID Connect is half configured: set {', '.join(missing)} too")
    return True


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(proxies: Iterable[str]) -> tuple[Network, ...]:
    """The proxies as networks (an address is a one-address network); ConfigError on a typo."""
    networks: list[Network] = []
    for proxy in proxies:
        try:
            networks.append(ipaddress.ip_network(proxy.strip(), strict=False))
        except ValueError as e:
            raise ConfigError(
                f"DOCDUET_UI_TRUSTED_PROXIES: {proxy!r} is not an IP address or network "
                "(write e.g. 10.0.0.5,10.1.0.0/16)"
            ) from e
    return tuple(networks)


def is_trusted(peer: str | None, proxies: Sequence[str]) -> bool:
    """Whether the connection's address ``peer`` is one of the trusted proxies."""
    if not peer:
        return False
    try:
        address = ipaddress.ip_address(peer.strip().strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in trusted_networks(proxies))


class Connection(Protocol):
    """What Streamlit holds about a session's connection (its ``ClientContext``)."""

    @property
    def headers(self) -> Iterable[tuple[str, str]]:
        """Every request header as (name, value), repeats included."""
        ...

    @property
    def remote_ip(self) -> str | None:
        """The TCP peer's address; None when the session has no connection of its own."""
        ...


UNKNOWN_ADDRESS_NOTE = (
    "Not signed in: this connection did not come through the sign-in proxy (its address is unknown)."
)


def user_from_proxy(connection: Connection | None, settings: Settings, directory: UserDirectory) -> SignIn:
    """The user the proxy header names on ``connection``, checked by :func:`user_from_header`.

    The address is the connection's TCP peer as the server saw it, never a default: a session
    whose address is unknown (Streamlit's agent API sessions, ``/_stcore/agent/interact``, carry
    any caller's headers and no address; a test's AppTest has no connection) is anonymous
    whatever its headers say, and the log says so.
    """
    header = (settings.web.ui_user_header or "").lower()
    pairs = list(connection.headers) if connection is not None else []
    values = [value for name, value in pairs if name.lower() == header]
    peer = connection.remote_ip if connection is not None else None
    if not peer:
        level = logging.WARNING if values else logging.INFO
        log.log(
            level,
            "a session without a client address (an agent API session?) is anonymous; "
            "ignored %d %s header(s)",
            len(values),
            settings.web.ui_user_header,
        )
        return SignIn(ANONYMOUS, UNKNOWN_ADDRESS_NOTE)
    return user_from_header(values, peer, settings, directory)


def user_from_header(
    values: Sequence[str], peer: str | None, settings: Settings, directory: UserDirectory
) -> SignIn:
    """The user a trusted proxy named in ``values`` (every copy of the header that arrived).

    A header from an untrusted address, or sent more than once, is ignored: the session is
    anonymous (public documents only) and the note says why. A name the users file does not
    know keeps its name (for feedback) but gets no groups.
    """
    header = settings.web.ui_user_header or ""
    if not is_trusted(peer, settings.web.ui_trusted_proxies):
        if values:
            log.warning("ignored %s from %s: not a trusted proxy", header, peer or "an unknown address")
        return SignIn(ANONYMOUS, "Not signed in: this connection did not come through the sign-in proxy.")
    if len(values) != 1:
        if values:
            log.warning("ignored %s from %s: it arrived %d times", header, peer, len(values))
        return SignIn(ANONYMOUS, f"Not signed in: expected one {header} header, got {len(values)}.")
    value = values[0].strip()
    if not value:
        return SignIn(ANONYMOUS, f"Not signed in: the {header} header was empty.")
    try:
        return SignIn(directory.resolve(value))
    except ConfigError:
        return SignIn(User(name=value), f"{value} is not in the users file: public documents only.")


def describe(user: User) -> str:
    """``carol · employees`` or ``anonymous · public documents only``."""
    if user.name is None:
        return "anonymous · public documents only"
    return f"{user.name} · {', '.join(user.groups) or 'public documents only'}"
