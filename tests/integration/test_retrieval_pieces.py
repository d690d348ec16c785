"""Piece vectors through the real weaviate-server and embedder: a long chunk found by one sentence."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from index_parts import retriever_of

from backends.weaviate import schema
from backends.weaviate.client import open_client
from core.domain import User
from core.protocols import NullProgress
from core.settings import Settings
from docduet.compose import build_embedder, run_ingest
from ingest.pieces import chunk_encoder
from retrieval.ranking import cosine

pytestmark = pytest.mark.integration

READER = User("reader", ("employees",))
SITE = """# Working at the Harbour Street site

- Cycle racks are in the basement; showers and lockers are next to them, and locker keys come
  from reception.
- The canteen serves breakfast from 08:00 and lunch from 12:00 to 14:00, with a vegan dish every day.
- Printers on every floor print double-sided by default; collect jobs with your badge within 24 hours.
- Meeting rooms are booked in the calendar; rooms of eight or more need the facilities team's approval.
- Visitors sign in at reception, wear a visitor badge and are escorted at all times.
- In an evacuation, gather at the muster point on the riverside lawn across the footbridge.
- Desks are cleared every Friday evening; anything left behind goes to lost property for a month.
- Parking permits are issued each January by facilities and are not transferable.
"""
QUESTION = "Where do I find a locker key?"


def test_a_long_chunk_is_found_by_the_one_piece_that_answers(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "site.md").write_text(SITE, encoding="utf-8")
    (docs / "expenses.md").write_text("# Expenses\n\nClaims are filed in Spendesk within 30 days.\n")
    settings = make_settings()
    assert run_ingest(settings, [docs], progress=NullProgress()).failed == []
    embedder = build_embedder(settings)
    question = embedder.embed_query(QUESTION)
    with open_client(settings, autostart=False) as client:
        stored = client.collections.use(settings.weaviate.collection).query.fetch_objects(
            limit=10, include_vector=True, return_properties=["source", "text"]
        ).objects
        (site,) = [o for o in stored if str(o.properties["source"]).endswith("site.md")]
        whole, pieces = site.vector[schema.WHOLE_VECTOR], site.vector[schema.PIECES_VECTOR]
        # the chunk as a whole is too far from the question for the similarity floor...
        assert cosine(question, whole) < settings.retrieval.score_threshold
        split = chunk_encoder(settings.ingest, embedder).pieces.split(str(site.properties["text"]))
        assert len(pieces) == len(split) > 1
        search = retriever_of(client, settings, embedder=embedder)
        whole_search = retriever_of(client, settings, embedder=embedder, pieces=False)
        found = search.retrieve(QUESTION, user=READER)
        whole_only = whole_search.retrieve(QUESTION, user=READER)
    # ...but its first piece answers it
    assert found and found[0].chunk.source.endswith("site.md")
    assert found[0].similarity is not None and found[0].similarity >= settings.retrieval.piece_score_threshold
    assert not any(h.chunk.source.endswith("site.md") for h in whole_only)
