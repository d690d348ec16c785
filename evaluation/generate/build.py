"""``docduet eval --generate N``: write a test set from the configured index into ``--out``.

Writes ``questions.jsonl`` (the QA JSONL ``docduet eval`` reads; review, edit or delete lines
before running it) and ``generation.json`` (the counts per filter, the writers, the method, the
ids and hashes written, the wall time).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chat.results import Question
from chat.service import AnswerService
from core.domain import Hit, User
from core.errors import ConfigError, RetrievalError
from core.filters import SearchFilters
from core.identity import UserDirectory
from core.settings import Settings
from evaluation.generate.flow import Generation, Plan
from evaluation.generate.items import MANIFEST_FILE, QUESTIONS_FILE, GeneratedItem, append_item, write_items
from evaluation.generate.writers import default_order
from evaluation.parts import EvalParts

log = logging.getLogger(__name__)

UNANSWERABLE_SHARE = 0.2
"""Of the N items asked for, this share (rounded) is unanswerable; at least one when N >= 3."""
METHOD = {
    "answerable": "the strongest generator allowed to read a passage writes up to three questions, "
    "each with a short answer copied from it; each is kept when the answer occurs in the passage, "
    "the question does not name the passage, the same generator answers it from the passage alone "
    "with the gold, and no kept question is a near-duplicate (embedding cosine >= 0.92)",
    "unanswerable": "the writer rewrites a kept answerable question about another name, place, "
    "number or date of the same kind; kept when it drops a name of the original and brings in one "
    "that no passage of the index contains, retrieval over the whole index (a user in every group) "
    "reaches the passage's document, and no kept unanswerable question is a near-duplicate",
}


@dataclass(frozen=True)
class GenerateOptions:
    """What ``--generate`` was asked for."""

    count: int
    out: Path
    writers: tuple[str, ...] | None = None
    """Generator ids, strongest first (None: hosted ones, then local ones, last listed first)."""
    attempts_per_item: int = 4


@dataclass(frozen=True)
class GeneratedSet:
    """What a run wrote."""

    questions: Path
    manifest: Path
    items: tuple[GeneratedItem, ...]
    summary: dict[str, Any]


def split(count: int) -> Plan:
    """How many answerable and unanswerable items make ``count``."""
    if count < 1:
        raise ConfigError(f"--generate needs at least 1 item, got {count}")
    unanswerable = max(1, round(count * UNANSWERABLE_SHARE)) if count >= 3 else 0
    return Plan(answerable=count - unanswerable, unanswerable=unanswerable)


def generate_set(
    settings: Settings, options: GenerateOptions, *, parts: EvalParts, directory: UserDirectory
) -> GeneratedSet:
    """Write ``options.count`` items generated from ``settings``' index into ``options.out``."""
    started = time.perf_counter()
    plan = split(options.count)
    plan = Plan(plan.answerable, plan.unanswerable, attempts_per_item=options.attempts_per_item)
    index = parts.index_named(settings.weaviate.collection)
    if not index.exists() or not index.count():
        raise RetrievalError(
            f"the index {index.name!r} holds no passages to write questions from; "
            "run `docduet ingest PATH` first"
        )
    chunks = index.chunks()
    order = list(options.writers) if options.writers else default_order(parts.generator_specs(settings))
    generators, unavailable = parts.generators(settings, order)
    for name, why in unavailable.items():
        log.warning("generate: %s cannot write questions: %s", name, why)
    if not generators:
        raise ConfigError(
            f"no generator can write questions ({', '.join(order) or 'none enabled'}); enable one"
        )
    log.info("generate: %d passages, writers strongest first: %s", len(chunks), ", ".join(generators))
    created = datetime.now(UTC).isoformat(timespec="seconds")
    questions = options.out / QUESTIONS_FILE
    write_items(questions, ())  # emptied: kept items are appended as they come
    with parts.answer_service(settings, list(generators)) as service:
        generation = Generation(
            generators,
            [n for n in order if n in generators],
            retriever=_ServiceRetriever(service),
            embedder=parts.embedder(),
            directory=directory,
            created=created,
            on_item=lambda item: append_item(questions, item),
        )
        items, tallies = generation.run(chunks, plan)
    write_items(questions, items)
    summary = {
        "collection": settings.weaviate.collection,
        "created": created,
        "requested": options.count,
        "passages": len(chunks),
        "writers": [n for n in order if n in generators],
        "counts": {kind: tally.as_dict() for kind, tally in tallies.items()},
        "method": METHOD,
        "stopped_early": generation.stopped,
        "item_ids": [i.item_id for i in items],
        "wall_s": round(time.perf_counter() - started, 1),
    }
    manifest = options.out / MANIFEST_FILE
    try:
        manifest.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot write {manifest}: {e}; pick another --out") from e
    return GeneratedSet(questions, manifest, tuple(items), summary)


class _ServiceRetriever:
    """The answer service's retrieval (the one every column shares) as a :class:`Retriever`."""

    def __init__(self, service: AnswerService) -> None:
        self._service = service

    def retrieve(
        self, query: str, *, user: User, filters: SearchFilters | None = None, top_k: int | None = None
    ) -> list[Hit]:
        hits = self._service.retrieve(Question(text=query, user=user, filters=filters)).hits
        return list(hits[:top_k] if top_k is not None else hits)


def summary_lines(generated: GeneratedSet) -> Sequence[str]:
    """What the command prints: the counts per filter and where the set is."""
    lines = (
        ["stopped early (interrupted): the items kept so far are written"]
        if generated.summary["stopped_early"]
        else []
    )
    for kind, counts in generated.summary["counts"].items():
        rejected = ", ".join(f"{k} {v}" for k, v in counts["rejected_by"].items()) or "none"
        failed = counts["generation_failed"] + counts["check_failed"]
        lines.append(
            f"{kind}: {counts['kept']} of {counts['wanted']} kept from "
            f"{counts['questions_written']} questions written from {counts['attempted']} passages "
            f"(rejected by filter: {rejected}; failed generations {failed}; not checked, enough kept "
            f"{counts['not_checked']}; no generator may read {counts['no_generator_may_read']})"
        )
    lines.append(f"questions: {generated.questions}\nsummary:   {generated.manifest}")
    return lines
