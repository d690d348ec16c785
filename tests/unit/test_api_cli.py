"""``docduet keys`` and ``docduet serve``'s refusal to listen beyond loopback without authentication."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from docduet.api.keys import KeyStore, key_file
from docduet.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("DOCDUET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DOCDUET_USERS_FILE", str(REPO / "corpora" / "users.yaml"))
    monkeypatch.setenv("WEAVIATE_URL", "http://127.0.0.1:9")  # nothing is started or reached
    for name in ("DOCDUET_OIDC_API_AUDIENCE", "DOCDUET_OIDC_SERVER_METADATA_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "data"


def test_keys_are_shown_once_listed_without_secrets_and_revoked(
    environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "create", "--user", "Alice@Corvala.example", "--note", "open webui"]) == 0
    out, err = capsys.readouterr()
    key = out.strip()
    assert "for alice (groups: employees, hr)" in err and "not shown again" in err
    store = KeyStore(key_file(environment))
    assert store.check(key) is not None
    assert main(["keys", "list", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["user"] == "alice" and "sha256" not in listed and key not in json.dumps(listed)
    assert main(["keys", "revoke", listed["key_id"]]) == 0
    assert store.check(key) is None
    assert main(["keys", "revoke", "--user", "alice"]) == 2  # nothing active left
    assert "docduet keys list" in capsys.readouterr().err


def test_keys_are_made_for_users_of_the_users_file_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", "--user", "mallory"]) == 2
    assert "unknown user 'mallory'" in capsys.readouterr().err


def test_serve_refuses_all_interfaces_without_authentication(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--host", "0.0.0.0", "--port", "8000"]) == 2
    err = capsys.readouterr().err
    assert "beyond loopback without authentication" in err and "docduet keys create" in err
