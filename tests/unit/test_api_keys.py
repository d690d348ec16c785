"""API keys (docduet/api/keys.py): shown once, stored hashed in a 0600 file, revoked at the next request."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from core.errors import ConfigError
from docduet.api.keys import KeyStore


def test_a_key_works_until_revoked_and_only_its_hash_is_stored(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "data" / "api-keys.json")
    record, key = store.create("alice", note="open webui")
    assert key.startswith(f"ddk_{record.key_id}_")
    assert store.check(key) == record
    text = store.path.read_text()
    assert key.split("_", 2)[2] not in text and record.sha256 in text
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    store.revoke(record.key_id)
    assert store.check(key) is None


def test_a_revocation_by_another_process_applies_to_a_running_server(tmp_path: Path) -> None:
    path = tmp_path / "api-keys.json"
    server, admin = KeyStore(path), KeyStore(path)
    _, key = admin.create("carol")
    assert server.check(key) is not None  # read and cached
    admin.revoke(user="CAROL")
    assert server.check(key) is None


@pytest.mark.parametrize(
    "presented", ["", "ddk_", "ddk_abc", "sk-123", "ddk_{id}_wrong", "ddk_nope_{secret}"]
)
def test_malformed_or_wrong_keys_are_refused(tmp_path: Path, presented: str) -> None:
    store = KeyStore(tmp_path / "api-keys.json")
    record, key = store.create("alice")
    secret = key.split("_", 2)[2]
    assert store.check(presented.format(id=record.key_id, secret=secret)) is None


def test_revoking_nothing_says_how_to_see_the_keys(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "api-keys.json")
    with pytest.raises(ConfigError, match="docduet keys list"):
        store.revoke("feedbeef")


def test_a_damaged_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "api-keys.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="docduet keys create"):
        KeyStore(path).check("ddk_a_b")
