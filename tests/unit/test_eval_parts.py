"""Checkpoints, the judge's protocol, method lists, query vectors, eval chunks and CLI parsing."""

from __future__ import annotations

from collections.abc import Generator as PyGenerator
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from fakes import CountingEmbedder

from backends.sentence_transformers import embedding_window
from core.domain import Sensitivity, Usage
from core.errors import ConfigError, GenerationError
from core.prompt import Prompt
from core.protocols import GenerationResult, NullProgress, TextStream
from core.settings import Settings
from docduet.commands.eval import default_out
from evaluation.checkpoint import Checkpoint, fingerprint
from evaluation.datasets import EvalDocument
from evaluation.index import document_chunks, eval_collection_name
from evaluation.judge import judge_answers, judge_request, parse_score
from evaluation.options import parse_alphas, parse_list
from evaluation.retrieval_eval import QueryVectors, baselines_for, methods_for
from ingest.splitter import token_splitter


def test_checkpoint_resumes_and_drops_a_torn_line(tmp_path: Path) -> None:
    first = Checkpoint(tmp_path, "qa", {"a": 1})
    first.append({"id": "q1", "v": 1})
    first.append({"id": "q2", "v": 2})
    with first.path.open("a") as handle:
        handle.write('{"id": "q3", "v"')  # a crash mid-write
    again = Checkpoint(tmp_path, "qa", {"a": 1})
    assert again.resumed == 2 and "q2" in again and "q3" not in again
    again.append({"id": "q3", "v": 3})
    assert [line for line in again.path.read_text().splitlines()][-1] == '{"id": "q3", "v": 3}'
    assert Checkpoint(tmp_path, "qa", {"a": 1}).get("q3") == {"id": "q3", "v": 3}
    assert Checkpoint(tmp_path, "qa", {"a": 2}).resumed == 0  # another configuration starts afresh


def test_fingerprint_ignores_key_order() -> None:
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


class ScriptedJudge:
    """A stand-in hosted model that replies from a script (the judge logic is under test)."""

    name = "llm"
    endpoint = "http://127.0.0.1:9/v1"
    off_premises = True

    def __init__(self, replies: Sequence[str | Exception]) -> None:
        self.replies = list(replies)
        self.prompts: list[Prompt] = []

    def stream(self, prompt: Prompt, *, max_tokens: int | None = None) -> TextStream:
        self.prompts.append(prompt)
        reply = self.replies.pop(0)

        def pieces() -> PyGenerator[str, None, GenerationResult]:
            if isinstance(reply, Exception):
                raise reply
            yield reply
            return GenerationResult(reply, Usage(1, 1, 0.0))

        return TextStream(pieces())


def record(qid: str, sensitivity: str = "public", error: str | None = None) -> dict[str, Any]:
    return {
        "id": qid,
        "question": "Where?",
        "gold": ["France"],
        "hits": [{"source": "s", "score": 1.0, "sensitivity": sensitivity}],
        "answers": {
            "slm": {"answer": {"text": "France"}, "scores": {"error": error, "correct": error is None}}
        },
    }


def test_judge_grades_skips_and_retries_failures(tmp_path: Path) -> None:
    judge = ScriptedJudge(["SCORE: 2 - right", GenerationError("HTTP 500"), "no grade here"])
    records = [
        record("a"),
        record("b"),
        record("c", sensitivity=Sensitivity.CONFIDENTIAL.value),
        record("d"),
        record("e", error="failed"),
    ]
    checkpoint = Checkpoint(tmp_path, "judge", {})
    section = judge_answers(judge, records, ["slm"], checkpoint=checkpoint, progress=NullProgress())
    assert section["summary"]["slm"] == {
        "judged": 1,
        "skipped": 2,
        "failed": 1,
        "unparsed": 1,
        "mean_score": 1.0,
        "kappa": {"kappa": None, "ci95": None, "agreement": 1.0, "n": 1},  # one grade: no chance term
    }
    assert len(judge.prompts) == 3  # nothing sent for the confidential question or the failed answer
    assert "Reference answers: France" in judge.prompts[0].messages()[-1].content
    retry = ScriptedJudge(["SCORE: 1"])
    again = judge_answers(
        retry, records, ["slm"], checkpoint=Checkpoint(tmp_path, "judge", {}), progress=NullProgress()
    )
    assert len(retry.prompts) == 1 and again["summary"]["slm"]["judged"] == 2  # only the failure was redone
    assert again["summary"]["slm"]["kappa"]["agreement"] == 0.5  # graded 1 (partly) where gold says right
    assert again["agreement"]["n"] == 2


