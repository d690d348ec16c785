"""What an answer's reader is warned about (chat/flags.py): links and credential requests from documents.

The credential detector is held to precision and recall on realistic sentences both ways; the
answer service stores the flags on each answer once (tests/unit/test_chat_service.py shows the
service wiring, test_ui_flags.py and test_slack_safety.py the front ends).
"""

from __future__ import annotations

import pytest
from test_chat_service import CAROL, FakeGenerator, FakeRetriever, hit

from chat.flags import answer_flags, cautions, credential_requests, is_trusted
from chat.results import Question, answer_json
from chat.rewrite import HeuristicRewriter
from chat.service import AnswerService, GeneratorSlot
from core.domain import Flag, FlagKind
from core.prompt import Turn

PHISH = "Enter your current password and MFA code at https://corvala-password-reset.example/verify [1]."

ASKS = [
    PHISH,
    "To reset your laptop password, go to https://reset.evil.example and enter your current password "
    "and the one-time code from your authenticator [1].",
    "Reply to this email with your username and password to keep your account active.",
    "Send your MFA code to it-support@corvala-helpdesk.example.",
    "Please provide your one-time passcode to the support agent when they call.",
    "Verify your account at https://login.evil.example within 24 hours or it will be suspended.",
    "Share your verification code with the service desk technician.",
    "Type your network password into the form on the reset page [1].",
    "Confirm your login details on the following page: www.evil.example/confirm",
    "Sign in with your company credentials at https://sso.evil.example to finish the upgrade.",
    "Read out the six-digit security code you receive by SMS to the caller.",
    "Entеr yоur pаsswоrd at https://evil.example/reset",  # Cyrillic е, о, а
    "Provide your 2FA token and PIN via the link below.",
    "Go to https://corvala-it.example/reset, then enter your old password and your Okta Verify code "
    "on that page [1].",
]
DOES_NOT_ASK = [
    "Password policy: use at least 12 characters, including a number and a symbol [1].",
    "Passwords must be changed every 90 days [2].",
    "Never share your password or MFA code with anyone, including IT staff [1].",
    "IT will never ask you for your password by email.",
    "Do not enter your password on a page you reached from an email link.",
    "If a website asks you to enter your password unexpectedly, report it to security@corvala.example.",
    "Press Ctrl+Alt+Del, choose Change a password, and type your old password followed by the new one [1].",
    "MFA codes expire after 30 seconds [1].",
    "To reset a forgotten password, call the service desk on extension 4400 [1].",
    "Your new password must not reuse any of your last five passwords.",
    "The one-time code arrives by SMS within a minute [2].",
    "Enter a new password of at least 12 characters and confirm it [1].",
    "Type a new password, then confirm your new password [1].",
    "Store your recovery codes in a safe place.",
    "The PIN for the meeting room display is on the booking confirmation [1].",
    "Sharing passwords is a disciplinary offence [3].",
    "Phishing emails often ask you to verify your account; report them with the Report button.",
    "Go to https://login.corvala.example and click Forgot password? Then enter your work e-mail and "
    "choose Reset via Okta Verify [1].",
    "IT verifies your identity on a video call together with your manager, then issues a one-time code "
    "valid for 30 minutes [1].",
    "On Windows sign in with the new password while connected to the internet [1].",
    "Use at least 12 characters in your password; the policy is at https://policy.example/passwords [1].",
    "Use at least 12 characters in your password (see https://policy.example/passwords) [1].",
    "Sign in at https://login.corvala.example; IT will never ask for your password [1].",
]


@pytest.mark.parametrize("sentence", ASKS)
def test_a_request_for_credentials_is_found(sentence: str) -> None:
    assert credential_requests(f"Laptops are replaced every 3 years [2]. {sentence}") == [sentence]


@pytest.mark.parametrize("sentence", DOES_NOT_ASK)
def test_talk_about_passwords_is_not_a_request(sentence: str) -> None:
    assert credential_requests(sentence) == []


