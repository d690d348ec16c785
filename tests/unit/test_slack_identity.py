"""Slack accounts -> docduet users (users file ``slack_id``, or users.info e-mail), and audiences."""

from __future__ import annotations

import pytest
from fakes import ManualClock
from slack_doubles import ALICE, USERS, slack_api  # noqa: F401 (fixtures)
from slack_recorder import TEAM_ID, SlackApiRecorder
from slack_sdk import WebClient

from core.domain import ANONYMOUS, User
from core.errors import ConfigError
from core.identity import UserDirectory
from slackbot.identity import SlackIdentity


def directory_with_slack_ids() -> UserDirectory:
    return UserDirectory.parse(
        {
            "users": {
                "alice": {
                    "email": "alice@corvala.example",
                    "groups": ["employees", "hr"],
                    "slack_id": "U0ALICE",
                },
                "bob": {"groups": ["employees", "finance"], "slack_id": "W0BOB"},
            }
        }
    )


def test_users_file_maps_slack_ids():
    directory = directory_with_slack_ids()
    assert directory.by_slack_id("U0ALICE") == ALICE
    assert directory.by_slack_id(" W0BOB ") == User("bob", ("employees", "finance"))
    assert directory.by_slack_id("u0alice") is None  # member IDs are exact
    assert directory.by_slack_id("U0NOBODY") is None
    assert UserDirectory.from_file(USERS).by_slack_id("U0ALICE") is None  # file without slack_id


@pytest.mark.parametrize(
    ("details", "message"),
    [
        ({"slack_id": "alice"}, "is not a Slack member ID"),
        ({"slack_id": 42}, "is not a Slack member ID"),
        ({"slack": "U1"}, "allowed: email, groups, slack_id"),
    ],
)
def test_bad_slack_ids_are_config_errors(details, message):
    with pytest.raises(ConfigError, match=message):
        UserDirectory.parse({"users": {"zoe": details}})


def test_one_slack_account_maps_to_one_user():
    with pytest.raises(ConfigError, match="share the slack_id U0X"):
        UserDirectory.parse({"users": {"a": {"slack_id": "U0X"}, "b": {"slack_id": "U0X"}}})


def client_for(api: SlackApiRecorder) -> WebClient:
    return WebClient(token="xoxb-test", base_url=api.base_url)


def test_email_from_users_info_maps_and_is_cached(slack_api: SlackApiRecorder):
    slack_api.add_user("U1", "Alice@Corvala.example")
    clock = ManualClock()
    identity = SlackIdentity(UserDirectory.from_file(USERS), ttl_s=300, clock=clock)
    client = client_for(slack_api)
    assert identity.user(client, "U1", team_id=TEAM_ID) == ALICE
    assert identity.user(client, "U1", team_id=TEAM_ID) == ALICE
    assert len(slack_api.of("users.info")) == 1
    clock.now += 301
    assert identity.user(client, "U1", team_id=TEAM_ID) == ALICE
    assert len(slack_api.of("users.info")) == 2


@pytest.mark.parametrize(
    ("email", "extra"),
    [
        ("nobody@corvala.example", {}),  # not in the users file
        (None, {}),  # no users:read.email scope
        ("alice@corvala.example", {"team_id": "T0OTHER"}),  # Slack Connect: another workspace
        ("alice@corvala.example", {"deleted": True}),
        ("alice@corvala.example", {"is_bot": True}),
    ],
)
def test_untrusted_or_unknown_accounts_map_to_nobody(slack_api, email, extra):
    slack_api.add_user("U1", email, **extra)
    identity = SlackIdentity(UserDirectory.from_file(USERS))
    assert identity.user(client_for(slack_api), "U1", team_id=TEAM_ID) is None


def test_api_errors_map_to_nobody_and_are_retried(slack_api: SlackApiRecorder):
    slack_api.add_user("U1", "alice@corvala.example")
    slack_api.fail["users.info"] = "missing_scope"
    identity = SlackIdentity(UserDirectory.from_file(USERS))
    client = client_for(slack_api)
    assert identity.user(client, "U1") is None
    del slack_api.fail["users.info"]
    assert identity.user(client, "U1") == ALICE


def test_explicit_slack_id_needs_no_api_call(slack_api: SlackApiRecorder):
    identity = SlackIdentity(directory_with_slack_ids())
    assert identity.user(client_for(slack_api), "U0ALICE") == ALICE
    assert slack_api.of("users.info") == []


def test_audiences(slack_api: SlackApiRecorder):
    slack_api.add_user("U1", "alice@corvala.example")
    slack_api.add_user("U2", "stranger@elsewhere.example")
    identity = SlackIdentity(UserDirectory.from_file(USERS))
    client = client_for(slack_api)

    dm = identity.audience(client, {"type": "message", "channel_type": "im", "user": "U1", "channel": "D1"})
    assert (dm.kind, dm.reader, dm.asker) == ("dm", ALICE, ALICE)

    channel = identity.audience(client, {"type": "app_mention", "user": "U1", "channel": "C1"})
    assert channel.kind == "channel" and channel.asker == ALICE
    assert channel.reader.readable_groups == ("public",)
    assert slack_api.of("conversations.info") == []  # a C... channel is never a DM

    group_dm = identity.audience(
        client, {"type": "message", "channel_type": "mpim", "user": "U1", "channel": "G1"}
    )
    assert group_dm.kind == "channel" and group_dm.reader.readable_groups == ("public",)

    mention_in_dm = identity.audience(client, {"type": "app_mention", "user": "U1", "channel": "D1"})
    assert mention_in_dm.kind == "dm" and len(slack_api.of("conversations.info")) == 1

    slack_api.fail["conversations.info"] = "missing_scope"
    assert identity.audience(client, {"type": "app_mention", "user": "U1", "channel": "D2"}).kind == "channel"

    unknown = identity.audience(
        client, {"type": "message", "channel_type": "im", "user": "U2", "channel": "D3"}
    )
    assert (unknown.kind, unknown.reader, unknown.asker) == ("dm", ANONYMOUS, None)
