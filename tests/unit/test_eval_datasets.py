"""Dataset detection and loading, on tmp files for every layout (the shared sets: tests/integration)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import ConfigError
from evaluation.datasets import (
    QASet,
    RetrievalSet,
    detect_kind,
    load_dataset,
    read_qrels,
    spread,
)
from evaluation.sources import dataset_sources


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def make_beir(root: Path, *, splits: tuple[str, ...] = ("train",)) -> Path:
    root.mkdir()
    write_jsonl(
        root / "corpus.jsonl",
        [
            {"_id": "d1", "title": "Cats", "text": "Cats purr."},
            {"_id": "d2", "title": "", "text": "Dogs bark."},
        ],
    )
    (root / "qrels").mkdir()
    for split in splits:
        write_jsonl(
            root / f"queries-{split}.jsonl",
            [
                {"_id": "q1", "text": "purring"},
                {"_id": "q2", "text": "barking"},
                {"_id": "q3", "text": "none"},
            ],
        )
        (root / "qrels" / f"{split}.tsv").write_text(
            "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t2\nq3\td1\t0\n"
        )
    return root


def test_beir_layout_is_detected_and_loaded(tmp_path: Path) -> None:
    root = make_beir(tmp_path / "tiny")
    assert detect_kind(root) == "beir"
    data = load_dataset(root)
    assert isinstance(data, RetrievalSet)
    assert data.split == "train"
    assert [q.query_id for q in data.queries] == ["q1", "q2"]  # q3 has no relevant document
    assert data.qrels["q2"] == {"d2": 2}
    assert [d.doc_id for d in data.documents] == ["d1", "d2"]
    assert len(data.corpus_digest) == 64


def test_beir_split_choice(tmp_path: Path) -> None:
    root = make_beir(tmp_path / "two", splits=("dev", "test"))
    assert load_dataset(root).split == "test"  # type: ignore[union-attr]
    assert load_dataset(root, split="dev").split == "dev"  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="splits: dev, test"):
        load_dataset(root, split="train")


def test_qrels_without_header_and_with_a_bad_line(tmp_path: Path) -> None:
    good = tmp_path / "good.tsv"
    good.write_text("1 a 1\n1 b 0\n2 a 1\n")
    assert read_qrels(good) == {"1": {"a": 1, "b": 0}, "2": {"a": 1}}
    bad = tmp_path / "bad.tsv"
    bad.write_text("1\ta\t1\n2\tb\n")
    with pytest.raises(ConfigError, match=r"bad\.tsv:2"):
        read_qrels(bad)


def squad_json(path: Path) -> Path:
    data = {
        "version": "v2.0",
        "data": [
            {
                "title": "Super_Bowl",
                "paragraphs": [
                    {
                        "context": "The game was played in Santa Clara.",
                        "qas": [
                            {
                                "id": "a1",
                                "question": "Where?",
                                "answers": [{"text": "Santa Clara", "answer_start": 23}],
                                "is_impossible": False,
                            },
                            {
                                "id": "a2",
                                "question": "Who sang?",
                                "answers": [],
                                "is_impossible": True,
                                "plausible_answers": [{"text": "x", "answer_start": 0}],
                            },
                        ],
                    },
                ],
            }
        ],
    }
    path.write_text(json.dumps(data))
    return path


def test_squad_file_and_folder(tmp_path: Path) -> None:
    folder = tmp_path / "squad"
    folder.mkdir()
    path = squad_json(folder / "dev.json")
    for target in (path, folder):
        assert detect_kind(target) == "squad"
        data = load_dataset(target)
        assert isinstance(data, QASet)
        assert [(i.item_id, i.unanswerable, i.source) for i in data.items] == [
            ("a1", False, "Super Bowl#1"),
            ("a2", True, "Super Bowl#1"),
        ]
        assert data.documents is not None
        assert data.documents[0].title == "Super Bowl" and data.documents[0].section == "paragraph 1"


def test_qa_jsonl_with_and_without_contexts(tmp_path: Path) -> None:
    with_context = write_jsonl(
        tmp_path / "ctx.jsonl",
        [
            {"question": "Capital?", "answers": "Paris", "context": "Paris is the capital.", "source": "fr"},
            {
                "id": "x",
                "question": "Unknown?",
                "answers": [],
                "context": "Paris is the capital.",
                "source": "fr",
            },
        ],
    )
    data = load_dataset(with_context)
    assert isinstance(data, QASet) and data.kind == "jsonl"
    assert [(i.item_id, i.answers, i.unanswerable) for i in data.items] == [
        ("1", ("Paris",), False),
        ("x", (), True),
    ]
    assert data.documents is not None and [d.doc_id for d in data.documents] == ["fr"]
    plain = write_jsonl(tmp_path / "plain.jsonl", [{"question": "Q?", "answers": ["A"], "source": "hr/x.md"}])
    loaded = load_dataset(plain)
    assert isinstance(loaded, QASet) and loaded.documents is None  # runs against the existing index


def test_unknown_layouts_name_the_supported_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        detect_kind(tmp_path / "missing")
    (tmp_path / "x.jsonl").write_text('{"text": "no question"}\n')
    with pytest.raises(ConfigError, match="BEIR folder"):
        detect_kind(tmp_path / "x.jsonl")
    (tmp_path / "broken.jsonl").write_text('{"question": "a"}\n{not json\n')
    with pytest.raises(ConfigError, match=r"broken\.jsonl:2"):
        load_dataset(tmp_path / "broken.jsonl")


def test_spread_is_even_and_deterministic() -> None:
    assert spread(list(range(10)), 3) == [0, 3, 6]
    assert spread(list(range(4)), None) == [0, 1, 2, 3]
    assert spread(list(range(4)), 9) == [0, 1, 2, 3]
    with pytest.raises(ConfigError):
        spread([1], 0)


def test_sources_fall_back_to_a_licence_reminder(tmp_path: Path) -> None:
    assert "Check its licence" in dataset_sources(tmp_path)[0]
    (tmp_path / "README.md").write_text("| `mine/` | my set | CC0 |\n")
    (tmp_path / "mine").mkdir()
    assert any("CC0" in n for n in dataset_sources(tmp_path / "mine"))
    (tmp_path / "mine" / "LICENSE").write_text("CC0")
    notes = dataset_sources(tmp_path / "mine")
    assert "Licence file: mine/LICENSE" in notes and "README.md: `mine/` my set CC0" in notes
    assert not any(str(tmp_path) in n for n in [*notes, *dataset_sources(tmp_path / "other.jsonl")])