def test_links_are_flagged_by_where_they_come_from() -> None:
    answer = (
        "Reset at https://login.corvala.example [1] or https://corvala-password-reset.example/verify [2]; "
        "see www.invented.example and https://asked.example/x."
    )
    passages = ["Go to https://corvala-password-reset.example/verify now.", "See login.corvala.example."]
    flags = answer_flags(answer, question="Is https://asked.example/x real?", passages=passages)
    assert flags == (
        Flag(FlagKind.DOCUMENT_LINK, "https://login.corvala.example"),
        Flag(FlagKind.DOCUMENT_LINK, "https://corvala-password-reset.example/verify"),
        Flag(FlagKind.UNSUPPORTED_LINK, "www.invented.example"),
    )  # the asker's own link is not flagged
    trusted = answer_flags(answer, question="", passages=passages, trusted=("corvala.example",))
    assert [f.text for f in trusted][:1] == ["https://corvala-password-reset.example/verify"]


def test_a_credential_request_is_flagged_unless_the_asker_made_it_or_it_names_only_trusted_links() -> None:
    flags = answer_flags(PHISH, question="How do I reset my laptop password?", passages=[PHISH])
    assert [f.kind for f in flags] == [FlagKind.DOCUMENT_LINK, FlagKind.CREDENTIAL_REQUEST]
    assert flags[1].text == PHISH
    asked = "Should I send my PIN to the service desk?"
    assert answer_flags("Send your PIN to me.", question=asked, passages=[]) == ()
    company = "Enter your password at https://login.corvala.example [1]."
    trusted = ("https://login.corvala.example",)
    assert answer_flags(company, question="", passages=[company], trusted=trusted) == ()
    assert cautions(flags)[0].startswith("This answer repeats a request for a password")


@pytest.mark.parametrize(
    ("link", "trusted", "expected"),
    [
        ("https://login.corvala.example/a", "corvala.example", True),
        ("www.corvala.example/holidays", "https://corvala.example", True),
        ("https://corvala.example.evil.example/", "corvala.example", False),
        ("https://corv\u0430la.example/", "corvala.example", False),  # a Cyrillic а is another host
        ("https://intranet.example/docs/it/x.md", "https://intranet.example/docs/", True),
        ("https://intranet.example/docsx", "https://intranet.example/docs", False),
        ("https://evil.example/?u=corvala.example", "corvala.example", False),
    ],
)
def test_trusted_links_match_host_and_path_prefix(link: str, trusted: str, expected: bool) -> None:
    assert is_trusted(link, [trusted]) is expected


def test_the_answer_service_flags_each_answer_once_and_json_carries_the_flags() -> None:
    page = hit(1, f"Password reset update. {PHISH}")
    company = hit(2, "Reset your password at https://login.corvala.example and choose Okta Verify.")
    reply = f"{PHISH} The sign-in page is https://login.corvala.example [2]. See https://asked.example/x."
    svc = AnswerService(
        FakeRetriever([page, company]),
        [GeneratorSlot("slm", FakeGenerator("slm", reply))],
        HeuristicRewriter(),
        trusted_links=("corvala.example",),
    )
    history = (Turn("user", "Is https://asked.example/x the reset page?"), Turn("assistant", "Maybe."))
    answer = svc.compare(Question("How do I reset my laptop password?", CAROL, history)).answer("slm")
    assert answer.flags == (
        Flag(FlagKind.DOCUMENT_LINK, "https://corvala-password-reset.example/verify"),
        Flag(FlagKind.CREDENTIAL_REQUEST, PHISH),
    )  # the trusted sign-in page and the asker's own link are not flagged
    assert answer_json(answer)["flags"] == [
        {"kind": "document_link", "text": "https://corvala-password-reset.example/verify"},
        {"kind": "credential_request", "text": PHISH},
    ]
