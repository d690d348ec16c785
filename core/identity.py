"""Who is asking: the users file (docs/identity.md) mapping user names and e-mails to groups.

A user's groups are exactly those the file lists (``public`` is always added when reading); no
group is implied, so every employee must list ``employees`` explicitly. An entry may also name
the OpenID Connect account it is, by issuer and subject (``oidc_sub: "https://issuer|subject"``),
the one identifier a provider's user cannot change.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.domain import ANONYMOUS, User
from core.errors import ConfigError
from core.settings import IdentitySettings

log = logging.getLogger(__name__)

_SLACK_ID_RE = re.compile(r"[UW][A-Z0-9]{2,}")

_KEYS = frozenset({"email", "groups", "slack_id", "oidc_sub"})
OIDC_SUB_SEPARATOR = "|"
"""Between the issuer and the subject in ``oidc_sub`` (an issuer URL cannot contain it unescaped)."""


def oidc_subject(issuer: str, subject: str) -> str:
    """The issuer-qualified subject a users-file ``oidc_sub`` names: ``https://issuer|subject``."""
    return f"{issuer}{OIDC_SUB_SEPARATOR}{subject}"


@dataclass(frozen=True)
class DirectoryEntry:
    """One user of the users file."""

    name: str
    email: str | None
    groups: tuple[str, ...]
    slack_id: str | None = None
    """Slack member ID (e.g. ``U024BE7LH``): maps that Slack account to this user explicitly."""
    oidc_sub: str | None = None
    """OpenID Connect issuer and subject, ``https://issuer|subject``: that account is this user."""

    @property
    def user(self) -> User:
        """The domain user (name and groups) this entry signs in as."""
        return User(name=self.name, groups=self.groups)


