"""The loopback Slack Web API and signed Slack requests: bench's double (bench/doubles/slack_api.py)."""

from bench.doubles.slack_api import *  # noqa: F403  (the tests import its names from here)
