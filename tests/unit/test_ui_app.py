"""The Streamlit app driven by ``AppTest``: chat, citations, feedback, identity, errors (the admin
page: test_ui_admin.py).

The app runs its real pages and the real AnswerService; the backend behind it is a double
(``FakeBackend`` in ui_app_parts.py: a scripted retriever and generators from tests/fakes.py)
injected through the session state.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from streamlit import config as st_config
from streamlit.testing.v1 import AppTest
from ui_app_parts import (
    ANCHOR,
    APP,
    SALARY,
    FakeBackend,
    ask,
    backend,
    demo_backend,
    loopback_server,
    make_backend,
    markdown,
    md_count,
    start,
    texts,
    unreachable_llm,
)

from core.errors import BackendUnavailableError
from ui.backend import BACKEND_KEY
from ui.signin import SELECTOR_KEY

__all__ = ["backend", "loopback_server"]  # fixtures: the scripted backend; the app listens on loopback


def test_first_page_offers_the_demo_users(backend: FakeBackend) -> None:
    at = start(backend)
    options = at.selectbox(key=SELECTOR_KEY).options
    assert [o.split(" · ")[0] for o in options] == ["anonymous", "alice", "carol", "dana"]
    assert options[3] == "dana · employees, admins"
    assert "Ask your documents" in markdown(at)
    assert not at.chat_message and not at.error


def test_question_is_answered_in_two_columns_with_citations_and_badges(backend: FakeBackend) -> None:
    at = ask(start(backend, "carol"), ANCHOR)
    assert [m.name for m in at.chat_message] == ["user", "assistant"]
    md = markdown(at)
    assert "**Small local model · scripted**" in md and "**Hosted model · scripted**" in md
    captions = texts(at.caption)
    assert "runs on this server, free" in captions and "hosted outside the company" in captions
    assert "127.0.0.1" not in captions  # no internal addresses
    assert md.count("The office anchor days are Tuesday and Thursday :blue-badge[1]") == 2
    labels = [e.label for e in at.expander]
    assert labels == ["\\[1\\] Employee Handbook · Overview · p\\. 2"] * 2  # labels render Markdown
    assert ":orange-background[The office anchor days are Tuesday and Thursday\\.]" in md
    assert ":green-badge[sent off\\-premises: no]" in md and ":orange-badge[sent off\\-premises: yes]" in md
    assert "first token" in md and "tokens]" in md
    assert [b.label for b in at.button if b.label == "Download source"] == ["Download source"] * 2


def test_follow_up_carries_the_conversation(backend: FakeBackend) -> None:
    at = ask(start(backend, "carol"), ANCHOR)
    ask(at, "and which desks?")
    assert backend.retriever.queries[-1] == f"{ANCHOR} and which desks?"
    history = backend.slm.prompts[-1].history
    assert [t.role for t in history] == ["user", "assistant"] and history[0].content == ANCHOR
    assert len([m for m in at.chat_message if m.name == "user"]) == 2


def test_confidential_passages_stay_local_and_restricted_users_do_not_see_them(
    backend: FakeBackend,
) -> None:
    at = ask(start(backend, "alice"), SALARY)
    md = markdown(at)
    assert "78,000" in md and any("Salary Bands" in e.label for e in at.expander)
    assert "more sensitive than this model may receive \\(at most internal\\)" in md
    assert "1 source withheld" in md
    assert all("78,000" not in b.text for p in backend.llm.prompts for b in p.blocks)  # type: ignore[union-attr]
    at.selectbox(key=SELECTOR_KEY).set_value("carol").run()
    assert not at.chat_message  # a new user starts a fresh conversation
    ask(at, SALARY)
    assert "Not found in the documents you can access" in markdown(at)
    assert not any("Salary" in e.label for e in at.expander)


def test_feedback_is_stored_and_a_change_updates_it(backend: FakeBackend) -> None:
    at = ask(start(backend, "carol"), ANCHOR)
    form_button = next(b for b in at.get("button") if getattr(b, "label", "") == "Send")
    form_button.click().run()
    assert "Pick the answer that helped most" in texts(at.warning)
    assert backend.feedback.all() == []
    options = at.segmented_control[0].options
    assert [o.removeprefix(":material/star: ").split(": ", 1)[-1] for o in options][:2] == [
        "Small local model · scripted",
        "Hosted model · scripted",
    ]
    assert [o.replace(":material/star: ", "") for o in options] == [
        "Best: Small local model · scripted",
        "Best: Hosted model · scripted",
        "All good",
        "All wrong",
    ]
    at.segmented_control[0].set_value("best:llm")
    at.text_input[0].input("left one guessed")
    next(b for b in at.get("button") if b.label == "Send").click().run()
    [record] = backend.feedback.all()
    assert (record.verdict, record.comment, record.user, record.question) == (
        "best:llm",
        "left one guessed",
        "carol",
        ANCHOR,
    )
    assert [a["generator"] for a in record.answers] == ["slm", "llm"]
    assert record.answers[1]["off_premises"] is True
    at.segmented_control[0].set_value("all_good")
    next(b for b in at.get("button") if b.label == "Send").click().run()
    assert [r.verdict for r in backend.feedback.all()] == ["all_good"]


def test_unconfigured_and_unreachable_hosted_models_show_in_their_column(tmp_path: Path) -> None:
    at = ask(start(demo_backend(tmp_path / "a", llm=None), "carol"), ANCHOR)
    assert "no hosted LLM is configured; set OPENAI\\_API\\_KEY" in texts(at.warning)  # escaped
    assert len(at.expander) == 1  # the local answer is there with its citation
    at = ask(start(demo_backend(tmp_path / "b", llm=unreachable_llm()), "carol"), ANCHOR)
    warning = texts(at.warning)
    assert "cannot reach \\[address hidden\\]" in warning and "127.0.0.1" not in warning
    assert ":orange-badge[sent off\\-premises: yes]" in markdown(at)  # the prompt was sent
    assert "Tuesday and Thursday" in markdown(at)


def test_index_outage_shows_a_banner_and_keeps_the_conversation(backend: FakeBackend) -> None:
    at = ask(start(backend, "carol"), ANCHOR)
    backend.outage = BackendUnavailableError("docduet's Weaviate is not running")
    ask(at, "Where do I book a desk?")
    banner = texts(at.error)
    assert "docduet db start" in banner and "not running" in banner
    assert md_count(at, "Tuesday and Thursday :blue-badge[1]") == 2  # the earlier turn survived
    assert backend.resets >= 1
    backend.outage = None
    next(b for b in at.button if b.label == "Ask again").click().run()
    assert not at.exception
    assert len([m for m in at.chat_message if m.name == "user"]) == 3
    assert "Desks are booked in Officely" in markdown(at)


def test_hostile_titles_and_sections_render_as_text(backend: FakeBackend) -> None:
    handbook = backend.retriever.chunks[0]
    backend.retriever.chunks[0] = dataclasses.replace(
        handbook,
        title="Parking ![](https://attacker.example/p.gif)",
        section="[Re-authenticate](https://phish.example) <img src=x onerror=alert(1)>",
    )
    at = ask(start(backend, "carol"), ANCHOR)
    [label, _] = [e.label for e in at.expander]
    assert "Parking" in label and "Re\\-authenticate" in label
    unescaped = re.findall(r"(?<!\\)[\[\]()!<>]", label)
    assert unescaped == [], label  # no image, link or HTML syntax survives into the label


def test_questions_over_the_limit_are_refused_with_a_clear_message(tmp_path: Path) -> None:
    backend = demo_backend(tmp_path, rate_limit_questions=1, rate_limit_window_s=600)
    at = ask(start(backend, "carol"), ANCHOR)
    ask(at, "Where do I book a desk?")
    assert "You have asked 1 questions in the last 10 minutes" in texts(at.warning)
    assert len([m for m in at.chat_message if m.name == "user"]) == 1  # the second was not answered
    assert len(backend.retriever.queries) == 1
    other = ask(start(backend, "alice"), ANCHOR)  # another user still may ask
    assert "You have asked" not in texts(other.warning) and len(backend.retriever.queries) == 2


def test_proxy_header_replaces_the_selector(tmp_path: Path) -> None:
    backend = make_backend(tmp_path, ui_user_header="X-Forwarded-User", ui_trusted_proxies=("10.0.0.5",))
    at = start(backend)
    assert not at.selectbox  # AppTest has no connection: anonymous, and it says why
    assert "did not come through the sign\\-in proxy" in texts(at.caption)  # shown escaped
    assert "anonymous · public documents only" in markdown(at)


def test_without_sign_in_the_chat_is_anonymous_and_offers_no_picker(tmp_path: Path) -> None:
    at = start(make_backend(tmp_path))  # users file set, demo picker not enabled
    assert not at.selectbox
    assert "No sign\\-in is configured" in texts(at.caption)


def test_beyond_loopback_the_demo_picker_is_refused(tmp_path: Path) -> None:
    st_config.set_option("server.address", "0.0.0.0")
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.session_state[BACKEND_KEY] = demo_backend(tmp_path)
    at.run()
    assert not at.selectbox and not at.chat_input
    assert "only runs on loopback" in texts(at.error)


def test_with_oidc_only_a_sign_in_button_shows_until_signed_in(tmp_path: Path) -> None:
    backend = make_backend(
        tmp_path,
        oidc_server_metadata_url="http://127.0.0.1:9/.well-known/openid-configuration",
        oidc_client_id="docduet",
        oidc_client_secret="s3cret",
    )
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.session_state[BACKEND_KEY] = backend
    at.run()
    assert not at.exception, at.exception
    assert [b.label for b in at.button if b.label == "Sign in"] == ["Sign in"]
    assert not at.chat_input and not at.selectbox  # nothing of the chat before signing in
    assert "Sign in to ask your documents" in texts(at.info)
