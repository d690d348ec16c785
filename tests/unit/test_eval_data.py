"""Where the evaluation sets are found (DOCDUET_EVAL_DATA) and what each reader does without them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import eval_data
import pytest

from bench.ingestion import default_corpus
from bench.run import markdown
from core.errors import ConfigError
from core.eval_data import SAMPLE_CORPUS, default_eval_data_dir, resolve_dataset
from core.settings import Settings
from docduet.cli import main

FETCH = "make eval-data"


def test_the_default_is_shared_eval_beside_the_checkout_when_it_exists(tmp_path: Path) -> None:
    checkout = tmp_path / "docduet"
    checkout.mkdir()
    (tmp_path / "shared" / "eval").mkdir(parents=True)
    assert default_eval_data_dir(checkout) == tmp_path / "shared" / "eval"


def test_otherwise_the_default_is_the_users_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkout = tmp_path / "docduet"
    checkout.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_eval_data_dir(checkout) == tmp_path / "cache" / "docduet" / "eval"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_eval_data_dir(checkout) == tmp_path / "home" / ".cache" / "docduet" / "eval"


def test_the_setting_reads_docduet_eval_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCDUET_EVAL_DATA", raising=False)
    assert Settings().paths.eval_data == default_eval_data_dir()
    monkeypatch.setenv("DOCDUET_EVAL_DATA", str(tmp_path))
    assert Settings().paths.eval_data == tmp_path


def test_a_bare_set_name_is_read_from_the_eval_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data" / "scifact").mkdir(parents=True)
    (tmp_path / "data" / "scifact" / "corpus.jsonl").write_text("{}\n")
    root = tmp_path / "data"
    assert resolve_dataset(Path("scifact"), root) == root / "scifact"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "squad2-mini").mkdir()  # a folder of that name where the user stands wins
    (tmp_path / "squad2-mini" / "x.json").write_text("{}")
    assert resolve_dataset(Path("squad2-mini"), root) == Path("squad2-mini")
    assert resolve_dataset(Path("mine.jsonl"), root) == Path("mine.jsonl")  # the loader reports it
    where = re.escape(str(root))
    with pytest.raises(ConfigError, match=rf"'formats' is not in {where}.*{FETCH}.*DOCDUET_EVAL_DATA"):
        resolve_dataset(Path("formats"), root)


def test_docduet_eval_names_the_fetch_command_for_a_missing_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCDUET_EVAL_DATA", str(tmp_path))
    assert main(["eval", "scifact"]) == 2
    err = capsys.readouterr().err
    assert f"'scifact' is not in {tmp_path}" in err and FETCH in err


def test_the_ingestion_bench_falls_back_to_the_sample_corpus_and_says_so(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings, notes = make_settings(eval_data=tmp_path), list[str]()
    assert default_corpus(settings, notes) == SAMPLE_CORPUS
    assert len(notes) == 1 and "'handbook-18f' is not in" in notes[0] and FETCH in notes[0]
    assert str(SAMPLE_CORPUS) in notes[0] and SAMPLE_CORPUS.name == "corpora" and SAMPLE_CORPUS.is_dir()
    (tmp_path / "handbook-18f" / "pages").mkdir(parents=True)
    (tmp_path / "handbook-18f" / "pages" / "a.md").write_text("# A\n")
    assert default_corpus(settings, notes) == tmp_path / "handbook-18f" and len(notes) == 1


def test_the_bench_skips_generation_without_squad_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCDUET_EVAL_DATA", str(tmp_path / "nothing"))
    out = tmp_path / "out"
    assert main(["bench", "--quick", "--only", "generation", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "note: generation: skipped: evaluation set 'squad2-mini' is not in" in err and FETCH in err
    report = json.loads((out / "bench.json").read_text())
    assert report["generation"] == {"skipped": report["notes"][0]}
    assert f"Note: {report['notes'][0]}" in (out / "bench.md").read_text()


def test_the_bench_report_names_the_ingestion_corpus() -> None:
    report: dict[str, Any] = {
        "when": "2026-12-07T00:00:00+00:00", "machine": {"cpus": 2}, "quick": True,
        "notes": ["ingestion: measured on corpora/ instead"],
        "ingestion": {
            "corpus": "/x/corpora", "files": 3, "docduet": {"chunks_per_second": 1, "files_per_second": 1,
            "seconds": 1}, "raw_encode": {"chunks_per_second": 1}, "langchain": {"files_per_second": 1},
            "incremental": {"seconds": 1, "share_of_full": 0.1},
            "ratios": {"docduet_vs_raw_encode": 1, "docduet_vs_langchain_files_per_s": 1},
        },
    }  # fmt: skip
    text = markdown(report)
    assert "Ingestion corpus: `/x/corpora`" in text
    assert "Note: ingestion: measured on corpora/ instead" in text


def test_a_test_needing_a_missing_set_is_skipped_or_in_ci_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(eval_data, "EVAL_DATA", tmp_path)
    monkeypatch.delenv(eval_data.REQUIRE_ENV, raising=False)
    where = re.escape(str(tmp_path))
    with pytest.raises(pytest.skip.Exception, match=rf"'scifact' is not in {where}.*{FETCH}"):
        eval_data.require_eval_sets("scifact")
    monkeypatch.setenv(eval_data.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match=rf"{FETCH}.*DOCDUET_REQUIRE_EVAL_DATA is set"):
        eval_data.require_eval_sets("scifact")
    (tmp_path / "scifact").mkdir()
    (tmp_path / "scifact" / "corpus.jsonl").write_text("{}\n")
    eval_data.require_eval_sets("scifact")  # present: nothing happens
    with pytest.raises(pytest.fail.Exception, match=r"sets 'squad2-mini', 'formats' are not in"):
        eval_data.require_eval_sets("scifact", "squad2-mini", "formats")
