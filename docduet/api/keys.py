"""API keys an administrator creates and revokes (``docduet keys``), stored hashed in the data dir.

A key is ``ddk_<id>_<secret>``: the id names it in listings and revocations, the secret (32
random bytes) is shown once, at creation, and only its SHA-256 is stored (a random secret of
that length needs no slow hash). The file is ``DATA_DIR/api-keys.json``, 0600 in a 0700 folder,
replaced atomically; the server re-reads it when it changes, so a revoked key stops working at
the next request. A key names a users-file user: its groups are looked up at each request, so
a change of groups in the users file applies to its keys too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from core.errors import ConfigError
from core.private import write_private

log = logging.getLogger(__name__)

PREFIX = "ddk_"
FILE_NAME = "api-keys.json"


@dataclass(frozen=True)
class ApiKey:
    """One key as stored: who it acts for, when it was made, and whether it was revoked."""

    key_id: str
    user: str
    sha256: str
    created: str
    note: str = ""
    revoked: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked is None


def key_file(data_dir: Path) -> Path:
    """Where the keys of the docduet using ``data_dir`` are kept."""
    return data_dir / FILE_NAME


def looks_like_key(token: str) -> bool:
    """Whether a bearer token is meant as a docduet API key (else it is taken for an access token)."""
    return token.startswith(PREFIX)


class KeyStore:
    """The keys file: create, revoke, list, and check a presented key (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int] | None = None
        self._keys: tuple[ApiKey, ...] = ()

    def all(self) -> tuple[ApiKey, ...]:
        """Every key, revoked ones included, as the file says now."""
        with self._lock:
            return self._load()

    def create(self, user: str, *, note: str = "") -> tuple[ApiKey, str]:
        """A new key for ``user``: the stored record and the key itself (shown once, never stored)."""
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        record = ApiKey(key_id, user, _digest(secret), _now(), note)
        with self._lock:
            self._save((*self._load(), record))
        log.info("created API key %s for %s", key_id, user)
        return record, f"{PREFIX}{key_id}_{secret}"

    def revoke(self, key_id: str | None = None, *, user: str | None = None) -> list[ApiKey]:
        """Revoke the key ``key_id``, or every active key of ``user``; the keys revoked.

        ConfigError when nothing matches, naming what ``docduet keys list`` shows.
        """
        if (key_id is None) == (user is None):
            raise ValueError("give a key id or a user, not both")
        with self._lock:
            keys = self._load()
            hit = [k for k in keys if k.active and (k.key_id == key_id or (user and _same(k.user, user)))]
            if not hit:
                what = f"key {key_id}" if key_id else f"user {user}"
                raise ConfigError(f"no active API key for {what}; `docduet keys list` shows the keys")
            when = _now()
            ids = {k.key_id for k in hit}
            self._save(tuple(replace(k, revoked=when) if k.key_id in ids else k for k in keys))
        log.info("revoked API key(s) %s", ", ".join(sorted(ids)))
        return [replace(k, revoked=when) for k in hit]

    def check(self, presented: str) -> ApiKey | None:
        """The active key ``presented`` is, or None (unknown, malformed or revoked)."""
        if not looks_like_key(presented):
            return None
        key_id, _, secret = presented[len(PREFIX) :].partition("_")
        if not key_id or not secret:
            return None
        with self._lock:
            keys = self._load()
        digest = _digest(secret)
        for key in keys:
            if key.key_id == key_id and hmac.compare_digest(key.sha256, digest):
                return key if key.active else None
        return None

    def _load(self) -> tuple[ApiKey, ...]:
        """The file's keys, re-read only when it changed (replaced, resized or modified)."""
        try:
            info = self.path.stat()
        except FileNotFoundError:
            self._seen, self._keys = None, ()
            return ()
        seen = (info.st_ino, info.st_mtime_ns, info.st_size)
        if seen != self._seen:
            self._keys = _parse(self.path)
            self._seen = seen
        return self._keys

    def _save(self, keys: tuple[ApiKey, ...]) -> None:
        data = {"version": 1, "keys": [asdict(k) for k in keys]}
        write_private(self.path, json.dumps(data, indent=2) + "\n")
        self._seen = None  # read back at the next use


def _parse(path: Path) -> tuple[ApiKey, ...]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return tuple(ApiKey(**entry) for entry in data["keys"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConfigError(
            f"cannot read the API keys file {path} ({e}); restore it from a backup, or move it away "
            "and create new keys with `docduet keys create --user NAME`"
        ) from e


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _same(a: str, b: str) -> bool:
    return a.casefold() == b.casefold()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
