"""The cascade column through real components (issue 23): real Weaviate, the composition root with
the default generators file, the packaged Qwen 0.5B in process as the first step (with a
calibration that puts it below its threshold) and llama-cpp-python's OpenAI-compatible server on
loopback as the hosted last step, behind a proxy that records what was sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from cascade_corpus import ALICE, CONFIDENTIAL_MARK, INTERNAL_FACT, QUESTION, cascade_settings
from llm_server import RecordingProxy

from backends.weaviate_server.server import WeaviateServer
from chat.results import Question
from docduet.compose import answer_service

pytestmark = pytest.mark.integration


def test_an_unsure_local_answer_escalates_to_the_hosted_model_with_only_what_it_may_read(
    weaviate_node: WeaviateServer,
    weaviate_binary: Path,
    gguf_path: Path,
    llm_recorder: RecordingProxy,
    tmp_path: Path,
) -> None:
    settings = cascade_settings(weaviate_node, weaviate_binary, tmp_path, gguf_path, llm_recorder.base_url)
    with answer_service(settings, ["slm", "llm", "cascade"]) as service:
        result = service.compare(Question(QUESTION, ALICE))
        hosted_label = service.label("llm")
    sensitivities = {h.chunk.access.sensitivity.value for h in result.retrieval.hits}
    assert sensitivities == {"internal", "confidential"}, "both documents must be retrieved"
    slm, llm, cascade = (result.answer(n) for n in ("slm", "llm", "cascade"))
    assert slm.error is None and llm.error is None and cascade.error is None, (slm, llm, cascade)

    # the small model's calibration (fitted for its own GGUF) applies, and is below 0.6
    assert slm.confidence is not None and slm.confidence.probability == 0.05
    assert [(s.generator, s.outcome) for s in cascade.steps] == [
        ("slm", "escalated: 0.05 < 0.60"),
        ("slm-large", "skipped: unavailable (slm-large is disabled in the generators file)"),
        ("llm", "served"),
    ]
    assert cascade.label.endswith(f"answered by {hosted_label}") and cascade.text == llm.text

    # the hosted model ran once for its own column and the cascade, and read only the internal page
    assert len([r for r in llm_recorder.requests if r.path.endswith("/chat/completions")]) == 1
    sent = llm_recorder.sent_text()
    assert INTERNAL_FACT.split(" at ")[0] in sent and CONFIDENTIAL_MARK not in sent

    # the cascade's privacy record: everything any step was sent, and that some of it left
    assert cascade.privacy.off_premises
    assert cascade.privacy.sent_chunk_ids[: len(llm.privacy.sent_chunk_ids)] == llm.privacy.sent_chunk_ids
    assert set(cascade.privacy.sent_chunk_ids) == {*slm.privacy.sent_chunk_ids, *llm.privacy.sent_chunk_ids}
    assert cascade.usage.completion_tokens == slm.usage.completion_tokens + llm.usage.completion_tokens
