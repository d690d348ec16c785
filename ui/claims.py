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

from core.domain import ANONYMOUS, User
from core.errors import ConfigError
from core.identity import UserDirectory, oidc_subject
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
    name = _claim_name(claims, settings.oidc.oidc_user_claim)
    if name is None:
        return SignIn(ANONYMOUS, "The sign-in named no user: public documents only.")
    listed = listed_user(claims, directory)
    if listed is not None:
        return SignIn(User(name=name, groups=listed.groups))
    raw = claims.get(settings.oidc.oidc_groups_claim)
    note = UNMAPPED_GROUPS_NOTE if raw and not settings.oidc.oidc_group_map else ""
    return SignIn(User(name=name, groups=map_groups(raw, settings)), note)


def listed_user(claims: Mapping[str, Any], directory: UserDirectory) -> User | None:
    """The users-file user this token is: by ``oidc_sub`` (issuer and subject), else verified e-mail.

    A users-file entry that only an unverified e-mail or a name claim would match is not used;
    the log says which entry and what to add to it.
    """
    issuer, subject = _text(claims, "iss"), _text(claims, "sub")
    if issuer and subject:
        found = directory.by_oidc_subject(issuer, subject)
        if found is not None:
            return found
    email = _text(claims, "email")
    by_email = directory.by_email(email) if email else None
    if by_email is not None and claims.get("email_verified") is True:
        return by_email
    _log_ignored_match(claims, directory, by_email, issuer, subject)
    return None


def _log_ignored_match(
    claims: Mapping[str, Any], directory: UserDirectory, by_email: User | None, issuer: str, subject: str
) -> None:
    """Warn when the users file lists this person by a claim docduet does not believe."""
    add = f'oidc_sub: "{oidc_subject(issuer, subject)}"' if issuer and subject else "oidc_sub"
    if by_email is not None:
        log.warning(
            "users-file entry %r not used for sign-in %s|%s: the provider did not verify the e-mail "
            "%s (email_verified is not true); add %s to the entry if this is that person",
            by_email.name, issuer, subject, _text(claims, "email"), add,
        )  # fmt: skip
        return
    for claim in ("preferred_username", "nickname", "name"):
        value = _text(claims, claim)
        try:
            named = directory.resolve(value) if value else None
        except ConfigError:
            continue
        if named is not None and named.name is not None:
            log.warning(
                "users-file entry %r not used for sign-in %s|%s: it matches only the token's %s, "
                "which a user can often change; add %s to the entry if this is that person",
                named.name, issuer, subject, claim, add,
            )  # fmt: skip
            return


def map_groups(raw: Any, settings: Settings) -> tuple[str, ...]:
    """Provider groups as docduet groups through ``oidc_group_map``; none without a map.

    Unmapped provider groups are dropped.
    """
    mapping = settings.oidc.oidc_group_map
    if not mapping:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        return ()
    names = [g.strip() for g in raw if isinstance(g, str) and g.strip()]
    return tuple(dict.fromkeys(mapping[g] for g in names if g in mapping))


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


def _claim_name(claims: Mapping[str, Any], claim: str) -> str | None:
    """The name shown and recorded with feedback (a label only: it decides no access)."""
    for key in (claim, "preferred_username", "email", "sub"):
        if value := _text(claims, key):
            return value
    return None


def _text(claims: Mapping[str, Any], key: str) -> str:
    value = claims.get(key)
    return value.strip() if isinstance(value, str) else ""
