"""Evaluation datasets: detect the layout of a path and load it into typed records.

Supported layouts:

- **BEIR** retrieval set: a folder with ``corpus.jsonl`` (``_id``, ``title``, ``text``),
  ``queries.jsonl`` or ``queries-<split>.jsonl`` (``_id``, ``text``) and ``qrels/<split>.tsv``
  (``query-id  corpus-id  score``, optional header).
- **SQuAD 2.0** JSON (or a folder holding exactly one such file): every paragraph becomes a
  document, every question an item; ``is_impossible`` questions have no gold answer.
- **QA JSONL**: one object a line with ``question``, ``answers`` (a string or a list; empty for
  unanswerable) and optionally ``id``, ``source`` (the document that holds the answer) and
  ``context`` (that document's text). With contexts, they are indexed as the documents; without,
  the questions run against the existing docduet index. An ``asker`` (``{name, groups}``, as
  ``docduet eval --generate`` writes it) is the user who asks that question.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from core.domain import User
from core.errors import ConfigError

T = TypeVar("T")
LAYOUTS = (
    "a BEIR folder (corpus.jsonl, queries*.jsonl, qrels/*.tsv), a SQuAD 2.0 .json file, "
    "or a .jsonl file of {question, answers[, source, context]} objects"
)


@dataclass(frozen=True)
class EvalDocument:
    """One document of an evaluation corpus (indexed as a single chunk)."""

    doc_id: str
    title: str
    text: str
    section: str = ""


@dataclass(frozen=True)
class EvalQuery:
    """One retrieval query."""

    query_id: str
    text: str


@dataclass(frozen=True)
class RetrievalSet:
    """A BEIR-layout retrieval benchmark, restricted to queries that have judgements."""

    name: str
    path: Path
    split: str
    documents: tuple[EvalDocument, ...]
    queries: tuple[EvalQuery, ...]
    qrels: dict[str, dict[str, int]]
    corpus_digest: str
    kind: str = "beir"


@dataclass(frozen=True)
class QAItem:
    """One question with its gold answers (none: unanswerable) and the document holding them."""

    item_id: str
    question: str
    answers: tuple[str, ...]
    source: str | None = None
    asker: User | None = None
    """Who asks it (a user allowed to read its source); None: the run's ``--user``."""

    @property
    def unanswerable(self) -> bool:
        return not any(a.strip() for a in self.answers)


@dataclass(frozen=True)
class QASet:
    """Questions and, unless they run against the existing index, the documents they need."""

    name: str
    path: Path
    items: tuple[QAItem, ...]
    documents: tuple[EvalDocument, ...] | None
    corpus_digest: str
    kind: str


def detect_kind(path: Path) -> str:
    """``beir``, ``squad`` or ``jsonl``; ConfigError naming the supported layouts otherwise."""
    if not path.exists():
        raise ConfigError(f"dataset {path} does not exist; pass {LAYOUTS}")
    if path.is_dir():
        if (path / "corpus.jsonl").is_file() and (path / "qrels").is_dir():
            return "beir"
        jsons = sorted(path.glob("*.json"))
        if len(jsons) == 1 and _is_squad(jsons[0]):
            return "squad"
    elif path.suffix == ".json" and _is_squad(path):
        return "squad"
    elif path.suffix == ".jsonl" and _is_qa_jsonl(path):
        return "jsonl"
    raise ConfigError(f"cannot tell what kind of dataset {path} is; pass {LAYOUTS}")


def load_dataset(path: Path, *, split: str | None = None) -> RetrievalSet | QASet:
    """Load ``path`` in whatever supported layout it has (see the module docstring)."""
    kind = detect_kind(path)
    if kind == "beir":
        return load_beir(path, split=split)
    if kind == "squad":
        return load_squad(path if path.is_file() else next(path.glob("*.json")))
    return load_qa_jsonl(path)


