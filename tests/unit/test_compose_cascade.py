"""The composition root wires issue 23's parts: calibrations (packaged, then DATA_DIR/calibration,
each only for the model it was fitted for), each column's selective answering and the cascades'
steps, built once and only when enabled."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cascade_parts import CountingGenerator, fixed
from fakes import HashingEmbedder, make_chunk

from backends.memory import MemoryChunkIndex
from chat.columns import PACKAGED_CALIBRATIONS, calibration_folders
from chat.generators import GeneratorSpec
from chat.results import Question
from core.domain import ChunkVectors, User
from core.protocols import Embedder, Generator
from core.settings import Settings
from docduet.compose import Root
from docduet.models import Models

FILE = """
generators:
  - id: slm
    kind: llama_cpp
    model: qwen.gguf
    on_premises: true
    max_sensitivity: confidential
  - id: slm-large
    kind: llama_cpp
    model: big.gguf
    on_premises: true
    max_sensitivity: confidential
    min_confidence: 0.95
    below: abstain
  - id: spare
    kind: llama_cpp
    enabled: false
    model: spare.gguf
    on_premises: true
    max_sensitivity: confidential
  - id: cascade
    kind: cascade
    steps: [slm, spare, slm-large]
    thresholds: [0.6, 0.6]
"""


class ScriptedModels(Models):
    """Counting generators and a hashing embedder instead of loaded models; records which
    generators were built."""

    def __init__(self) -> None:
        super().__init__()
        self.built: list[str] = []
        self.made: dict[str, CountingGenerator] = {}
        self._embedder = HashingEmbedder()

    def embedder(self, settings: Settings) -> Embedder:
        return self._embedder

    def generators(
        self, settings: Settings, specs: Sequence[GeneratorSpec]
    ) -> tuple[dict[str, Generator], dict[str, str]]:
        for spec in specs:
            self.built.append(spec.id)
            made = self.made.setdefault(spec.id, CountingGenerator(spec.id, f"{spec.id} says 4 weeks [1]."))
            made.endpoint = f"/models/{spec.options['model']}"
        return {s.id: self.made[s.id] for s in specs}, {}


def root_of(tmp_path: Path) -> tuple[Root, ScriptedModels]:
    path = tmp_path / "generators.yaml"
    path.write_text(FILE)
    settings = Settings(generators_file=path, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    models = ScriptedModels()
    return Root(settings, models=models), models


def calibrate(tmp_path: Path, generator: str, probability: float, model: str) -> None:
    folder = tmp_path / "data" / "calibration"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{generator}.json").write_text(fixed(generator, probability, model).to_json())


def index() -> MemoryChunkIndex:
    memory = MemoryChunkIndex("Docs")
    memory.ensure(embedding_model="hashing", dim=16)
    return memory


def test_calibrations_are_read_packaged_then_from_the_data_dir_for_their_own_model(tmp_path: Path) -> None:
    assert calibration_folders(tmp_path) == [PACKAGED_CALIBRATIONS, tmp_path / "calibration"]
    root, _ = root_of(tmp_path)
    calibrate(tmp_path, "slm", 0.8, "qwen.gguf")
    calibrate(tmp_path, "slm-large", 0.8, "another.gguf")  # fitted for another model of that id
    slm, large = CountingGenerator("slm", "x"), CountingGenerator("slm-large", "x")
    slm.endpoint, large.endpoint = "/models/qwen.gguf", "/models/big.gguf"
    assessor = root.assessor({"slm": slm, "slm-large": large})
    assert assessor.calibration("slm") is not None
    assert assessor.calibration("slm-large") is None


def test_the_service_runs_a_cascade_with_its_steps_gates_and_calibrations(tmp_path: Path) -> None:
    root, models = root_of(tmp_path)
    calibrate(tmp_path, "slm", 0.3, "qwen.gguf")
    calibrate(tmp_path, "slm-large", 0.9, "big.gguf")
    memory = index()
    chunk = make_chunk("Secondary carers get 4 weeks of leave.", chunk_id="c1")
    vector = models.embedder(root.settings).embed_documents([chunk.text])[0]
    memory.upsert([chunk], [ChunkVectors(vector, [vector])])
    service = root.service_over(memory, ["cascade"])
    assert models.built == ["slm", "slm-large"]  # the steps, not columns; the disabled one never built
    assert service.generator_names == ["cascade"]
    answer = service.compare(Question("secondary carers leave weeks", User("alice", ("employees",)))).answers[
        0
    ]
    assert [(s.generator, s.outcome) for s in answer.steps] == [
        ("slm", "escalated: 0.30 < 0.60"),
        ("spare", "skipped: unavailable (spare is disabled in the generators file)"),
        ("slm-large", "served"),
    ]
    # the cascade sets no minimum: the serving step's own (0.95, abstain) applies
    assert answer.abstained and answer.text.startswith("Not sure enough to answer (confidence 0.90 < 0.95)")
