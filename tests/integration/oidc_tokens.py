"""Access tokens from the loopback OpenID Connect provider, the way a client app gets them.

The authorization code flow over plain HTTP (no browser): the provider's login form is posted
with the user's password, the code is taken from the redirect to the client's callback (never
fetched), and exchanged at the token endpoint with ``resource`` (RFC 8707), which makes the
provider issue a JWT access token for that resource's audience (tests/oidc/provider.mjs).
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
from oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider

MAX_HOPS = 12


def access_token(provider: Provider, redirect_uri: str, login: str, password: str, resource: str) -> str:
    """A JWT access token for ``login`` and ``resource``; AssertionError saying where the flow stopped."""
    with httpx.Client(follow_redirects=False, timeout=30.0) as http:
        code = _code(http, provider, redirect_uri, login, password, resource)
        reply = http.post(
            f"{provider.issuer}/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                  "resource": resource},
            auth=(CLIENT_ID, CLIENT_SECRET),
        )  # fmt: skip
    assert reply.status_code == 200, reply.text
    token = reply.json()["access_token"]
    assert token.count(".") == 2, f"the provider issued an opaque token, not a JWT: {token[:20]}…"
    return str(token)


def claims_of(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified (for reading ``exp`` in a test)."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def _code(http: httpx.Client, provider: Provider, redirect_uri: str, login: str, password: str,
          resource: str) -> str:  # fmt: skip
    """Follow the provider's redirects, signing in once, until it sends the browser to ``redirect_uri``."""
    params = {"client_id": CLIENT_ID, "response_type": "code", "redirect_uri": redirect_uri,
              "scope": "openid email profile groups", "resource": resource, "state": secrets.token_hex(8),
              "prompt": "login"}  # fmt: skip
    reply = http.get(f"{provider.issuer}/auth", params=params)
    signed_in = False
    for _ in range(MAX_HOPS):
        if reply.is_redirect:
            location = urljoin(str(reply.url), reply.headers["location"])
            if location.startswith(redirect_uri):
                query = parse_qs(urlsplit(location).query)
                assert "code" in query, f"the provider refused: {query}"
                return query["code"][0]
            reply = http.get(location)
        elif reply.status_code == 200 and 'action="/interaction/' in reply.text and not signed_in:
            action = reply.text.split('action="', 1)[1].split('"', 1)[0]
            reply = http.post(urljoin(str(reply.url), action), data={"login": login, "password": password})
            signed_in = True
        else:
            raise AssertionError(
                f"the sign-in stopped at {reply.url} ({reply.status_code}): {reply.text[:300]}"
            )
    raise AssertionError(f"no code after {MAX_HOPS} redirects")