def spread(items: Sequence[T], limit: int | None) -> list[T]:
    """At most ``limit`` items evenly spaced over ``items`` (all of them when ``limit`` is None).

    Deterministic, and representative where the first N would all come from one document.
    """
    if limit is None or limit >= len(items):
        return list(items)
    if limit < 1:
        raise ConfigError(f"--limit must be at least 1, got {limit}")
    return [items[(i * len(items)) // limit] for i in range(limit)]


# --- BEIR ------------------------------------------------------------------------------------


def beir_splits(path: Path) -> list[str]:
    """The splits that have judgements (``qrels/<split>.tsv``)."""
    return sorted(p.stem for p in (path / "qrels").glob("*.tsv"))


def load_beir(path: Path, *, split: str | None = None) -> RetrievalSet:
    """Corpus, the split's queries and its judgements (queries without any are dropped)."""
    split = _choose_split(path, split)
    queries_file = path / f"queries-{split}.jsonl"
    if not queries_file.is_file():
        queries_file = path / "queries.jsonl"
    if not queries_file.is_file():
        raise ConfigError(f"{path} has no queries-{split}.jsonl or queries.jsonl; add the queries")
    qrels = read_qrels(path / "qrels" / f"{split}.tsv")
    queries = tuple(
        EvalQuery(str(q["_id"]), str(q["text"]))
        for q in _jsonl(queries_file)
        if str(q["_id"]) in qrels and any(g > 0 for g in qrels[str(q["_id"])].values())
    )
    if not queries:
        raise ConfigError(f"no query in {queries_file.name} has a judgement in qrels/{split}.tsv")
    corpus = path / "corpus.jsonl"
    documents = tuple(
        EvalDocument(str(d["_id"]), str(d.get("title") or ""), str(d.get("text") or ""))
        for d in _jsonl(corpus)
    )
    return RetrievalSet(
        name=path.name,
        path=path,
        split=split,
        documents=documents,
        queries=queries,
        qrels=qrels,
        corpus_digest=_file_digest(corpus),
    )


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """``query-id -> {corpus-id: score}`` from a BEIR qrels TSV (header line optional)."""
    qrels: dict[str, dict[str, int]] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise ConfigError(f"cannot read judgements {path}: {e}") from e
    for number, line in enumerate(lines, start=1):
        fields = line.split("\t") if "\t" in line else line.split()
        if not fields or not line.strip():
            continue
        try:
            query, doc, score = fields[0], fields[1], int(fields[2])
        except (IndexError, ValueError) as e:
            if number == 1:
                continue  # header
            raise ConfigError(f"{path}:{number}: expected 'query-id corpus-id score'") from e
        qrels.setdefault(query, {})[doc] = score
    return qrels


def _choose_split(path: Path, split: str | None) -> str:
    splits = beir_splits(path)
    if split is not None:
        if split not in splits:
            raise ConfigError(f"{path} has no qrels/{split}.tsv; splits: {', '.join(splits) or 'none'}")
        return split
    if not splits:
        raise ConfigError(f"{path}/qrels holds no <split>.tsv file")
    return splits[0] if len(splits) == 1 else ("test" if "test" in splits else splits[0])


# --- QA --------------------------------------------------------------------------------------


def load_squad(path: Path) -> QASet:
    """SQuAD 2.0: paragraphs ``<article>#<n>`` as documents, every question as an item."""
    data = _read_json(path)
    documents: list[EvalDocument] = []
    items: list[QAItem] = []
    for article in data["data"]:
        title = str(article.get("title") or "").replace("_", " ")
        for number, paragraph in enumerate(article["paragraphs"], start=1):
            doc_id = f"{title}#{number}"
            documents.append(EvalDocument(doc_id, title, str(paragraph["context"]), f"paragraph {number}"))
            for qa in paragraph["qas"]:
                answers = () if qa.get("is_impossible") else tuple(a["text"] for a in qa["answers"])
                items.append(QAItem(str(qa["id"]), str(qa["question"]), answers, doc_id))
    return QASet(
        name=path.stem,
        path=path,
        items=tuple(items),
        documents=tuple(documents),
        corpus_digest=_documents_digest(documents),
        kind="squad",
    )


def load_qa_jsonl(path: Path) -> QASet:
    """Questions from JSONL; records with ``context`` bring their own documents."""
    items: list[QAItem] = []
    contexts: dict[str, EvalDocument] = {}
    for number, record in enumerate(_jsonl(path), start=1):
        if "question" not in record:
            raise ConfigError(f"{path}:{number}: every line needs a 'question'")
        answers = record.get("answers", ())
        answers = (answers,) if isinstance(answers, str) else tuple(str(a) for a in answers or ())
        source = record.get("source")
        if record.get("context"):
            text = str(record["context"])
            source = str(source or f"context-{hashlib.sha256(text.encode()).hexdigest()[:12]}")
            contexts.setdefault(source, EvalDocument(source, str(record.get("title") or source), text))
        asker = _asker(record.get("asker"), f"{path}:{number}")
        items.append(QAItem(str(record.get("id") or number), str(record["question"]), answers, source, asker))
    documents = tuple(contexts.values()) or None
    return QASet(
        name=path.stem,
        path=path,
        items=tuple(items),
        documents=documents,
        corpus_digest=_documents_digest(documents or ()),
        kind="jsonl",
    )


def _asker(value: object, where: str) -> User | None:
    """``{name, groups}`` as a user; None when absent."""
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("groups", []), list):
        raise ConfigError(f"{where}: 'asker' must be {{name, groups: [...]}} or left out")
    name = value.get("name")
    groups = tuple(str(g) for g in value.get("groups", []))
    return User(name=None if name is None else str(name), groups=groups)


# --- helpers ---------------------------------------------------------------------------------


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as e:
                        raise ConfigError(f"{path}:{number} is not valid JSON: {e.msg}") from e
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e}") from e


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(f"cannot read {path} as JSON: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a JSON object")
    return data


def _is_squad(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return isinstance(data, dict) and "paragraphs" in data["data"][0]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return False


def _is_qa_jsonl(path: Path) -> bool:
    try:
        return "question" in next(_jsonl(path))
    except (ConfigError, StopIteration, TypeError):
        return False


def _file_digest(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _documents_digest(documents: Sequence[EvalDocument]) -> str:
    digest = hashlib.sha256()
    for doc in documents:
        for part in (doc.doc_id, doc.title, doc.section, doc.text):
            digest.update(part.encode("utf-8") + b"\0")
    return digest.hexdigest()
