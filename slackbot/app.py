"""Wiring: a slack-bolt ``App`` whose listeners answer questions and record feedback.

Acknowledging within Slack's 3 seconds: with ``process_before_response=False`` (the default,
for Socket Mode and the HTTP server) Bolt acknowledges each event at once and runs the listener
in its worker threads; with ``True`` (tests, FaaS) the listener runs before the response.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from core.errors import ConfigError
from core.feedback import FeedbackStore
from core.identity import UserDirectory
from core.ratelimit import RateLimiter
from core.settings import Settings
from slackbot.blocks import FEEDBACK_ACTIONS
from slackbot.dedup import DeliveryDeduper
from slackbot.feedback import FeedbackRecorder, TurnCache
from slackbot.identity import SlackIdentity
from slackbot.responder import Answerer, Responder

log = logging.getLogger(__name__)

BOT_SCOPES = (
    "app_mentions:read",
    "chat:write",
    "im:history",
    "im:read",
    "reactions:write",
    "users:read",
    "users:read.email",
)
"""OAuth scopes the bot uses (slackbot/manifests/manifest.yaml asks for exactly these)."""
BOT_EVENTS = ("app_mention", "message.im")
"""Events the bot subscribes to."""

_FEEDBACK_RE = re.compile("^(" + "|".join(map(re.escape, FEEDBACK_ACTIONS)) + ")$")


def generator_names(settings: Settings) -> tuple[str, ...]:
    """``DOCDUET_SLACK_GENERATORS`` as generator ids: ``all`` (every enabled one) or a comma list."""
    from docduet.compose import generator_specs

    raw = settings.slack.slack_generators.strip().lower()
    if raw in ("all", "both"):
        return tuple(s.id for s in generator_specs(settings))
    names = tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
    if not names:
        raise ConfigError(
            f"DOCDUET_SLACK_GENERATORS={settings.slack.slack_generators!r} names no generator; use all, "
            "or a comma list of generator ids from the generators file"
        )
    try:
        generator_specs(settings, names)
    except ConfigError as e:
        raise ConfigError(f"DOCDUET_SLACK_GENERATORS={settings.slack.slack_generators!r}: {e}") from e
    return names


def bot_client(settings: Settings) -> WebClient:
    """A Web API client with the bot token (``SLACK_BOT_TOKEN``)."""
    if settings.slack.slack_bot_token is None:
        raise ConfigError(
            "SLACK_BOT_TOKEN is not set; copy the Bot User OAuth Token (xoxb-...) from your Slack "
            "app's OAuth & Permissions page (docs/slack.md)"
        )
    token = settings.slack.slack_bot_token.get_secret_value()
    if settings.slack.slack_api_url:
        return WebClient(token=token, base_url=settings.slack.slack_api_url.rstrip("/") + "/")
    return WebClient(token=token)


def create_app(
    settings: Settings,
    answerer: Answerer,
    *,
    client: WebClient | None = None,
    directory: UserDirectory | None = None,
    feedback: FeedbackStore | None = None,
    process_before_response: bool = False,
) -> App:
    """The Bolt app; ``client`` defaults to :func:`bot_client` (tests point one at loopback)."""
    names = generator_names(settings)
    client = client or bot_client(settings)
    secret = (
        settings.slack.slack_signing_secret.get_secret_value() if settings.slack.slack_signing_secret else ""
    )
    app = App(
        client=client,
        signing_secret=secret,
        process_before_response=process_before_response,
        name="docduet",
    )
    identity = SlackIdentity(
        directory if directory is not None else UserDirectory.from_settings(settings.identity),
        ttl_s=settings.slack.slack_user_cache_s,
    )
    turns = TurnCache()
    responder = Responder(
        answerer,
        identity,
        generators=names,
        dedup=DeliveryDeduper(settings.slack.slack_dedup_ttl_s),
        turns=turns,
        source_url_base=settings.links.source_url_base,
        working_reaction=settings.slack.slack_working_reaction.strip(": ") or None,
        limiter=RateLimiter.from_settings(settings.ratelimit, settings.paths.data_dir),
    )
    store = feedback if feedback is not None else FeedbackStore.in_data_dir(settings.paths.data_dir)
    recorder = FeedbackRecorder(store, turns, identity)
    _register(app, responder, recorder)
    return app


def _register(app: App, responder: Responder, recorder: FeedbackRecorder) -> None:
    def on_event(event: dict[str, Any], body: dict[str, Any], client: WebClient, context: Any) -> None:
        responder.on_event(event, body, client, context.bot_user_id)

    def on_feedback(ack: Any, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            recorder.handle(body, action, client)
        except Exception:
            log.exception("could not record feedback %s", action.get("action_id"))

    app.event("app_mention")(on_event)
    app.event("message")(on_event)
    app.action(_FEEDBACK_RE)(on_feedback)
