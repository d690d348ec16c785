"""Access tokens as bearer tokens (docduet/api/tokens.py): signature from the issuer's JWKS, then claims."""

from __future__ import annotations

import time
from typing import Any

import pytest
from api_parts import AUDIENCE, ISSUER, METADATA_URL, Issuer
from fakes import ManualClock
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from docduet.api.tokens import AccessTokenVerifier, TokenRefused


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


def verifier(issuer: Issuer, **kwargs: object) -> AccessTokenVerifier:
    return AccessTokenVerifier(METADATA_URL, AUDIENCE, leeway_s=0, fetch=issuer, **kwargs)  # type: ignore[arg-type]


def test_a_token_of_the_issuer_for_the_audience_is_accepted(issuer: Issuer) -> None:
    claims = verifier(issuer).claims(issuer.token(groups=["idp-finance"]))
    assert claims["sub"] == "u-1" and claims["groups"] == ["idp-finance"]


def test_an_audience_list_that_holds_the_api_is_accepted(issuer: Issuer) -> None:
    assert verifier(issuer).claims(issuer.token(aud=["other", AUDIENCE]))["sub"] == "u-1"


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"aud": "https://other.example/api"}, "audience"),
        ({"aud": None}, "aud"),
        ({"iss": "https://evil.example"}, "iss"),
        ({"exp": None}, "exp"),
        ({"exp": -5}, "expired"),
        ({"nbf": 600}, "not yet valid"),
    ],
)
def test_claims_that_do_not_fit_are_refused(issuer: Issuer, claims: dict[str, Any], why: str) -> None:
    # times are offsets from when the test runs, not from collection (a whole-suite run collects
    # this module tens of minutes before it runs it)
    now = int(time.time())
    timed = {k: now + v if k in ("exp", "nbf") and v is not None else v for k, v in claims.items()}
    with pytest.raises(TokenRefused, match=why):
        verifier(issuer).claims(issuer.token(**timed))


def test_the_leeway_allows_clock_skew(issuer: Issuer) -> None:
    token = issuer.token(exp=int(time.time()) - 5)
    assert AccessTokenVerifier(METADATA_URL, AUDIENCE, leeway_s=30, fetch=issuer).claims(token)


def test_a_token_signed_by_another_key_is_refused_after_one_refetch(issuer: Issuer) -> None:
    check = verifier(issuer)
    check.claims(issuer.token())
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
    with pytest.raises(TokenRefused, match="not a valid signed JWT"):
        check.claims(issuer.token(key=stranger))
    unknown = RSAKey.generate_key(2048, parameters={"kid": "other"}, private=True)
    fetched = len(issuer.fetched)
    with pytest.raises(TokenRefused, match="not signed by a key"):
        check.claims(issuer.token(key=unknown))
    assert len(issuer.fetched) == fetched  # fetched less than REFETCH_AFTER_S ago: not again


def test_rotated_keys_are_fetched_again(issuer: Issuer) -> None:
    clock = ManualClock(time.time())
    check = verifier(issuer, clock=clock)
    check.claims(issuer.token())
    issuer.rotate("k2")
    clock.now += 61
    assert check.claims(issuer.token())["sub"] == "u-1"


def test_symmetric_and_unsigned_tokens_are_refused(issuer: Issuer) -> None:
    shared = OctKey.generate_key(256, parameters={"kid": "k1"})
    now = int(time.time())
    hs = jwt.encode({"alg": "HS256", "kid": "k1"}, {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 60}, shared)
    for token in (hs, "not-a-jwt", "a.b.c"):
        with pytest.raises(TokenRefused):
            verifier(issuer).claims(token)
