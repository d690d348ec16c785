"""Derived model files: a GGUF requantized once from a source GGUF, and checked on every later use.

``quantize: q4_0`` in a ``llama_cpp`` entry derives ``<cache_dir>/models/derived/<stem>.<quant>.
<sha256 of the source, 16 hex>.gguf`` from the entry's model with llama.cpp's quantize API. Q4_0
(and IQ4_NL) weights are repacked by llama.cpp at load into layouts its AVX2 kernels read
fastest; the packaged Q4_K_M files are mostly Q5_0/Q8_0 (Qwen 0.5B: rows of 896 do not fit
K-quants' blocks of 256) or Q4_K/Q6_K (Qwen 1.5B). Requantizing already-quantized weights loses
more than quantizing the originals would: measure quality before using one (docs/performance.md).

Beside each derived file a record (``<file>.json``) keeps the source's sha256, the settings, and
the result's sha256, size and modification time. A file is used only when its record names the
same source digest and settings and still describes it; a file whose size or time changed is
hashed again, and one whose content changed is derived again (logged as a warning).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from backends.llama_cpp.logs import route_llama_logs
from backends.llama_cpp.packaged import CATALOGUE, _lock, check_gguf
from core.errors import ConfigError

log = logging.getLogger(__name__)

QUANT_TYPES = {"q4_0": 2, "iq4_nl": 25}
"""Derivable formats and their ``llama_ftype`` (``LLAMA_FTYPE_MOSTLY_Q4_0``, ``..._IQ4_NL``)."""
_BLOCK = 1 << 20

Quantizer = Callable[[Path, Path, str, int], None]
"""``(source, target, quantize, threads)``: writes ``target``; raises ConfigError on failure."""


@dataclass(frozen=True)
class Derivation:
    """What a derived file is: its source (by content) and how it was made from it."""

    source_sha256: str
    quantize: str

    def path(self, source: Path, cache_dir: Path) -> Path:
        """Where the derived file lives: the name carries the source's digest and the settings."""
        return (
            cache_dir / "models" / "derived" / f"{source.stem}.{self.quantize}.{self.source_sha256[:16]}.gguf"
        )


def file_sha256(path: Path) -> str:
    """The sha256 of ``path``'s content."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def derived_model_path(
    source: Path,
    derivation: Derivation,
    cache_dir: Path,
    *,
    threads: int = 1,
    quantizer: Quantizer | None = None,
) -> Path:
    """The derived file for ``source``: reused when its record checks out, else derived (under a
    lock: one process derives, the others wait and reuse it)."""
    target = derivation.path(source, cache_dir)
    if _checked(target, derivation):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _lock(target.with_name(target.name + ".lock")):
        if _checked(target, derivation):  # another process derived it meanwhile
            return target
        log.info("deriving %s (%s) from %s: once, about a minute", target.name, derivation.quantize, source)
        partial = target.with_name(target.name + ".partial")
        try:
            (quantizer or llama_quantize)(source, partial, derivation.quantize, threads)
            digest = file_sha256(partial)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, target)
        _write_record(target, derivation, digest)
    return check_gguf(target)


def _record_path(target: Path) -> Path:
    return target.with_name(target.name + ".json")


def _checked(target: Path, derivation: Derivation) -> bool:
    """True when ``target`` is what its record says and the record is for ``derivation``."""
    try:
        record = json.loads(_record_path(target).read_text(encoding="utf-8"))
        st = target.stat()
    except (OSError, ValueError):
        return False
    if not isinstance(record, dict) or record.get("derivation") != asdict(derivation):
        return False
    if record.get("size") == st.st_size and record.get("mtime_ns") == st.st_mtime_ns:
        return True
    found = file_sha256(target)  # touched since: believe the content, not the stamp
    if found != record.get("sha256"):
        log.warning(
            "%s is not the file derived from %s… (sha256 %s…, recorded %s…); deriving it again",
            target,
            derivation.source_sha256[:12],
            found[:12],
            str(record.get("sha256"))[:12],
        )
        return False
    _write_record(target, derivation, found)
    return True


def llama_quantize(source: Path, target: Path, quantize: str, threads: int) -> None:
    """llama.cpp's quantize API (``llama_model_quantize``): ``source`` requantized into ``target``."""
    import llama_cpp

    route_llama_logs()  # a line per tensor: debug level, not the user's terminal
    params = llama_cpp.llama_model_quantize_default_params()
    params.nthread = threads
    params.ftype = QUANT_TYPES[quantize]
    params.allow_requantize = True  # the sources are quantized already
    code = llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), params)
    if code != 0:
        raise ConfigError(
            f"llama.cpp could not quantize {source} to {quantize} (code {code}); free disk space "
            "under DOCDUET_CACHE_DIR, or remove `quantize` from the generator to use the model as it is"
        )


def _write_record(target: Path, derivation: Derivation, digest: str) -> None:
    st = target.stat()
    record = {
        "derivation": asdict(derivation),
        "sha256": digest,
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
    }
    _record_path(target).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class DerivedModel:
    """A derived file to be made from ``source`` on first load (``prepare``), named beforehand."""

    source: Path
    derivation: Derivation
    cache_dir: Path
    threads: int = 1
    quantizer: Quantizer | None = None
    """None: :func:`llama_quantize`."""

    @property
    def path(self) -> Path:
        return self.derivation.path(self.source, self.cache_dir)

    def prepare(self) -> Path:
        """The derived file, checked, derived first when missing or not what its record says."""
        return derived_model_path(
            self.source, self.derivation, self.cache_dir, threads=self.threads, quantizer=self.quantizer
        )


def plan_derived(
    model: str, source: Path, quantize: str, cache_dir: Path, *, threads: int = 1
) -> DerivedModel:
    """The derived model for a generator's ``model`` (a packaged name: its pinned digest; a path:
    its content hashed now) resolved to ``source``."""
    packaged = CATALOGUE.get(model)
    if packaged is not None:
        digest = packaged.sha256  # resolve_model has just checked the assembled file against it
    else:
        log.info("hashing %s to name its %s derivation", source, quantize)
        digest = file_sha256(source)
    return DerivedModel(source, Derivation(source_sha256=digest, quantize=quantize), cache_dir, threads)
