"""The users file: parsing, resolving names and e-mails, and errors that say what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.domain import ANONYMOUS, User
from core.errors import ConfigError
from core.identity import UserDirectory
from core.settings import IdentitySettings

CORPUS_USERS = Path(__file__).resolve().parents[2] / "corpora" / "users.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "users.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_corpus_users_file_loads():
    directory = UserDirectory.from_file(CORPUS_USERS)
    assert directory.names() == ["alice", "bob", "carol", "dana", "erin"]
    assert directory.resolve("alice") == User("alice", ("employees", "hr"))
    assert directory.by_email("bob@corvala.example") == User("bob", ("employees", "finance"))


def test_from_settings(tmp_path):
    path = write(tmp_path, "users:\n  zoe: {groups: [employees]}\n")
    assert UserDirectory.from_settings(IdentitySettings(users_file=path)).names() == ["zoe"]
    assert len(UserDirectory.from_settings(IdentitySettings(users_file=None))) == 0


def test_blank_or_missing_name_is_anonymous():
    directory = UserDirectory.parse({"users": {"a": {"groups": ["hr"]}}})
    assert directory.resolve(None) is ANONYMOUS
    assert directory.resolve("  ") is ANONYMOUS
    assert directory.resolve(None).readable_groups == ("public",)


def test_names_and_emails_are_case_insensitive():
    directory = UserDirectory.parse({"users": {"Alice": {"email": "Alice@X.example", "groups": []}}})
    assert directory.resolve("alice").name == "Alice"
    assert directory.resolve(" ALICE@x.example ").name == "Alice"
    assert directory.by_email("alice@x.EXAMPLE") == User("Alice", ())
    assert directory.by_email("nobody@x.example") is None


def test_unknown_name_lists_known_users():
    directory = UserDirectory.parse({"users": {"bob": {}, "alice": {}}}, origin="u.yaml")
    with pytest.raises(ConfigError, match=r"unknown user 'mallory'; known users: alice, bob \(from u.yaml\)"):
        directory.resolve("mallory")


def test_unknown_name_without_users_file_says_how_to_configure():
    with pytest.raises(ConfigError, match="DOCDUET_USERS_FILE"):
        UserDirectory().resolve("alice")


def test_groups_are_exactly_what_the_file_says():
    directory = UserDirectory.parse({"users": {"h": {"groups": ["hr", "hr"]}, "n": {"email": "n@x.example"}}})
    assert directory.resolve("h").groups == ("hr",)  # no implicit employees
    assert directory.resolve("h").readable_groups == ("hr", "public")
    assert directory.resolve("n").groups == ()


def test_empty_users_mapping_is_allowed():
    assert len(UserDirectory.parse({"users": None})) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"people": {}}, "top-level `users:`"),
        ([1, 2], "top-level `users:`"),
        ({"users": ["alice"]}, "must map user names"),
        ({"users": {"a": "hr"}}, "user 'a' must be a mapping"),
        ({"users": {"a": {"groups": "hr"}}}, "groups must be a list"),
        ({"users": {"a": {"groups": ["hr", ""]}}}, "not a non-empty name"),
        ({"users": {"a": {"group": ["hr"]}}}, "unknown key.*group; allowed: email, groups"),
        ({"users": {"a": {"email": "not-an-address"}}}, "is not an e-mail address"),
        ({"users": {"a": {"email": "x@y.z"}, "b": {"email": "X@y.z"}}}, "share the e-mail"),
        ({"users": {"a": {}, "A": {}}}, "listed twice"),
        ({"users": {"a": {"oidc_sub": "248289761001"}}}, r"oidc_sub '248289761001' is not issuer\|subject"),
        ({"users": {"a": {"oidc_sub": "https://idp.example|"}}}, "is not issuer"),
        ({"users": {"a": {"oidc_sub": "idp.example|42"}}}, "as its discovery document has it"),
        ({"users": {"a": {"oidc_sub": ["https://idp.example|42"]}}}, "is not issuer"),
        (
            {"users": {"a": {"oidc_sub": "http://i.x|1"}, "b": {"oidc_sub": "http://i.x|1 "}}},
            "share the oidc_sub",
        ),
    ],
)
def test_malformed_files_are_config_errors(data, message):
    with pytest.raises(ConfigError, match=message):
        UserDirectory.parse(data, origin="users.yaml")


def test_unreadable_and_invalid_yaml_files(tmp_path):
    with pytest.raises(ConfigError, match=r"cannot read users file .*DOCDUET_USERS_FILE") as info:
        UserDirectory.from_file(tmp_path / "missing.yaml")
    assert isinstance(info.value.__cause__, OSError)
    bad = write(tmp_path, "users: {alice: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        UserDirectory.from_file(bad)


def test_an_entry_names_its_openid_connect_account_by_issuer_and_subject(tmp_path):
    path = write(tmp_path, 'users:\n  erin:\n    oidc_sub: "https://tenant.example/|auth0|42"\n'
                           "    groups: [leadership]\n")  # fmt: skip
    directory = UserDirectory.from_file(path)
    assert directory.by_oidc_subject("https://tenant.example/", "auth0|42") == User("erin", ("leadership",))
    assert directory.by_oidc_subject("https://tenant.example", "auth0|42") is None  # issuers match exactly
    assert directory.by_oidc_subject("https://other.example/", "auth0|42") is None
    assert directory.by_oidc_subject("https://tenant.example/", "AUTH0|42") is None  # subjects too
    assert directory.by_email("erin@corvala.example") is None and directory.resolve("erin").name == "erin"
