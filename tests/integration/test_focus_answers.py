"""context_tokens end to end: real Weaviate, the packaged Qwen 0.5B in process, two columns.

The same model answers twice from the same retrieval: once from whole chunks, once with
``context_tokens`` (:mod:`chat.focus`). The focused prompt is shorter by llama.cpp's own count
(``Answer.usage.prompt_tokens``), and its citations still name the passages they quote.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from answer_fixtures import CORPUS, answer_settings, stored_chunks

from backends.weaviate_server.server import WeaviateServer
from chat.results import Question
from core.domain import Answer, Chunk
from core.identity import UserDirectory
from core.prompt import neutralise
from core.protocols import NullProgress
from core.settings import Settings
from docduet.compose import answer_service, run_ingest

pytestmark = pytest.mark.integration
log = logging.getLogger(__name__)

QUESTION = "How many unused days of annual leave can I carry over into the next leave year?"
BUDGET = 150
GENERATORS = """
generators:
  - id: whole
    kind: llama_cpp
    model: {model}
    on_premises: true
    max_sensitivity: confidential
    threads: 1
    n_ctx: 2048
    max_passages: 3
    max_tokens: 32
    examples: 1
  - id: focused
    kind: llama_cpp
    model: {model}
    on_premises: true
    max_sensitivity: confidential
    threads: 1
    n_ctx: 2048
    max_passages: 3
    max_tokens: 32
    examples: 1
    context_tokens: {budget}
"""


@pytest.fixture(scope="module")
def settings(
    weaviate_node: WeaviateServer,
    weaviate_binary: Path,
    gguf_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    """The handbook ingested into a collection of this module's own; the two columns above."""
    root = tmp_path_factory.mktemp("focus")
    generators = root / "generators.yaml"
    generators.write_text(GENERATORS.format(model=gguf_path, budget=BUDGET), encoding="utf-8")
    settings = answer_settings(
        weaviate_node, weaviate_binary, root, gguf_path, "http://127.0.0.1:9/v1", generators_file=generators
    )
    documents = root / "documents"
    shutil.copytree(CORPUS / "handbook", documents / "handbook")
    shutil.copy(CORPUS / "_access.yaml", documents / "_access.yaml")
    summary = run_ingest(settings, [documents], progress=NullProgress())
    assert summary.failed == [] and stored_chunks(settings), summary
    return settings


def cited_chunks(answer: Answer, chunks: dict[str, Chunk]) -> list[Chunk]:
    """The chunk each citation names (numbers count the passages sent), checked against its snippet."""
    sent = [chunks[i] for i in answer.privacy.sent_chunk_ids]
    out = []
    for citation in answer.citations:
        chunk = sent[citation.number - 1]
        assert citation.source == chunk.source and citation.section == chunk.section
        assert citation.snippet and citation.snippet in neutralise(chunk.text), citation
        assert f"[{citation.number}]" in answer.text
        out.append(chunk)
    return out


def test_a_budgeted_column_reads_fewer_tokens_and_cites_the_passage_it_quotes(settings: Settings) -> None:
    carol = UserDirectory.from_settings(settings.identity).resolve("carol")
    with answer_service(settings) as service:
        result = service.compare(Question(QUESTION, carol), ["whole", "focused"])
    whole, focused = result.answer("whole"), result.answer("focused")
    for a in (whole, focused):
        log.warning("%s: %d prompt tokens, %r, %s", a.generator, a.usage.prompt_tokens, a.text, a.citations)
        assert a.error is None and a.text.strip(), a
    assert whole.privacy.sent_chunk_ids == focused.privacy.sent_chunk_ids  # the same passages, cut
    saved = whole.usage.prompt_tokens - focused.usage.prompt_tokens
    assert saved >= 100, (whole.usage.prompt_tokens, focused.usage.prompt_tokens)
    assert "5" in focused.text
    chunks = stored_chunks(settings)
    cited = cited_chunks(focused, chunks)
    assert cited and all("carry up to 5 unused days" in c.text for c in cited), focused.citations
    cited_chunks(whole, chunks)
