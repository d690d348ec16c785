"""Generated test sets (``docduet eval --generate``): writers, askers, items and the flow, with fakes
(the filters and the writer's prompt: test_eval_generate_filters.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chat.generators import GeneratorSpec
from core.domain import ANONYMOUS, Sensitivity, User
from core.errors import ConfigError, GenerationError
from core.prompt import Prompt
from evaluation.datasets import load_qa_jsonl
from evaluation.generate.build import split
from evaluation.generate.flow import Generation, Plan, candidates
from evaluation.generate.items import hand_edits, read_hand_edits, write_items
from evaluation.generate.prompts import (
    ANSWERABLE_SYSTEM,
    UNANSWERABLE_SYSTEM,
)
from evaluation.generate.writers import asker_for, default_order, writer_for
from tests.fakes import StubRetriever, corpus, make_chunk
from tests.unit.generate_fakes import (
    ANCHOR,
    DIRECTORY,
    FunctionGenerator,
    generation,
    one_per_file,
    passage,
    reader,
    scripted,
)

# --- writers and askers ----------------------------------------------------------------------


def spec(id_: str, on_premises: bool, kind: str = "llama_cpp", **extra: object) -> GeneratorSpec:
    return GeneratorSpec.model_validate(
        {"id": id_, "kind": kind, "on_premises": on_premises, "max_sensitivity": "internal", **extra}
    )


def test_the_default_order_is_hosted_first_then_local_last_listed_first_without_cascades() -> None:
    specs = [
        spec("slm", True),
        spec("slm-large", True),
        spec("llm", False),
        spec("cascade", True, kind="cascade", steps=["slm", "llm"], thresholds=[0.5]),
    ]
    assert default_order(specs) == ["llm", "slm-large", "slm"]


def test_a_hosted_writer_never_gets_a_confidential_passage(tmp_path: Path) -> None:
    chunks = {c.source.rsplit("/", 1)[1]: c for c in corpus(tmp_path)}
    hosted = FunctionGenerator("llm", str, off_premises=True, max_sensitivity=Sensitivity.INTERNAL)
    local = FunctionGenerator("slm", str)
    both = {"llm": hosted, "slm": local}
    assert writer_for(chunks["employee-handbook.md"], both, ["llm", "slm"]) is hosted
    assert writer_for(chunks["salary-bands.md"], both, ["llm", "slm"]) is local
    assert writer_for(chunks["salary-bands.md"], {"llm": hosted}, ["llm"]) is None


def test_the_asker_may_read_the_source(tmp_path: Path) -> None:
    chunks = {c.source.rsplit("/", 1)[1]: c for c in corpus(tmp_path)}
    assert asker_for(chunks["press-release.md"], DIRECTORY) == ANONYMOUS
    assert asker_for(chunks["salary-bands.md"], DIRECTORY) == User("alice", ("employees", "hr"))
    assert asker_for(chunks["employee-handbook.md"], DIRECTORY).name == "alice"  # first by name
    legal = make_chunk("x", groups=("legal",))
    assert asker_for(legal, DIRECTORY) == User("generated-asker", ("legal",))


def test_split_keeps_a_fifth_unanswerable() -> None:
    assert (split(20).answerable, split(20).unanswerable) == (16, 4)
    assert (split(3).answerable, split(3).unanswerable) == (2, 1)
    assert (split(1).answerable, split(1).unanswerable) == (1, 0)
    with pytest.raises(ConfigError, match="at least 1"):
        split(0)


# --- the flow --------------------------------------------------------------------------------


def test_each_filter_rejects_its_case_and_a_failed_generation_is_skipped() -> None:
    texts = {
        "s1": ("Office life", "The office anchor days are Tuesday and Thursday.", ANCHOR),
        "s2": (
            "Span",
            "The midpoint is set yearly.",
            "Question: What is the salary midpoint?\nAnswer: 90,000 pounds",
        ),
        "s3": (
            "Named",
            "The office anchor days are Tuesday and Thursday.",
            "Question: According to the text, what are the anchor days?\nAnswer: Tuesday and Thursday",
        ),
        "s4": (
            "Trip",
            "Desks are booked in Officely.",
            "Question: Where are desks booked?\nAnswer: Officely",
        ),
        "s5": ("Again", "The office anchor days are Tuesday and Thursday.", ANCHOR),
        "s6": ("Broken", "Nothing here.", GenerationError("the model crashed")),
        "s7": ("Garbled", "Nothing here either.", "Sure! Here is a question about the office."),
        "s8": (
            "Roles",
            "Name an incident lead first.",
            "Question: What is the name of the incident lead?\nAnswer: Incident lead",
        ),
    }
    chunks = [
        make_chunk(f"{first}. {text}", chunk_id=f"id-{source}-0000", source=f"/docs/{source}.md")
        for source, (first, text, _) in texts.items()
    ]
    writer = FunctionGenerator("slm", scripted({first: reply for first, _, reply in texts.values()}))
    items, tallies = generation({"slm": writer}, chunks).run(chunks, Plan(5, 0, min_passage_chars=10))

    assert [i.question for i in items] == ["Which days are the office anchor days?"]
    answerable = tallies["answerable"]
    assert answerable.attempted == 8 and answerable.kept == 1 and answerable.failed == 1
    assert dict(answerable.rejected) == {
        "span": 1,
        "leak": 1,
        "standalone": 1,
        "round_trip": 1,
        "distinct": 1,
        "parsed": 1,
    }
    item = items[0]
    assert (item.answer, item.generator, item.chunk.source) == ("Tuesday and Thursday", "slm", "/docs/s1.md")
    assert item.asker.name == "alice" and item.filters[-1] == "distinct"


PAY = (
    "Question: What is the salary band midpoint for a Senior Software Engineer in Leeds?\n"
    "Answer: 78,000 pounds"
)
NEWS = "Question: How much did Corvala raise in its Series B?\nAnswer: 18 million pounds"


def test_unanswerable_questions_rewrite_a_kept_one_about_a_name_no_passage_holds(tmp_path: Path) -> None:
    chunks = corpus(tmp_path)
    replies = {
        "Office life": "Question: Which days are the Leeds office anchor days?\nAnswer: Tuesday and Thursday",
        "Pay": PAY,
        "News": NEWS,
        "Which days are the Leeds office anchor days?": "Question: Who funds Globex?",  # retrieval: nothing
        "What is the salary band midpoint for a Senior Software Engineer in Leeds?": (
            "Question: What is the salary band midpoint for a Senior Software Engineer in Manchester?"
        ),
        "How much did Corvala raise in its Series B?": NEWS.splitlines()[0],  # unchanged: not swapped
    }
    hosted = FunctionGenerator(
        "llm", scripted(replies), off_premises=True, max_sensitivity=Sensitivity.INTERNAL
    )
    local = FunctionGenerator("slm", scripted(replies))
    items, tallies = generation({"llm": hosted, "slm": local}, chunks).run(
        chunks, Plan(3, 3, min_passage_chars=10)
    )

    unanswerable = [i for i in items if i.answer is None]
    assert [(i.question, i.generator) for i in unanswerable] == [
        ("What is the salary band midpoint for a Senior Software Engineer in Manchester?", "slm")
    ]
    assert unanswerable[0].item_id.startswith("u-") and unanswerable[0].asker.name == "alice"
    assert dict(tallies["unanswerable"].rejected) == {"swapped": 1, "reaches": 1}
    assert all("78,000" not in passage(p) for p in hosted.prompts)  # confidential: local only
    assert all("Senior Software Engineer" not in p.question for p in hosted.prompts)  # its question too
    assert any(p.system == UNANSWERABLE_SYSTEM and "Senior Software" in p.question for p in local.prompts)


def test_every_loop_is_bounded_by_the_attempts_per_item() -> None:
    chunks = [
        make_chunk(f"Same. Text {i} is here.", chunk_id=f"c{i:02d}", source=f"/d/{i:02d}.md")
        for i in range(30)
    ]
    writer = FunctionGenerator("slm", lambda p: "no lines at all")
    _, tallies = generation({"slm": writer}, chunks).run(
        chunks, Plan(2, 1, attempts_per_item=3, min_passage_chars=5)
    )
    # nothing answerable kept: nothing to rewrite as unanswerable
    assert tallies["answerable"].attempted == 6 and tallies["unanswerable"].attempted == 0
    assert len(writer.prompts) == 6


def test_candidates_take_one_passage_per_document_in_turn_and_skip_short_ones() -> None:
    a = [make_chunk(f"{i} " + "x" * 50, chunk_id=f"a{i}", source="/a.md", index=i) for i in range(3)]
    b = [make_chunk(f"{i} " + "y" * 50, chunk_id=f"b{i}", source="/b.md", index=i) for i in range(2)]
    short = make_chunk("tiny", chunk_id="s", source="/c.md")
    assert [c.chunk_id for c in candidates([*b, short, *a], 20)] == ["a0", "b0", "a1", "b1", "a2"]


# --- items -----------------------------------------------------------------------------------


def test_items_are_the_qa_jsonl_eval_reads_with_their_asker_and_hand_edits_are_listed(tmp_path: Path) -> None:
    chunks = corpus(tmp_path / "docs")
    replies = {
        "Office life": ANCHOR,
        "Pay": "Question: What is the salary band midpoint for a Senior Software Engineer?\n"
        "Answer: 78,000 pounds",
        "News": "Question: How much did Corvala raise in its Series B?\nAnswer: 18 million pounds",
    }
    writer = FunctionGenerator("slm", scripted(replies))
    items, _ = generation({"slm": writer}, chunks).run(chunks, Plan(3, 0, min_passage_chars=10))
    path = tmp_path / "set" / "questions.jsonl"
    assert write_items(path, items) == 3
    (tmp_path / "set" / "generation.json").write_text(json.dumps({"item_ids": [i.item_id for i in items]}))

    loaded = load_qa_jsonl(path)
    assert [i.answers for i in loaded.items] == [
        ("Tuesday and Thursday",),
        ("18 million pounds",),
        ("78,000 pounds",),
    ]
    assert loaded.documents is None  # asked against the existing index
    assert loaded.items[2].asker == User("alice", ("employees", "hr"))
    assert loaded.items[1].asker == ANONYMOUS
    record = json.loads(path.read_text().splitlines()[0])
    assert record["generated"]["passage_id"] == "id-employee-handbook"
    assert record["generated"]["filters_passed"] == [
        "parsed",
        "span",
        "leak",
        "standalone",
        "round_trip",
        "distinct",
    ]
    assert read_hand_edits(path) is not None and not read_hand_edits(path)

    lines = path.read_text().splitlines()
    edited = json.loads(lines[0]) | {"answers": ["Tuesdays and Thursdays"]}
    added = {"id": "mine", "question": "Who is the COO?", "answers": ["Erin Maddox"]}
    path.write_text("\n".join([json.dumps(edited), lines[1], json.dumps(added)]) + "\n")
    edits = read_hand_edits(path)
    assert edits is not None
    assert edits.as_dict() == {"edited": [items[0].item_id], "deleted": [items[2].item_id], "added": ["mine"]}


def test_a_hand_written_set_has_no_hand_edits(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps({"question": "q", "answers": ["a"]}) + "\n")
    assert read_hand_edits(path) is None
    assert not hand_edits([], None)


# --- the command -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["eval", "--generate", "3", "questions.jsonl"], "give no DATASET"),
        (["eval", "--generate", "0"], "at least 1 item"),
        (["eval"], "give a DATASET to evaluate, or --generate N"),
    ],
)
def test_the_command_refuses_what_it_cannot_do_before_connecting(
    argv: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from docduet.cli import main

    assert main(argv) == 2
    assert error in capsys.readouterr().err


def test_the_help_describes_generate(capsys: pytest.CaptureFixture[str]) -> None:
    from docduet.cli import main

    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "--generate N" in shown and "--generate-with IDS" in shown and "its own asker" in shown


def test_a_generated_item_is_asked_as_its_own_asker_and_others_as_the_runs_user(tmp_path: Path) -> None:
    from chat.rewrite import HeuristicRewriter
    from chat.service import AnswerService
    from chat.slots import GeneratorSlot
    from core.protocols import NullProgress
    from evaluation.checkpoint import Checkpoint
    from evaluation.datasets import QAItem, QASet
    from evaluation.qa_eval import evaluate_qa
    from tests.fakes import ScriptedGenerator

    chunks = corpus(tmp_path / "docs")
    service = AnswerService(
        StubRetriever(chunks), [GeneratorSlot("slm", ScriptedGenerator("slm"))], HeuristicRewriter()
    )
    question = "What is the salary band midpoint for a Senior Software Engineer?"
    alice = User("alice", ("employees", "hr"))
    items = (
        QAItem("own", question, ("78,000 pounds",), asker=alice),
        QAItem("run", question, ("78,000 pounds",)),
    )
    dataset = QASet("gen", tmp_path / "q.jsonl", items, None, "d", "jsonl")
    section = evaluate_qa(
        service,
        dataset,
        generators=["slm"],
        user=ANONYMOUS,
        limit=None,
        checkpoint=Checkpoint(tmp_path / "out", "qa", {}),
        progress=NullProgress(),
    )
    hits = {r["id"]: [h["source"] for h in r["hits"]] for r in section["records"]}
    assert hits["own"] == [chunks[1].source]  # alice may read the hr passage
    assert hits["run"] == []  # the anonymous run user may not


def test_the_report_lists_the_hand_edits_of_a_generated_set(tmp_path: Path) -> None:
    from evaluation.report import render_report
    from evaluation.run import EvalOptions, _dataset_info

    chunks = corpus(tmp_path / "docs")
    writer = FunctionGenerator("slm", scripted({"Office life": ANCHOR}))
    items, _ = generation({"slm": writer}, chunks).run(chunks[:1], Plan(1, 0, min_passage_chars=10))
    path = tmp_path / "set" / "questions.jsonl"
    write_items(path, items)
    (tmp_path / "set" / "generation.json").write_text(json.dumps({"item_ids": [items[0].item_id, "a-gone"]}))
    info = _dataset_info(load_qa_jsonl(path), EvalOptions(dataset=path, out=tmp_path / "out"))
    assert info["hand_edits"] == {"edited": [], "deleted": ["a-gone"], "added": []}

    results = {"started": "t", "wall_s": 1.0, "recommendation": ["x"], "settings": {}, "dataset": info}
    html = render_report(results | {"dataset": info | {"sources": []}})
    assert "Generated set, changed by hand since it was generated: 1 deleted (a-gone)." in html


def test_an_interrupted_run_keeps_what_it_wrote_and_stops() -> None:
    chunks = one_per_file("Office life. The office anchor days are Tuesday and Thursday")
    calls: list[Prompt] = []

    def reply(prompt: Prompt) -> str:
        calls.append(prompt)
        if len(calls) == 5:  # 3 passages written, the first checked, the second's check: Ctrl-C
            raise KeyboardInterrupt
        return ANCHOR if prompt.system == ANSWERABLE_SYSTEM else reader(prompt)

    run = generation({"slm": FunctionGenerator("slm", reply)}, chunks)
    items, tallies = run.run(chunks, Plan(3, 1, min_passage_chars=10))
    assert run.stopped and len(items) == 1 and len(calls) == 5
    assert tallies["unanswerable"].attempted == 0


def test_a_copy_of_a_file_is_asked_about_once_and_counts_as_its_document_for_reaching(tmp_path: Path) -> None:
    from dataclasses import replace

    chunks = corpus(tmp_path)
    press = chunks[2]
    copy = replace(press, chunk_id="id-copy", source="/elsewhere/press-release.md")
    ids = [c.chunk_id for c in candidates([*chunks, copy], 10)]
    assert len(ids) == 3 and ("id-copy" in ids) != ("id-press-release" in ids)
    replies = {
        "News": NEWS,
        "How much did Corvala raise in its Series B?": "Question: How much did Globex raise in its Series B?",
    }
    writer = FunctionGenerator("slm", scripted(replies))
    run = Generation(
        {"slm": writer},
        ["slm"],
        retriever=StubRetriever([copy]),  # the index returns only the other folder's copy
        embedder=None,
        directory=DIRECTORY,
        created="t",
    )
    items, tallies = run.run([press], Plan(1, 1, min_passage_chars=10))
    assert [i.answer for i in items] == ["18 million pounds", None], dict(tallies["unanswerable"].rejected)
