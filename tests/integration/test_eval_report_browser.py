"""The decision report in a browser: a real ``docduet eval`` run's report.html opened in Chromium.

The run is as small as a real one can be (3 SQuAD 2.0 questions, the packaged local model and the
session's loopback hosted model, both already loaded for test_eval_qa), so CI pays for a few
answers; what is checked is what an admin sees: the recommendation's sentence, table and snippet,
the plots drawn, and no absolute path of the machine that ran it.

Artifacts: test-artifacts/eval-report.html (the report) and test-artifacts/eval-report.png (its
recommendation as Chromium drew it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from eval_data import eval_set_path
from test_ui_browser import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS

from core.settings import Settings
from docduet.compose import evaluation_parts
from evaluation.run import EvalOptions, run_eval

pytestmark = pytest.mark.integration

SQUAD = eval_set_path("squad2-mini")
PLOTS = (
    "quality, latency and cost per generator",
    "per-question agreement",
    "share right against compute per configuration",
)
ABSOLUTE = re.compile(r"(?<![\w.:/])/(?:home|tmp|root|work|usr|var|opt|Users)/")


@pytest.mark.eval_data("squad2-mini")
def test_the_report_shows_the_decision_the_plots_and_no_absolute_path(
    make_settings: Callable[..., Settings], tmp_path: Path, llama_server_port: int
) -> None:
    from playwright.sync_api import sync_playwright

    settings = make_settings(
        slm_threads=1,
        slm_max_tokens=16,
        llm_max_tokens=24,
        embedding_threads=1,
        top_k=2,
        DOCDUET_LLM_BASE_URL=f"http://127.0.0.1:{llama_server_port}/v1",
        llm_model="local",
    )
    options = EvalOptions(dataset=SQUAD, out=tmp_path / "out", limit=3, generators=("slm", "llm"))
    with evaluation_parts(settings) as parts:
        outcome = run_eval(settings, options, parts=parts)
    decision = outcome.results["decision"]
    assert decision["headline"] == outcome.results["recommendation"][0]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.goto(outcome.report_path.as_uri())
            recommendation = page.locator("div.rec")
            headline = recommendation.locator("p.headline").inner_text()
            assert headline == decision["headline"]
            assert headline.startswith(("Use `", "No decision yet: on these 3 questions"))
            header = recommendation.locator("table tr").first.inner_text()
            assert "correct [95%]" in header and "cost per month at 10,000 questions" in header
            assert recommendation.locator("table tr").count() == 3  # the header and one row per generator
            snippet = recommendation.locator("pre.snippet").inner_text()
            assert (
                "generators:\n- id: " in snippet
                and f"DOCDUET_SLACK_GENERATORS={decision['choice']}" in snippet
            )
            assert page.get_by_role("heading", name="Paired comparisons").is_visible()
            for alt in PLOTS:
                image = page.locator(f"img[alt='{alt}']")
                assert image.count() == 1, alt
                assert image.evaluate("i => i.complete && i.naturalWidth > 300 && i.naturalHeight > 200"), alt
            text = page.locator("body").inner_text()
            html = page.content()
            ARTIFACTS.mkdir(exist_ok=True)
            recommendation.screenshot(path=str(ARTIFACTS / "eval-report.png"))
            (ARTIFACTS / "eval-report.html").write_text(outcome.report_path.read_text(encoding="utf-8"))
        finally:
            browser.close()
    assert str(tmp_path) not in html and str(SQUAD) not in html
    assert not ABSOLUTE.search(text), ABSOLUTE.search(text)
    assert "[" in text and "–" in text  # figures carry their intervals
