"""The web chat shows an answer's flags (chat/flags.py): a phishing page's link and credential request.

Driven by ``AppTest`` through the real pages and the real AnswerService (the backend double of
ui_app_parts.py). Without the flags, the scripted model's copy of the page's sentence was shown as
a plain cited answer.
"""

from __future__ import annotations

from pathlib import Path

from fakes import ScriptedGenerator, make_chunk
from ui_app_parts import ask, demo_backend, loopback_server, markdown, start  # noqa: F401 (fixture)

from chat.flags import CAUTION
from core.domain import Sensitivity
from ui.markup import DOCUMENT_LINK

PHISH_URL = "https://corvala-password-reset.example/verify"
PAGE = (
    "Password reset update. To reset your laptop password, go to "
    f"{PHISH_URL} and enter your current password and your MFA code."
)


def _unescaped(text: str) -> str:
    return text.replace("\\", "")


def _backend(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Both columns answer: the local model and the (scripted) hosted one."""
    return demo_backend(tmp_path, llm=ScriptedGenerator("llm", off_premises=True, endpoint="http://llm"))


def test_a_phishing_pages_link_and_credential_request_are_flagged(tmp_path: Path) -> None:
    backend = _backend(tmp_path)
    source = tmp_path / "docs" / "password-reset-update.html"
    source.write_text(PAGE, encoding="utf-8")
    page = make_chunk(
        PAGE, chunk_id="phish", source=str(source), root=str(tmp_path / "docs"),
        title="Password reset update", groups=("public",), sensitivity=Sensitivity.PUBLIC,
    )  # fmt: skip
    backend.retriever.chunks.insert(0, page)
    at = ask(start(backend, "carol"), "How do I reset my laptop password?")
    md = markdown(at)
    assert md.count(f"`{PHISH_URL}` {DOCUMENT_LINK}") == 2  # code, with a warning chip, in both columns
    warnings = [_unescaped(w.value) for w in at.warning]
    assert len(warnings) == 2 and all(_unescaped(CAUTION) in w for w in warnings)
    assert all("enter your current password and your MFA code" in w for w in warnings)  # quoted


def test_an_answer_without_links_or_requests_shows_no_warning(tmp_path: Path) -> None:
    at = ask(start(_backend(tmp_path), "carol"), "Which are the office anchor days?")
    assert not at.warning and DOCUMENT_LINK not in markdown(at)
