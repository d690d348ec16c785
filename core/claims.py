"""Which claims of an OpenID Connect token docduet believes: shared by the web chat and the API.

Only what the provider vouches for and its user cannot change decides access (docs/identity.md):

- A users-file entry matches by its ``oidc_sub`` (the token's ``iss`` and ``sub``, exactly) or by
  an e-mail the provider says it verified (``email_verified`` true). Never by
  ``preferred_username``, a name, or an unverified e-mail: many providers let users edit those.
- The token's groups count only through ``oidc_group_map``. Without a map they are ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from core.domain import User
from core.errors import ConfigError
from core.identity import UserDirectory, oidc_subject
from core.settings import Settings

log = logging.getLogger(__name__)

__all__ = ["claim_name", "claim_text", "listed_user", "map_groups"]


def listed_user(claims: Mapping[str, Any], directory: UserDirectory) -> User | None:
    """The users-file user this token is: by ``oidc_sub`` (issuer and subject), else verified e-mail.

    A users-file entry that only an unverified e-mail or a name claim would match is not used;
    the log says which entry and what to add to it.
    """
    issuer, subject = claim_text(claims, "iss"), claim_text(claims, "sub")
    if issuer and subject:
        found = directory.by_oidc_subject(issuer, subject)
        if found is not None:
            return found
    email = claim_text(claims, "email")
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
            by_email.name, issuer, subject, claim_text(claims, "email"), add,
        )  # fmt: skip
        return
    for claim in ("preferred_username", "nickname", "name"):
        value = claim_text(claims, claim)
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


def claim_name(claims: Mapping[str, Any], claim: str) -> str | None:
    """The name shown and recorded with feedback (a label only: it decides no access)."""
    for key in (claim, "preferred_username", "email", "sub"):
        if value := claim_text(claims, key):
            return value
    return None


def claim_text(claims: Mapping[str, Any], key: str) -> str:
    value = claims.get(key)
    return value.strip() if isinstance(value, str) else ""
