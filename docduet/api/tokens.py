"""OpenID Connect access tokens as bearer tokens: signature from the issuer's JWKS, then claims.

A token is accepted only when it is a JWT signed by a key in the issuer's JWKS (found through
the discovery document of ``oidc_server_metadata_url``) with an asymmetric algorithm, its ``iss``
is that issuer, its ``aud`` holds ``oidc_api_audience``, and ``exp`` (required), ``nbf`` and
``iat`` hold within ``oidc_api_leeway_s``. A key id the JWKS lacks makes one fresh fetch of the
JWKS (the provider rotated its keys), at most once per :data:`REFETCH_AFTER_S`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from core.errors import BackendUnavailableError

log = logging.getLogger(__name__)

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
"""Asymmetric only: a token signed with a shared secret (HS256) or ``none`` is refused."""
REFETCH_AFTER_S = 60.0
FETCH_TIMEOUT_S = 10.0

Fetch = Callable[[str], Mapping[str, Any]]
"""Reads a JSON document from a URL (discovery, JWKS)."""


class TokenRefused(Exception):
    """The bearer token is not one this API accepts; the message says why (safe to show)."""


def fetch_json(url: str) -> Mapping[str, Any]:
    """GET ``url`` and parse it as a JSON object; BackendUnavailableError saying what to check."""
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as response:
            data = json.loads(response.read())
    except (OSError, ValueError) as e:
        raise BackendUnavailableError(
            f"cannot read {url} ({e}); check DOCDUET_OIDC_SERVER_METADATA_URL and that the provider "
            "is reachable"
        ) from e
    if not isinstance(data, dict):
        raise BackendUnavailableError(f"{url} did not return a JSON object; check the provider's address")
    return data


class AccessTokenVerifier:
    """Checks access tokens of one issuer for one audience (thread-safe; JWKS cached)."""

    def __init__(
        self,
        metadata_url: str,
        audience: str,
        *,
        leeway_s: float = 30.0,
        fetch: Fetch = fetch_json,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.metadata_url = metadata_url
        self.audience = audience
        self.leeway_s = leeway_s
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._issuer: str | None = None
        self._jwks_uri: str | None = None
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")

    def claims(self, token: str) -> dict[str, Any]:
        """The claims of a valid ``token``; TokenRefused saying why it is not."""
        keys, issuer = self._key_set(refresh=False)
        try:
            decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
        except ValueError as e:
            raise TokenRefused(f"the token is not a JWT ({e})") from e
        except JoseError as e:
            if not isinstance(e, InvalidKeyIdError):
                raise TokenRefused(f"the token is not a valid signed JWT from {issuer} ({e.error})") from e
            keys, issuer = self._key_set(refresh=True)
            try:
                decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
            except JoseError as again:
                raise TokenRefused(f"the token is not signed by a key of {issuer} ({again.error})") from again
        self._check_claims(decoded.claims, issuer)
        return dict(decoded.claims)

    def _check_claims(self, claims: Mapping[str, Any], issuer: str) -> None:
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self._clock()),
            leeway=int(self.leeway_s),
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": self.audience},
            exp={"essential": True},
        )
        try:
            registry.validate(dict(claims))
        except ExpiredTokenError as e:
            raise TokenRefused("the token has expired; get a new access token from your provider") from e
        except JoseError as e:
            raise TokenRefused(
                f"the token's claims are not accepted ({e.description or e.error}); it must be an "
                f"access token issued by {issuer} for the audience {self.audience}"
            ) from e

    def _key_set(self, *, refresh: bool) -> tuple[KeySet, str]:
        """The issuer's keys (fetched on first use; again when ``refresh`` and not too recently)."""
        with self._lock:
            stale = refresh and self._clock() - self._fetched_at >= REFETCH_AFTER_S
            if self._keys is None or stale:
                self._load()
            assert self._keys is not None and self._issuer is not None
            return self._keys, self._issuer

    def _load(self) -> None:
        if self._jwks_uri is None or self._issuer is None:
            metadata = self._fetch(self.metadata_url)
            issuer, jwks_uri = metadata.get("issuer"), metadata.get("jwks_uri")
            if not isinstance(issuer, str) or not isinstance(jwks_uri, str):
                raise BackendUnavailableError(
                    f"{self.metadata_url} names no issuer or jwks_uri; point "
                    "DOCDUET_OIDC_SERVER_METADATA_URL at the provider's .well-known/openid-configuration"
                )
            self._issuer, self._jwks_uri = issuer, jwks_uri
        try:
            self._keys = KeySet.import_key_set(dict(self._fetch(self._jwks_uri)))  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError, TypeError) as e:
            raise BackendUnavailableError(f"the provider's JWKS at {self._jwks_uri} is unusable ({e})") from e
        self._fetched_at = self._clock()
        log.info("loaded %d signing key(s) of %s", len(self._keys.keys), self._issuer)
