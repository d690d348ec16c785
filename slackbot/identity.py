"""Who a Slack message speaks for: the asker's docduet groups, and the audience rule.

The rule (docs/slack.md): in a direct message the answer may use every document the asker may
read; anywhere else (channels, private channels, group DMs) only ``public`` documents, since
everyone in the conversation reads the reply.

The asker is found by ``slack_id`` in the users file, else by the e-mail address from
``users.info`` (scope ``users:read.email``). Accounts of other workspaces (Slack Connect),
bots, deleted accounts and unknown addresses get public documents only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from core.domain import ANONYMOUS, Hit, User
from core.identity import UserDirectory

log = logging.getLogger(__name__)

_MAX_CACHED = 10_000


@dataclass(frozen=True)
class Audience:
    """Whose permissions filter the search, and why."""

    kind: Literal["dm", "channel"]
    reader: User
    """Retrieval runs as this user: the asker in a DM, a public-only user elsewhere."""
    asker: User | None
    """The docduet user behind the Slack account, None when it maps to nobody."""

    def permits(self, hit: Hit) -> bool:
        """Whether ``hit`` may appear in this conversation (a check after retrieval's own)."""
        return bool(set(hit.chunk.access.groups) & set(self.reader.readable_groups))


class SlackIdentity:
    """Maps Slack accounts to docduet users (cached for ``ttl_s``) and decides each audience."""

    def __init__(
        self,
        directory: UserDirectory,
        *,
        ttl_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self.ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[str, tuple[float, User | None]] = {}
        self._lock = threading.Lock()

    def user(self, client: WebClient, slack_user: str, *, team_id: str | None = None) -> User | None:
        """The docduet user of ``slack_user``, or None (unknown, external, bot, deactivated)."""
        explicit = self.directory.by_slack_id(slack_user)
        if explicit is not None:
            return explicit
        now = self._clock()
        with self._lock:
            cached = self._cache.get(slack_user)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            info = client.users_info(user=slack_user)
        except SlackApiError as e:  # not cached: the next message tries again
            log.warning(
                "users.info failed for %s (%s); answering from public documents only. "
                "Check the bot's users:read and users:read.email scopes",
                slack_user,
                e.response.get("error"),
            )
            return None
        user = self._from_profile(info.get("user") or {}, slack_user, team_id)
        with self._lock:
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
            self._cache[slack_user] = (now + self.ttl_s, user)
        return user

    def audience(
        self, client: WebClient, event: Mapping[str, Any], *, team_id: str | None = None
    ) -> Audience:
        """The audience of a message event: its asker's groups in a DM, public elsewhere."""
        slack_user = str(event.get("user") or "")
        asker = self.user(client, slack_user, team_id=team_id) if slack_user else None
        if is_direct_message(client, event):
            return Audience("dm", asker or ANONYMOUS, asker)
        name = asker.name if asker else None
        return Audience("channel", User(name=name, groups=()), asker)

    def _from_profile(self, info: Mapping[str, Any], slack_user: str, team_id: str | None) -> User | None:
        if info.get("deleted") or info.get("is_bot"):
            return None
        if team_id and info.get("team_id") and info.get("team_id") != team_id:
            log.info("%s belongs to another workspace (%s): public only", slack_user, info["team_id"])
            return None
        email = (info.get("profile") or {}).get("email")
        if not email:
            log.info("no e-mail for %s (needs users:read.email): public documents only", slack_user)
            return None
        user = self.directory.by_email(str(email))
        if user is None:
            log.info("%s (%s) is not in %s: public only", slack_user, email, self.directory.origin)
        return user


def is_direct_message(client: WebClient, event: Mapping[str, Any]) -> bool:
    """True only for a one-to-one conversation with the bot; errors count as "not a DM"."""
    if event.get("channel_type") is not None:
        return event.get("channel_type") == "im"
    channel = str(event.get("channel") or "")
    if not channel.startswith("D"):  # app_mention carries no channel_type
        return False
    try:
        info = client.conversations_info(channel=channel)
    except SlackApiError as e:
        log.warning(
            "conversations.info failed for %s (%s): treated as a channel", channel, e.response.get("error")
        )
        return False
    return bool((info.get("channel") or {}).get("is_im"))
