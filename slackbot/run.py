"""``docduet slack``: one composition root (one Weaviate connection, one answer service), serving Slack."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_bolt.error import BoltError

from core.errors import BackendUnavailableError, ConfigError
from core.settings import Settings
from slackbot.app import create_app, generator_names
from slackbot.http import SlackHttpServer

log = logging.getLogger(__name__)


def check_settings(settings: Settings) -> None:
    """ConfigError naming the missing secret for ``settings.slack.slack_mode`` and where to find it."""
    missing: list[str] = []
    if settings.slack.slack_bot_token is None:
        missing.append("SLACK_BOT_TOKEN (OAuth & Permissions > Bot User OAuth Token, xoxb-...)")
    if settings.slack.slack_mode == "socket" and settings.slack.slack_app_token is None:
        missing.append(
            "SLACK_APP_TOKEN (Basic Information > App-Level Tokens, xapp-..., scope "
            "connections:write), or DOCDUET_SLACK_MODE=http"
        )
    if settings.slack.slack_mode == "http" and settings.slack.slack_signing_secret is None:
        missing.append("SLACK_SIGNING_SECRET (Basic Information > App Credentials > Signing Secret)")
    if missing:
        raise ConfigError(
            f"the Slack bot in {settings.slack.slack_mode} mode needs "
            + "; ".join(missing)
            + " (docs/slack.md)"
        )
    generator_names(settings)


def run_bot(settings: Settings) -> None:
    """Serve the bot until interrupted (Socket Mode or HTTP, per ``settings.slack.slack_mode``)."""
    from docduet.compose import Root

    check_settings(settings)
    names = generator_names(settings)
    with Root(settings) as root:
        service = root.answer_service(names)
        try:
            app = create_app(settings, service)
        except BoltError as e:
            raise ConfigError(
                f"Slack rejected the bot token ({e}); check SLACK_BOT_TOKEN and that the app is "
                "installed in the workspace"
            ) from e
        except OSError as e:  # urllib's URLError and socket errors
            raise BackendUnavailableError(
                f"cannot reach Slack's Web API ({e}); check this machine's network and proxy "
                "settings (HTTPS_PROXY), then start the bot again"
            ) from e
        log.warning("answering Slack questions with %s", ", ".join(names))
        root.warm(names)  # in the background: the first question pays no model load
        serve(app, settings)


def serve(app: App, settings: Settings) -> None:
    """Block serving ``app`` in ``settings.slack.slack_mode``."""
    if settings.slack.slack_mode == "socket":
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        assert settings.slack.slack_app_token is not None  # check_settings
        log.warning("docduet Slack bot connecting in Socket Mode")
        SocketModeHandler(app, settings.slack.slack_app_token.get_secret_value()).start()
    else:
        server = SlackHttpServer(
            app,
            host=settings.slack.slack_host,
            port=settings.slack.slack_port,
            path=settings.slack.slack_path,
        )
        server.serve()
