"""Which ID-token claims the web chat believes (ui/claims.py): only what the user cannot change."""

from __future__ import annotations

import logging

import pytest

from core.domain import ANONYMOUS, User
from core.identity import UserDirectory
from core.settings import Settings
from ui.claims import UNMAPPED_GROUPS_NOTE, group_map_warning, listed_user, map_groups, user_from_claims

OIDC = {
    "oidc_server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
    "oidc_client_id": "docduet",
    "oidc_client_secret": "s3cret",
}
NOW = 1_800_000_000.0
ISSUER = "https://idp.example"


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **{**OIDC, **values})  # type: ignore[call-arg, arg-type]


@pytest.fixture
def directory() -> UserDirectory:
    return UserDirectory.parse(
        {"users": {
            "alice": {"email": "alice@corvala.example", "groups": ["employees", "hr"]},
            "dana": {"email": "dana@corvala.example", "groups": ["employees", "admins"]},
            "erin": {"oidc_sub": f"{ISSUER}|248289761001", "groups": ["employees", "leadership"]},
        }}
    )  # fmt: skip


def claims(**extra: object) -> dict[str, object]:
    return {"iss": ISSUER, "sub": "u-1", "email": "bob@corvala.example", "email_verified": True,
            "groups": ["finance", "employees"], "iat": NOW - 60, "exp": NOW + 60, **extra}  # fmt: skip


def test_claims_name_the_user(directory: UserDirectory) -> None:
    signed = user_from_claims(claims(), settings(), directory, now=NOW)
    assert signed.user.name == "bob@corvala.example" and not signed.expired
    named = user_from_claims(claims(preferred_username="bob"), settings(oidc_user_claim="preferred_username"),
                             directory, now=NOW)  # fmt: skip
    assert named.user.name == "bob"
    bare = user_from_claims({"sub": "u-9", "exp": NOW + 5}, settings(), directory, now=NOW)
    assert bare.user == User("u-9")


def test_without_a_group_map_the_token_groups_are_ignored(directory: UserDirectory) -> None:
    signed = user_from_claims(claims(groups=["admins", "finance"]), settings(), directory, now=NOW)
    assert signed.user == User("bob@corvala.example", ()) and signed.note == UNMAPPED_GROUPS_NOTE
    assert map_groups(["finance"], settings()) == () and map_groups("finance", settings()) == ()
    quiet = user_from_claims(claims(groups=[]), settings(), directory, now=NOW)
    assert quiet.note == ""  # nothing was ignored, nothing to say


def test_the_group_map_translates_and_drops_unmapped_groups(directory: UserDirectory) -> None:
    mapped = settings(oidc_group_map={"finance": "finance", "Staff": "employees"})
    assert map_groups(["finance", "employees", "Staff", "admins"], mapped) == ("finance", "employees")
    assert map_groups("finance", mapped) == ("finance",)
    assert map_groups({"not": "a list"}, mapped) == ()
    assert map_groups(["finance", 3, "", "finance"], mapped) == ("finance",)
    signed = user_from_claims(claims(), mapped, directory, now=NOW)
    assert signed.user.groups == ("finance",) and signed.note == ""


def test_a_verified_email_in_the_users_file_overrides_the_token_groups(directory: UserDirectory) -> None:
    token = claims(email="Alice@corvala.example", groups=["admins"])
    signed = user_from_claims(token, settings(oidc_group_map={"admins": "admins"}), directory, now=NOW)
    assert signed.user == User("Alice@corvala.example", ("employees", "hr"))


@pytest.mark.parametrize("verified", [False, None, "true", 1])
def test_an_unverified_email_does_not_match_the_users_file(
    directory: UserDirectory, verified: object, caplog: pytest.LogCaptureFixture
) -> None:
    token = claims(email="dana@corvala.example", email_verified=verified, groups=[])
    if verified is None:
        del token["email_verified"]
    with caplog.at_level(logging.WARNING, logger="ui.claims"):
        signed = user_from_claims(token, settings(), directory, now=NOW)
    assert signed.user == User("dana@corvala.example", ())  # a label only: not dana's groups
    [warning] = [r.getMessage() for r in caplog.records]
    assert "users-file entry 'dana' not used" in warning and "did not verify the e-mail" in warning
    assert f'oidc_sub: "{ISSUER}|u-1"' in warning  # what to add if this really is dana


@pytest.mark.parametrize("claim", ["preferred_username", "nickname", "name"])
def test_a_name_claim_never_matches_the_users_file(
    directory: UserDirectory, claim: str, caplog: pytest.LogCaptureFixture
) -> None:
    token = {k: v for k, v in claims(**{claim: "dana"}).items() if k != "email"}
    with caplog.at_level(logging.WARNING, logger="ui.claims"):
        by_claim = user_from_claims(token, settings(oidc_user_claim=claim), directory, now=NOW)
    assert by_claim.user == User("dana", ())
    forged = claims(email="x@attacker.example", **{claim: "dana@corvala.example"})
    assert listed_user(forged, directory) is None
    assert any(f"matches only the token's {claim}" in r.getMessage() for r in caplog.records)


def test_the_issuer_qualified_subject_matches_the_users_file(directory: UserDirectory) -> None:
    token = claims(sub="248289761001", email="erin.personal@mail.example", email_verified=False)
    signed = user_from_claims(token, settings(), directory, now=NOW)
    assert signed.user == User("erin.personal@mail.example", ("employees", "leadership"))
    for forged in ({"iss": "https://other-idp.example"}, {"iss": None}, {"sub": "248289761002"}):
        assert listed_user({**token, **forged}, directory) is None  # the same sub elsewhere is not erin
    erin = User("erin", ("employees", "leadership"))
    assert listed_user({**token, "sub": "248289761001 "}, directory) == erin


def test_a_lapsed_token_or_session_means_signing_in_again(directory: UserDirectory) -> None:
    s = settings(ui_session_max_s=3600)
    assert user_from_claims(claims(exp=NOW), s, directory, now=NOW).expired
    assert user_from_claims(claims(iat=NOW - 3600, exp=NOW + 999), s, directory, now=NOW).expired
    assert user_from_claims({k: v for k, v in claims().items() if k != "exp"}, s, directory, now=NOW).expired
    lapsed = user_from_claims(claims(exp=NOW - 1), s, directory, now=NOW)
    assert lapsed.user == ANONYMOUS and "sign in again" in lapsed.note
    assert not user_from_claims(claims(), s, directory, now=NOW).expired


def test_docduet_ui_warns_at_start_up_when_no_group_map_is_set() -> None:
    warning = group_map_warning(settings(oidc_groups_claim="roles"))
    assert warning is not None
    assert "DOCDUET_OIDC_GROUP_MAP is not set" in warning and "'roles' claim is ignored" in warning
    assert group_map_warning(settings(oidc_group_map={"Finance": "finance"})) is None
