"""Who calls the API: an API key, an OpenID Connect access token, or (loopback only) nobody.

The same users and groups as the web chat: a key acts for the users-file user it was created
for (groups looked up at each request); an access token is mapped by :mod:`core.claims`, as the
web chat maps an ID token (``oidc_sub`` or a verified e-mail in the users file, else the token's
groups through ``DOCDUET_OIDC_GROUP_MAP``). A credential that is presented and wrong is always
refused (401), never treated as anonymous.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from core.claims import claim_name, listed_user, map_groups
from core.domain import ANONYMOUS, User
from core.errors import ConfigError
from core.identity import UserDirectory
from core.settings import Settings
from docduet.api.keys import KeyStore, key_file, looks_like_key
from docduet.api.tokens import AccessTokenVerifier, TokenRefused

log = logging.getLogger(__name__)

HOW_TO = (
    "configure authentication: OpenID Connect access tokens (DOCDUET_OIDC_SERVER_METADATA_URL and "
    "DOCDUET_OIDC_API_AUDIENCE), or API keys (`docduet keys create --user NAME`); see docs/api.md"
)


class AuthMode(StrEnum):
    """Whether a request without credentials is served (anonymously, public documents only)."""

    REQUIRED = "required"
    ANONYMOUS_ALLOWED = "anonymous allowed"


class Unauthorized(Exception):
    """No usable credential; the message says what to send (safe to show the caller)."""


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: the user whose permissions apply, and how they proved it."""

    user: User
    via: str
    """``key <id>``, ``token``, or ``anonymous``."""

    @property
    def limit_key(self) -> str:
        """The rate-limit key: the web chat's (``user:<name>``) for the same person."""
        return f"user:{self.user.name.casefold()}" if self.user.name else "anonymous"


def auth_mode(settings: Settings, keys: KeyStore, *, loopback: bool) -> AuthMode:
    """Credentials are required as soon as either kind is configured, and always beyond loopback.

    ConfigError (saying how to configure it) when a server beyond loopback could not authenticate
    anyone; half an OpenID Connect configuration is refused too.
    """
    tokens = token_verifier(settings) is not None
    has_keys = any(k.active for k in keys.all())
    if tokens or has_keys:
        return AuthMode.REQUIRED
    if not loopback:
        raise ConfigError(f"refusing to serve the API beyond loopback without authentication; {HOW_TO}")
    return AuthMode.ANONYMOUS_ALLOWED


def token_verifier(settings: Settings) -> AccessTokenVerifier | None:
    """The access-token checker when OpenID Connect bearer tokens are configured, else None."""
    oidc = settings.oidc
    if not oidc.oidc_api_audience:
        return None
    if not oidc.oidc_server_metadata_url:
        raise ConfigError(
            "DOCDUET_OIDC_API_AUDIENCE is set but DOCDUET_OIDC_SERVER_METADATA_URL is not: set it to "
            "your provider's .well-known/openid-configuration URL"
        )
    return AccessTokenVerifier(
        oidc.oidc_server_metadata_url, oidc.oidc_api_audience, leeway_s=oidc.oidc_api_leeway_s
    )


class Authenticator:
    """Turns an ``Authorization`` header into a :class:`Caller` (thread-safe)."""

    def __init__(
        self,
        settings: Settings,
        directory: UserDirectory,
        keys: KeyStore,
        mode: AuthMode,
        tokens: AccessTokenVerifier | None,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.keys = keys
        self.mode = mode
        self.tokens = tokens

    @classmethod
    def for_settings(cls, settings: Settings, *, loopback: bool) -> Authenticator:
        keys = KeyStore(key_file(settings.paths.data_dir))
        directory = UserDirectory.from_settings(settings.identity)
        return cls(
            settings, directory, keys, auth_mode(settings, keys, loopback=loopback), token_verifier(settings)
        )

    def caller(self, authorization: str | None) -> Caller:
        """The caller an ``Authorization`` header names; Unauthorized saying why not."""
        if not authorization or not authorization.strip():
            if self.mode is AuthMode.ANONYMOUS_ALLOWED:
                return Caller(ANONYMOUS, "anonymous")
            raise Unauthorized(
                "no credentials: send Authorization: Bearer <API key or access token> (an API key from "
                "your docduet administrator, or an access token from your sign-in provider)"
            )
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("send the credential as Authorization: Bearer <API key or access token>")
        if looks_like_key(token):
            return self._by_key(token)
        return self._by_token(token)

    def _by_key(self, token: str) -> Caller:
        key = self.keys.check(token)
        if key is None:
            raise Unauthorized(
                "this API key is unknown or revoked; ask your docduet administrator for a new one"
            )
        try:
            user = self.directory.resolve(key.user)
        except ConfigError as e:
            log.warning("API key %s names %r, whom the users file no longer lists", key.key_id, key.user)
            raise Unauthorized(
                "this API key's user is no longer in the users file; ask your docduet administrator"
            ) from e
        return Caller(user, f"key {key.key_id}")

    def _by_token(self, token: str) -> Caller:
        if self.tokens is None:
            raise Unauthorized(
                "this server accepts docduet API keys (ddk_...) only: access tokens are not configured "
                "(DOCDUET_OIDC_API_AUDIENCE)"
            )
        try:
            claims = self.tokens.claims(token)
        except TokenRefused as e:
            raise Unauthorized(str(e)) from e
        name = claim_name(claims, self.settings.oidc.oidc_user_claim)
        if name is None:
            raise Unauthorized("the access token names no user (no sub claim)")
        listed = listed_user(claims, self.directory)
        if listed is not None:
            return Caller(User(name=name, groups=listed.groups), "token")
        groups = map_groups(claims.get(self.settings.oidc.oidc_groups_claim), self.settings)
        return Caller(User(name=name, groups=groups), "token")
