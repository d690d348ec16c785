"""The LangChain adapter: fixed user and filters, Documents with citation metadata."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from langchain_core.documents import Document
from pydantic import ValidationError

from core.domain import ANONYMOUS, Access, Chunk, Hit, Sensitivity, User
from core.filters import SearchFilters
from retrieval.langchain import DocduetLangChainRetriever, hit_to_document


def make_hit(n: int, page: int | None = None) -> Hit:
    chunk = Chunk(
        chunk_id=f"id-{n}", source=f"/c/doc{n}.pdf", root="/c", title=f"Doc {n}", text=f"text {n}",
        index=n, doc_type="pdf", section=f"Section {n}", page=page,
        modified=datetime(2025, 1, 1, tzinfo=UTC), content_hash="h",
        access=Access(("hr",), Sensitivity.CONFIDENTIAL),
    )  # fmt: skip
    return Hit(chunk=chunk, score=1.0 / (n + 1), similarity=0.5)


class RecordingRetriever:
    """A docduet Retriever that records its calls and returns two fixed hits."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, User, SearchFilters | None, int | None]] = []

    def retrieve(self, query, *, user, filters=None, top_k=None):
        self.calls.append((query, user, filters, top_k))
        return [make_hit(0, page=2), make_hit(1)]


def test_invoke_returns_documents_with_metadata():
    inner = RecordingRetriever()
    alice = User("alice", ("employees", "hr"))
    filters = SearchFilters(doc_types=("pdf",))
    lc = DocduetLangChainRetriever(retriever=inner, user=alice, filters=filters, top_k=3)
    docs = lc.invoke("notice period")
    assert inner.calls == [("notice period", alice, filters, 3)]
    assert all(isinstance(d, Document) for d in docs)
    assert [d.page_content for d in docs] == ["text 0", "text 1"]
    assert docs[0].id == "id-0"
    assert docs[0].metadata == {
        "chunk_id": "id-0", "source": "/c/doc0.pdf", "title": "Doc 0", "section": "Section 0",
        "page": 2, "doc_type": "pdf", "score": 1.0, "similarity": 0.5,
        "sensitivity": "confidential",
    }  # fmt: skip
    assert docs[1].metadata["page"] is None


def test_defaults_to_anonymous_without_filters():
    inner = RecordingRetriever()
    DocduetLangChainRetriever(retriever=inner).invoke("q")
    assert inner.calls == [("q", ANONYMOUS, None, None)]


def test_batch_goes_through_the_same_user():
    inner = RecordingRetriever()
    carol = User("carol", ("employees",))
    DocduetLangChainRetriever(retriever=inner, user=carol).batch(["a", "b"])
    assert sorted(c[0] for c in inner.calls) == ["a", "b"]
    assert {c[1] for c in inner.calls} == {carol}


def test_rejects_something_that_is_not_a_retriever():
    with pytest.raises(ValidationError):
        DocduetLangChainRetriever(retriever=object())


def test_hit_to_document_keeps_text_unchanged():
    assert hit_to_document(make_hit(4)).page_content == "text 4"
