"""The "Download source" button in the web chat: fetched on click, then saved; a refusal says why.

Issue #21, item 2: the file is re-checked when clicked (:func:`ingest.sources.read_source` behind
the backend's ``source_bytes``), and each user may download ``rate_limit_downloads`` files per
window. The app runs its real pages (AppTest); the backend is the double of tests/unit/ui_app_parts.py.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from streamlit.testing.v1 import AppTest
from ui_app_parts import ANCHOR, FakeBackend, ask, demo_backend, loopback_server, start

from core.domain import User
from ingest.sources import SourceRefusedError

__all__ = ["loopback_server"]  # the app believes it listens on loopback (the demo picker needs it)


@dataclass
class NarrowedBackend(FakeBackend):
    """The file's declarations were narrowed after the answer was shown."""

    def source_bytes(self, source: str, user: User) -> bytes:
        raise SourceRefusedError("the file's access declarations no longer let you read it")


def click_download(at: AppTest) -> AppTest:
    [first, *_] = [b for b in at.button if b.label == "Download source"]
    first.click().run()
    assert not at.exception, at.exception
    return at


def saves(at: AppTest) -> list[str]:
    return [b.label for b in at.get("download_button")]


def warnings(at: AppTest) -> list[str]:
    """The download refusals shown (the page's other warnings aside)."""
    return [str(w.value) for w in at.warning if w.icon == ":material/block:"]


def test_a_click_fetches_the_file_then_offers_to_save_it(tmp_path: Path) -> None:
    at = ask(start(demo_backend(tmp_path), "carol"), ANCHOR)
    assert saves(at) == []  # nothing is read before the click
    click_download(at)
    assert saves(at) == ["Save employee-handbook.md"] and warnings(at) == []


def test_a_refused_download_says_why(tmp_path: Path) -> None:
    demo = demo_backend(tmp_path)
    backend = NarrowedBackend(**{f.name: getattr(demo, f.name) for f in fields(demo)})
    at = click_download(ask(start(backend, "carol"), ANCHOR))
    assert saves(at) == []
    [refusal] = warnings(at)
    assert (
        refusal.replace("\\", "")
        == "Not downloaded: the file's access declarations no longer let you read it"
    )


def test_downloads_past_the_limit_say_how_long_to_wait(tmp_path: Path) -> None:
    at = ask(start(demo_backend(tmp_path, rate_limit_downloads=2), "carol"), ANCHOR)
    click_download(at)
    click_download(at)
    assert saves(at) == ["Save employee-handbook.md"]
    click_download(at)
    assert saves(at) == []
    [refusal] = warnings(at)
    assert refusal.startswith("You have downloaded 2 source files in the last 10 minutes, the most allowed.")
    assert refusal.endswith("before downloading another.")
