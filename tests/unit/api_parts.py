"""The API over fakes for the unit tests: the real app, authenticator and answer service; a stub
retriever over three passages (internal to employees, confidential to hr, public) and scripted
generators (``slm`` local, ``llm`` hosted with an ``internal`` ceiling); RSA keys for tokens."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fakes import ManualClock, ScriptedGenerator, StubRetriever, corpus
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from chat.rewrite import HeuristicRewriter
from chat.service import AnswerService, GeneratorSlot
from core.domain import User
from core.errors import GenerationError
from core.identity import UserDirectory
from core.ratelimit import RateLimiter
from core.settings import Settings
from docduet.api.app import create_app
from docduet.api.callers import Authenticator, AuthMode
from docduet.api.keys import KeyStore
from docduet.api.tokens import AccessTokenVerifier

ISSUER = "https://idp.example"
AUDIENCE = "https://docduet.example/api"
METADATA_URL = f"{ISSUER}/.well-known/openid-configuration"
JWKS_URL = f"{ISSUER}/jwks"
USERS = {
    "users": {
        "alice": {"email": "alice@corvala.example", "groups": ["employees", "hr"]},
        "carol": {"email": "carol@corvala.example", "groups": ["employees"]},
    }
}


class Issuer:
    """A provider's signing keys and discovery documents, as a :data:`docduet.api.tokens.Fetch`."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
        self.fetched: list[str] = []

    def rotate(self, kid: str) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": kid}, private=True)

    def __call__(self, url: str) -> Mapping[str, Any]:
        self.fetched.append(url)
        if url == METADATA_URL:
            return {"issuer": ISSUER, "jwks_uri": JWKS_URL}
        return KeySet([self.key]).as_dict(private=False)

    def token(self, key: RSAKey | None = None, alg: str = "RS256", **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u-1", "iat": now, "exp": now + 300, **claims}
        signer = key or self.key
        return jwt.encode(
            {"alg": alg, "kid": signer.kid}, {k: v for k, v in payload.items() if v is not None}, signer
        )


@dataclass
class FakeBackend:
    """The answer service over fakes, and files served from memory."""

    answers: AnswerService
    buffered_names: frozenset[str] = frozenset()

    def service(self) -> AnswerService:
        return self.answers

    def buffered(self) -> frozenset[str]:
        return self.buffered_names

    def source_bytes(self, source: str, user: User) -> bytes:
        return Path(source).read_bytes()


def answer_service(root: Path, *, failing: bool = False) -> AnswerService:
    error = GenerationError("slm stopped: the model server went away; ask again") if failing else None
    slots = [
        GeneratorSlot("slm", ScriptedGenerator("slm", fail_with=error)),
        GeneratorSlot("llm", ScriptedGenerator("llm", off_premises=True, endpoint="https://llm.example")),
    ]
    return AnswerService(StubRetriever(corpus(root)), slots, HeuristicRewriter())


def settings(tmp: Path, **values: Any) -> Settings:
    base = {"data_dir": tmp / "data", "oidc_group_map": "idp-finance=finance,idp-staff=employees"}
    return Settings(_env_file=None, **{**base, **values})  # type: ignore[call-arg]


def client(
    tmp: Path,
    *,
    mode: AuthMode = AuthMode.REQUIRED,
    limit: int = 0,
    clock: Callable[[], float] | None = None,
    issuer: Issuer | None = None,
    buffered: frozenset[str] = frozenset(),
    failing: bool = False,
    downloads_limit: int = 0,
    **values: Any,
) -> tuple[TestClient, KeyStore]:
    """A test client of the real app; ``limit`` questions per 60 s (0: none); ``buffered``: the
    generators whose answers are sent once final; ``failing``: ``slm`` fails while generating."""
    config = settings(tmp, **values)
    keys = KeyStore(tmp / "data" / "api-keys.json")
    tokens = AccessTokenVerifier(METADATA_URL, AUDIENCE, leeway_s=0, fetch=issuer) if issuer else None
    directory = UserDirectory.parse(USERS)
    authenticator = Authenticator(config, directory, keys, mode, tokens)
    limiter = RateLimiter(limit, 60.0, clock or ManualClock())
    downloads = RateLimiter.for_downloads(downloads_limit, 60.0, clock or ManualClock())
    backend = FakeBackend(answer_service(tmp / "docs", failing=failing), buffered)
    app = create_app(config, backend, authenticator, limiter, downloads)
    return TestClient(app, raise_server_exceptions=False), keys


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
