"""The admin page driven by ``AppTest``: for admins only, the index and last ingest, reindexing, the
feedback tab, and untrusted names shown as text."""

from __future__ import annotations

import re

import pytest
from ui_app_parts import (
    ANCHOR,
    FakeBackend,
    ask,
    backend,
    loopback_server,
    markdown,
    start,
    texts,
)

__all__ = ["backend", "loopback_server"]  # fixtures: the scripted backend; the app listens on loopback


def test_admin_page_shows_untrusted_user_names_as_text(backend: FakeBackend) -> None:
    at = ask(start(backend, "carol"), ANCHOR)  # a real turn, so the feedback has answers
    at.segmented_control[0].set_value("all_good")
    at.text_input[0].input("ok")
    next(b for b in at.button if b.label == "Send").click().run()
    [record] = backend.feedback.all()
    hostile = "![x](https://evil.example/p.gif)"  # a name from a token claim or a proxy header
    backend.feedback.record(channel="web", user=hostile, question=record.question, verdict="all_good",
                            answers=[], comment="ok")  # fmt: skip
    at = start(backend, "dana")
    at.switch_page("page_admin.py").run()
    [caption] = [c.value for c in at.caption if "evil.example" in c.value]
    assert "\\!\\[x\\]\\(`https://evil.example/p.gif`\\)" in caption, caption


def test_admin_page_for_admins_only(backend: FakeBackend) -> None:
    at = start(backend, "carol")
    # Only the chat page is registered for a non-admin, so the admin page cannot be reached.
    missing = r"Could not find a navigation page for '[^']*/page_admin\.py'"
    with pytest.raises(ValueError, match=missing) as refused:
        at.switch_page("page_admin.py")
    assert re.search(r"Known pages: \['[^']*/page_chat\.py'\]", str(refused.value)), refused.value
    assert not at.metric and backend.reindexed == []
    at = start(backend, "dana")
    at.switch_page("page_admin.py").run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Documents"] == "3" and metrics["Chunks"] == "9"
    assert metrics["Last ingest"] == "never"
    next(b for b in at.button if b.label == "Reindex now").click().run()
    assert backend.reindexed == [False]
    assert "3 unchanged" in texts(at.success)
    failed = at.dataframe[-1].value
    assert list(failed["reason"]) == ["encrypted PDF; remove the password"]


def test_admin_feedback_tab_survives_ratings_without_answers(backend: FakeBackend) -> None:
    backend.feedback.record(channel="slack", user="U1", question="q", verdict="helpful", answers=[])
    at = start(backend, "dana")
    at.switch_page("page_admin.py").run()
    assert not at.exception, at.exception
    assert "1 rated turns" in markdown(at)


def test_admin_feedback_tab_summarises_ratings(backend: FakeBackend) -> None:
    at = ask(start(backend, "dana"), ANCHOR)
    at.segmented_control[0].set_value("best:slm")
    next(b for b in at.button if b.label == "Send").click().run()
    at.switch_page("page_admin.py").run()
    assert not at.exception, at.exception
    table = next(d.value for d in at.dataframe if "win rate" in d.value.columns)
    assert list(table["model"]) == ["Hosted model · scripted", "Small local model · scripted"]
    assert list(table["win rate"]) == [0.0, 1.0]
    assert len(at.get("vega_lite_chart")) == 4  # by type, by group, win rate, verdicts
