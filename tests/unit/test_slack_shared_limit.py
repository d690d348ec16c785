"""The Slack bot counts a Slack user mapped to a docduet user under the web chat's key, in the data
dir's file that the web chat and ``docduet serve`` count in (issue 26)."""

from __future__ import annotations

from typing import Any

from slack_doubles import HITS, FakeAnswerer, make_app, send, settings, slack_api  # noqa: F401 (fixtures)
from slack_recorder import direct_message, event_body
from test_ratelimit_front_ends import use_up

from core.ratelimit import RateLimiter
from core.settings import Settings


def test_slack_refuses_a_user_who_used_the_limit_in_the_web_chat(settings: Settings, slack_api: Any) -> None:
    limited = settings.replace(rate_limit_questions=2, rate_limit_window_s=600.0)
    use_up(limited, "user:alice")  # U0ALICE is alice (users file e-mail)
    answerer = FakeAnswerer(HITS)
    app = make_app(limited, slack_api, answerer)
    send(app, event_body(direct_message("salary bands?", user="U0ALICE", ts="1.000100")))
    assert answerer.questions == []
    assert "You have asked 2 questions" in slack_api.of("chat.postMessage")[-1].params["text"]


def test_slack_questions_count_in_the_web_chats_window(settings: Settings, slack_api: Any) -> None:
    limited = settings.replace(rate_limit_questions=1, rate_limit_window_s=600.0)
    app = make_app(limited, slack_api, FakeAnswerer(HITS))
    send(app, event_body(direct_message("salary bands?", user="U0ALICE", ts="1.000100")))
    web = RateLimiter.from_settings(limited.ratelimit, limited.paths.data_dir)
    assert web.check("user:alice") is not None
