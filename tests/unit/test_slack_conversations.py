"""Slack conversations: replies in a thread follow up; the question wears ⏳ while it is answered."""

from __future__ import annotations

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
    SlackApiRecorder,
    direct_message,
    event_body,
    mention,
)


def test_a_reply_in_the_thread_is_a_follow_up_and_a_new_message_is_not(settings, slack_api):
    answerer = FakeAnswerer(HITS)
    app = make_app(settings, slack_api, answerer)
    send(app, event_body(direct_message("What are the salary bands?", user="U0ALICE", ts="5.000100")))
    follow_up = direct_message("And for interns?", user="U0ALICE", ts="5.000300", thread_ts="5.000100")
    send(app, event_body(follow_up))
    send(app, event_body(direct_message("Where is the office?", user="U0ALICE", ts="5.000400")))
    other_thread = direct_message("And parking?", user="U0ALICE", ts="5.000500", thread_ts="5.000400")
    send(app, event_body(other_thread))

    first, second, fresh, third = answerer.questions
    assert first.history == () and fresh.history == ()
    assert [(t.role, t.content) for t in second.history] == [
        ("user", "What are the salary bands?"),
        ("assistant", "Fact from careers.md. Fact from salary-bands.md."),  # markers stripped
    ]
    assert [t.content for t in third.history if t.role == "user"] == ["Where is the office?"]
    assert [c.params["thread_ts"] for c in slack_api.of("chat.postMessage")] == [
        "5.000100", "5.000100", "5.000400", "5.000400",
    ]  # fmt: skip


def test_threads_in_different_channels_do_not_share_a_conversation(settings, slack_api):
    answerer = FakeAnswerer(HITS)
    app = make_app(settings, slack_api, answerer)
    send(app, event_body(direct_message("What are the salary bands?", user="U0ALICE", ts="6.000100")))
    elsewhere = mention(
        "And for interns?", user="U0ALICE", channel="C0GENERAL", ts="6.000200", thread_ts="6.000100"
    )
    send(app, event_body(elsewhere))
    assert answerer.questions[1].history == ()  # a DM's answer never follows into a channel


def methods(api: SlackApiRecorder) -> list[str]:
    return [c.method for c in api.calls if c.method not in ("auth.test", "users.info", "conversations.info")]


def test_the_question_wears_a_working_emoji_until_the_answer_is_posted(settings, slack_api):
    app = make_app(settings, slack_api, FakeAnswerer(HITS))
    send(app, event_body(direct_message("What are the salary bands?", user="U0ALICE", ts="7.000100")))
    assert methods(slack_api) == ["reactions.add", "chat.postMessage", "reactions.remove"]
    added, removed = slack_api.of("reactions.add")[0], slack_api.of("reactions.remove")[0]
    for call in (added, removed):
        mark = {k: call.params.get(k) for k in ("channel", "timestamp", "name")}
        assert mark == {"channel": "D0ALICE", "timestamp": "7.000100", "name": "hourglass_flowing_sand"}


def test_the_working_emoji_comes_off_after_a_failure_too(settings, slack_api):
    app = make_app(settings, slack_api, FakeAnswerer(HITS, fail=RuntimeError("index gone")))
    send(app, event_body(direct_message("What are the salary bands?", user="U0ALICE", ts="7.000200")))
    assert methods(slack_api) == ["reactions.add", "reactions.remove", "chat.postMessage"]
    assert "Sorry, I couldn't answer" in slack_api.of("chat.postMessage")[0].params["text"]


def test_a_missing_reactions_scope_does_not_stop_the_answer(settings, slack_api):
    slack_api.fail["reactions.add"] = "missing_scope"
    app = make_app(settings, slack_api, FakeAnswerer(HITS))
    send(app, event_body(direct_message("What are the salary bands?", user="U0ALICE", ts="7.000300")))
    assert methods(slack_api) == ["reactions.add", "chat.postMessage"]  # nothing to take off


def test_no_working_emoji_when_it_is_turned_off(settings, slack_api):
    quiet = settings.replace(slack_working_reaction="")
    app = make_app(quiet, slack_api, FakeAnswerer(HITS))
    send(app, event_body(direct_message("What are the salary bands?", user="U0ALICE", ts="7.000400")))
    assert methods(slack_api) == ["chat.postMessage"]
