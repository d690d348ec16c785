"""Loopback stand-ins that ``docduet bench`` runs against, and the tests reuse.

- :mod:`bench.doubles.slack_api`: Slack's Web API, recording every call, and signed event
  deliveries as Slack sends them.
- :mod:`bench.doubles.echo_llm`: an OpenAI-compatible endpoint that answers at once and records
  what was sent.

They live in bench (not in tests/) because the load bench ships with docduet and must not put
``tests/`` on ``sys.path``; ``tests/slack_recorder.py`` and ``tests/integration/echo_llm.py``
re-export them.
"""
