"""LangChain adapter: any :class:`~retrieval.retriever.Retriever` as a ``BaseRetriever``.

The user and filters are fixed when the adapter is built, so a LangChain chain can never widen
what the caller may read.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from core.domain import ANONYMOUS, Hit, User
from core.filters import SearchFilters
from core.protocols import Retriever


class DocduetLangChainRetriever(BaseRetriever):
    """Wraps a docduet ``Retriever`` for one user (and optional filters)."""

    retriever: Retriever
    user: User = ANONYMOUS
    filters: SearchFilters | None = None
    top_k: int | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        hits = self.retriever.retrieve(query, user=self.user, filters=self.filters, top_k=self.top_k)
        return [hit_to_document(hit) for hit in hits]


def hit_to_document(hit: Hit) -> Document:
    """A LangChain ``Document``: the chunk's text, with what a citation needs as metadata."""
    chunk = hit.chunk
    metadata: dict[str, Any] = {
        "chunk_id": chunk.chunk_id,
        "source": chunk.source,
        "title": chunk.title,
        "section": chunk.section,
        "page": chunk.page,
        "doc_type": chunk.doc_type,
        "score": hit.score,
        "similarity": hit.similarity,
        "sensitivity": chunk.access.sensitivity.value,
    }
    return Document(page_content=chunk.text, metadata=metadata, id=chunk.chunk_id)
