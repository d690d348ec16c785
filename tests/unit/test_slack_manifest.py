"""The shipped Slack app manifests ask for what the bot uses, no more."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from slackbot.app import BOT_EVENTS, BOT_SCOPES

SLACK = Path(__file__).resolve().parents[2] / "slackbot" / "manifests"


@pytest.mark.parametrize(("name", "socket"), [("manifest.yaml", True), ("manifest-http.yaml", False)])
def test_manifest_matches_the_bot(name: str, socket: bool) -> None:
    manifest = yaml.safe_load((SLACK / name).read_text(encoding="utf-8"))
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["bot_events"] == list(BOT_EVENTS)
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is socket
    urls = [settings["event_subscriptions"].get("request_url"), settings["interactivity"].get("request_url")]
    assert urls == ([None, None] if socket else ["https://docduet.example.com/slack/events"] * 2)
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True  # users can DM the bot
