"""The Slack bot (slackbot/, docs/slack.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from core.sections.base import Section, alias, empty_is_unset


class SlackSettings(Section):
    """How the bot connects to Slack, who answers there, and its caches."""

    slack_mode: Literal["socket", "http"] = Field(
        default="socket",
        description="socket: Socket Mode over an outbound WebSocket (needs SLACK_APP_TOKEN, no public "
        "URL); http: Slack posts events to slack_host:slack_port (needs SLACK_SIGNING_SECRET).",
    )
    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=alias("slack_bot_token", "SLACK_BOT_TOKEN")
    )
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=alias("slack_app_token", "SLACK_APP_TOKEN")
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias=alias("slack_signing_secret", "SLACK_SIGNING_SECRET")
    )
    slack_api_url: str | None = Field(
        default=None,
        description="Slack Web API base URL; default https://slack.com/api/ (GovSlack: "
        "https://slack-gov.com/api/).",
    )
    slack_host: str = Field(default="127.0.0.1", description="HTTP mode: address to listen on.")
    slack_port: int = Field(default=3000, description="HTTP mode: port to listen on.")
    slack_path: str = Field(default="/slack/events", description="HTTP mode: Request URL path.")
    slack_generators: str = Field(
        default="all",
        description="Who answers in Slack: all (every enabled generator, one block each) or a "
        "comma list of generator ids, e.g. slm.",
    )
    slack_dedup_ttl_s: float = Field(
        default=900.0, description="Remember delivered events this long so Slack retries answer once."
    )
    slack_user_cache_s: float = Field(
        default=300.0, description="Cache a Slack user's docduet groups this long."
    )
    slack_working_reaction: str = Field(
        default="hourglass_flowing_sand",
        description="Emoji the bot puts on a question while it answers (removed after); empty: none.",
    )

    _unset = field_validator(
        "slack_bot_token", "slack_app_token", "slack_signing_secret", "slack_api_url", mode="before"
    )(empty_is_unset)
