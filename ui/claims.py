"""Who an OpenID Connect ID token names, and which of its claims docduet believes.

Only what the provider vouches for and its user cannot change decides access (docs/identity.md):

- A users-file entry matches by its ``oidc_sub`` (the token's ``iss`` and ``sub``, exactly) or by
  an e-mail the provider says it verified (``email_verified`` true). Never by
  ``preferred_username``, a name, or an unverified e-mail: many providers let users edit those.
- The token's groups count only through ``oidc_group_map``. Without a map they are ignored: the
  user reads public documents only unless the users file lists them (users can often create or
  join groups at the provider, and a group's name there says nothing about docduet's groups).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from core.claims import claim_name, listed_user, map_groups
from core.domain import ANONYMOUS, User
from core.identity import UserDirectory
from core.settings import Settings
from ui.auth import SignIn

log = logging.getLogger(__name__)

GROUP_MAP_SETTING = "DOCDUET_OIDC_GROUP_MAP"
UNMAPPED_GROUPS_NOTE = (
    "Groups from your sign-in provider are not used here until an administrator maps them "
    f"({GROUP_MAP_SETTING}): public documents only."
)

__all__ = ["group_map_warning", "listed_user", "map_groups", "user_from_claims"]


def user_from_claims(
    claims: Mapping[str, Any], settings: Settings, directory: UserDirectory, *, now: float | None = None
) -> SignIn:
    """The user an OpenID Connect ID token names, with its groups; ``expired`` once it has lapsed.

    Groups come from the users file when it lists this account (:func:`listed_user`), else from
    ``oidc_groups_claim`` through ``oidc_group_map`` (none without a map).
    """
    now = time.time() if now is None else now
    if _lapsed(claims, settings, now):
        return SignIn(ANONYMOUS, "Your session expired: sign in again.", expired=True)
    name = claim_name(claims, settings.oidc.oidc_user_claim)
    if name is None:
        return SignIn(ANONYMOUS, "The sign-in named no user: public documents only.")
    listed = listed_user(claims, directory)
    if listed is not None:
        return SignIn(User(name=name, groups=listed.groups))
    raw = claims.get(settings.oidc.oidc_groups_claim)
    note = UNMAPPED_GROUPS_NOTE if raw and not settings.oidc.oidc_group_map else ""
    return SignIn(User(name=name, groups=map_groups(raw, settings)), note)


def group_map_warning(settings: Settings) -> str | None:
    """What ``docduet ui`` says at start-up when the token's groups will be ignored; None if mapped."""
    if settings.oidc.oidc_group_map:
        return None
    return (
        f"{GROUP_MAP_SETTING} is not set, so the ID token's {settings.oidc.oidc_groups_claim!r} claim is "
        "ignored: a signed-in user reads public documents only unless DOCDUET_USERS_FILE lists them "
        f"(by oidc_sub or a verified e-mail). Set {GROUP_MAP_SETTING}=provider-group=docduet-group,... "
        "to use the provider's groups (docs/web-chat.md)"
    )


def _lapsed(claims: Mapping[str, Any], settings: Settings, now: float) -> bool:
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        return True  # an ID token always carries exp: without it nothing says when to stop
    started = iat if isinstance(iat, int | float) and not isinstance(iat, bool) else exp
    return now >= exp or now >= started + settings.web.ui_session_max_s
