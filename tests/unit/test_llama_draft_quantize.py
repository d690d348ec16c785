"""The llama_cpp options for prompt-lookup drafting and derived quantizations (issue 24), with fakes:
options to generator, derived files named by their source and settings and checked on each use,
and token log-probabilities that stay right while drafts run ahead (the real model:
tests/integration/test_llama_formats.py)."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from pathlib import Path

import numpy as np
import pytest

from backends.llama_cpp.build import build_llama_cpp
from backends.llama_cpp.derived import Derivation, DerivedModel, file_sha256, plan_derived
from backends.llama_cpp.generator import LlamaCppOptions
from backends.llama_cpp.logprobs import TokenLogprobs
from backends.llama_cpp.packaged import CATALOGUE
from chat.generators.spec import GeneratorSpec
from core.errors import ConfigError
from core.settings import Settings

SOURCE_BYTES = b"GGUF" + bytes(range(256)) * 8


def spec(**options: object) -> GeneratorSpec:
    return GeneratorSpec.model_validate(
        {"id": "slm", "kind": "llama_cpp", "on_premises": True, "max_sensitivity": "internal", **options}
    )


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "own-model.gguf"
    path.write_bytes(SOURCE_BYTES)
    return path


class FakeQuantizer:
    """Writes a GGUF whose body is the source's, reversed (what it read is visible in the result)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Path, str, int]] = []

    def __call__(self, source: Path, target: Path, quantize: str, threads: int) -> None:
        self.calls.append((source, quantize, threads))
        target.write_bytes(b"GGUF" + source.read_bytes()[4:][::-1])


def derived(source: Path, cache: Path, quantizer: FakeQuantizer, quantize: str = "q4_0") -> DerivedModel:
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    return DerivedModel(source, Derivation(digest, quantize), cache, threads=2, quantizer=quantizer)


# --- options ---------------------------------------------------------------------------------------


def test_prompt_lookup_and_quantize_are_off_by_default(source: Path, tmp_path: Path) -> None:
    options = LlamaCppOptions(model=str(source))
    assert (options.draft, options.draft_tokens, options.quantize) == ("none", 10, "none")
    generator = build_llama_cpp(spec(model=str(source)), Settings().replace(cache_dir=tmp_path))
    assert generator.prompt_lookup == 0 and generator._prepare is None and generator.model_path == source


def test_prompt_lookup_reaches_the_generator_with_its_draft_length(source: Path, tmp_path: Path) -> None:
    entry = spec(model=str(source), draft="prompt_lookup", draft_tokens=6)
    assert build_llama_cpp(entry, Settings().replace(cache_dir=tmp_path)).prompt_lookup == 6
    with pytest.raises(ConfigError, match="draft"):
        build_llama_cpp(spec(model=str(source), draft="medusa"), Settings().replace(cache_dir=tmp_path))
    with pytest.raises(ConfigError, match="quantize"):
        build_llama_cpp(spec(model=str(source), quantize="q2_k"), Settings().replace(cache_dir=tmp_path))


def test_quantize_names_the_derived_file_by_source_digest_and_settings(source: Path, tmp_path: Path) -> None:
    generator = build_llama_cpp(
        spec(model=str(source), quantize="q4_0"), Settings().replace(cache_dir=tmp_path)
    )
    digest = hashlib.sha256(SOURCE_BYTES).hexdigest()
    assert generator.model_path == tmp_path / "models" / "derived" / f"own-model.q4_0.{digest[:16]}.gguf"
    assert generator.endpoint == str(generator.model_path)  # calibrations fitted on the source do not apply
    assert generator.label.endswith("own-model.gguf → Q4_0") and generator._prepare is not None
    assert not generator.model_path.exists()  # derived on the first load, not when built


def test_a_packaged_model_is_named_by_its_pinned_digest_without_hashing(tmp_path: Path) -> None:
    model = CATALOGUE["qwen2.5-coder-0.5b-instruct"]
    planned = plan_derived(model.name, tmp_path / "absent.gguf", "iq4_nl", tmp_path)  # never read
    assert planned.derivation == Derivation(model.sha256, "iq4_nl")
    assert planned.path.name == f"absent.iq4_nl.{model.sha256[:16]}.gguf"


