"""Warm start (issue 24): the background warm-up the front ends start through the root, with fakes
(a local model's own warm(): tests/unit/test_llama_cores.py and tests/integration/test_llama_warm.py)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from fakes import CountingEmbedder, ScriptedGenerator

from chat.generators import GeneratorSpec
from core.errors import GenerationError
from core.protocols import Embedder, Generator, Warmable
from core.settings import Settings
from docduet.compose import Root
from docduet.models import Models
from docduet.warm import EMBEDDER, warm_models

WAIT_S = 30.0
"""Only a bound: every wait below ends as soon as the event it waits for is set."""


# --- the background warm-up ------------------------------------------------------------------------


class LocalModel(ScriptedGenerator):
    """A local generator that can be warmed: it waits for ``go`` and records the thread it ran on."""

    def __init__(self, name: str, go: threading.Event, fail: bool = False) -> None:
        super().__init__(name)
        self.go, self.fail = go, fail
        self.warmed_on: list[str] = []

    def warm(self) -> None:
        assert self.go.wait(WAIT_S)
        self.warmed_on.append(threading.current_thread().name)
        if self.fail:
            raise GenerationError("the model file is corrupt; point the generator at another GGUF")


def test_the_warm_up_runs_in_the_background_and_skips_what_cannot_be_warmed() -> None:
    go = threading.Event()
    slm, broken, large = LocalModel("slm", go), LocalModel("bad", go, fail=True), LocalModel("large", go)
    hosted = ScriptedGenerator("llm", off_premises=True)
    embedder = CountingEmbedder()
    assert not isinstance(hosted, Warmable) and isinstance(slm, Warmable)

    warming = warm_models(lambda: embedder, {"slm": slm, "llm": hosted, "bad": broken, "large": large})
    assert not warming.done and slm.warmed_on == []  # returned before any model was warmed
    go.set()
    assert warming.wait(WAIT_S)

    assert warming.names == (EMBEDDER, "slm", "bad", "large")  # the hosted model has nothing to warm
    assert set(warming.ready) == {EMBEDDER, "slm", "large"}
    assert "corrupt" in warming.failed["bad"]  # logged; the others were still warmed
    assert embedder.calls == [["warm up"]]
    assert slm.warmed_on == large.warmed_on == ["docduet-warm"]


class FakeModels(Models):
    """Warmable fakes for whatever generators the root asks for."""

    def __init__(self, go: threading.Event) -> None:
        super().__init__()
        self.go = go
        self.built: dict[str, LocalModel] = {}
        self._embedder = CountingEmbedder()

    def embedder(self, settings: Settings) -> Embedder:
        return self._embedder

    def generators(
        self, settings: Settings, specs: Sequence[GeneratorSpec]
    ) -> tuple[dict[str, Generator], dict[str, str]]:
        for spec in specs:
            self.built.setdefault(spec.id, LocalModel(spec.id, self.go))
        return {s.id: self.built[s.id] for s in specs}, {}


def test_the_root_warms_a_cascades_steps_too(tmp_path: Path) -> None:
    go = threading.Event()
    go.set()
    models = FakeModels(go)
    root = Root(Settings().replace(data_dir=tmp_path), models=models)
    assert root.warm(["cascade"]).wait(WAIT_S)
    assert {"slm", "slm-large"} <= set(models.built)  # the cascade's local steps
    assert all(m.warmed_on == ["docduet-warm"] for m in models.built.values())


def test_a_broken_generators_file_does_not_stop_the_front_end_from_starting(tmp_path: Path) -> None:
    broken = tmp_path / "generators.yaml"
    broken.write_text("generators: not a list\n")
    models = FakeModels(threading.Event())
    warming = Root(Settings().replace(generators_file=broken), models=models).warm()
    assert warming.wait(WAIT_S)  # the questions will say what is wrong with the file
    assert warming.names == (EMBEDDER,) and set(warming.ready) == {EMBEDDER} and models.built == {}
