"""The load bench (``python -m bench.load``); see bench/load/harness.py."""

from bench.load.harness import (
    SLACK_ANSWERS,
    SLACK_RETRIEVAL,
    WEB_ANSWERS,
    WEB_RETRIEVAL,
    LoadHarness,
    hosted_server,
    make_plan,
    run_plan,
)

__all__ = [
    "SLACK_ANSWERS",
    "SLACK_RETRIEVAL",
    "WEB_ANSWERS",
    "WEB_RETRIEVAL",
    "LoadHarness",
    "hosted_server",
    "make_plan",
    "run_plan",
]
