"""The whole suite collects in one run: pytest imports test modules by their base name (rootdir
conftest, no packages), so two test files with one name in different folders stop `make test` at
collection ("import file mismatch")."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_every_test_module_has_a_name_of_its_own() -> None:
    names = Counter(p.name for p in TESTS.rglob("test_*.py") if "node_modules" not in p.parts)
    assert [n for n, count in names.items() if count > 1] == []
