"""``docduet eval``: load a dataset, measure, and write ``results.json`` and ``report.html``."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chat.generators import GeneratorSpec, load_specs
from core.domain import ANONYMOUS, User
from core.feedback import FeedbackStore
from core.protocols import NullProgress, ProgressSink
from core.settings import Settings
from evaluation.answers import answers_from_records
from evaluation.checkpoint import Checkpoint
from evaluation.confidence_eval import full_report
from evaluation.costs import pricing
from evaluation.datasets import QASet, RetrievalSet, load_dataset
from evaluation.decision import decide
from evaluation.generate.items import read_hand_edits
from evaluation.index import ensure_eval_index
from evaluation.judge import judge_answers
from evaluation.parts import EvalParts
from evaluation.qa_eval import evaluate_qa
from evaluation.recommend import recommend
from evaluation.report import write_outputs
from evaluation.retrieval_eval import (
    DEFAULT_ALPHAS,
    RANK_DEPTH,
    baselines_for,
    evaluate_retrieval,
    methods_for,
)
from evaluation.sources import dataset_sources

log = logging.getLogger(__name__)

SETTINGS_REPORTED = (
    "embedding_model",
    "top_k",
    "alpha",
    "score_threshold",
)
"""What decides the retrieval (never secrets); with the generators' specs, the checkpoint fingerprint."""


@dataclass(frozen=True)
class EvalOptions:
    """What to evaluate and how."""

    dataset: Path
    out: Path
    limit: int | None = None
    generators: tuple[str, ...] | None = None
    """Generator ids to compare; None: every enabled one."""
    alphas: tuple[float, ...] = DEFAULT_ALPHAS
    judge: bool = False
    split: str | None = None
    user: User = ANONYMOUS
    """Who asks, for JSONL questions run against the existing index (eval corpora are public)."""


@dataclass(frozen=True)
class EvalOutcome:
    """Where the outputs went, and the results they hold."""

    results_path: Path
    report_path: Path
    results: dict[str, Any]


def run_eval(
    settings: Settings,
    options: EvalOptions,
    *,
    parts: EvalParts,
    progress: ProgressSink | None = None,
) -> EvalOutcome:
    """Run the evaluation ``options`` describe with ``parts`` (the composition root's); resumes
    from checkpoints in ``options.out``."""
    progress = progress or NullProgress()
    started = time.perf_counter()
    dataset = load_dataset(options.dataset, split=options.split)
    results: dict[str, Any] = {
        "docduet_eval": 1,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "dataset": _dataset_info(dataset, options),
        "settings": {k: settings.value(k) for k in SETTINGS_REPORTED},
    }
    if isinstance(dataset, RetrievalSet):
        results |= _retrieval(parts, settings, dataset, options, progress)
    else:
        results |= _qa(parts, settings, dataset, options, progress)
    feedback = feedback_summary(settings.paths.data_dir)
    if feedback:
        results["feedback"] = feedback
    results["recommendation"] = recommend(results)
    results["wall_s"] = round(time.perf_counter() - started, 2)
    results_path, report_path = write_outputs(options.out, results)
    log.info("wrote %s and %s", results_path, report_path)
    return EvalOutcome(results_path, report_path, results)


def feedback_summary(data_dir: Path) -> list[dict[str, Any]]:
    """The web chat's and Slack's recorded feedback per generator; empty when none exists."""
    path = data_dir / "feedback.sqlite3"
    if not path.is_file():
        return []
    return [asdict(s) for s in FeedbackStore(path).stats()]


def _dataset_info(dataset: RetrievalSet | QASet, options: EvalOptions) -> dict[str, Any]:
    info: dict[str, Any] = {
        "name": dataset.name,
        "kind": dataset.kind,
        "path": str(options.dataset),
        "limit": options.limit,
        "sources": dataset_sources(options.dataset),
    }
    if isinstance(dataset, RetrievalSet):
        info |= {"split": dataset.split, "documents": len(dataset.documents), "queries": len(dataset.queries)}
    else:
        documents = len(dataset.documents) if dataset.documents is not None else None
        info |= {"documents": documents, "questions": len(dataset.items)}
        edits = read_hand_edits(dataset.path) if dataset.kind == "jsonl" else None
        if edits is not None:  # a set written by `docduet eval --generate`
            info["hand_edits"] = edits.as_dict()
    return info


