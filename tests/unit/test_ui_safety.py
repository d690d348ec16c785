"""Web-chat markup of untrusted text: flagged answer links and errors without addresses (ui/markup.py)."""

from __future__ import annotations

from core.domain import Flag, FlagKind
from ui.markup import DOCUMENT_LINK, UNVERIFIED_LINK, answer_markdown, error_markdown


def test_flagged_answer_links_get_a_warning_chip_and_stay_text() -> None:
    text = "Book at https://desks.corvala.example/book or [re-authenticate](https://phish.example/x) [1]."
    flags = (
        Flag(FlagKind.DOCUMENT_LINK, "https://desks.corvala.example/book"),
        Flag(FlagKind.UNSUPPORTED_LINK, "https://phish.example/x"),
    )
    md = answer_markdown(text, flags)
    assert md.count(UNVERIFIED_LINK) == 1 and md.count(DOCUMENT_LINK) == 1
    assert "`https://phish.example/x` " + UNVERIFIED_LINK in md  # code: the page never links it
    assert "\\[re\\-authenticate\\]\\(`https" in md  # the Markdown link is escaped, not rendered
    assert "`https://desks.corvala.example/book` " + DOCUMENT_LINK + " or" in md
    assert ":blue-badge[1]" in md
    assert UNVERIFIED_LINK not in answer_markdown(text)


def test_errors_are_escaped_without_internal_addresses() -> None:
    shown = error_markdown("cannot reach http://10.0.0.7:8000/v1 ![x](https://evil.example/p.gif)")
    assert "10.0.0.7" not in shown and "evil.example" not in shown
    assert shown.startswith("cannot reach \\[address hidden\\]")
