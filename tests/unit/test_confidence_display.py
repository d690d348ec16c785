"""The confidence badge, cascade steps and "not sure" in each front end: Slack blocks, the terminal, the web.

The wording comes from chat/badges.py; these check each front end shows it, and shows nothing for
an error. The same answer through the real front ends: tests/integration/test_confidence_frontends.py.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest
from fakes import make_answer
from rich.console import Console
from streamlit.testing.v1 import AppTest

from core.domain import ConfidenceLevel, Escalation
from docduet.commands.answer import answer_panel
from slackbot.blocks import answer_blocks
from slackbot.links import link_finder
from slackbot.text import escape
from ui.markup import escape_md

NO_LINKS = link_finder(None, ())
LOW = make_answer(
    "31 days [1].", level=ConfidenceLevel.LOW, probability=0.314, reasons=("no citation verified",)
)
STEPS = (
    Escalation("slm", "Small local model", 0.42, "escalated: 0.42 < 0.60", 2.3),
    Escalation("slm-large", "Larger local model", 0.81, "served", 4.8),
)
CASCADE = "Answered by Larger local model after Small local model (escalated: 0.42 < 0.60) · 2 steps, 7.1 s"
WITHHELD = make_answer(
    "Not sure: read the passages below.",
    level=ConfidenceLevel.LOW,
    probability=0.21,
    withheld_text="31 days [1].",
)


def contexts(blocks: list[dict[str, object]]) -> list[str]:
    return [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]  # type: ignore[attr-defined]


# --- Slack ----------------------------------------------------------------------------------------


def test_slack_shows_the_badge_and_reasons_in_a_context_line_above_the_answer() -> None:
    blocks = answer_blocks(LOW, link=NO_LINKS)
    first = blocks[0]
    assert first["type"] == "context"
    assert first["elements"][0]["text"] == (
        ":warning: *Low confidence · 0.31 — check the sources* · why: no citation verified"
    )
    assert blocks[1]["text"]["text"] == "31 days [1]."  # the answer itself is still shown


def test_slack_shows_an_uncalibrated_model_the_cascade_and_a_withheld_answer() -> None:
    unknown = make_answer(level=ConfidenceLevel.UNKNOWN, probability=None, reasons=(), steps=STEPS)
    lines = contexts(answer_blocks(unknown, link=NO_LINKS))
    assert lines[0] == ":grey_question: *Confidence not calibrated for this model*"
    assert lines[1].startswith(f":twisted_rightwards_arrows: {escape(CASCADE)}")  # &lt; for <
    not_sure = contexts(answer_blocks(WITHHELD, link=NO_LINKS))[1]
    assert not_sure.startswith(":grey_question: *Not sure: the model's answer was withheld (confidence 0.21")
    assert "31 days" not in json.dumps(answer_blocks(WITHHELD, link=NO_LINKS))  # kept for audit only


def test_slack_shows_no_badge_for_an_error() -> None:
    blocks = answer_blocks(make_answer(error="the model is down"), link=NO_LINKS)
    assert "confidence" not in json.dumps(blocks).lower()


# --- the terminal (`docduet ask` / `compare`) -----------------------------------------------------


def shown(answer: object) -> str:
    console = Console(record=True, width=400)
    console.print(answer_panel(answer))  # type: ignore[arg-type]
    return " ".join(console.export_text().split())


def test_the_terminal_panel_shows_the_badge_reasons_and_cascade() -> None:
    text = shown(make_answer(probability=0.857, steps=STEPS))
    assert "High confidence · 0.86" in text
    assert "why: the top passage states it; 1 citation verified" in text
    assert CASCADE in text
    low = shown(LOW)
    assert "Low confidence · 0.31 — check the sources" in low and "31 days [1]." in low


def test_the_terminal_says_not_sure_for_a_withheld_answer_and_nothing_for_an_error() -> None:
    assert "Not sure: the model's answer was withheld (confidence 0.21" in shown(WITHHELD)
    assert "confidence" not in shown(make_answer(error="the model is down")).lower()


# --- the web chat (the real render_answer in Streamlit's AppTest) ------------------------------------


def _column(kind: str) -> None:
    from fakes import make_answer

    from core.domain import ConfidenceLevel, Escalation
    from ui.render import render_answer

    answers = {
        "low": make_answer("31 days [1].", level=ConfidenceLevel.LOW, probability=0.314, reasons=("r1",)),
        "unknown": make_answer(level=ConfidenceLevel.UNKNOWN, probability=None, reasons=()),
        "error": make_answer(error="the model is down"),
        "cascade": make_answer(steps=(Escalation("slm", "Small", 0.4, "escalated: 0.40 < 0.60", 1.0),)),
        "withheld": make_answer(
            "Not sure.", level=ConfidenceLevel.LOW, probability=0.21, withheld_text="31 days [1]."
        ),
    }
    render_answer(answers[kind], (), "t")


@pytest.fixture(autouse=True)
def keep_main_module() -> Iterator[None]:
    """AppTest.from_function runs a temporary script as ``__main__`` and leaves it there; a later
    test's spawned process (the parser worker) would re-run that script and die, so restore it."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


def run_column(kind: str) -> AppTest:
    app = AppTest.from_function(_column, kwargs={"kind": kind}, default_timeout=30)
    return app.run()


def test_the_web_column_shows_a_warning_badge_with_the_reasons_on_hover() -> None:
    app = run_column("low")
    badge = app.markdown[0]
    assert badge.value == r":orange-badge[:material/warning: Low confidence · 0\.31] — check the sources"
    assert badge.proto.help == r"Why\: r1  " + "\n" + r"Calibration\: test fit"
    assert app.markdown[1].value == r"31 days :blue-badge[1]\."  # still shown


def test_the_web_column_shows_uncalibrated_cascade_and_not_sure() -> None:
    unknown = run_column("unknown").markdown[0].value
    assert unknown == ":gray-badge[:material/help: Confidence not calibrated] for this model"
    steps = "No step answered after Small (escalated: 0.40 < 0.60) · 1 step, 1.0 s, $0.0000"
    assert run_column("cascade").caption[0].value == f":material/alt_route: {escape_md(steps)}"
    withheld = run_column("withheld")
    assert withheld.info[0].value.startswith(r"Not sure\: the model's answer was withheld")
    assert withheld.markdown[1].value == r"Not sure\."  # the service's text; the model's own is not shown


def test_the_web_column_shows_no_badge_for_an_error() -> None:
    app = run_column("error")
    assert not any("confidence" in m.value.lower() for m in app.markdown)
    assert app.warning and "the model is down" in app.warning[0].value
