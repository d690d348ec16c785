"""A two-document corpus and settings for the cascade tests (test_cascade_answers, test_ui_cascade).

One internal handbook page and one confidential HR case note answer the same question, so the
local step reads both and the hosted step (ceiling: internal) may read only the handbook page.
The small local model gets a hand-written calibration for its own GGUF that puts every answer at
0.05, below the default cascade's 0.6: the cascade always escalates to the hosted step.
"""

from __future__ import annotations

from pathlib import Path

from answer_fixtures import answer_settings

from backends.weaviate_server.server import WeaviateServer
from chat.confidence import Calibration
from core.domain import User
from core.protocols import NullProgress
from core.settings import Settings
from docduet.compose import run_ingest

QUESTION = "How many weeks of paid leave does a secondary carer get?"
INTERNAL_FACT = "Secondary carers get 4 weeks of paid parental leave at full pay."
CONFIDENTIAL_MARK = "Case HR-2025-17"
ALICE = User("alice", ("employees", "hr"))
SLM_PROBABILITY = 0.05

FILES = {
    "_access.yaml": "groups: [employees]\nsensitivity: internal\nallow_override: true\n",
    "handbook/_access.yaml": "groups: [employees]\nsensitivity: internal\n",
    "handbook/parental-leave.md": (
        "# Parental leave\n\n"
        f"{INTERNAL_FACT} Primary carers get 20 weeks of paid parental leave at full pay.\n"
    ),
    "hr/_access.yaml": "groups: [hr]\nsensitivity: confidential\n",
    "hr/leave-cases.md": (
        "# Parental leave cases\n\n"
        f"{CONFIDENTIAL_MARK}: a secondary carer in Leeds was granted 6 weeks of paid parental leave "
        "as an exception approved by the HR director.\n"
    ),
}


def cascade_settings(
    node: WeaviateServer, binary: Path, root: Path, gguf: Path, llm_url: str, **overrides: object
) -> Settings:
    """The default generators file (slm, llm, cascade; slm-large disabled) over the two documents,
    ingested; ``slm`` calibrated at :data:`SLM_PROBABILITY` for ``gguf``."""
    corpus = root / "corpus"
    for name, text in FILES.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text, encoding="utf-8")
    settings = answer_settings(
        node, binary, root, gguf, llm_url, slm_max_tokens=24, llm_max_tokens=24, **overrides
    )
    summary = run_ingest(settings, [corpus], progress=NullProgress())
    assert summary.failed == [] and len(summary.added) == 2
    folder = settings.paths.data_dir / "calibration"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "slm.json").write_text(always(SLM_PROBABILITY, "slm", gguf.name).to_json(), encoding="utf-8")
    return settings


def always(probability: float, generator: str, model: str) -> Calibration:
    """A calibration without features: every answer of ``generator`` by ``model`` gets ``probability``."""
    import math

    return Calibration(
        generator=generator,
        model=model,
        features=(),
        mean=(),
        scale=(),
        weights=(),
        intercept=math.log(probability / (1 - probability)),
        fitted_on={"data": ["hand-written for the cascade tests"], "date": "2026-12-07"},
    )
