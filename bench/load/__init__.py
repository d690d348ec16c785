"""Load: N simulated users at once through the web back end and the Slack adapter, on loopback.

Usage: ``python -m bench.load [--out bench/results/load.json] [--quick] [--collection NAME]``

Without ``--collection`` it ingests corpora/ into a throw-away collection on the configured
Weaviate (the embedded one by default) and deletes it afterwards. Each simulated user is a
thread that asks a bounded number of questions (the sample questions it may read, and first
sentences of chunks it may read), one after the other; every phase also has a time cap after
which no user starts another question. Four paths:

- ``web retrieval``: what the chat page runs first for every question,
  ``LiveBackend.answerer().retrieve()`` (rewrite, query embedding, hybrid search with the user's
  groups, threshold, de-duplication). N = 1, 4, 16, 64.
- ``slack retrieval``: a signed ``message.im`` delivery to the bot's own HTTP server (Bolt, as
  ``docduet slack --mode http`` serves it) until its threaded reply is posted to a loopback
  Slack Web API (bench/doubles/slack_api.py), answered by an instant loopback model
  (bench/doubles/echo_llm.py): retrieval plus the bot's own work. N = 1, 4, 16, 64.
- ``web answers``: what the chat page does with a question (``backend.columns()`` then
  ``ui.streaming.run_stream`` over ``LiveBackend.answerer()``), to the last column's answer.
  N = 1, 4, 8.
- ``slack answers``: the same delivery, answered by the same generators. N = 1, 4, 8.

The answers come from real generators, kept small so the run is bounded: the local
SmolLM2-135M-Instruct (``llama_cpp``, pool_size 1, one thread, so questions really wait in its
line) and a "hosted" ``openai_compatible`` generator on llama-cpp-python's server on loopback
serving the packaged Gemma 3 270M (one thread; started with ``--interrupt_requests false``, so
a queued request waits instead of cutting the one being streamed short).

Reported per path and N: requests, errors (by kind), throughput, p50/p95 latency and p50/p95
queue wait. Queue wait is, for the answer paths, the time a question waited for the local
model's instance (as the model's InstancePool measures it for each turn; the bench collects the
waits by wrapping the pool); for ``slack retrieval`` the time from the delivery until a Bolt worker started
on it (its ⏳ reaction; Bolt runs 5 listeners at once); for ``web retrieval`` there is no queue
(each user's thread calls the shared service directly, as each Streamlit session does).
"""

from bench.load.harness import LoadHarness, run_plan
from bench.load.plan import (
    OUT,
    SLACK_ANSWERS,
    SLACK_RETRIEVAL,
    WEB_ANSWERS,
    WEB_RETRIEVAL,
    DemoUser,
    Phase,
    Plan,
    demo_users,
    full_plan,
    make_plan,
    questions_for,
    quick_plan,
)
from bench.load.sample import Sample, answer_errors, error_kind
from bench.load.servers import HOSTED_MODEL, LOCAL_MODEL, TimedPool, hosted_server, write_generators_file
from bench.load.slack import Delivery, Observed, SlackWatcher
from bench.load.stats import per_generator, percentile, spread_ms, summarise

__all__ = [
    "HOSTED_MODEL",
    "LOCAL_MODEL",
    "OUT",
    "SLACK_ANSWERS",
    "SLACK_RETRIEVAL",
    "WEB_ANSWERS",
    "WEB_RETRIEVAL",
    "Delivery",
    "DemoUser",
    "LoadHarness",
    "Observed",
    "Phase",
    "Plan",
    "Sample",
    "SlackWatcher",
    "TimedPool",
    "answer_errors",
    "demo_users",
    "error_kind",
    "full_plan",
    "hosted_server",
    "make_plan",
    "per_generator",
    "percentile",
    "questions_for",
    "quick_plan",
    "run_plan",
    "spread_ms",
    "summarise",
    "write_generators_file",
]
