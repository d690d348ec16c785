"""Ingestion against its limits, side by side in one run.

Three ways over the same files into the same Weaviate:

- **docduet**: ``run_ingest`` end to end, with its stage breakdown (discover, plan, parse, chunk,
  embed, write, prune);
- **raw encode**: the embedding model alone on the chunk texts docduet wrote, in one call (the
  model sorts them by length into its batches) on the same threads: the limit ingestion chases;
  and the same for those texts with their pieces (what docduet must embed, ingest/pieces.py);
- **LangChain**: the pipeline a user would write (``UnstructuredLoader``, a
  ``RecursiveCharacterTextSplitter``, ``HuggingFaceEmbeddings``, ``WeaviateVectorStore.add_documents``).

Then the incremental case: 1% of the files (at least one) edited, ``run_ingest`` again, its time
against the full ingest's. Every collection is thrown away afterwards.

``python -m bench.ingestion [CORPUS] [--limit N] [--out FILE]`` (default: the 18F handbook of
``DOCDUET_EVAL_DATA``, all of it, or the repository's ``corpora/`` when the handbook is not there,
into bench/results/ingestion.json).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from backends.sentence_transformers import default_embedding_model_path
from backends.unstructured import setup_unstructured
from backends.weaviate.client import open_client
from backends.weaviate.schema import resolve_alias
from core.eval_data import SAMPLE_CORPUS, find_eval_set, missing_set_message
from core.protocols import NullProgress
from core.settings import Settings
from docduet.compose import build_embedder, open_index, run_ingest
from ingest.discover import SUPPORTED_SUFFIXES
from ingest.pieces import chunk_encoder

log = logging.getLogger(__name__)

LANGCHAIN_CHUNK_CHARS = 1000
"""The LangChain pipeline's splitter: the sizes most tutorials use."""
LANGCHAIN_OVERLAP_CHARS = 100


def default_corpus(settings: Settings, notes: list[str]) -> Path:
    """The 18F handbook of the evaluation data; without it the repository's ``corpora/`` (noted)."""
    handbook = find_eval_set(settings.paths.eval_data, "handbook-18f")
    if handbook is not None:
        return handbook
    notes.append(
        f"ingestion: {missing_set_message('handbook-18f', settings.paths.eval_data)}; measured on the "
        f"repository's sample corpus {SAMPLE_CORPUS} instead"
    )
    log.warning("%s", notes[-1])
    return SAMPLE_CORPUS


