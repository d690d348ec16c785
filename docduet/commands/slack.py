"""``docduet slack``: run the Slack bot (Socket Mode or HTTP; see docs/slack.md)."""

from __future__ import annotations

import argparse
from typing import Any

from core.settings import Settings


def register(sub: Any) -> None:
    p = sub.add_parser(
        "slack",
        help="run the Slack bot",
        description="Answer @mentions and direct messages in Slack threads, with cited sources. "
        "Channels get public documents only; a DM uses the asker's groups. Secrets come from "
        "SLACK_BOT_TOKEN and SLACK_APP_TOKEN (socket mode) or SLACK_SIGNING_SECRET (http mode).",
    )
    p.add_argument("--mode", choices=("socket", "http"), help="default: DOCDUET_SLACK_MODE (socket)")
    p.add_argument("--host", help="http mode: listen address (default DOCDUET_SLACK_HOST, 127.0.0.1)")
    p.add_argument("--port", type=int, help="http mode: port (default DOCDUET_SLACK_PORT, 3000)")
    p.add_argument(
        "--generators",
        metavar="IDS",
        help="all, or a comma list of generator ids (default DOCDUET_SLACK_GENERATORS, all)",
    )
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from slackbot.run import run_bot

    overrides = {
        "slack_mode": args.mode,
        "slack_host": args.host,
        "slack_port": args.port,
        "slack_generators": args.generators,
    }
    settings = Settings()
    settings = settings.replace(**{k: v for k, v in overrides.items() if v is not None})
    run_bot(settings)
    return 0
