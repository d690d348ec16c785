"""Who may ask, and where: identity, the web chat and its sign-in, rate limits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from core.sections.base import Section, blank_is_unset, comma_list


class IdentitySettings(Section):
    """The users file (names, e-mails -> groups) and the group that administers docduet."""

    users_file: Path | None = Field(
        default=None, description="YAML mapping user names (and e-mails) to groups."
    )
    admin_group: str = Field(default="admins", description="Members see the web admin page.")


class WebSettings(Section):
    """The web chat's sign-in without OIDC and its sessions (ui/auth.py, docs/web-chat.md).

    People sign in through OpenID Connect (:class:`OidcSettings`), a trusted proxy header, or
    (loopback only, explicitly enabled) the demo picker; `docduet ui` refuses to listen beyond
    loopback with none of them.
    """

    ui_user_header: str | None = Field(
        default=None,
        description="Reverse-proxy header that names the signed-in user (user name or e-mail from "
        "the users file), e.g. X-Forwarded-User; honoured only on connections from "
        "ui_trusted_proxies and only when it appears exactly once.",
    )
    ui_trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Addresses or networks (comma list, e.g. 10.0.0.5,10.1.0.0/16) of the proxies "
        "whose ui_user_header is believed; required with ui_user_header.",
    )
    ui_demo_signin: bool = Field(
        default=False,
        description="Demo only: a sidebar picker of every users-file user (anyone can pick anyone). "
        "Refused unless docduet ui listens on loopback.",
    )
    ui_session_max_s: float = Field(
        default=8 * 3600.0,
        gt=0,
        description="Longest a web sign-in lasts; it also ends when the provider's ID token expires.",
    )

    _unset = field_validator("ui_user_header", mode="before")(blank_is_unset)
    _list = field_validator("ui_trusted_proxies", mode="before")(comma_list)


class OidcSettings(Section):
    """OpenID Connect sign-in for the web chat (docs/identity.md)."""

    oidc_server_metadata_url: str | None = Field(
        default=None,
        description="OpenID Connect discovery URL (…/.well-known/openid-configuration); with "
        "oidc_client_id and oidc_client_secret it turns on real sign-in (st.login).",
    )
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_redirect_uri: str | None = Field(
        default=None,
        description="This app's callback as the provider knows it (https://chat.example/oauth2callback); "
        "default http://<host>:<port>/oauth2callback of docduet ui.",
    )
    oidc_cookie_secret: SecretStr | None = Field(
        default=None,
        description="Signs the sign-in cookie; set the same long random value on every replica. "
        "Unset: a random one per start (everyone signs in again after a restart).",
    )
    oidc_scope: str = Field(default="openid email profile", description="Scopes asked for.")
    oidc_prompt: str = Field(default="select_account", description="OIDC prompt parameter.")
    oidc_user_claim: str = Field(
        default="email",
        description="ID-token claim naming the user, a label only (falls back to preferred_username, "
        "email, sub); the users file matches by oidc_sub or a verified e-mail (docs/identity.md).",
    )
    oidc_groups_claim: str = Field(default="groups", description="ID-token claim listing the groups.")
    oidc_api_audience: str | None = Field(
        default=None,
        description="docduet serve: the audience (aud) an OpenID Connect access token must carry to "
        "be accepted as a bearer token (the API's resource identifier at the provider, e.g. "
        "https://docduet.example/api); with oidc_server_metadata_url it turns bearer tokens on.",
    )
    oidc_api_leeway_s: float = Field(
        default=30.0,
        ge=0,
        description="docduet serve: clock skew allowed when checking an access token's exp, nbf and iat.",
    )
    oidc_group_map: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description="Provider group -> docduet group (comma list idp=docduet or a JSON object); only "
        "mapped groups count. Empty: the token's groups are ignored (users-file groups only).",
    )

    _unset = field_validator(
        "oidc_server_metadata_url", "oidc_client_id", "oidc_client_secret", "oidc_redirect_uri",
        "oidc_cookie_secret", "oidc_api_audience", mode="before",
    )(blank_is_unset)  # fmt: skip

    @field_validator("oidc_group_map", mode="before")
    @classmethod
    def _group_map(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        if value.strip().startswith("{"):
            return json.loads(value)
        pairs = [p.split("=", 1) for p in value.split(",") if p.strip()]
        if any(len(p) != 2 for p in pairs):
            raise ValueError("write DOCDUET_OIDC_GROUP_MAP as idp-group=docduet-group,… or a JSON object")
        return {k.strip(): v.strip() for k, v in pairs}


class RateLimitSettings(Section):
    """Questions and downloads one user may make per window, in every docduet process on the data dir.

    The web chat, the Slack bot and docduet serve count together in DATA_DIR/ratelimit.sqlite3.
    """

    rate_limit_questions: int = Field(
        default=30,
        ge=0,
        description="Questions one user may ask per rate_limit_window_s in the web chat, in Slack and "
        "through docduet serve together (chats and searches; counted in DATA_DIR/ratelimit.sqlite3, "
        "shared by every docduet process on the data dir) (0: no limit).",
    )
    rate_limit_downloads: int = Field(
        default=60,
        ge=0,
        description="Source files one user may download per rate_limit_window_s in the web chat and "
        "through docduet serve (0: no limit).",
    )
    rate_limit_window_s: float = Field(default=600.0, gt=0)