def sample_files(root: Path, limit: int | None) -> list[Path]:
    """The files docduet reads under ``root``, sorted; ``limit`` of them spread evenly when given."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
    if limit is None or limit >= len(files):
        return files
    step = len(files) / limit
    return [files[int(i * step)] for i in range(limit)]


def copy_files(files: Sequence[Path], root: Path, target: Path) -> Path:
    """``files`` (under ``root``) copied to ``target`` with their relative paths."""
    for f in files:
        dest = target / f.relative_to(root)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, dest)
    return target


def measure(settings: Settings, root: Path, *, limit: int | None) -> dict[str, Any]:
    """All three pipelines and the incremental re-run over (a sample of) ``root``."""
    files = sample_files(root, limit)
    with tempfile.TemporaryDirectory(prefix="docduet-bench-") as tmp:
        folder = copy_files(files, root, Path(tmp) / "docs")
        local = settings.replace(
            collection=f"BenchIngest{int(time.time() * 1000)}", corpus_root=Path(tmp)
        )
        try:
            docduet, texts = _docduet(local, folder)
            incremental = _incremental(local, folder, docduet["seconds"])
        finally:
            _drop(local, local.weaviate.collection)
        raw = _raw_encode(local, texts)
        raw_pieces = _raw_encode(local, _with_pieces(local, texts))
        langchain = _langchain(local, folder)
    encode_rate = raw["chunks_per_second"]
    return {
        "corpus": str(root),
        "files": len(files),
        "docduet": docduet,
        "raw_encode": raw,
        "raw_encode_with_pieces": raw_pieces,
        "langchain": langchain,
        "incremental": incremental,
        "ratios": {
            "docduet_vs_raw_encode": _ratio(docduet["chunks_per_second"], encode_rate),
            "docduet_vs_raw_encode_with_pieces": _ratio(
                docduet["chunks_per_second"], _ratio(len(texts), raw_pieces["seconds"]) or 0.0
            ),
            "docduet_embed_vs_raw_encode_with_pieces": _ratio(
                raw_pieces["seconds"], docduet["stage_seconds"].get("embed", 0.0)
            ),
            "docduet_vs_langchain_files_per_s": _ratio(
                docduet["files_per_second"], langchain["files_per_second"]
            ),
            "incremental_vs_full": incremental["share_of_full"],
        },
    }


def _docduet(settings: Settings, folder: Path) -> tuple[dict[str, Any], list[str]]:
    summary = run_ingest(settings, [folder], progress=NullProgress())
    with open_index(settings, autostart=False) as connection:
        texts = [c.text for c in connection.index.chunks()]
    files = len(summary.added) + len(summary.updated)
    return {
        "files_ingested": files,
        "failed": len(summary.failed),
        "chunks": summary.chunks,
        "seconds": round(summary.seconds, 2),
        "chunks_per_second": round(summary.chunks_per_second, 2),
        "files_per_second": round(files / summary.seconds, 3) if summary.seconds else 0.0,
        "stage_seconds": {k: round(v, 2) for k, v in summary.stage_seconds.items()},
    }, texts


def _raw_encode(settings: Settings, texts: list[str]) -> dict[str, Any]:
    """One encode call over all ``texts``: the model sorts them by length into its batches."""
    embedder = build_embedder(settings)
    batch = max(1, settings.embedding.embedding_batch_size)
    started = time.perf_counter()
    embedder.embed_documents(texts)
    seconds = time.perf_counter() - started
    return {
        "chunks": len(texts),
        "seconds": round(seconds, 2),
        "chunks_per_second": round(len(texts) / seconds, 2) if seconds else 0.0,
        "threads": settings.embedding.embedding_threads,
        "batch_size": batch,
    }


def _with_pieces(settings: Settings, texts: list[str]) -> list[str]:
    """What docduet embeds for ``texts``: each chunk, and its pieces when it has more than one."""
    encoder = chunk_encoder(settings.ingest, build_embedder(settings))
    out = []
    for text in texts:
        pieces = encoder.pieces.split(text)
        out += [text, *(pieces if len(pieces) > 1 else [])]
    return out


def _incremental(settings: Settings, folder: Path, full_seconds: float) -> dict[str, Any]:
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in {".md", ".txt"})
    edited = files[: max(1, len(files) // 100)]
    for path in edited:
        with path.open("a", encoding="utf-8") as f:
            f.write("\n\nEdited for the incremental benchmark.\n")
    summary = run_ingest(settings, [folder], progress=NullProgress())
    return {
        "edited_files": len(edited),
        "updated": len(summary.updated),
        "seconds": round(summary.seconds, 2),
        "share_of_full": round(summary.seconds / full_seconds, 4) if full_seconds else None,
        "stage_seconds": {k: round(v, 2) for k, v in summary.stage_seconds.items()},
    }


def _langchain(settings: Settings, folder: Path) -> dict[str, Any]:
    """The plain LangChain pipeline over the same files into the same Weaviate."""
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter
    from langchain_unstructured import UnstructuredLoader
    from langchain_weaviate import WeaviateVectorStore

    setup_unstructured()  # the offline spaCy model: the set-up any user on this machine needs
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    started = time.perf_counter()
    documents, failed = [], 0
    for path in files:
        try:
            documents += UnstructuredLoader(str(path)).load()
        except Exception as e:  # a user's loop skips what the loader cannot read, as docduet does
            log.info("LangChain loader failed on %s: %s", path, e)
            failed += 1
    loaded = time.perf_counter()
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=LANGCHAIN_CHUNK_CHARS, chunk_overlap=LANGCHAIN_OVERLAP_CHARS
    )
    chunks = splitter.split_documents(documents)
    for chunk in chunks:  # Weaviate takes flat properties only
        chunk.metadata = {k: v for k, v in chunk.metadata.items() if isinstance(v, str | int | float)}
    split = time.perf_counter()
    embeddings = HuggingFaceEmbeddings(
        model_name=str(settings.embedding.embedding_model or default_embedding_model_path()),
        model_kwargs={"device": "cpu"},
    )
    name = f"BenchLangChain{int(time.time() * 1000)}"
    with open_client(settings, autostart=False) as client:
        try:
            ready = time.perf_counter()
            store = WeaviateVectorStore(client, index_name=name, text_key="text", embedding=embeddings)
            store.add_documents(chunks)
            done = time.perf_counter()
        finally:
            if client.collections.exists(name):
                client.collections.delete(name)
    seconds = (split - started) + (done - ready)  # loading the model is not counted (nor is docduet's)
    ingested = len(files) - failed
    return {
        "files_ingested": ingested,
        "failed": failed,
        "chunks": len(chunks),
        "seconds": round(seconds, 2),
        "chunks_per_second": round(len(chunks) / seconds, 2) if seconds else 0.0,
        "files_per_second": round(ingested / seconds, 3) if seconds else 0.0,
        "stage_seconds": {
            "load": round(loaded - started, 2),
            "split": round(split - loaded, 2),
            "embed_and_write": round(done - ready, 2),
        },
    }


def _drop(settings: Settings, alias: str) -> None:
    with open_client(settings, autostart=False) as client:
        target = resolve_alias(client, alias)
        if target is not None:
            client.alias.delete(alias_name=alias)
            client.collections.delete(target)


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def main() -> None:
    import argparse

    from bench.report import write_report
    from docduet.environment import quiet_third_parties

    quiet_third_parties()
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None, help="files to sample, spread evenly (all)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "ingestion.json")
    args = parser.parse_args()
    settings, notes = Settings(), list[str]()
    corpus = args.corpus or default_corpus(settings, notes)
    write_report(args.out, ingestion=measure(settings, corpus, limit=args.limit), notes=notes)


if __name__ == "__main__":
    main()
