"""Token-sized chunks: the embedding model's own limit, sentence boundaries, overlap, ids."""

from __future__ import annotations

import itertools
import math
import os
from pathlib import Path

import pytest
from fakes import WordTokenizer

from backends.sentence_transformers import embedding_window
from core.domain import Access, Sensitivity, SourceFile
from core.errors import ConfigError
from core.protocols import Section, TokenWindow
from core.settings import Settings
from ingest.chunking import chunk_document
from ingest.splitter import token_splitter

SENTENCES = [
    "Employees book travel through the approved portal at least fourteen days ahead.",
    "Receipts for hotels, rail fares and taxis are uploaded within thirty days of return.",
    "Meals are reimbursed up to the daily allowance of the destination country.",
    "Business-class flights need the written approval of a director beforehand.",
    "Mileage in a private car is paid at 0.45 GBP per mile for the first 10,000 miles.",
    "Lost receipts are replaced by a signed declaration, at most twice a year.",
]
NUMBERED = [f"{s[:-1]} (rule {n})." for n, s in enumerate(SENTENCES * 8, start=1)]
LONG_TEXT = " ".join(NUMBERED)  # 999 word pieces of all-MiniLM-L6-v2, no two sentences alike



@pytest.fixture(scope="module")
def minilm() -> TokenWindow:
    return embedding_window(Settings())


def test_the_limit_comes_from_the_embedding_model(minilm: TokenWindow) -> None:
    assert minilm.model == "all-MiniLM-L6-v2"
    assert minilm.max_tokens == 254  # max_seq_length 256 less [CLS] and [SEP]
    assert token_splitter(Settings().ingest, minilm).max_tokens == 254
    assert token_splitter(Settings(chunk_max_tokens=100).ingest, minilm).max_tokens == 100
    assert token_splitter(Settings(chunk_max_tokens=9999).ingest, minilm).max_tokens == 254  # capped


def test_no_piece_exceeds_the_model_limit_and_pieces_are_even(minilm: TokenWindow) -> None:
    splitter = token_splitter(Settings().ingest, minilm)
    total = minilm.count(LONG_TEXT)
    pieces = splitter.split(LONG_TEXT)
    sizes = [minilm.count(p) for p in pieces]
    assert len(pieces) == math.ceil((total - 32) / (254 - 32)) >= 3  # fewest that fit with overlap
    assert max(sizes) <= 254
    assert min(sizes) > 150, sizes  # evenly sized, no tiny tail
    assert all(p.rstrip().endswith(".") for p in pieces), "split at sentence ends"


def test_consecutive_pieces_overlap_by_a_sentence_that_fits(minilm: TokenWindow) -> None:
    pieces = token_splitter(Settings(chunk_overlap_tokens=32).ingest, minilm).split(LONG_TEXT)
    for before, after in itertools.pairwise(pieces):
        shared = [before[i:] for i in range(len(before)) if after.startswith(before[i:])]
        assert shared, (before[-80:], after[:80])
        assert shared[0][0].isupper() and 0 < minilm.count(shared[0]) <= 32  # whole sentences
    apart = token_splitter(Settings(chunk_overlap_tokens=0).ingest, minilm).split(LONG_TEXT)
    assert sum(minilm.count(p) for p in apart) < sum(minilm.count(p) for p in pieces)


def test_a_text_that_fits_is_one_piece_and_blank_text_none(minilm: TokenWindow) -> None:
    splitter = token_splitter(Settings().ingest, minilm)
    assert splitter.split("  Short policy text.  ") == ["Short policy text."]
    assert splitter.split(" \n ") == []


def test_a_sentence_longer_than_the_limit_is_split_between_words() -> None:
    window = TokenWindow("words", 10, WordTokenizer())
    pieces = token_splitter(Settings(chunk_overlap_tokens=2).ingest, window).split(
        " ".join(f"w{i}" for i in range(35))
    )
    assert all(window.count(p) <= 10 for p in pieces) and len(pieces) >= 4
    assert pieces[0].split()[0] == "w0" and pieces[-1].split()[-1] == "w34"


def test_another_model_gets_chunks_sized_for_it() -> None:
    small = TokenWindow("tiny-model", 20, WordTokenizer())
    pieces = token_splitter(Settings().ingest, small).split(LONG_TEXT)
    assert all(small.count(p) <= 20 for p in pieces) and len(pieces) > 20


def test_the_overlap_is_at_most_a_quarter_of_a_chunk(minilm: TokenWindow) -> None:
    assert token_splitter(Settings(chunk_max_tokens=16, chunk_overlap_tokens=16).ingest, minilm).overlap == 4
    assert token_splitter(Settings(chunk_overlap_tokens=0).ingest, minilm).overlap == 0


def test_invalid_token_settings_say_what_to_set(minilm: TokenWindow) -> None:
    with pytest.raises(ValueError, match="chunk_overlap_tokens"):
        Settings(chunk_overlap_tokens=-1)
    with pytest.raises(ConfigError, match="DOCDUET_CHUNK_MAX_TOKENS"):
        token_splitter(Settings().ingest, TokenWindow("broken", 0, WordTokenizer()))


def test_chunk_document_splits_long_sections_deterministically(tmp_path: Path, minilm: TokenWindow) -> None:
    path = tmp_path / "travel.md"
    path.write_text("x", encoding="utf-8")
    os.utime(path, (1_700_000_000, 1_700_000_000))
    file = SourceFile(path, tmp_path)
    sections = [Section("\n\n".join(["Expenses", *NUMBERED]), "Expenses", 1)]  # one long section
    settings = Settings()
    access = Access(("employees",), Sensitivity.INTERNAL)

    def run(content_hash: str = "h1") -> list:  # type: ignore[type-arg]
        return chunk_document(
            file, sections, access=access, content_hash=content_hash, settings=settings, window=minilm
        )

    chunks = run()
    assert len(chunks) >= 3 and all(minilm.count(c.text) <= 254 for c in chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert {c.section for c in chunks} == {"Expenses"} and chunks[0].text.startswith("Expenses")
    assert [c.chunk_id for c in run()] == [c.chunk_id for c in chunks]
    assert {c.chunk_id for c in run("h2")}.isdisjoint(c.chunk_id for c in chunks)
