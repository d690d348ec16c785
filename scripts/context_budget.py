"""What a context budget keeps: prompt tokens and the gold answer in the passages, per budget.

    .venv/bin/python scripts/context_budget.py COLLECTION [--limit 200] [--budgets 400,300,200,150]

Asks a spread of SQuAD-mini's questions (``DOCDUET_EVAL_DATA``) against COLLECTION, the evaluation
collection ``docduet eval squad2-mini`` built (its ``DocduetEval_...`` name; the same settings,
so the same Weaviate), keeps the first ``--passages`` hits as the `slm` column would, and builds
its prompt with whole passages and with each ``context_tokens`` budget (:mod:`chat.focus`). It
prints, per budget, the chat prompt's tokens by the packaged Qwen 0.5B tokenizer (one worked
example, as the default `slm` entry) and how many answerable questions still have a gold answer
in the passages. No model generates, so it runs in minutes where ``docduet eval`` takes hours.
"""

from __future__ import annotations

import argparse
import json
import statistics
from typing import Any

from llama_cpp import Llama

from backends.llama_cpp.packaged import resolve_model
from chat.prompt import build_prompt
from core.domain import ANONYMOUS
from core.prompt import Prompt
from core.settings import Settings
from docduet.compose import build_embedder, connect
from evaluation.datasets import QASet, load_dataset, spread
from evaluation.metrics import contains_gold
from retrieval.retriever import HybridRetriever


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("collection")
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--budgets", default="400,300,200,150")
    parser.add_argument("--passages", type=int, default=3)
    args = parser.parse_args()
    settings = Settings()
    dataset = load_dataset(settings.paths.eval_data / "squad2-mini")
    assert isinstance(dataset, QASet)
    budgets: list[int | None] = [None, *(int(b) for b in args.budgets.split(","))]
    model = resolve_model("qwen2.5-coder-0.5b-instruct", settings.paths.cache_dir)
    vocab = Llama(str(model), vocab_only=True, verbose=False)

    def tokens(prompt: Prompt) -> int:
        chat = "".join(f"<|im_start|>{m.role}\n{m.content}<|im_end|>\n" for m in prompt.messages(examples=1))
        return len(vocab.tokenize(chat.encode(), add_bos=False, special=True))

    rows: list[dict[str, Any]] = []
    connection = connect(settings, autostart=False)
    try:
        index = connection.index_named(args.collection)
        retriever = HybridRetriever(index, build_embedder(settings), settings.retrieval)
        for item in spread(dataset.items, args.limit):
            hits = retriever.retrieve(item.question, user=ANONYMOUS)[: args.passages]
            row: dict[str, Any] = {"answerable": not item.unanswerable}
            for budget in budgets:
                prompt = build_prompt(item.question, hits, context_tokens=budget)
                gold = None if item.unanswerable else contains_gold(prompt.passages(), item.answers)
                row[str(budget)] = (tokens(prompt), gold)
            rows.append(row)
    finally:
        connection.close()
    print(json.dumps(summary(rows, budgets), indent=1))


def summary(rows: list[dict[str, Any]], budgets: list[int | None]) -> dict[str, Any]:
    """Per budget: questions, prompt tokens (mean, median), gold answers still in the passages."""
    whole = [r for r in rows if r["answerable"] and r["None"][1]]
    return {
        str(budget): {
            "questions": len(rows),
            "prompt_tokens_mean": round(statistics.mean(r[str(budget)][0] for r in rows), 1),
            "prompt_tokens_median": statistics.median(r[str(budget)][0] for r in rows),
            "gold_in_whole_passages": len(whole),
            "gold_still_in_passages": sum(1 for r in whole if r[str(budget)][1]),
        }
        for budget in budgets
    }


if __name__ == "__main__":
    main()
