"""Shared test configuration: the tiers.

``tests/unit``: no services, no network, no model downloads; fixtures they read are in
``tests/fixtures``, shared stand-ins in ``tests/fakes.py``, and ``tests/unit/conftest.py`` makes
any attempt to start weaviate-server fail. ``tests/integration``: the real weaviate-server
(``tests/integration/weaviate_fixtures.py``, loaded by that folder's conftest), models and
loopback servers. ``tests/contract``: suites every implementation of an interface must pass, run
from both tiers. ``tests/`` is on ``sys.path`` (pytest's default import mode), so
``from fakes import ...`` works everywhere. Tests that read the public evaluation sets say which
with ``@pytest.mark.eval_data(...)``: a missing set skips them, or fails them under
``DOCDUET_REQUIRE_EVAL_DATA=1`` (``tests/eval_data.py``).
"""

from __future__ import annotations

import pytest
from eval_data import require_eval_sets


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked ``eval_data("name", ...)`` is skipped (failed in CI) when a set is missing."""
    for mark in item.iter_markers("eval_data"):
        require_eval_sets(*mark.args)
