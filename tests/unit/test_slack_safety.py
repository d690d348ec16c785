"""Slack replies with hostile documents and answers, hidden error addresses, and the question limit."""

from __future__ import annotations

import json
import re
from dataclasses import replace

from fakes import ScriptedGenerator, StubRetriever, make_chunk
from slack_doubles import HITS, FakeAnswerer, make_app, send, settings, slack_api  # noqa: F401 (fixtures)
from slack_recorder import direct_message, event_body
from test_slack_blocks import NO_LINKS, answer, texts

from chat.flags import CAUTION, LINK_CAUTION, UNSUPPORTED_CAUTION
from chat.rewrite import HeuristicRewriter
from chat.service import AnswerService, GeneratorSlot
from core.domain import Citation, Flag, FlagKind, Sensitivity
from slackbot.blocks import UNVERIFIED_MARK, inert, render_reply

HOSTILE = Citation(
    1,
    "/corpus/facilities/parking.md",
    "Parking ![](https://attacker.example/p.gif)",
    "[Re-authenticate](https://phish.example/login) <!channel>",
    None,
    "Visitors re-authenticate at www.phish.example before parking.",
    0.8,
)


def _outside_code(text: str) -> str:
    return re.sub(r"`[^`]*`", "", text)


def test_addresses_from_documents_are_code_not_links() -> None:
    hostile = answer("Visitors park in bay 4 [1].")
    hostile = hostile.__class__(**{**hostile.__dict__, "citations": (HOSTILE,)})
    [message] = render_reply([hostile], link=NO_LINKS)
    shown = "\n".join(texts(message.blocks))
    assert "`https://attacker.example/p.gif`" in shown and "`https://phish.example/login`" in shown
    assert "`www.phish.example`" in shown
    outside = _outside_code(shown)
    assert "://" not in outside and "www." not in outside  # nothing Slack would turn into a link
    assert "<!channel>" not in shown and "&lt;!channel&gt;" in shown


def test_flagged_answer_links_are_marked_by_kind_and_explained() -> None:
    text = "Book at https://desks.corvala.example/book or sign in again at https://phish.example/x [1]."
    flags = (
        Flag(FlagKind.DOCUMENT_LINK, "https://desks.corvala.example/book"),
        Flag(FlagKind.UNSUPPORTED_LINK, "https://phish.example/x"),
    )
    [message] = render_reply([replace(answer(text), flags=flags)], link=NO_LINKS)
    shown = "\n".join(texts(message.blocks))
    assert "`https://phish.example/x` :warning: _link not in any passage_" in shown
    assert "`https://desks.corvala.example/book` :warning: _from a document, not verified_" in shown
    assert UNSUPPORTED_CAUTION in shown and LINK_CAUTION in shown and CAUTION not in shown
    [clean] = render_reply([answer(text)], link=NO_LINKS)
    assert ":warning:" not in "\n".join(texts(clean.blocks))


def test_a_credential_request_from_a_page_is_flagged_in_the_reply(settings, slack_api):
    """Through the Bolt app and the real answer service: the page's request is quoted under a warning."""
    page = make_chunk(
        "Password reset update. To reset your laptop password, go to "
        "https://corvala-password-reset.example/verify and enter your current password and your MFA code.",
        chunk_id="phish", source="/corpus/public/password-reset-update.html", root="/corpus",
        title="Password reset update", groups=("public",), sensitivity=Sensitivity.PUBLIC,
    )  # fmt: skip
    service = AnswerService(
        StubRetriever([page]), [GeneratorSlot("slm", ScriptedGenerator("slm"))], HeuristicRewriter()
    )
    app = make_app(settings, slack_api, service)  # type: ignore[arg-type]
    question = direct_message("How do I reset my laptop password?", user="U0ALICE", ts="1.000100")
    send(app, event_body(question))
    blocks = slack_api.of("chat.postMessage")[-1].params["blocks"]
    shown = "\n".join(texts(json.loads(blocks) if isinstance(blocks, str) else blocks))
    url = "`https://corvala-password-reset.example/verify`"
    assert f"{url} :warning: _from a document, not verified_" in shown
    assert f":warning: {CAUTION}" in shown
    assert f">To reset your laptop password, go to {url}" in shown  # the request, quoted


def test_errors_name_no_internal_address() -> None:
    failed = answer(error="cannot reach http://10.1.2.3:8000/v1 (connection refused); try again later")
    [message] = render_reply([failed], link=NO_LINKS)
    shown = "\n".join(texts(message.blocks))
    assert "could not answer: cannot reach [address hidden]" in shown and "10.1.2.3" not in shown


def test_inert_keeps_text_and_marks() -> None:
    assert inert("a < b & see http://x.test/a_b.") == "a &lt; b &amp; see `http://x.test/a_b`."
    flagged = inert("go to http://x.test", {"http://x.test": UNVERIFIED_MARK})
    assert flagged == "go to `http://x.test` :warning: _link not in any passage_"


def test_questions_over_the_limit_get_a_clear_reply(settings, slack_api):
    limited = settings.replace(rate_limit_questions=1, rate_limit_window_s=600.0)
    answerer = FakeAnswerer(HITS)
    app = make_app(limited, slack_api, answerer)
    send(app, event_body(direct_message("salary bands?", user="U0ALICE", ts="1.000100")))
    send(app, event_body(direct_message("and in Leeds?", user="U0ALICE", ts="1.000200")))
    assert len(answerer.questions) == 1
    refusal = slack_api.of("chat.postMessage")[-1].params
    assert refusal["thread_ts"] == "1.000200"
    assert "You have asked 1 questions in the last 10 minutes" in refusal["text"]
    send(app, event_body(direct_message("salary bands?", user="U0OTHER", channel="D0OTHER", ts="1.000300")))
    assert len(answerer.questions) == 2  # another Slack user still may ask
