"""The public evaluation sets for the tests that read them: a missing set skips the test, or fails it in CI.

The sets live in ``DOCDUET_EVAL_DATA`` (``Settings.eval_data``, core/eval_data.py); ``make eval-data``
fetches them. A test names the sets it reads with ``@pytest.mark.eval_data("scifact", ...)`` (or a
module's ``pytestmark``); ``tests/conftest.py`` calls :func:`require_eval_sets` before the test's
fixtures are set up. Without a set the test is skipped with the reason and the fetch command; with
``DOCDUET_REQUIRE_EVAL_DATA=1`` (``.ci/run`` sets it) it fails instead, so CI never passes by skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.eval_data import find_eval_set, missing_set_message
from core.settings import Settings

REQUIRE_ENV = "DOCDUET_REQUIRE_EVAL_DATA"
EVAL_DATA = Settings().paths.eval_data
"""The folder the tests read the sets from (paths under it are built at import, checked per test)."""


def eval_set_path(name: str) -> Path:
    """Where set ``name`` is read from (it may be missing: the marker checks before the test runs)."""
    return EVAL_DATA / name


def required() -> bool:
    """Whether a missing set fails the test instead of skipping it."""
    return os.environ.get(REQUIRE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def require_eval_sets(*names: str) -> None:
    """Skip the current test (or fail it, under ``DOCDUET_REQUIRE_EVAL_DATA``) if a set is missing."""
    missing = [name for name in names if find_eval_set(EVAL_DATA, name) is None]
    if not missing:
        return
    message = missing_set_message(missing[0], EVAL_DATA, *missing[1:])
    if required():
        pytest.fail(f"{message} ({REQUIRE_ENV} is set, so a missing set fails)", pytrace=False)
    pytest.skip(message)