class UserDirectory:
    """The known users; an empty directory knows nobody and resolves only the anonymous user."""

    def __init__(self, entries: Iterable[DirectoryEntry] = (), *, origin: str = "") -> None:
        """Index ``entries`` by name and e-mail (both case-insensitive); duplicates are errors."""
        self.origin = origin or "the users file"
        self._by_name: dict[str, DirectoryEntry] = {}
        self._by_email: dict[str, DirectoryEntry] = {}
        self._by_slack_id: dict[str, DirectoryEntry] = {}
        self._by_oidc_sub: dict[str, DirectoryEntry] = {}
        for entry in entries:
            self._add(entry)

    @classmethod
    def from_settings(cls, identity: IdentitySettings) -> UserDirectory:
        """The directory in ``identity.users_file``; empty when it is unset."""
        if identity.users_file is None:
            return cls()
        return cls.from_file(identity.users_file)

    @classmethod
    def from_file(cls, path: Path) -> UserDirectory:
        """Read a users file; ConfigError naming the file (and the user or key) when it is wrong."""
        try:
            text = Path(path).expanduser().read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(
                f"cannot read users file {path} ({e.strerror or e}); fix DOCDUET_USERS_FILE "
                "or unset it to run without sign-in"
            ) from e
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ConfigError(f"users file {path} is not valid YAML: {e}") from e
        return cls.parse(data, origin=str(path))

    @classmethod
    def parse(cls, data: Any, *, origin: str = "the users file") -> UserDirectory:
        """Build a directory from parsed YAML: ``{users: {name: {email: ..., groups: [...]}}}``."""
        if not isinstance(data, Mapping) or "users" not in data:
            raise ConfigError(f"{origin}: expected a top-level `users:` mapping (see docs/identity.md)")
        users = data["users"] or {}
        if not isinstance(users, Mapping):
            raise ConfigError(f"{origin}: `users:` must map user names to their details")
        entries = [_entry(str(name), details, origin) for name, details in users.items()]
        directory = cls(entries, origin=origin)
        log.debug("loaded %d users from %s", len(entries), origin)
        return directory

    def names(self) -> list[str]:
        """Known user names, sorted."""
        return sorted(entry.name for entry in self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def resolve(self, name: str | None) -> User:
        """The user called ``name`` (or with that e-mail); None or blank is the anonymous user.

        An unknown name raises :class:`ConfigError` listing the known users.
        """
        if name is None or not name.strip():
            return ANONYMOUS
        key = name.strip().casefold()
        entry = self._by_name.get(key) or self._by_email.get(key)
        if entry is None:
            raise ConfigError(self._unknown(name.strip()))
        return entry.user

    def by_email(self, email: str) -> User | None:
        """The user with this e-mail address (case-insensitive), or None."""
        entry = self._by_email.get(email.strip().casefold())
        return entry.user if entry else None

    def by_slack_id(self, slack_id: str) -> User | None:
        """The user whose ``slack_id`` is this Slack member ID (exact, case-sensitive), or None."""
        entry = self._by_slack_id.get(slack_id.strip())
        return entry.user if entry else None

    def by_oidc_subject(self, issuer: str, subject: str) -> User | None:
        """The user whose ``oidc_sub`` is this issuer and subject (both exact), or None."""
        entry = self._by_oidc_sub.get(oidc_subject(issuer, subject))
        return entry.user if entry else None

    def _add(self, entry: DirectoryEntry) -> None:
        key = entry.name.casefold()
        if key in self._by_name:
            raise ConfigError(f"{self.origin}: user {entry.name!r} is listed twice")
        self._by_name[key] = entry
        if entry.email:
            mail = entry.email.casefold()
            if mail in self._by_email:
                other = self._by_email[mail].name
                raise ConfigError(
                    f"{self.origin}: users {other!r} and {entry.name!r} share the e-mail "
                    f"{entry.email}; give each user their own address"
                )
            self._by_email[mail] = entry
        if entry.slack_id:
            if entry.slack_id in self._by_slack_id:
                other = self._by_slack_id[entry.slack_id].name
                raise ConfigError(
                    f"{self.origin}: users {other!r} and {entry.name!r} share the slack_id "
                    f"{entry.slack_id}; one Slack account maps to one user"
                )
            self._by_slack_id[entry.slack_id] = entry
        if entry.oidc_sub:
            if entry.oidc_sub in self._by_oidc_sub:
                other = self._by_oidc_sub[entry.oidc_sub].name
                raise ConfigError(
                    f"{self.origin}: users {other!r} and {entry.name!r} share the oidc_sub "
                    f"{entry.oidc_sub}; one OpenID Connect account maps to one user"
                )
            self._by_oidc_sub[entry.oidc_sub] = entry

    def _unknown(self, name: str) -> str:
        if not self._by_name:
            return (
                f"unknown user {name!r}: no users file is configured; set DOCDUET_USERS_FILE "
                "(e.g. corpora/users.yaml) or ask without a user (anonymous)"
            )
        return (
            f"unknown user {name!r}; known users: {', '.join(self.names())} "
            f"(from {self.origin}); omit the user to ask anonymously"
        )


def _entry(name: str, details: Any, origin: str) -> DirectoryEntry:
    where = f"{origin}: user {name!r}"
    if not name.strip():
        raise ConfigError(f"{origin}: a user has an empty name")
    details = {} if details is None else details
    if not isinstance(details, Mapping):
        raise ConfigError(f"{where} must be a mapping with `email` and `groups`")
    unknown = sorted(set(map(str, details)) - _KEYS)
    if unknown:
        raise ConfigError(
            f"{where} has unknown key(s) {', '.join(unknown)}; allowed: email, groups, slack_id, oidc_sub"
        )
    return DirectoryEntry(
        name=name.strip(),
        email=_email(details.get("email"), where),
        groups=_groups(details.get("groups"), where),
        slack_id=_slack_id(details.get("slack_id"), where),
        oidc_sub=_oidc_sub(details.get("oidc_sub"), where),
    )


def _email(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or "@" not in value.strip():
        raise ConfigError(f"{where}: email {value!r} is not an e-mail address")
    return value.strip()


def _slack_id(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _SLACK_ID_RE.fullmatch(value.strip()):
        raise ConfigError(
            f"{where}: slack_id {value!r} is not a Slack member ID (like U024BE7LH; in Slack: "
            "profile, ⋮, Copy member ID)"
        )
    return value.strip()


def _oidc_sub(value: Any, where: str) -> str | None:
    if value is None:
        return None
    issuer, _, subject = str(value).partition(OIDC_SUB_SEPARATOR)
    if not (isinstance(value, str) and issuer.startswith(("https://", "http://")) and subject.strip()):
        raise ConfigError(
            f"{where}: oidc_sub {value!r} is not issuer|subject; write the provider's issuer exactly "
            "as its discovery document has it, then | and the ID token's sub, e.g. "
            'oidc_sub: "https://idp.example|248289761001"'
        )
    return value.strip()


def _groups(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list):
        raise ConfigError(f"{where}: groups must be a list, e.g. groups: [employees, hr]")
    groups: list[str] = []
    for group in value:
        if not isinstance(group, str) or not group.strip():
            raise ConfigError(f"{where}: group {group!r} is not a non-empty name")
        groups.append(group.strip())
    return tuple(dict.fromkeys(groups))