# --- derived files ------------------------------------------------------------------------------------


def test_a_derived_file_is_made_once_and_recorded(source: Path, tmp_path: Path) -> None:
    quantizer = FakeQuantizer()
    model = derived(source, tmp_path, quantizer)
    path = model.prepare()
    assert path == model.path and quantizer.calls == [(source, "q4_0", 2)]
    record = json.loads(path.with_name(path.name + ".json").read_text())
    assert record["derivation"] == {"source_sha256": file_sha256(source), "quantize": "q4_0"}
    assert record["sha256"] == file_sha256(path) and record["size"] == path.stat().st_size
    assert model.prepare() == path and len(quantizer.calls) == 1  # reused
    assert not list(path.parent.glob("*.partial"))


def test_a_tampered_derived_file_is_refused_and_derived_again(
    source: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    quantizer = FakeQuantizer()
    model = derived(source, tmp_path, quantizer)
    path = model.prepare()
    good = path.read_bytes()
    with path.open("r+b") as f:  # same size, one byte changed
        f.seek(100)
        f.write(bytes([good[100] ^ 0xFF]))
    with caplog.at_level(logging.WARNING, logger="backends.llama_cpp.derived"):
        assert model.prepare() == path
    assert len(quantizer.calls) == 2 and path.read_bytes() == good
    assert "deriving it again" in caplog.text


def test_a_touched_but_unchanged_file_is_hashed_and_kept(source: Path, tmp_path: Path) -> None:
    quantizer = FakeQuantizer()
    model = derived(source, tmp_path, quantizer)
    path = model.prepare()
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # copied, restored from backup...
    assert model.prepare() == path and len(quantizer.calls) == 1
    record = json.loads(path.with_name(path.name + ".json").read_text())
    assert record["mtime_ns"] == path.stat().st_mtime_ns  # restamped after the hash matched


def test_a_record_for_other_settings_or_another_source_is_not_trusted(source: Path, tmp_path: Path) -> None:
    quantizer = FakeQuantizer()
    model = derived(source, tmp_path, quantizer)
    path = model.prepare()
    record_path = path.with_name(path.name + ".json")
    record = json.loads(record_path.read_text())
    record["derivation"]["source_sha256"] = "0" * 64
    record_path.write_text(json.dumps(record))
    assert model.prepare() == path and len(quantizer.calls) == 2
    record_path.unlink()
    assert model.prepare() == path and len(quantizer.calls) == 3  # no record: derived again


def test_a_failed_derivation_leaves_nothing_behind(source: Path, tmp_path: Path) -> None:
    def failing(src: Path, target: Path, quantize: str, threads: int) -> None:
        target.write_bytes(b"GGUF half")
        raise ConfigError("llama.cpp could not quantize it")

    model = DerivedModel(source, Derivation(file_sha256(source), "q4_0"), tmp_path, quantizer=failing)
    with pytest.raises(ConfigError, match="could not quantize"):
        model.prepare()
    assert sorted(p.name for p in model.path.parent.iterdir()) == [model.path.name + ".lock"]


# --- token log-probabilities while drafting ----------------------------------------------------------


def test_token_logprobs_read_the_chosen_token_not_the_drafts_ahead_of_it() -> None:
    recorder = TokenLogprobs()
    first = np.array([2.0, 1.0, 0.0, 0.0], dtype=np.single)
    second = np.array([0.0, 0.0, 0.0, 3.0], dtype=np.single)
    recorder(np.array([5, 6], dtype=np.intc), first)  # the prompt: nothing chosen yet
    # token 1 chosen, evaluated with the drafts 3, 3: the next step samples at position 2
    recorder(np.array([5, 6, 1, 3, 3], dtype=np.intc), second)
    recorder(np.array([5, 6, 1, 3, 3], dtype=np.intc), first)  # token 3 chosen: the draft accepted
    assert recorder.values == pytest.approx(
        [1.0 - math.log(math.exp(2) + math.e + 2), 3.0 - math.log(math.exp(3) + 3)]
    )
