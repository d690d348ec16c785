"""The public evaluation data (DOCDUET_EVAL_DATA) as the evaluation and the benches read it.

These check the data itself, all of it, so they live with the tests that may read the evaluation data.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from eval_data import EVAL_DATA

from evaluation.datasets import QASet, RetrievalSet, load_dataset
from evaluation.sources import dataset_sources
from ingest.decode import read_text
from ingest.frontmatter import split_front_matter

SHARED = EVAL_DATA
HANDBOOK = SHARED / "handbook-18f" / "pages"
FETCH = Path(__file__).resolve().parents[2] / "scripts" / "fetch-eval-data.sh"


@pytest.mark.eval_data("scifact", "squad2-mini")
def test_shared_sets_load_with_their_documented_sizes() -> None:
    scifact = load_dataset(SHARED / "scifact")
    assert isinstance(scifact, RetrievalSet)
    assert (len(scifact.documents), len(scifact.queries), scifact.split) == (5183, 809, "train")
    squad = load_dataset(SHARED / "squad2-mini")
    assert isinstance(squad, QASet) and squad.documents is not None
    assert (len(squad.documents), len(squad.items)) == (131, 1050)
    assert sum(i.unanswerable for i in squad.items) == 540
    notes = " ".join(dataset_sources(SHARED / "scifact"))
    assert "CC BY-NC 2.0" in notes and "Wadden" in notes


@pytest.mark.eval_data("handbook-18f")
def test_every_handbook_page_has_parseable_front_matter_with_a_title() -> None:
    pages = sorted(HANDBOOK.rglob("*.md"))
    assert len(pages) > 200
    titled = 0
    for page in pages:
        front = split_front_matter(read_text(page), origin=str(page))
        assert not front.body.lstrip().startswith("title:"), page
        titled += front.title is not None
    assert titled >= 0.9 * len(pages)


@pytest.mark.eval_data("scifact", "squad2-mini", "handbook-18f", "formats")
def test_the_sets_are_what_the_fetch_script_lays_out() -> None:
    """Every file matches scripts/eval-data.sha256, the checksums `make eval-data` checks downloads with."""
    check = [str(FETCH), "--check", "--dest", str(SHARED)]
    result = subprocess.run(check, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count(": ok") == 4, result.stderr