def _retrieval(
    parts: EvalParts,
    settings: Settings,
    dataset: RetrievalSet,
    options: EvalOptions,
    progress: ProgressSink,
) -> dict[str, Any]:
    embedder = parts.embedder()
    index = ensure_eval_index(
        parts.index_named,
        embedder,
        dataset.documents,
        corpus_digest=dataset.corpus_digest,
        settings=settings,
        progress=progress,
    )
    methods = methods_for(options.alphas, settings.retrieval.alpha)
    baselines = baselines_for(settings.retrieval.alpha)
    config = {
        "stage": "retrieval",
        "corpus": dataset.corpus_digest,
        "split": dataset.split,
        "collection": index.collection,
        "methods": [(m.name, m.alpha, m.stemmed) for m in (*methods, *baselines)],
        "depth": RANK_DEPTH,
    }
    checkpoint = Checkpoint(options.out, "retrieval", config)
    section = evaluate_retrieval(
        parts.index_named(index.collection),
        settings,
        dataset,
        embedder=embedder,
        methods=methods,
        limit=options.limit,
        checkpoint=checkpoint,
        progress=progress,
        baselines=baselines,
    )
    return {"index": asdict(index), "retrieval": section, "resumed": checkpoint.resumed}


def _qa(
    parts: EvalParts,
    settings: Settings,
    dataset: QASet,
    options: EvalOptions,
    progress: ProgressSink,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    qa_settings = settings
    if dataset.documents is not None:
        index = ensure_eval_index(
            parts.index_named,
            parts.embedder(),
            dataset.documents,
            corpus_digest=dataset.corpus_digest,
            settings=settings,
            progress=progress,
        )
        qa_settings = settings.replace(collection=index.collection)
        out["index"] = asdict(index)
    specs = parts.generator_specs(settings, options.generators)
    names = tuple(s.id for s in specs)
    config = {
        "stage": "qa",
        "corpus": dataset.corpus_digest,
        "collection": qa_settings.weaviate.collection,
        "generators": names,
        "user": [options.user.name, options.user.groups],
        "settings": {k: settings.value(k) for k in SETTINGS_REPORTED},
        "specs": [_public_spec(s) for s in specs],
    }
    checkpoint = Checkpoint(options.out, "qa", config)
    with parts.answer_service(qa_settings, names) as service:
        out["qa"] = evaluate_qa(
            service,
            dataset,
            generators=names,
            labels={n: service.label(n) for n in names},
            user=options.user,
            limit=options.limit,
            checkpoint=checkpoint,
            progress=progress,
            prices=pricing(settings.costs, load_specs(settings)),
        )
    out["qa"]["specs"] = {s.id: _public_spec(s) for s in specs}
    out |= full_report(answers_from_records(out["qa"]["records"], dataset.name), names)
    out["decision"] = decide(out["qa"], out.get("cascade"))
    out["resumed"] = checkpoint.resumed
    if options.judge:
        out["judge"] = _judge(parts, settings, out["qa"], options, config, progress)
    return out


def _judge(
    parts: EvalParts,
    settings: Settings,
    qa: dict[str, Any],
    options: EvalOptions,
    config: dict[str, Any],
    progress: ProgressSink,
) -> dict[str, Any]:
    ready, unavailable = parts.generators(settings, ["llm"])
    if "llm" not in ready:
        return {
            "endpoint": "",
            "summary": {},
            "grades": [],
            "error": unavailable.get("llm", "not configured"),
        }
    checkpoint = Checkpoint(options.out, "judge", config | {"stage": "judge"})
    return judge_answers(
        ready["llm"], qa["records"], qa["generators"], checkpoint=checkpoint, progress=progress
    )


def _public_spec(spec: GeneratorSpec) -> dict[str, Any]:
    """A generator's spec as recorded with the results: secrets left out."""
    return {k: v for k, v in spec.model_dump(mode="json").items() if "key" not in k}
