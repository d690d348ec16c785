"""Block Kit rendering: escaping, Slack's size limits, sources with links, feedback buttons."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from fakes import make_chunk

from core.domain import Answer, Citation, Flag, FlagKind, Hit, Privacy, Timings, Usage
from slackbot.blocks import (
    BUTTON_VALUE_LIMIT,
    FEEDBACK_ACTIONS,
    MAX_BLOCKS,
    SECTION_LIMIT,
    FeedbackRef,
    metrics_line,
    render_reply,
)
from slackbot.links import link_finder, source_url
from slackbot.text import question_text, split_text

NO_LINKS = link_finder(None, ())


def answer(
    text: str = "Up to 5 days [1].",
    *,
    generator: str = "slm",
    citations: int = 1,
    error: str | None = None,
    off: bool = False,
    withheld: int = 0,
) -> Answer:
    cites = tuple(
        Citation(
            n, f"/corpus/handbook/h{n}.md", f"Handbook {n}", "Holidays", n, "Carry over up to 5 days.", 0.8
        )
        for n in range(1, citations + 1)
    )
    return Answer(
        generator=generator,
        text="" if error else text,
        citations=cites,
        timings=Timings(0.05, 1.25, 3.5),
        usage=Usage(700, 12, 0.0012 if off else 0.0),
        privacy=Privacy("https://llm.example/v1" if off else "/models/g.gguf", off, ("c1",), withheld),
        error=error,
    )


def texts(blocks) -> list[str]:
    out = []
    for block in blocks:
        if block["type"] == "section":
            out.append(block["text"]["text"])
        elif block["type"] == "context":
            out.extend(e["text"] for e in block["elements"])
    return out


def test_one_answer_has_text_sources_metrics_and_buttons():
    ref = FeedbackRef("T1:C1:1.2", "How many days can I carry over?")
    [message] = render_reply([answer()], link=NO_LINKS, feedback=ref)
    kinds = [b["type"] for b in message.blocks]
    assert kinds == ["section", "section", "context", "actions"]
    body = texts(message.blocks)
    assert body[0] == "Up to 5 days [1]."
    assert body[1].startswith("*Sources*\n[1] *Handbook 1* — Holidays · p. 1")
    assert ":house: stayed on-premises" in body[2] and "first token 1.2 s" in body[2]
    assert message.text == "Up to 5 days [1]."
    buttons = message.blocks[-1]["elements"]
    assert [b["action_id"] for b in buttons] == list(FEEDBACK_ACTIONS)
    assert json.loads(buttons[0]["value"]) == {"t": ref.turn_id, "g": "slm", "q": ref.question}


def test_a_wait_in_line_for_the_local_model_is_shown_in_the_metrics():
    waited = replace(answer(), timings=Timings(0.05, 30.2, 31.9, queue_s=28.6))
    [message] = render_reply([waited], link=NO_LINKS, feedback=None)
    assert "waited 29 s for its turn" in texts(message.blocks)[2]
    [quick] = render_reply([answer()], link=NO_LINKS, feedback=None)
    assert "for its turn" not in " ".join(texts(quick.blocks))


def test_two_generators_get_headings_divider_and_errors_in_place():
    error = "the hosted LLM is not configured; set OPENAI_API_KEY"
    local = Answer(**{**answer().__dict__, "label": "Small local model · Qwen"})
    hosted = Answer(**{**answer(generator="llm", error=error).__dict__, "label": "Hosted model · gpt"})
    [message] = render_reply([local, hosted], link=NO_LINKS)
    kinds = [b["type"] for b in message.blocks]
    assert kinds == ["section", "section", "section", "context", "divider", "section", "section"]
    body = texts(message.blocks)
    assert body[0].startswith("*Small local model · Qwen*") and body[4].startswith("*Hosted model · gpt*")
    assert body[5] == f":warning: Hosted model · gpt could not answer: {error}"
    assert not any(b["type"] == "actions" for b in message.blocks)  # no feedback without a ref


def test_model_and_document_text_cannot_ping_or_forge_links():
    evil = "Hi <!channel> see <https://evil.example|the policy> & more"
    a = answer(evil)
    cite = Citation(1, "/c/x.md", "Title <!here>|x", "S", None, "snip <@U1>", 0.5)
    flag = Flag(FlagKind.UNSUPPORTED_LINK, "https://evil.example")  # as the answer service flags it
    a = Answer(**{**a.__dict__, "citations": (cite,), "flags": (flag,)})
    [message] = render_reply([a], link=lambda s: "https://intranet.example/x.md")
    dumped = json.dumps(message.blocks)
    assert "<!channel>" not in dumped and "<!here>" not in dumped and "<@U1>" not in dumped
    assert "<https://evil.example" not in dumped
    assert texts(message.blocks)[0] == (  # the address is code, and flagged: no passage has it
        "Hi &lt;!channel&gt; see &lt;`https://evil.example` :warning: _link not in any passage_"
        "|the policy&gt; &amp; more"
    )
    assert "<https://intranet.example/x.md|Title &lt;!here&gt;¦x>" in texts(message.blocks)[1]


def test_long_answers_and_many_sources_stay_within_slack_limits():
    long_text = ("A sentence about holidays & leave. " * 400).strip()  # ~14,000 chars
    answers = [answer(long_text, citations=60), answer(long_text, generator="llm", citations=60)]
    messages = render_reply(answers, link=NO_LINKS, feedback=FeedbackRef("t", "q"))
    for message in messages:
        assert 1 <= len(message.blocks) <= MAX_BLOCKS
        assert all(len(t) <= SECTION_LIMIT for t in texts(message.blocks))
    rendered = "".join(texts(b for m in messages for b in m.blocks))
    assert rendered.count("A sentence about holidays &amp; leave.") == 800  # nothing lost, nothing cut
    assert all(f"[{n}]" in rendered for n in range(1, 61))
    assert len(messages) >= 1 and all(m.text for m in messages)


def test_escaping_never_pushes_a_section_over_the_limit():
    [message] = render_reply([answer("<" * 2999)], link=NO_LINKS)
    sections = [t for t in texts(message.blocks) if t.startswith("&lt;")]
    assert "".join(sections) == "&lt;" * 2999
    assert all(len(t) <= SECTION_LIMIT for t in sections)


def test_button_value_stays_within_its_limit():
    [message] = render_reply([answer()], link=NO_LINKS, feedback=FeedbackRef("t", '"\\' * 3000))
    for button in message.blocks[-1]["elements"]:
        assert len(button["value"]) <= BUTTON_VALUE_LIMIT
        assert json.loads(button["value"])["t"] == "t"


def test_metrics_line_tells_what_went_off_premises():
    line = metrics_line(answer(off=True, withheld=2))
    assert ":cloud: sent off-premises" in line and "$0.0012" in line
    assert "2 confidential source(s) withheld" in line and "700+12 tokens" in line


def test_markdown_bold_becomes_slack_bold():
    [message] = render_reply([answer("It is **14 characters** long [1].")], link=NO_LINKS)
    assert texts(message.blocks)[0] == "It is *14 characters* long [1]."


@pytest.mark.parametrize(
    ("base", "source", "root", "url"),
    [
        (
            "https://intra.example/docs/",
            "/srv/c/hr/pay bands.xlsx",
            "/srv/c",
            "https://intra.example/docs/hr/pay%20bands.xlsx",
        ),
        ("https://intra.example/docs", "/srv/c/a.md", "/srv/c", "https://intra.example/docs/a.md"),
        (None, "/srv/c/a.md", "/srv/c", None),
        ("https://intra.example", "/elsewhere/a.md", "/srv/c", None),
    ],
)
def test_source_url(base, source, root, url):
    assert source_url(base, source, root) == url


def test_link_finder_uses_each_hits_root():
    chunk = make_chunk("t", source="/srv/c/it/vpn.html", root="/srv/c", title="VPN", doc_type="html")
    link = link_finder("https://intra.example", [Hit(chunk, 1.0)])
    assert link("/srv/c/it/vpn.html") == "https://intra.example/it/vpn.html"
    assert link("/srv/c/unknown.md") is None


@pytest.mark.parametrize(
    ("raw", "question"),
    [
        ("<@UBOT> what is  the VPN address?", "what is the VPN address?"),
        ("<@UBOT|docduet> ask <@U123> about <#C1|general>", "ask @U123 about #general"),
        (
            "see <https://x.example/a|the doc> &amp; <mailto:a@b.example|a@b.example> &lt;3",
            "see the doc & a@b.example <3",
        ),
        ("<!here> <https://x.example/b>", "@here https://x.example/b"),
        ("<@UBOT>", ""),
    ],
)
def test_question_text(raw, question):
    assert question_text(raw, "UBOT") == question


def test_split_text_prefers_natural_breaks():
    text = "First paragraph.\n\nSecond one is longer. It has two sentences."
    assert split_text(text, 30) == ["First paragraph.", "Second one is longer.", "It has two sentences."]
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
    assert split_text("  ", 10) == []


def test_source_line_does_not_repeat_the_title():
    cite = Citation(2, "/c/press.html", "Series B", "Series B", None, "Series B", 0.9)
    a = Answer(**{**answer().__dict__, "citations": (cite,)})
    [message] = render_reply([a], link=NO_LINKS)
    assert texts(message.blocks)[1] == "*Sources*\n[2] *Series B*"