def test_parse_score_and_request() -> None:
    assert parse_score("SCORE: 2 because") == 2
    assert parse_score("score=0") == 0
    assert parse_score("I'd say 3") is None
    assert "(none: the documents do not answer" in judge_request("Q?", [], "x")


def test_methods_always_include_the_default_alpha() -> None:
    names = [(m.name, m.alpha) for m in methods_for((0.25, 0.75, 1.0), 0.5)]
    assert names == [
        ("bm25", 0.0),
        ("vector", 1.0),
        ("hybrid@0.25", 0.25),
        ("hybrid@0.5", 0.5),
        ("hybrid@0.75", 0.75),
    ]
    assert [m.name for m in methods_for((), 0.0)] == ["bm25", "vector"]
    assert all(m.stemmed for m in methods_for((0.25,), 0.5))


def test_baselines_are_unstemmed_bm25_whole_text_vectors_and_the_default_hybrid_without_each() -> None:
    assert [(m.name, m.alpha, m.stemmed, m.pieces) for m in baselines_for(0.6)] == [
        ("bm25-unstemmed", 0.0, False, True),
        ("vector-whole", 1.0, True, False),
        ("hybrid-unstemmed@0.6", 0.6, False, True),
        ("hybrid-whole@0.6", 0.6, True, False),
    ]
    assert [m.name for m in baselines_for(1.0)] == ["bm25-unstemmed", "vector-whole"]
    assert all(m.pieces for m in methods_for((0.25,), 0.5))


def test_query_vectors_embed_in_one_batch() -> None:
    inner = CountingEmbedder()
    vectors = QueryVectors(inner)
    vectors.prime(["a", "b b", "a"])
    assert inner.calls == [["a", "b b"]]
    assert vectors.embed_query("b b") == [2.0, 1.0] and len(inner.calls) == 1
    assert vectors.embed_query("c c c") == [3.0, 1.0] and len(inner.calls) == 2


def test_eval_chunks_are_public_and_deterministic() -> None:
    [chunk] = document_chunks(EvalDocument("d1", "Title", "Body text."))
    assert chunk.text == "Title\n\nBody text." and chunk.source == "d1"
    assert chunk.access.groups == ("public",) and chunk.access.sensitivity is Sensitivity.PUBLIC
    assert [chunk] == document_chunks(EvalDocument("d1", "Title", "Body text."))
    assert document_chunks(EvalDocument("d1", "", "Body"))[0].text == "Body"
    name = eval_collection_name("abc", "all-MiniLM-L6-v2")
    assert name.startswith("DocduetEval_") and name != eval_collection_name("abd", "all-MiniLM-L6-v2")
    assert name != eval_collection_name("abc", "all-MiniLM-L6-v2", "windows-254-32")


def test_long_eval_documents_are_split_as_ingestion_splits_them() -> None:
    sized = Settings(chunk_max_tokens=20, chunk_overlap_tokens=4)
    splitter = token_splitter(sized.ingest, embedding_window(Settings()))
    doc = EvalDocument("d1", "Title", "One short sentence here. " * 12)
    chunks = document_chunks(doc, splitter)
    assert len(chunks) > 1 and {c.source for c in chunks} == {"d1"}
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert all(splitter.window.count(c.text) <= 20 for c in chunks)
    assert len({c.chunk_id for c in chunks}) == len(chunks) and len({c.content_hash for c in chunks}) == 1
    assert chunks == document_chunks(doc, splitter)
    assert {c.chunk_id for c in chunks}.isdisjoint(c.chunk_id for c in document_chunks(doc))


def test_cli_parsing_helpers(tmp_path: Path) -> None:
    assert parse_list(" slm, llm ,slm", "generators") == ("slm", "llm")
    with pytest.raises(ConfigError):
        parse_list(" , ", "generators")
    assert parse_alphas("0.25,0.5") == (0.25, 0.5)
    for bad in ("x", "1.5"):
        with pytest.raises(ConfigError):
            parse_alphas(bad)
    settings = Settings(data_dir=tmp_path)
    assert default_out(settings, Path("eval-sets/squad2-mini")) == tmp_path / "eval" / "squad2-mini"
