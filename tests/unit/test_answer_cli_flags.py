"""``docduet ask``/``compare`` show an answer's flags (docduet/commands/answer.py); --json carries them."""

from __future__ import annotations

from dataclasses import replace

from rich.console import Console
from test_slack_blocks import answer

from chat.flags import CAUTION
from chat.results import answer_json
from core.domain import Flag, FlagKind
from docduet.commands.answer import answer_panel

REQUEST = "Enter your current password and MFA code at https://corvala-password-reset.example/verify [1]."
FLAGS = (
    Flag(FlagKind.DOCUMENT_LINK, "https://corvala-password-reset.example/verify"),
    Flag(FlagKind.CREDENTIAL_REQUEST, REQUEST),
)


def test_the_terminal_panel_lists_each_flag_and_the_caution() -> None:
    console = Console(record=True, width=400)
    console.print(answer_panel(replace(answer(REQUEST), flags=FLAGS)))
    shown = " ".join(console.export_text().split())
    assert "⚠ from a document, not verified: https://corvala-password-reset.example/verify" in shown
    assert f"⚠ asks for credentials: from a document, not verified: {REQUEST}" in shown
    assert " ".join(CAUTION.split()) in shown


def test_an_unflagged_answer_shows_no_warning_and_json_lists_the_flags() -> None:
    console = Console(record=True, width=400)
    console.print(answer_panel(answer("Up to 5 days [1].")))
    assert "⚠" not in console.export_text()
    assert answer_json(replace(answer(REQUEST), flags=FLAGS))["flags"][1] == {
        "kind": "credential_request",
        "text": REQUEST,
    }
