"""The Bolt app end to end over a stand-in answer service: signed events in, Web API calls out."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request

import pytest
from slack_bolt import BoltRequest
from slack_doubles import (  # noqa: F401 (fixtures)
    ALICE,
    HITS,
    USERS,
    FakeAnswerer,
    hit,
    make_app,
    posted_sources,
    send,
    settings,
    slack_api,
)
from slack_recorder import (
    action_body,
    direct_message,
    event_body,
    mention,
    signed_headers,
)

from core.domain import ANONYMOUS
from core.errors import ConfigError
from core.feedback import FeedbackStore
from core.settings import Settings
from slackbot.app import generator_names
from slackbot.http import SlackHttpServer
from slackbot.run import check_settings


def test_channel_mention_is_answered_in_thread_from_public_documents_only(settings, slack_api):
    answerer = FakeAnswerer(HITS)
    app = make_app(settings, slack_api, answerer)
    event = mention("What are the salary bands?", user="U0ALICE", ts="1700000000.000100")
    assert send(app, event_body(event)).status == 200
    [call] = slack_api.of("chat.postMessage")
    assert call.params["channel"] == "C0GENERAL" and call.params["thread_ts"] == "1700000000.000100"
    assert call.token == "xoxb-test"
    assert answerer.questions[0].text == "What are the salary bands?"
    assert answerer.questions[0].user.readable_groups == ("public",)
    assert "careers.md" in posted_sources(slack_api) and "salary-bands" not in posted_sources(slack_api)
    assert "public documents only" in call.params["blocks"][0]["elements"][0]["text"]


def test_dm_uses_the_askers_groups(settings, slack_api):
    answerer = FakeAnswerer(HITS)
    app = make_app(settings, slack_api, answerer)
    send(app, event_body(direct_message("What are the salary bands?", user="U0ALICE", ts="1.000200")))
    assert answerer.questions[0].user == ALICE
    [call] = slack_api.of("chat.postMessage")
    assert call.params["thread_ts"] == "1.000200" and call.params["channel"] == "D0ALICE"
    assert "salary-bands" in posted_sources(slack_api)
    assert call.params["blocks"][0]["type"] == "section"  # no notice for a known user in a DM


def test_unknown_user_in_a_dm_gets_public_documents_and_is_told(settings, slack_api):
    answerer = FakeAnswerer(HITS)
    app = make_app(settings, slack_api, answerer)
    send(app, event_body(direct_message("salary bands?", user="U0STRANGER", channel="D0X")))
    assert answerer.questions[0].user == ANONYMOUS
    assert "could not match your Slack account" in posted_sources(slack_api)


def test_retried_and_doubled_deliveries_are_answered_once(settings, slack_api):
    answerer = FakeAnswerer(HITS)
    app = make_app(settings, slack_api, answerer)
    body = event_body(mention("careers?", user="U0ALICE", ts="2.000300"), event_id="Ev0RETRY")
    assert send(app, body).status == 200
    for n in (1, 2):
        assert (
            send(app, body, **{"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": "http_timeout"}).status
            == 200
        )
    im = direct_message("careers?", user="U0ALICE", channel="C0GENERAL", ts="2.000300")
    assert send(app, event_body(im)).status == 200  # same message, other event type
    assert len(slack_api.of("chat.postMessage")) == 1 and len(answerer.questions) == 1


def test_bad_or_stale_signatures_are_rejected(settings, slack_api):
    answerer = FakeAnswerer(HITS)
    app = make_app(settings, slack_api, answerer)
    body = event_body(mention("careers?", user="U0ALICE"))
    forged = signed_headers(body, secret="not-the-secret")
    assert app.dispatch(BoltRequest(body=body, headers=forged)).status == 401
    stale = signed_headers(body, timestamp=int(time.time()) - 6 * 60)
    assert app.dispatch(BoltRequest(body=body, headers=stale)).status == 401
    tampered = signed_headers(body)
    assert app.dispatch(BoltRequest(body=body.replace("careers", "salary"), headers=tampered)).status == 401
    assert app.dispatch(BoltRequest(body=body, headers={"Content-Type": "application/json"})).status == 401
    assert answerer.questions == [] and slack_api.of("chat.postMessage") == []


def test_url_verification_challenge(settings, slack_api):
    app = make_app(settings, slack_api, FakeAnswerer(HITS))
    body = json.dumps({"token": "x", "challenge": "c-123", "type": "url_verification"})
    response = send(app, body)
    assert response.status == 200 and json.loads(response.body) == {"challenge": "c-123"}


def test_failures_give_a_short_apology_and_a_log_entry(settings, slack_api, caplog):
    app = make_app(settings, slack_api, FakeAnswerer(HITS, fail=RuntimeError("weaviate exploded at /srv/x")))
    with caplog.at_level(logging.ERROR, logger="slackbot"):
        assert send(app, event_body(mention("careers?", user="U0ALICE", ts="3.000400"))).status == 200
    [call] = slack_api.of("chat.postMessage")
    assert call.params["thread_ts"] == "3.000400"
    text = json.dumps(call.params)
    assert "Sorry" in text and "exploded" not in text and "Traceback" not in text
    [record] = [r for r in caplog.records if r.exc_info]
    ref = text.split("reference `")[1][:8]
    assert ref in record.getMessage() and "exploded" in str(record.exc_info[1])


def test_a_leaking_retrieval_is_refused_not_posted(settings, slack_api):
    app = make_app(settings, slack_api, FakeAnswerer(HITS, leak=True))
    send(app, event_body(mention("salary bands?", user="U0ALICE")))
    [call] = slack_api.of("chat.postMessage")
    assert "Sorry" in call.params["text"] and "salary" not in json.dumps(call.params)


def test_bare_mention_gets_help_and_noise_is_ignored(settings, slack_api):
    answerer = FakeAnswerer(HITS)
    app = make_app(settings, slack_api, answerer)
    send(app, event_body(mention("", user="U0ALICE")))
    assert "Ask me about" in slack_api.of("chat.postMessage")[0].params["text"]
    edit = {**direct_message("x", user="U0ALICE"), "subtype": "message_changed"}
    bot = {**direct_message("x", user="U0OTHERBOT"), "bot_id": "B0OTHER"}
    channel_message = {**direct_message("x", user="U0ALICE"), "channel_type": "channel"}
    for event in (edit, bot, channel_message):
        assert send(app, event_body(event)).status == 200
    assert len(slack_api.of("chat.postMessage")) == 1 and answerer.questions == []


def test_feedback_buttons_are_recorded_once_per_rater(settings, slack_api, tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    app = make_app(settings, slack_api, FakeAnswerer(HITS), feedback=store)
    send(app, event_body(direct_message("salary bands?", user="U0ALICE", ts="4.000500")))
    [call] = slack_api.of("chat.postMessage")
    buttons = next(b for b in call.params["blocks"] if b["type"] == "actions")["elements"]
    by_verdict = {b["action_id"]: b["value"] for b in buttons}
    for action_id in ("docduet_feedback_not_helpful", "docduet_feedback_helpful"):
        body = action_body(
            by_verdict[action_id],
            action_id,
            user="U0ALICE",
            channel="D0ALICE",
            message_ts="4.000600",
            thread_ts="4.000500",
        )
        response = send(app, body, **{"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status == 200
    [record] = store.all()  # the second click changed the first rating
    assert (record.channel, record.user, record.verdict) == ("slack", "alice", "helpful")
    assert record.question == "salary bands?" and record.generators == ("slm",)
    assert [c["source"] for c in record.answers[0]["citations"]] == [h.chunk.source for h in HITS]
    thanks = slack_api.of("chat.postEphemeral")
    assert len(thanks) == 2 and thanks[0].params["user"] == "U0ALICE"
    assert thanks[0].params["thread_ts"] == "4.000500"


def test_http_server_acks_at_once_and_answers_after(settings, slack_api):
    gate = threading.Event()
    answerer = FakeAnswerer(HITS, gate=gate)
    app = make_app(settings, slack_api, answerer, process_before_response=False)
    server = SlackHttpServer(app, host="127.0.0.1", port=0)
    server.start()
    try:
        body = event_body(mention("careers?", user="U0ALICE", ts="5.000700"))
        started = time.perf_counter()
        status, _ = post(server.url, body, signed_headers(body))
        acked_s = time.perf_counter() - started
        assert status == 200 and acked_s < 2.0
        assert slack_api.of("chat.postMessage") == []  # still answering
        gate.set()
        [call] = slack_api.wait_for("chat.postMessage", 1, timeout_s=10)
        assert call.params["thread_ts"] == "5.000700"
        assert post(server.url, body, signed_headers(body, secret="wrong"))[0] == 401
        too_big = {"Content-Type": "text/plain", "Content-Length": str(2 << 20)}  # refused unread
        assert post(server.url, "x" * 1000, too_big)[0] == 413
        health = server.url.replace("/slack/events", "/healthz")
        with urllib.request.urlopen(health, timeout=5) as response:
            assert response.status == 200
    finally:
        gate.set()
        server.stop()


def post(url: str, body: str, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("slm", ("slm",)),
        ("llm", ("llm",)),
        ("all", ("slm", "slm-large", "cascade")),  # the hosted one is not configured here
        ("both", ("slm", "slm-large", "cascade")),
        (" LLM, slm ,llm", ("llm", "slm")),
    ],
)
def test_generator_names(value, names, monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "DOCDUET_LLM_API_KEY", "DOCDUET_LLM_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert generator_names(Settings(slack_generators=value)) == names


@pytest.mark.parametrize("value", ["gpt", "", "slm,gpt"])
def test_unknown_generators_are_config_errors(value):
    with pytest.raises(ConfigError, match=r"DOCDUET_SLACK_GENERATORS=.*(unknown generator 'gpt'|use all)"):
        generator_names(Settings(slack_generators=value))


def test_check_settings_names_what_is_missing(monkeypatch):
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match=r"SLACK_BOT_TOKEN.*SLACK_APP_TOKEN"):
        check_settings(Settings(slack_mode="socket"))
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET") as info:
        check_settings(Settings(slack_mode="http", slack_bot_token="xoxb-1"))
    assert "SLACK_BOT_TOKEN" not in str(info.value)
    check_settings(Settings(slack_mode="http", slack_bot_token="xoxb-1", slack_signing_secret="s"))
    check_settings(Settings(slack_mode="socket", slack_bot_token="xoxb-1", slack_app_token="xapp-1"))


def test_settings_read_slacks_usual_variables(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-env")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "")
    monkeypatch.setenv("DOCDUET_SLACK_MODE", "http")
    settings = Settings()
    assert (
        settings.slack.slack_bot_token is not None
        and settings.slack.slack_bot_token.get_secret_value() == "xoxb-env"
    )
    assert settings.slack.slack_signing_secret is None and settings.slack.slack_mode == "http"
    assert "xoxb-env" not in repr(settings)


def test_socket_mode_acks_the_envelope_first_then_answers(tmp_path, slack_api):
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk.socket_mode.request import SocketModeRequest

    settings = Settings(
        data_dir=tmp_path / "data",
        users_file=USERS,
        slack_mode="socket",
        slack_bot_token="xoxb-test",
        slack_app_token="xapp-test",
        slack_signing_secret=None,
    )
    gate = threading.Event()
    answerer = FakeAnswerer(HITS, gate=gate)
    app = make_app(settings, slack_api, answerer, process_before_response=False)
    handler = SocketModeHandler(app, "xapp-test")
    acks: list[str] = []
    handler.client.send_socket_mode_response = lambda response: acks.append(response.envelope_id)
    try:
        payload = json.loads(event_body(mention("careers?", user="U0ALICE", ts="6.000800")))
        request = SocketModeRequest(type="events_api", envelope_id="env-1", payload=payload)
        handler.handle(handler.client, request)  # unsigned: Socket Mode needs no signing secret
        assert acks == ["env-1"] and slack_api.of("chat.postMessage") == []
        gate.set()
        [call] = slack_api.wait_for("chat.postMessage", 1, timeout_s=10)
        assert call.params["thread_ts"] == "6.000800"
    finally:
        gate.set()
        handler.client.close()


def test_cli_reports_missing_tokens(monkeypatch, capsys):
    from docduet.cli import main

    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DOCDUET_SLACK_MODE"):
        monkeypatch.delenv(name, raising=False)
    assert main(["slack", "--mode", "http", "--port", "3999"]) == 2
    err = capsys.readouterr().err
    assert "http mode needs SLACK_BOT_TOKEN" in err and "SLACK_SIGNING_SECRET" in err
    assert "Traceback" not in err
