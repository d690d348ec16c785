"""The web chat and ``docduet serve`` count a user's questions in the data dir's file: a user who asked
the limit in another docduet process is refused (issue 26; the Slack bot: test_slack_shared_limit.py)."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from fastapi.testclient import TestClient
from slack_doubles import USERS

from core.domain import User
from core.ratelimit import RateLimiter
from core.settings import Settings
from docduet.api.keys import KeyStore, key_file
from docduet.api.run import build_app
from docduet.compose import Root


def use_up(settings: Settings, key: str) -> RateLimiter:
    """Another process on the same data dir that asked the whole limit as ``key``."""
    other = RateLimiter.from_settings(settings.ratelimit, settings.paths.data_dir)
    while other.check(key) is None:
        pass
    return other


def test_the_api_refuses_a_user_who_used_the_limit_elsewhere(tmp_path: Path) -> None:
    config = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path / "data", users_file=USERS, rate_limit_questions=2
    )
    _, alice = KeyStore(key_file(config.paths.data_dir)).create("alice")
    use_up(config, "user:alice")
    app = build_app(config, cast(Root, None), loopback=True)  # refused before the back end is used
    response = TestClient(app).post(
        "/v1/search", json={"query": "anchor days"}, headers={"Authorization": f"Bearer {alice}"}
    )
    assert response.status_code == 429 and "Retry-After" in response.headers


def test_the_web_chat_refuses_a_user_who_used_the_limit_elsewhere(tmp_path: Path) -> None:
    from ui.limits import allow_question, download_refusal

    config = Settings(_env_file=None, data_dir=tmp_path / "data", rate_limit_questions=2)  # type: ignore[call-arg]
    use_up(config, "user:dave")
    assert not allow_question(config, User("dave", ()))
    assert download_refusal(config, User("dave", ())) is None  # downloads are counted apart
