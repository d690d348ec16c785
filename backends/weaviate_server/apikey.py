"""The API key docduet's Weaviate nodes require: random, made once, kept in a 0600 file.

Weaviate's gRPC port and its cluster data port listen on every interface whatever ``--host``
says (1.39 has no setting to bind them), so the nodes never allow anonymous access: REST and
gRPC need this key (API-key user ``docduet``), the cluster data API needs it as basic-auth
password. The key never appears in logs, command lines or command output.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import tempfile
from pathlib import Path

from core.errors import ConfigError

log = logging.getLogger(__name__)

API_KEY_USER = "docduet"
"""The Weaviate user the key authenticates as (and the cluster API's basic-auth user)."""
KEY_FILE_NAME = "weaviate.key"
_KEY_BYTES = 32
#: token_urlsafe's alphabet; a comma would split Weaviate's key list, so it is excluded.
_VALID_KEY = re.compile(r"[A-Za-z0-9_-]{16,}")


def ensure_api_key(path: Path, key: str | None = None) -> str:
    """The key stored at ``path``; when there is none, store ``key`` (default: a random one).

    The file is created with mode 0600 and appears atomically, complete: concurrent callers all
    get the key of whoever created it first.
    """
    existing = read_api_key(path)
    if existing is not None:
        return existing
    new_key = key if key is not None else secrets.token_urlsafe(_KEY_BYTES)
    if not _VALID_KEY.fullmatch(new_key):
        raise ConfigError("A Weaviate API key needs 16+ characters of A-Z a-z 0-9 _ -.")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(new_key + "\n")
        with contextlib.suppress(FileExistsError):  # someone else created it first: use theirs
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
    stored = read_api_key(path)
    if stored is None:
        raise ConfigError(f"Could not create {path}; check that its folder is writable.")
    if stored == new_key:
        log.info("created a new Weaviate API key file %s", path)
    return stored


def read_api_key(path: Path) -> str | None:
    """The key stored at ``path``, or None when the file does not exist.

    A file readable by others is restricted to its owner (0600) first.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    try:
        if mode & 0o077:
            log.warning("%s was accessible to other users; restricting it to mode 0600", path)
            os.chmod(path, 0o600)
        key = path.read_text().strip()
    except OSError as e:
        raise ConfigError(f"Cannot read the Weaviate API key file {path}: {e}.") from e
    if not _VALID_KEY.fullmatch(key):
        raise ConfigError(
            f"{path} does not hold a valid Weaviate API key (16+ characters of A-Z a-z 0-9 _ -); "
            "delete the file and restart Weaviate (`docduet db stop`, then `docduet db start`) "
            "to get a new one."
        )
    return key
