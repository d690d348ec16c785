"""``docduet eval --generate``: a few questions written from a tiny index by the real local model."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from core.identity import UserDirectory
from core.protocols import NullProgress
from core.settings import Settings
from docduet.compose import evaluation_parts, run_ingest
from evaluation.datasets import load_qa_jsonl
from evaluation.generate.build import GenerateOptions, generate_set
from evaluation.generate.filters import span_found
from evaluation.generate.items import read_hand_edits
from evaluation.generate.review import read_records, sample, sheet

pytestmark = pytest.mark.integration

DOCS = {
    "canteen.md": "# Staff canteen\n\nThe staff canteen on the ground floor of the Leeds office opens at "
    "07:30 and closes at 15:00 on weekdays. Hot meals are served from 11:45. Employees pay with their "
    "badge; the canteen does not take cash. Visitors eat free when a host signs them in at reception.\n",
    "parking.md": "# Visitor parking\n\nVisitors to the Leeds office park on level -2 of the west garage, "
    "in bays 40 to 80. Reception issues a day ticket that opens the exit barrier. Staff with an electric "
    "car may charge it in bays 10 to 14 for at most four hours a day.\n",
    "hr/bonus.md": "# Bonus scheme 2025\n\nThe annual bonus for 2025 is paid in March 2026. The bonus "
    "pool is 8 percent of salary costs, and each team lead proposes the split for the team. An employee on a "
    "performance improvement plan receives no bonus for that year. The People team confirms every amount.\n",
}


def tiny_corpus(root: Path) -> Path:
    for name, text in DOCS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    (root / "hr" / "_access.yaml").write_text("groups: [hr]\nsensitivity: confidential\n", encoding="utf-8")
    return root


USERS = "users:\n  alice: {groups: [employees, hr]}\n  carol: {groups: [employees]}\n"


@pytest.mark.slow
def test_a_few_questions_from_a_tiny_index_with_the_local_model(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    users = tmp_path / "users.yaml"
    users.write_text(USERS, encoding="utf-8")
    settings = make_settings(slm_threads=1, embedding_threads=1, top_k=2, users_file=users)
    docs = tiny_corpus(tmp_path / "docs")
    assert not run_ingest(settings, [docs], progress=NullProgress()).failed
    options = GenerateOptions(count=3, out=tmp_path / "set", writers=("slm",), attempts_per_item=3)
    with evaluation_parts(settings) as parts:
        generated = generate_set(settings, options, parts=parts, directory=UserDirectory.from_file(users))
        texts = {c.chunk_id: c.text for c in parts.index_named(settings.weaviate.collection).chunks()}
    review = sheet(sample(read_records(generated.questions), 5, answerable=True), texts.get)

    counts = generated.summary["counts"]
    for kind in ("answerable", "unanswerable"):
        c = counts[kind]
        unparsed = c["rejected_by"].get("parsed", 0)
        failed, no_writer = c["generation_failed"], c["no_generator_may_read"]
        assert c["attempted"] == c["passages_with_questions"] + unparsed + failed + no_writer
        rejected = sum(c["rejected_by"].values()) - unparsed
        assert c["questions_written"] == c["kept"] + rejected + c["check_failed"] + c["not_checked"]
        assert c["attempted"] <= 3 * c["wanted"]  # bounded
    assert counts["answerable"]["wanted"] == 2 and counts["unanswerable"]["wanted"] == 1
    loaded = load_qa_jsonl(generated.questions)
    assert [i.item_id for i in loaded.items] == generated.summary["item_ids"]
    assert counts["answerable"]["kept"] >= 1, counts  # the model wrote at least one usable question
    for item, record in zip(
        loaded.items, map(json.loads, generated.questions.read_text().splitlines()), strict=True
    ):
        source = Path(record["source"])
        assert record["generated"]["generator"] == "slm"
        assert record["generated"]["passage_id"] and record["generated"]["hash"]
        if not item.unanswerable:
            assert span_found(item.answers[0], source.read_text(encoding="utf-8"))
        assert item.asker is not None
        if source.parent.name == "hr":
            assert item.asker.name == "alice"  # the one user who may read it
    assert read_hand_edits(generated.questions) is not None and not read_hand_edits(generated.questions)
    first = next(i for i in loaded.items if not i.unanswerable)
    assert first.question in review and "(not in the index any more)" not in review  # beside its passage
