"""The randomized permission suite's oracle, checked: tests/permission_corpus.py's model of
docs/access.md against ``ingest.access.resolve`` on the corpora it writes (issue #21).

tests/integration/test_permissions_random.py trusts ``Document.expected`` to say who may read each
document; if the model drifted from the files it writes, or from the rules, that suite would check
the index against a wrong answer. Here both readings meet on every document of a few dozen seeds,
file by file, with no index (``resolve`` only reads the files): any disagreement fails, with the
declarations that produced it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from permission_corpus import (
    DEFAULT_GROUPS,
    DEFAULT_SENSITIVITY,
    Corpus,
    Document,
    Expected,
    build_corpus,
)

from core.domain import Access, Sensitivity, SourceFile
from core.errors import IngestError
from ingest.access import resolve
from ingest.discover import ACCESS_SIDECAR

DEFAULT = Access(DEFAULT_GROUPS, Sensitivity(DEFAULT_SENSITIVITY))
SUITE_SEED = 20261129  # DOCDUET_PERMISSION_SEED's default (tests/integration/permission_checks.py)
SEEDS = (*range(40), SUITE_SEED)
"""Seeds 0-39 held 6 of the 42 disagreements found over seeds 0-199 (a pattern drawn twice)."""
DOCS = 130


def _resolved(corpus: Corpus, doc: Document) -> Expected:
    file = SourceFile(corpus.root / doc.relpath, corpus.root)
    try:
        access = resolve(file, default=DEFAULT, corpus_root=corpus.root).access
    except IngestError:
        return Expected(None, None)
    return Expected(frozenset(access.groups), access.sensitivity.value)


def _layout(corpus: Corpus, doc: Document) -> str:
    """The sidecars on the document's way down, as written, and its front matter."""
    lines = []
    for depth in range(len(doc.folder) + 1):
        path = corpus.root.joinpath(*doc.folder[:depth], ACCESS_SIDECAR)
        if path.exists():
            lines.append(f"  {path.relative_to(corpus.root)}: {path.read_text(encoding='utf-8')!r}")
    lines.append(f"  front matter: {doc.front} (unreadable: {doc.bad_front})")
    return "\n".join(lines)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_model_agrees_with_resolve_on_every_document(tmp_path: Path, seed: int) -> None:
    corpus = build_corpus(tmp_path, seed, DOCS)
    disagreements = [
        f"{doc.relpath}: model {doc.expected}, resolve {got}\n{_layout(corpus, doc)}"
        for doc in corpus.documents
        if (got := _resolved(corpus, doc)) != doc.expected
    ]
    assert not disagreements, f"seed {seed}: {len(disagreements)} disagreements\n" + "\n".join(disagreements)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_sidecars_written_are_the_ones_modelled(tmp_path: Path, seed: int) -> None:
    """A pattern drawn twice for one sidecar was modelled twice but written once (a mapping keeps
    one key): the model then applied a declaration no file held."""
    corpus = build_corpus(tmp_path, seed, DOCS)
    for folder, sidecar in corpus.sidecars.items():
        written = yaml.safe_load(corpus.root.joinpath(*folder, ACCESS_SIDECAR).read_text(encoding="utf-8"))
        assert list(written.get("files", {})) == [p for p, _ in sidecar.patterns], folder
        assert written == sidecar.as_yaml(), folder


def test_the_seeds_reach_the_rules_corners(tmp_path: Path) -> None:
    """The agreement means something: the corpora hold failures, public and narrowed documents."""
    kinds: set[str] = set()
    for seed in SEEDS[:10]:
        for doc in build_corpus(tmp_path / str(seed), seed, DOCS).documents:
            expected = doc.expected
            kinds.add("fails" if expected.fails else str(expected.sensitivity))
            if (
                doc.front is not None
                and doc.front.sensitivity == "public"
                and expected.sensitivity != "public"
            ):
                kinds.add("public refused")
    assert kinds >= {"fails", "public", "internal", "confidential", "public refused"}
