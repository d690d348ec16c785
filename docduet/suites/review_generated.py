"""A review sheet for a generated test set: a seeded sample of its items beside their passages.

``python -m docduet.suites.review_generated SET/questions.jsonl [--sample 30] [--unanswerable]
[--seed 7] [--out review.md]`` reads the passages from the configured index
(``DOCDUET_COLLECTION``, the one the set was generated from); see :mod:`evaluation.generate.review`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from core.errors import DocduetError
from core.settings import Settings
from docduet.compose import Root
from evaluation.generate.review import SEED, read_records, sample, sheet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path, help="a questions.jsonl written by docduet eval --generate")
    parser.add_argument("--sample", type=int, default=30, help="items to review (default 30)")
    parser.add_argument("--unanswerable", action="store_true", help="review the unanswerable items instead")
    parser.add_argument("--seed", type=int, default=SEED, help=f"the sample's seed (default {SEED})")
    parser.add_argument("--out", type=Path, default=None, help="write the sheet here (default: print it)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    settings = Settings()
    try:
        items = sample(
            read_records(args.questions), args.sample, answerable=not args.unanswerable, seed=args.seed
        )
        with Root(settings) as root:
            index = root.evaluation_parts().index_named(settings.weaviate.collection)
            texts = {c.chunk_id: c.text for c in index.chunks()}
        text = sheet(items, texts.get)
        if args.out is not None:
            args.out.write_text(text, encoding="utf-8")
        else:
            print(text)
    except (DocduetError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
